import { describe, expect, it } from 'vitest';
import {
  buildCertificate,
  decodeCertificate,
  encodeCertificate,
  validatePoolPops,
  verifyCertificate,
  type Certificate,
  type Vote,
} from '../../node/leios/certificate.ts';
import { eligibilityMessage, eligibilitySeats, proveEligibility, selectCommittee } from '../../node/leios/committee.ts';
import { blsKeygen, blsPop, blsSign, blsSignEligibility, voteMessage } from '../../node/crypto/bls.ts';
import { toHex } from '../../node/crypto/hash.ts';
import { bls12_381 } from '@noble/curves/bls12-381.js';

const nonce = new Uint8Array(32).fill(0x5a);
const ebHash = new Uint8Array(32).fill(0xeb);
const election = 4242;
const msg = voteMessage(election, ebHash);

function makePools(stakes: number[], prefix: string) {
  return stakes.map((stake, i) => {
    const k = blsKeygen(new Uint8Array(32).fill(i + 1).map((b, j) => (j === 0 ? prefix.charCodeAt(0) : b)));
    return { id: `${prefix}${i}`, stake, blsVkey: toHex(k.pk), blsPop: toHex(blsPop(k.sk)), sk: k.sk };
  });
}

// Truncation committee: 6 pools, all vote-capable (σ_c = 1).
const tPools = makePools([400, 200, 150, 100, 100, 50], 't');
const tSel = selectCommittee(tPools, { kind: 'truncation', sigmaC: 1 }, nonce);
const tVote = (i: number): Vote => ({ poolId: tPools[i].id, sig: blsSign(tPools[i].sk, msg) });
const tVotes = tPools.map((_, i) => tVote(i));

const clone = (c: Certificate): Certificate => decodeCertificate(encodeCertificate(c));

