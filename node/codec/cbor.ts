import { Encoder } from 'cbor-x';

// One configured codec for consensus data: plain arrays/maps, byte strings untagged,
// no cbor-x record extension, so encodings are canonical for hashing and signing.
const enc = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: true, variableMapSize: true });

export function cborEncode(v: unknown): Uint8Array {
  const b = enc.encode(v);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

export function cborDecode(b: Uint8Array): unknown {
  return enc.decode(b);
}

/**
 * `b` itself if it spans its whole ArrayBuffer, else a copy that does. Decoded data kept for long
 * (mempool, tx cache, EB closures, the block tree, votes) must not be a view into a larger buffer
 * (a network message, a socket read, cbor-x's shared encode buffer, Buffer's 8 KiB pool): it would
 * keep all of that buffer alive with it — the soak's nodes grew by several times the tx bytes they
 * ever saw. The copy is a plain Uint8Array (Buffer.from would land in the shared pool again).
 */
export function ownBytes(b: Uint8Array): Uint8Array {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength) return b;
  const c = new Uint8Array(b.byteLength);
  c.set(b);
  return c;
}

/** Bytes of the shortest CBOR head for length/count `n` (< 2^32). */
export function cborHeadLen(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

/** Write the shortest CBOR head (major type, length `n`), as cbor-x writes it, at `at`; returns the offset after it. For framing large records by hand. */
export function writeCborHead(out: Uint8Array, at: number, major: number, n: number): number {
  const m = major << 5;
  if (n < 24) out[at++] = m | n;
  else if (n < 0x100) (out[at++] = m | 24), (out[at++] = n);
  else if (n < 0x10000) (out[at++] = m | 25), (out[at++] = n >> 8), (out[at++] = n & 0xff);
  else {
    out[at++] = m | 26;
    out[at++] = n >>> 24;
    out[at++] = (n >>> 16) & 0xff;
    out[at++] = (n >>> 8) & 0xff;
    out[at++] = n & 0xff;
  }
  return at;
}

export class DecodeError extends Error {
  constructor(what: string) {
    super(`malformed ${what}`);
    this.name = 'DecodeError';
  }
}

export function asBytes(v: unknown, what: string, len?: number): Uint8Array {
  if (!(v instanceof Uint8Array) || (len !== undefined && v.length !== len)) throw new DecodeError(what);
  return v;
}

export function asUint(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new DecodeError(what);
  return v;
}

export function asArray(v: unknown, what: string, len?: number): unknown[] {
  if (!Array.isArray(v) || (len !== undefined && v.length !== len)) throw new DecodeError(what);
  return v;
}
