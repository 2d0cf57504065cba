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

/** Called as soon as a header is read, before its payload arrives; throw ProtocolError to reject. */
export type HeaderCheck = (protocol: number, fromResponder: boolean, length: number) => void;

/** Incremental decoder for a byte stream; throws ProtocolError on a malformed header. */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private readonly maxSegment: number;
  private readonly check: HeaderCheck | undefined;
  private checkedHeader = false;

  constructor(maxSegment = SEGMENT_SIZE, check?: HeaderCheck) {
    this.maxSegment = maxSegment;
    this.check = check;
  }

  /** Add received bytes; take frames with `next()`. */
  feed(chunk: Uint8Array): void {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
  }

  /** The next complete frame, or undefined if more bytes are needed. Throws ProtocolError on a
   *  malformed header (also from the header check), so a caller that dispatches each frame
   *  before asking for the next sees the effects of earlier frames (e.g. a handshake that
   *  registers protocols) before later headers are judged. */
  next(): Frame | undefined {
    if (this.buffered < HEADER_SIZE) return undefined;
    const head = this.peek(HEADER_SIZE);
    const dv = new DataView(head.buffer, head.byteOffset, HEADER_SIZE);
    const wireId = dv.getUint16(0);
    const flags = dv.getUint8(2);
    const len = dv.getUint32(3);
    if ((flags & ~FLAG_LAST) !== 0) throw new ProtocolError(`bad frame header: unknown flags 0x${flags.toString(16)}`);
    if (len === 0) throw new ProtocolError('bad frame header: empty segment');
    if (len > this.maxSegment) throw new ProtocolError(`bad frame header: segment of ${len} bytes exceeds ${this.maxSegment}`);
    if (this.check && !this.checkedHeader) {
      this.check(wireId & MAX_PROTOCOL_ID, (wireId & RESPONDER_BIT) !== 0, len);
      this.checkedHeader = true;
    }
    if (this.buffered < HEADER_SIZE + len) return undefined;
    this.checkedHeader = false;
    const all = this.take(HEADER_SIZE + len);
    return {
      protocol: wireId & MAX_PROTOCOL_ID,
      fromResponder: (wireId & RESPONDER_BIT) !== 0,
      last: (flags & FLAG_LAST) !== 0,
      payload: all.subarray(HEADER_SIZE),
    };
  }

  /** Feed bytes and return every frame they complete. */
  push(chunk: Uint8Array): Frame[] {
    this.feed(chunk);
    const frames: Frame[] = [];
    for (let f = this.next(); f; f = this.next()) frames.push(f);
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
