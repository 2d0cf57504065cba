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