describe('certificate: truncation committee', () => {
  const cert = buildCertificate(tSel, tVotes, ebHash, election)!;

  it('builds, round-trips through CBOR and verifies with full weight', () => {
    expect(cert).not.toBeNull();
    const bytes = encodeCertificate(cert);
    // 1 (array) + 3 (uint 4242) + 34 (EB hash) + 2 (1-byte bitset) + 1 (empty array) + 50 (sig)
    expect(bytes.length).toBe(91);
    const back = decodeCertificate(bytes);
    expect(toHex(encodeCertificate(back))).toBe(toHex(bytes));
    expect(verifyCertificate(back, tSel)).toEqual({ ok: true, weight: 1000n });
  });

  it('needs τ of the committee weight', () => {
    // 400 + 200 + 150 = 750 = 75 % exactly → enough; 400 + 200 + 100 = 700 < 750
    expect(buildCertificate(tSel, [0, 1, 2].map(tVote), ebHash, election)).not.toBeNull();
    expect(buildCertificate(tSel, [0, 1, 3].map(tVote), ebHash, election)).toBeNull();
    expect(buildCertificate(tSel, [0, 1, 3].map(tVote), ebHash, election, 0.7)).not.toBeNull();
  });

  it('measures the quorum against the total active stake, not the truncated committee (CIP-164)', () => {
    // σ_c = 0.8 keeps 400+200+150+100 = 850 of 1000; 400+200+100 = 700 is 82 % of the committee
    // but only 70 % of the active stake: no certificate; 400+200+150 = 750 = 75 % of all stake is enough.
    const small = selectCommittee(tPools, { kind: 'truncation', sigmaC: 0.8 }, nonce);
    expect(small.persistent.length).toBe(4);
    expect(buildCertificate(small, [0, 1, 3].map(tVote), ebHash, election)).toBeNull();
    const ok = buildCertificate(small, [0, 1, 2].map(tVote), ebHash, election)!;
    expect(verifyCertificate(ok, small)).toEqual({ ok: true, weight: 750n });
  });

  it('drops invalid, duplicate and non-member votes but still certifies with the rest', () => {
    const votes: Vote[] = [
      ...tVotes.slice(0, 5),
      { poolId: tPools[5].id, sig: blsSign(tPools[5].sk, voteMessage(election + 1, ebHash)) }, // wrong message
      { poolId: 'stranger', sig: tVotes[0].sig },
      tVotes[1],
    ];
    const c = buildCertificate(tSel, votes, ebHash, election)!;
    expect(c).not.toBeNull();
    expect(Array.from(c.persistentVoters)).toEqual([0b011111]);
    expect(verifyCertificate(c, tSel)).toEqual({ ok: true, weight: 950n });
  });

  it('rejects a forged or altered aggregate', () => {
    const other = clone(cert);
    other.signature = buildCertificate(tSel, tPools.map((p) => ({ poolId: p.id, sig: blsSign(p.sk, voteMessage(1, ebHash)) })), ebHash, 1)!.signature;
    expect(verifyCertificate(other, tSel)).toMatchObject({ ok: false, reason: 'invalid-signature' });
    const altered = clone(cert);
    altered.ebHash[0] ^= 1;
    expect(verifyCertificate(altered, tSel)).toMatchObject({ ok: false, reason: 'invalid-signature' });
    const moved = clone(cert);
    moved.electionId += 1;
    expect(verifyCertificate(moved, tSel)).toMatchObject({ ok: false, reason: 'invalid-signature' });
    const flipped = clone(cert);
    const pt = bls12_381.G1.Point.fromBytes(flipped.signature).add(bls12_381.G1.Point.BASE);
    flipped.signature = pt.toBytes(true);
    expect(verifyCertificate(flipped, tSel)).toMatchObject({ ok: false, reason: 'invalid-signature' });
  });

  it('rejects tampered bitsets: claimed extra voter, dropped voters, unknown seats', () => {
    const partial = buildCertificate(tSel, [0, 1, 2, 3].map(tVote), ebHash, election)!;
    const extra = clone(partial);
    extra.persistentVoters[0] |= 1 << 5; // t5 did not sign
    expect(verifyCertificate(extra, tSel)).toMatchObject({ ok: false, reason: 'invalid-signature' });
    const fewer = clone(partial);
    fewer.persistentVoters[0] &= ~(1 << 2); // 400+200+100 = 700 < 750
    expect(verifyCertificate(fewer, tSel)).toMatchObject({ ok: false, reason: 'below-quorum' });
    const beyond = clone(partial);
    beyond.persistentVoters[0] |= 1 << 7; // only 6 seats
    expect(verifyCertificate(beyond, tSel)).toMatchObject({ ok: false, reason: 'unknown-voter' });
    const longer = clone(partial);
    longer.persistentVoters = new Uint8Array([partial.persistentVoters[0], 0]);
    expect(verifyCertificate(longer, tSel)).toMatchObject({ ok: false, reason: 'unknown-voter' });
    const empty = clone(partial);
    empty.persistentVoters = new Uint8Array(1);
    expect(verifyCertificate(empty, tSel)).toMatchObject({ ok: false, reason: 'no-voters' });
    const np = clone(partial);
    np.nonPersistentVoters = [{ index: 0, eligibility: partial.signature }];
    expect(verifyCertificate(np, tSel)).toMatchObject({ ok: false, reason: 'wrong-committee' });
  });

  it('decodes strictly', () => {
    const bytes = encodeCertificate(cert);
    expect(() => decodeCertificate(bytes.subarray(0, bytes.length - 1))).toThrow();
    expect(() => decodeCertificate(new Uint8Array([0x80]))).toThrow(/malformed/);
    const bad = { ...cert, nonPersistentVoters: [{ index: 3, eligibility: cert.signature }, { index: 1, eligibility: cert.signature }] };
    expect(() => decodeCertificate(encodeCertificate(bad))).toThrow(/order/);
    expect(() => decodeCertificate(encodeCertificate({ ...cert, ebHash: new Uint8Array(31) }))).toThrow(/EB hash/);
  });
});

