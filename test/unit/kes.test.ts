import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../../node/crypto/ed25519.ts';
import { hash256 } from '../../node/crypto/hash.ts';
import {
  SUM6_DEPTH,
  expandSeed,
  hashPairOfVKeys,
  kesEvolve,
  kesEvolveTo,
  kesKeygen,
  kesPeriodOf,
  kesSign,
  kesSignatureSize,
  kesTotalPeriods,
  kesVerificationKey,
  kesVerify,
} from '../../node/crypto/kes.ts';

const seed = (b: number) => new Uint8Array(32).fill(b);
const msg = new TextEncoder().encode('header body');

describe('Sum6KES', () => {
  it('has the cardano-base sizes: 32 B vk, 448 B signature, 64 periods', () => {
    const sk = kesKeygen(seed(7));
    expect(kesVerificationKey(sk).length).toBe(32);
    expect(kesSign(sk, msg).length).toBe(448);
    expect(kesSignatureSize(SUM6_DEPTH)).toBe(448);
    expect(kesTotalPeriods()).toBe(64);
  });

  it('depth 0 is plain Ed25519 on the seed', () => {
    const sk = kesKeygen(seed(3), 0);
    expect(kesVerificationKey(sk)).toEqual(ed25519PublicKey(seed(3)));
    expect(kesSign(sk, msg)).toEqual(ed25519Sign(seed(3), msg));
    expect(() => kesEvolve(sk)).toThrow(/cannot evolve/);
  });

  it('composition cross-check: Sum1 and Sum2 rebuilt by hand from Ed25519 and Blake2b-256', () => {
    const s = seed(9);
    const [r0, r1] = expandSeed(s);
    expect(r0).toEqual(hash256(new Uint8Array([1, ...s])));
    expect(r1).toEqual(hash256(new Uint8Array([2, ...s])));
    // Sum1: two Ed25519 leaves.
    const vk0 = ed25519PublicKey(r0);
    const vk1 = ed25519PublicKey(r1);
    const k1 = kesKeygen(s, 1);
    expect(kesVerificationKey(k1)).toEqual(hash256(new Uint8Array([...vk0, ...vk1])));
    expect(kesSign(k1, msg)).toEqual(new Uint8Array([...ed25519Sign(r0, msg), ...vk0, ...vk1]));
    expect(kesSign(kesEvolve(k1), msg)).toEqual(new Uint8Array([...ed25519Sign(r1, msg), ...vk0, ...vk1]));
    // Sum2: each half is a Sum1 on the expanded seeds.
    const k2 = kesKeygen(s, 2);
    const left = kesKeygen(r0, 1);
    const right = kesKeygen(r1, 1);
    expect(kesVerificationKey(k2)).toEqual(hashPairOfVKeys(kesVerificationKey(left), kesVerificationKey(right)));
    const at3 = kesEvolveTo(k2, 3);
    const expected = new Uint8Array([...kesSign(kesEvolve(right), msg), ...kesVerificationKey(left), ...kesVerificationKey(right)]);
    expect(kesSign(at3, msg)).toEqual(expected);
    // The innermost signature is a valid Ed25519 signature of the period's leaf key.
    const leaf = expected.subarray(0, 64);
    expect(ed25519Verify(ed25519PublicKey(expandSeed(r1)[1]), msg, leaf)).toBe(true);
  });

  it('every period verifies at its own period only; t ± 1 fails', () => {
    let sk = kesKeygen(seed(1));
    const vk = kesVerificationKey(sk);
    for (let t = 0; t < 64; t++) {
      expect(sk.period).toBe(t);
      expect(kesVerificationKey(sk)).toEqual(vk); // the vk never changes
      const sig = kesSign(sk, msg);
      expect(kesVerify(vk, t, msg, sig)).toBe(true);
      if (t > 0) expect(kesVerify(vk, t - 1, msg, sig)).toBe(false);
      if (t < 63) expect(kesVerify(vk, t + 1, msg, sig)).toBe(false);
      expect(kesVerify(vk, t, new TextEncoder().encode('other'), sig)).toBe(false);
      if (t < 63) sk = kesEvolve(sk);
    }
    expect(() => kesEvolve(sk)).toThrow(/last period 63/);
    expect(() => kesEvolveTo(kesKeygen(seed(1)), 64)).toThrow(/past the last period/);
    expect(() => kesEvolveTo(sk, 3)).toThrow(/cannot go to period/);
  });

  it('refuses out-of-range periods, wrong sizes and another key', () => {
    const sk = kesKeygen(seed(2));
    const vk = kesVerificationKey(sk);
    const sig = kesSign(sk, msg);
    expect(kesVerify(vk, -1, msg, sig)).toBe(false);
    expect(kesVerify(vk, 64, msg, sig)).toBe(false);
    expect(kesVerify(vk, 0, msg, sig.subarray(0, 447))).toBe(false);
    expect(kesVerify(vk.subarray(0, 31), 0, msg, sig)).toBe(false);
    expect(kesVerify(kesVerificationKey(kesKeygen(seed(5))), 0, msg, sig)).toBe(false);
  });

  it('property: any bit flip of a signature is refused', () => {
    const keys = [0, 17, 31, 32, 63].map((t) => kesEvolveTo(kesKeygen(seed(4)), t));
    const vk = kesVerificationKey(keys[0]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: keys.length - 1 }), fc.integer({ min: 0, max: 448 * 8 - 1 }), fc.uint8Array({ minLength: 0, maxLength: 64 }), (ki, bit, m) => {
        const k = keys[ki];
        const sig = kesSign(k, m);
        expect(kesVerify(vk, k.period, m, sig)).toBe(true);
        const bad = sig.slice();
        bad[bit >> 3] ^= 1 << (bit & 7);
        expect(kesVerify(vk, k.period, m, bad)).toBe(false);
      }),
      { numRuns: 150 },
    );
  });

  it('property: a forged signature (swapped subtree vks, another seed) never verifies', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.integer({ min: 0, max: 63 }), (s1, s2, t) => {
        fc.pre(!s1.every((b, i) => b === s2[i]));
        const honest = kesKeygen(s1, SUM6_DEPTH);
        const forger = kesEvolveTo(kesKeygen(s2, SUM6_DEPTH), t);
        expect(kesVerify(kesVerificationKey(honest), t, msg, kesSign(forger, msg))).toBe(false);
        const sig = kesSign(kesEvolveTo(honest, t), msg);
        const swapped = new Uint8Array([...sig.subarray(0, 384), ...sig.subarray(416, 448), ...sig.subarray(384, 416)]);
        expect(kesVerify(kesVerificationKey(honest), t, msg, swapped)).toBe(false);
      }),
      { numRuns: 20 },
    );
  });

  it('is deterministic from the seed, and evolving does not change old snapshots', () => {
    const a = kesKeygen(seed(8));
    const b = kesEvolveTo(a, 40);
    expect(kesSign(a, msg)).toEqual(kesSign(kesKeygen(seed(8)), msg));
    expect(a.period).toBe(0);
    expect(kesVerify(kesVerificationKey(a), 0, msg, kesSign(a, msg))).toBe(true);
    expect(kesVerify(kesVerificationKey(a), 40, msg, kesSign(b, msg))).toBe(true);
  });

  it('KES period of a slot', () => {
    expect(kesPeriodOf(0, 100)).toBe(0);
    expect(kesPeriodOf(99, 100)).toBe(0);
    expect(kesPeriodOf(100, 100)).toBe(1);
    expect(kesPeriodOf(129_600 * 5 + 3, 129_600)).toBe(5);
  });
});
