import { describe, expect, it } from 'vitest';
import { blake2b } from '@noble/hashes/blake2.js';
import { hash224, hash256, toHex } from '../../node/crypto/hash.ts';

// hash256/hash224 are Blake2b-256/-224 (WebAssembly, hash-wasm): known answers, agreement with an
// independent implementation over many lengths, and byte views (subarrays of a larger buffer)
// hashed as exactly their own bytes.
describe('Blake2b ids', () => {
  it('known answers for the empty input (RFC 7693 parameters, Cardano ids)', () => {
    expect(toHex(hash256(new Uint8Array()))).toBe('0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8');
    expect(toHex(hash224(new Uint8Array()))).toBe('836cc68931c2e4e3e838602eca1902591d216837bafddfe6f0c8cb07');
  });

  it('agrees with @noble/hashes for lengths 0..300 and 1,500 / 100,000 B', () => {
    for (const n of [...Array.from({ length: 301 }, (_, i) => i), 1500, 100_000]) {
      const m = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
      expect(toHex(hash256(m))).toBe(toHex(blake2b(m, { dkLen: 32 })));
      expect(toHex(hash224(m))).toBe(toHex(blake2b(m, { dkLen: 28 })));
    }
  });

  it('hashes a view as its own bytes, and returns a fresh array each call', () => {
    const big = Uint8Array.from({ length: 4096 }, (_, i) => i & 0xff);
    const view = big.subarray(1000, 2500);
    expect(toHex(hash256(view))).toBe(toHex(hash256(new Uint8Array(view))));
    const a = hash256(view);
    const b = hash256(new Uint8Array([1, 2, 3]));
    expect(a).not.toBe(b);
    expect(toHex(a)).toBe(toHex(blake2b(view, { dkLen: 32 })));
    expect(a.length).toBe(32);
    expect(hash224(view).length).toBe(28);
  });
});