describe('certificate: Fait Accompli committee', () => {
  // A (600) and B (300) persistent; ten pools of 10 compete for n₂ = 2 seats of weight ρ = 100.
  const fPools = makePools([600, 300, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10], 'f');
  const fSel = selectCommittee(fPools, { kind: 'fait-accompli', seats: 4 }, nonce);
  const Q = 0.95; // A + B = 90 %: a non-persistent seat is needed

  it('counts eligible non-persistent voters and verifies their proofs in the certificate', () => {
    expect(fSel.persistent.map((m) => m.poolId)).toEqual(['f0', 'f1']);
    expect(fSel.totalWeight).toBe(2000n);
    let e = 0;
    let np: { i: number; proof: Uint8Array; seats: number }[] = [];
    for (e = 1; e < 60; e++) {
      np = fPools.slice(2).flatMap((p, j) => {
        const r = proveEligibility(fSel, p.id, p.sk, e);
        return r ? [{ i: j + 2, proof: r.proof, seats: r.seats }] : [];
      });
      if (np.length > 0) break;
    }
    expect(np.length).toBeGreaterThan(0);
    const m = voteMessage(e, ebHash);
    const persistentVotes = [0, 1].map((i) => ({ poolId: fPools[i].id, sig: blsSign(fPools[i].sk, m) }));
    const npVotes = np.map((v) => ({ poolId: fPools[v.i].id, sig: blsSign(fPools[v.i].sk, m), eligibility: v.proof }));
    expect(buildCertificate(fSel, persistentVotes, ebHash, e, Q)).toBeNull();
    const cert = buildCertificate(fSel, [...persistentVotes, ...npVotes], ebHash, e, Q)!;
    expect(cert).not.toBeNull();
    const seats = np.reduce((a, v) => a + v.seats, 0);
    expect(verifyCertificate(clone(cert), fSel, Q)).toEqual({ ok: true, weight: 1800n + BigInt(seats) * 100n });

    // a non-persistent vote without its eligibility proof is not counted
    expect(buildCertificate(fSel, [...persistentVotes, ...npVotes.map((v) => ({ ...v, eligibility: undefined }))], ebHash, e, Q)).toBeNull();

    // ineligible voter: a genuine proof that wins no seat
    const loser = fPools.slice(2).findIndex((p) => !np.some((v) => v.i === fPools.indexOf(p)));
    const loserPool = fPools[loser + 2];
    const loserIdx = fSel.byPoolId.get(loserPool.id)!.index;
    const loserProof = blsSignEligibility(loserPool.sk, eligibilityMessage(nonce, e));
    expect(eligibilitySeats(fSel, loserIdx, loserProof)).toBe(0);
    const withLoser = clone(cert);
    withLoser.nonPersistentVoters = [...withLoser.nonPersistentVoters, { index: loserIdx, eligibility: loserProof }].sort((a, b) => a.index - b.index);
    expect(verifyCertificate(withLoser, fSel, Q)).toMatchObject({ ok: false, reason: 'ineligible-voter' });

    // forged eligibility: bytes that claim a seat but are not the pool's signature
    const forged = clone(cert);
    const idx = forged.nonPersistentVoters[0].index;
    let fake = cert.signature;
    for (let t = 0; eligibilitySeats(fSel, idx, fake) === 0; t++) {
      fake = bls12_381.G1.Point.BASE.multiply(BigInt(t + 2)).toBytes(true);
    }
    forged.nonPersistentVoters[0] = { index: idx, eligibility: fake };
    expect(verifyCertificate(forged, fSel, Q)).toMatchObject({ ok: false, reason: 'invalid-eligibility' });

    // unknown non-persistent index
    const unknown = clone(cert);
    unknown.nonPersistentVoters = [...unknown.nonPersistentVoters, { index: 99, eligibility: fake }];
    expect(verifyCertificate(unknown, fSel, Q)).toMatchObject({ ok: false, reason: 'unknown-voter' });
  });
});

describe('genesis PoP validation', () => {
  it('accepts genuine PoPs and rejects rogue keys, swapped and malformed PoPs', () => {
    const pools = tPools.map(({ id, blsVkey, blsPop }) => ({ id, blsVkey, blsPop }));
    expect(validatePoolPops(pools)).toEqual([]);
    // rogue key pk_r = x·G2 − pk_t0: its owner knows no secret for it, so it cannot have a PoP
    const G2 = bls12_381.G2.Point;
    const rogue = G2.BASE.multiply(99n).subtract(G2.fromBytes(Buffer.from(pools[0].blsVkey, 'hex'))).toBytes(true);
    const withRogue = [
      ...pools,
      { id: 'rogue', blsVkey: toHex(rogue), blsPop: pools[1].blsPop },
      { id: 'swapped', blsVkey: pools[2].blsVkey, blsPop: pools[3].blsPop },
      { id: 'garbage', blsVkey: 'zz', blsPop: pools[0].blsPop },
    ];
    expect(validatePoolPops(withRogue)).toEqual(['rogue', 'swapped', 'garbage']);
  });
});
