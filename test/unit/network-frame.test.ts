import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { encodeFrame, FrameDecoder, HEADER_SIZE, SEGMENT_SIZE, type Frame } from '../../node/network/frame.ts';
import { decodeCbor, decodePoint, decodeTip, encodeCbor, encodePoint, encodeTip, ProtocolError } from '../../node/network/types.ts';

const frameArb = fc.record({
  protocol: fc.integer({ min: 0, max: 0x7fff }),
  fromResponder: fc.boolean(),
  last: fc.boolean(),
  payload: fc.uint8Array({ minLength: 1, maxLength: 2000 }),
});

describe('frame codec', () => {
  it('encodes the documented header layout', () => {
    const f = encodeFrame({ protocol: 2, fromResponder: true, last: true, payload: new Uint8Array([9, 8, 7]) });
    expect([...f]).toEqual([0x80, 0x02, 0x01, 0, 0, 0, 3, 9, 8, 7]);
    expect(f.length).toBe(HEADER_SIZE + 3);
  });

  it('round-trips frames through arbitrary chunking', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1 }), (frames, cuts) => {
        const wire = Buffer.concat(frames.map((f) => encodeFrame(f)));
        const dec = new FrameDecoder();
        const got: Frame[] = [];
        let off = 0;
        let i = 0;
        while (off < wire.length) {
          const n = cuts[i++ % cuts.length];
          got.push(...dec.push(wire.subarray(off, off + n)));
          off += n;
        }
        expect(dec.pendingBytes).toBe(0);
        expect(got.length).toBe(frames.length);
        got.forEach((g, k) => {
          expect(g.protocol).toBe(frames[k].protocol);
          expect(g.fromResponder).toBe(frames[k].fromResponder);
          expect(g.last).toBe(frames[k].last);
          expect(Buffer.from(g.payload).equals(Buffer.from(frames[k].payload))).toBe(true);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('rejects malformed headers', () => {
    const bad = (bytes: number[]) => () => new FrameDecoder().push(new Uint8Array(bytes));
    expect(bad([0, 2, 0x02, 0, 0, 0, 1, 0])).toThrow(ProtocolError); // unknown flag bit
    expect(bad([0, 2, 0x01, 0, 0, 0, 0])).toThrow(/empty segment/);
    const over = SEGMENT_SIZE + 1;
    expect(bad([0, 2, 1, (over >>> 24) & 255, (over >>> 16) & 255, (over >>> 8) & 255, over & 255])).toThrow(/exceeds/);
    // a partial header or payload is not an error yet
    expect(new FrameDecoder().push(new Uint8Array([0, 2, 1, 0, 0, 0, 5, 1]))).toEqual([]);
  });

  it('never throws anything but ProtocolError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          new FrameDecoder().push(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('CBOR helpers', () => {
  it('round-trips points and tips, origin included', () => {
    const p = { slot: 42, hash: new Uint8Array(32).fill(7) };
    expect(decodePoint(decodeCbor(encodeCbor(encodePoint(p))))).toEqual({ slot: 42, hash: new Uint8Array(32).fill(7) });
    expect(decodePoint(decodeCbor(encodeCbor(encodePoint(null))))).toBeNull();
    const t = decodeTip(decodeCbor(encodeCbor(encodeTip({ point: p, blockNo: 3 }))));
    expect(t.blockNo).toBe(3);
    expect(t.point?.slot).toBe(42);
  });

  it('reports CBOR errors as ProtocolError', () => {
    expect(() => decodeCbor(new Uint8Array([0x01, 0x02]))).toThrow(ProtocolError); // trailing bytes
    expect(() => decodeCbor(new Uint8Array([0x5a, 0xff, 0xff, 0xff, 0xff]))).toThrow(ProtocolError);
    expect(() => decodePoint([1])).toThrow(ProtocolError);
    expect(() => decodePoint([-1, new Uint8Array(1)])).toThrow(ProtocolError);
  });
});
