import { describe, expect, it } from 'vitest';
import {
  BLS_PK_BYTES,
  BLS_SIG_BYTES,
  blsAggregatePublicKeys,
  blsAggregateSignatures,
  blsKeygen,
  blsPop,
  blsSign,
  blsVerify,
  blsVerifyAggregateSameMessage,
  blsSignEligibility,
  blsVerifyEligibilityBatch,
  blsVerifyPop,
  blsVerifyPopsBatch,
  blsVerifyVotesBatch,
  voteMessage,
} from '../../node/crypto/bls.ts';
import { fromHex, toHex } from '../../node/crypto/hash.ts';
import { bls12_381 } from '@noble/curves/bls12-381.js';

const seed = (i: number) => new Uint8Array(32).fill(i + 1);
const keys = Array.from({ length: 4 }, (_, i) => blsKeygen(seed(i)));
const ebHash = new Uint8Array(32).fill(0xab);
const msg = voteMessage(1234, ebHash);

describe('BLS12-381 MinSig', () => {
  it('keygen is the IETF/EIP-2333 HKDF_mod_r KeyGen', () => {
    // EIP-2333 master keys (derive_master_SK = HKDF_mod_r(seed))
    const cases: [string, string][] = [
      ['3141592653589793238462643383279502884197169399375105820974944592', '29757020647961307431480504535336562678282505419141012933316116377660817309383'],
      ['0099ff991111002299dd7744ee3355bbdd8844115566cc55663355668888cc00', '27580842291869792442942448775674722299803720648445448686099262467207037398656'],
    ];
    for (const [s, sk] of cases) {
      const k = blsKeygen(fromHex(s));
      expect(BigInt('0x' + toHex(k.sk))).toBe(BigInt(sk));
      expect(k.pk.length).toBe(BLS_PK_BYTES);
    }
    expect(toHex(blsKeygen(seed(0)).pk)).toBe(toHex(keys[0].pk));
    expect(() => blsKeygen(new Uint8Array(16))).toThrow();
  });

  it('signs and verifies; rejects wrong key, message, and malformed inputs', () => {
    const sig = blsSign(keys[0].sk, msg);
    expect(sig.length).toBe(BLS_SIG_BYTES);
    expect(blsVerify(keys[0].pk, msg, sig)).toBe(true);
    expect(blsVerify(keys[1].pk, msg, sig)).toBe(false);
    expect(blsVerify(keys[0].pk, voteMessage(1235, ebHash), sig)).toBe(false);
    expect(blsVerify(keys[0].pk, msg, sig.subarray(0, 47))).toBe(false);
    expect(blsVerify(keys[0].pk.subarray(1), msg, sig)).toBe(false);
    expect(blsVerify(new Uint8Array(96), msg, sig)).toBe(false);
    const bad = new Uint8Array(sig);
    bad[10] ^= 1;
    expect(blsVerify(keys[0].pk, msg, bad)).toBe(false);
  });

  it('vote signatures do not verify as PoPs (domain separation)', () => {
    const pop = blsPop(keys[0].sk);
    expect(blsVerifyPop(keys[0].pk, pop)).toBe(true);
    expect(blsVerifyPop(keys[1].pk, pop)).toBe(false);
    const popMsg = new Uint8Array([...new TextEncoder().encode('PoP'), ...keys[0].pk]);
    const voteDstSig = blsSign(keys[0].sk, popMsg);
    expect(blsVerifyPop(keys[0].pk, voteDstSig)).toBe(false);
  });

  it('rejects a rogue key: it cancels honest keys in the aggregate but has no valid PoP', () => {
    // Attacker picks pk_r = x·G2 − pk_0 so that pk_r + pk_0 = x·G2 and it alone can "co-sign".
    const G2 = bls12_381.G2.Point;
    const x = 0x1234567890abcdefn;
    const rogue = G2.BASE.multiply(x).subtract(G2.fromBytes(keys[0].pk)).toBytes(true);
    const xBytes = fromHex(x.toString(16).padStart(64, '0'));
    const forged = blsSign(xBytes, msg); // signature valid for pk_0 + pk_r
    expect(blsVerifyAggregateSameMessage([keys[0].pk, rogue], msg, forged)).toBe(true); // why PoPs are needed
    // ... and the attacker cannot produce a PoP for pk_r: any attempt fails.
    expect(blsVerifyPop(rogue, blsPop(xBytes))).toBe(false);
    expect(blsVerifyPop(rogue, forged)).toBe(false);
  });

  it('aggregates same-message votes and verifies them with one check', () => {
    const sigs = keys.map((k) => blsSign(k.sk, msg));
    const agg = blsAggregateSignatures(sigs);
    const pks = keys.map((k) => k.pk);
    expect(agg.length).toBe(48);
    expect(blsVerifyAggregateSameMessage(pks, msg, agg)).toBe(true);
    expect(blsVerify(blsAggregatePublicKeys(pks), msg, agg)).toBe(true);
    // missing one signer, extra key, wrong message
    expect(blsVerifyAggregateSameMessage(pks.slice(1), msg, agg)).toBe(false);
    expect(blsVerifyAggregateSameMessage(pks, msg, blsAggregateSignatures(sigs.slice(1)))).toBe(false);
    expect(blsVerifyAggregateSameMessage(pks, voteMessage(1, ebHash), agg)).toBe(false);
    expect(blsVerifyAggregateSameMessage([], msg, agg)).toBe(false);
    expect(() => blsAggregateSignatures([])).toThrow();
  });

  it('batch vote check finds exactly the bad votes', () => {
    const items = keys.map((k) => ({ pk: k.pk, sig: blsSign(k.sk, msg) }));
    expect(blsVerifyVotesBatch(msg, items)).toEqual([true, true, true, true]);
    items[2] = { pk: keys[2].pk, sig: blsSign(keys[3].sk, msg) }; // signed by someone else
    items[0] = { pk: keys[0].pk, sig: new Uint8Array(48) }; // malformed
    expect(blsVerifyVotesBatch(msg, items)).toEqual([false, true, false, true]);
  });

  it('batch vote check is a random linear combination: two cancelling forgeries are refused', () => {
    const G1 = bls12_381.G1.Point;
    const G2 = bls12_381.G2.Point;
    const honest = keys.map((k) => ({ pk: k.pk, sig: blsSign(k.sk, msg) }));
    // σ0 + δ and σ1 − δ: each is invalid, their sum is the honest sum.
    const delta = G1.BASE.multiply(0x5eed5eedn);
    const s0 = G1.fromBytes(honest[0].sig).add(delta).toBytes(true);
    const s1 = G1.fromBytes(honest[1].sig).subtract(delta).toBytes(true);
    const forged = [{ pk: keys[0].pk, sig: s0 }, { pk: keys[1].pk, sig: s1 }, honest[2], honest[3]];
    expect(blsVerify(keys[0].pk, msg, s0)).toBe(false);
    expect(blsVerify(keys[1].pk, msg, s1)).toBe(false);
    // The previous formula, a plain sum e(Σσ_i, G2) = e(H(m), Σpk_i), accepted the whole batch.
    const plainSum = (items: { pk: Uint8Array; sig: Uint8Array }[]) => {
      const S = items.reduce((a, it) => a.add(G1.fromBytes(it.sig)), G1.ZERO);
      const P = items.reduce((a, it) => a.add(G2.fromBytes(it.pk)), G2.ZERO);
      return bls12_381.shortSignatures.verify(S, bls12_381.shortSignatures.hash(msg, 'BLS_DST_CARDANO_BASE_LEIOS_VOTE_V1'), P);
    };
    expect(plainSum(honest)).toBe(true);
    expect(plainSum(forged)).toBe(true);
    expect(plainSum(forged.slice(0, 2))).toBe(true);
    // The randomized batch refuses exactly the two forgeries, alone or among honest votes.
    expect(blsVerifyVotesBatch(msg, forged.slice(0, 2))).toEqual([false, false]);
    expect(blsVerifyVotesBatch(msg, forged)).toEqual([false, false, true, true]);
    expect(blsVerifyVotesBatch(msg, honest)).toEqual([true, true, true, true]);
  });

  it('batch vote check finds the one bad vote among many', () => {
    const many = Array.from({ length: 16 }, (_, i) => blsKeygen(new Uint8Array(32).fill(100 + i)));
    const items = many.map((k) => ({ pk: k.pk, sig: blsSign(k.sk, msg) }));
    expect(blsVerifyVotesBatch(msg, items).every(Boolean)).toBe(true);
    items[11] = { pk: items[11].pk, sig: blsSign(many[3].sk, msg) };
    const ok = blsVerifyVotesBatch(msg, items);
    expect(ok.flatMap((v, i) => (v ? [] : [i]))).toEqual([11]);
  });

  it('voteMessage is canonical: u64be(electionId) || ebHash', () => {
    const m = voteMessage(0x0102, ebHash);
    expect(m.length).toBe(40);
    expect(toHex(m.subarray(0, 8))).toBe('0000000000000102');
    expect(() => voteMessage(-1, ebHash)).toThrow();
    expect(() => voteMessage(1, new Uint8Array(31))).toThrow();
  });
});

