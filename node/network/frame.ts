// Wire framing of the multiplexer.
//
// Header (7 bytes, big endian):
//   u16 protocol id — bit 15 set = sent by the responder side of that mini-protocol
//   u8  flags       — bit 0 = last segment of a message; other bits must be 0
//   u32 payload length (1 .. maxSegment)
// A CBOR-encoded message is cut into segments of at most SEGMENT_SIZE bytes so that a
// higher-priority protocol can pre-empt a large lower-priority message between segments.

import { ProtocolError } from './types.ts';

export const HEADER_SIZE = 7;
export const SEGMENT_SIZE = 64 * 1024;
export const RESPONDER_BIT = 0x8000;
export const FLAG_LAST = 0x01;
export const MAX_PROTOCOL_ID = 0x7fff;

export interface Frame {
  protocol: number;
  /** true = sent by the responder side of the mini-protocol. */
  fromResponder: boolean;
  last: boolean;
  payload: Uint8Array;
}

export function encodeFrame(f: Frame): Uint8Array {
  if (!Number.isInteger(f.protocol) || f.protocol < 0 || f.protocol > MAX_PROTOCOL_ID) throw new RangeError(`bad protocol id ${f.protocol}`);
  const out = new Uint8Array(HEADER_SIZE + f.payload.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, f.protocol | (f.fromResponder ? RESPONDER_BIT : 0));
  dv.setUint8(2, f.last ? FLAG_LAST : 0);
  dv.setUint32(3, f.payload.length);
  out.set(f.payload, HEADER_SIZE);
  return out;
}

/** Incremental decoder for a byte stream; throws ProtocolError on a malformed header. */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private readonly maxSegment: number;

  constructor(maxSegment = SEGMENT_SIZE) {
    this.maxSegment = maxSegment;
  }

  /** Feed bytes; returns the complete frames they finish. */
  push(chunk: Uint8Array): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < HEADER_SIZE) break;
      const head = this.peek(HEADER_SIZE);
      const dv = new DataView(head.buffer, head.byteOffset, HEADER_SIZE);
      const wireId = dv.getUint16(0);
      const flags = dv.getUint8(2);
      const len = dv.getUint32(3);
      if ((flags & ~FLAG_LAST) !== 0) throw new ProtocolError(`bad frame header: unknown flags 0x${flags.toString(16)}`);
      if (len === 0) throw new ProtocolError('bad frame header: empty segment');
      if (len > this.maxSegment) throw new ProtocolError(`bad frame header: segment of ${len} bytes exceeds ${this.maxSegment}`);
      if (this.buffered < HEADER_SIZE + len) break;
      const all = this.take(HEADER_SIZE + len);
      frames.push({
        protocol: wireId & MAX_PROTOCOL_ID,
        fromResponder: (wireId & RESPONDER_BIT) !== 0,
        last: (flags & FLAG_LAST) !== 0,
        payload: all.subarray(HEADER_SIZE),
      });
    }
    return frames;
  }

  get pendingBytes(): number {
    return this.buffered;
  }

  private peek(n: number): Uint8Array {
    if (this.chunks[0].length >= n) return this.chunks[0];
    this.coalesce();
    return this.chunks[0];
  }

  private take(n: number): Uint8Array {
    if (this.chunks[0].length < n) this.coalesce();
    const first = this.chunks[0];
    let out: Uint8Array;
    if (first.length === n) {
      out = first;
      this.chunks.shift();
    } else {
      out = first.slice(0, n);
      this.chunks[0] = first.subarray(n);
    }
    this.buffered -= n;
    return out;
  }

  private coalesce(): void {
    const all = new Uint8Array(this.buffered);
    let off = 0;
    for (const c of this.chunks) {
      all.set(c, off);
      off += c.length;
    }
    this.chunks = [all];
  }
}
