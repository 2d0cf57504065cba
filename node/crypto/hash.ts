import { blake2b } from '@noble/hashes/blake2.js';

/** Block, header, tx and EB ids: Blake2b-256, as in Cardano. */
export function hash256(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 32 });
}

/** Address / key hashes: Blake2b-224, as in Cardano. */
export function hash224(data: Uint8Array): Uint8Array {
  return blake2b(data, { dkLen: 28 });
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(h: string): Uint8Array {
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new Error(`not a hex string: ${h.slice(0, 20)}`);
  return new Uint8Array(Buffer.from(h, 'hex'));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Lexicographic compare (VRF tiebreaks, deterministic ordering). */
export function bytesCompare(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}