describe('BLS randomized batch checks', () => {
  it('eligibility batch accepts valid proofs and pinpoints cancelling forgeries', () => {
    const m = new Uint8Array(40).fill(9);
    const items = keys.map((k) => ({ pk: k.pk, sig: blsSignEligibility(k.sk, m) }));
    expect(blsVerifyEligibilityBatch(m, items)).toEqual([true, true, true, true]);
    // σ0 + D and σ1 − D: their sum is unchanged, so a plain aggregate check would pass.
    const G1 = bls12_381.G1.Point;
    const D = G1.BASE.multiply(777n);
    const s0 = G1.fromBytes(items[0].sig).add(D).toBytes(true);
    const s1 = G1.fromBytes(items[1].sig).subtract(D).toBytes(true);
    const forged = [{ ...items[0], sig: s0 }, { ...items[1], sig: s1 }, items[2], items[3]];
    expect(blsVerifyEligibilityBatch(m, forged)).toEqual([false, false, true, true]);
    // a vote signature (other DST) is not an eligibility proof
    expect(blsVerifyEligibilityBatch(m, [{ pk: keys[0].pk, sig: blsSign(keys[0].sk, m) }])).toEqual([false]);
  });

  it('PoP batch finds exactly the bad PoPs', () => {
    const items = keys.map((k) => ({ pk: k.pk, pop: blsPop(k.sk) }));
    expect(blsVerifyPopsBatch(items)).toEqual([true, true, true, true]);
    items[1] = { pk: keys[1].pk, pop: items[2].pop };
    expect(blsVerifyPopsBatch(items)).toEqual([true, false, true, true]);
  });
});
