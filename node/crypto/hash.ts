import { createBLAKE2b } from 'hash-wasm';

// Blake2b in WebAssembly (hash-wasm): 10-20x faster than a JavaScript Blake2b (@noble/hashes:
// 56 vs 5 µs for a 1,500 B tx body here). Every tx id, header hash and address check goes through
// these, on every node: with the JS version they were ~12 % of a loaded node's CPU. OpenSSL (node:
// crypto) has only Blake2b-512, and Blake2b-256 is not its truncation. One hasher per length,
// reused: the calls are synchronous, so they never interleave.
const b256 = await createBLAKE2b(256);
const b224 = await createBLAKE2b(224);

/** Block, header, tx and EB ids: Blake2b-256, as in Cardano. */
export function hash256(data: Uint8Array): Uint8Array {
  b256.init();
  b256.update(data);
  return b256.digest('binary');
}

/** Address / key hashes: Blake2b-224, as in Cardano. */
export function hash224(data: Uint8Array): Uint8Array {
  b224.init();
  b224.update(data);
  return b224.digest('binary');
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
