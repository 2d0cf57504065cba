import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  eligibilityMessage,
  eligibilitySeats,
  localSortitionSeats,
  proveEligibility,
  selectCommittee,
  verifyEligibility,
  type CommitteePool,
} from '../../node/leios/committee.ts';
import { blsKeygen, blsSignEligibility } from '../../node/crypto/bls.ts';
import { hash256, toHex } from '../../node/crypto/hash.ts';

const nonce = new Uint8Array(32).fill(0x11);
const FAKE_PK = 'ab'.repeat(96); // selection never decodes keys

function pools(stakes: (number | bigint)[]): CommitteePool[] {
  return stakes.map((stake, i) => ({ id: `p${String(i).padStart(3, '0')}`, stake, blsVkey: FAKE_PK }));
}

/** Reference FA split: literal paper form with rationals recomputing ρ_i every time (O(n²)). */
function referenceIStar(sorted: bigint[], n: number): number {
  for (let i = 0; i < sorted.length; i++) {
    if (i >= n) return i;
    const rho = sorted.slice(i).reduce((a, b) => a + b, 0n);
    if (rho === 0n) return i;
    // (1 − s/ρ)² ≥ (n−i−1)/(n−i)
    const lhsNum = (rho - sorted[i]) ** 2n * BigInt(n - i);
    const rhsNum = BigInt(n - i - 1) * rho * rho;
    if (lhsNum >= rhsNum) return i;
  }
  return sorted.length;
}

describe('committee selection: truncation', () => {
  it('takes the top pools until σ_c of stake, weight = stake', () => {
    const sel = selectCommittee(pools([15, 50, 5, 30, 0]), { kind: 'truncation', sigmaC: 0.9 }, nonce);
    expect(sel.persistent.map((m) => [m.poolId, m.weight])).toEqual([
      ['p001', 50n],
      ['p003', 30n],
      ['p000', 15n],
    ]);
    // The quorum base is the total active stake (CIP-164), not the committee's 95.
    expect(sel.totalWeight).toBe(100n);
    expect(sel.nonPersistentCandidates).toEqual([]);
    expect(sel.byPoolId.get('p002')).toBeUndefined();
    const all = selectCommittee(pools([15, 50, 5, 30, 0]), { kind: 'truncation', sigmaC: 1 }, nonce);
    expect(all.persistent.length).toBe(4); // the zero-stake pool never votes
    expect(all.totalWeight).toBe(100n);
  });

  it('breaks stake ties by pool id', () => {
    const sel = selectCommittee(pools([10, 10, 10]).reverse(), { kind: 'truncation', sigmaC: 0.5 }, nonce);
    expect(sel.persistent.map((m) => m.poolId)).toEqual(['p000', 'p001']);
  });
});

describe('committee selection: Fait Accompli', () => {
  it('matches the reference persistent split and weight invariants (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 80 }), (stakes, seats) => {
        const sel = selectCommittee(pools(stakes), { kind: 'fait-accompli', seats }, nonce);
        const sorted = stakes.filter((s) => s > 0n).sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
        const iStar = referenceIStar(sorted, seats);
        expect(sel.persistent.length).toBe(iStar);
        const total = sorted.reduce((a, b) => a + b, 0n);
        const rest = sorted.slice(iStar);
        if (rest.length > 0) {
          // expected committee weight = total stake, in units of 1/n₂
          expect(sel.nonPersistentSeats).toBe(seats - iStar);
          expect(sel.weightScale).toBe(BigInt(seats - iStar));
          expect(sel.totalWeight).toBe(total * sel.weightScale);
          expect(sel.nonPersistentStake).toBe(rest.reduce((a, b) => a + b, 0n));
        } else {
          expect(sel.totalWeight).toBe(total);
        }
        // persistent voters are exactly the largest pools
        for (const m of sel.persistent) expect(m.stake).toBe(sorted[m.index]);
      }),
      { numRuns: 200 },
    );
  });

  it('is deterministic and independent of input order', () => {
    const ps = pools([5, 900, 40, 40, 7, 300, 1, 1, 2, 60]);
    const a = selectCommittee(ps, { kind: 'fait-accompli', seats: 6 }, nonce);
    const b = selectCommittee([...ps].reverse(), { kind: 'fait-accompli', seats: 6 }, nonce);
    const view = (s: typeof a) => ({
      p: s.persistent.map((m) => [m.poolId, m.index, m.weight]),
      n: s.nonPersistentCandidates.map((m) => [m.poolId, m.index]),
      w: [s.totalWeight, s.seatWeight, s.nonPersistentSeats],
    });
    expect(view(a)).toEqual(view(b));
    expect(a.persistent.length).toBeGreaterThan(0);
    expect(a.nonPersistentCandidates.length).toBeGreaterThan(0);
  });

  it('makes every pool persistent when seats are plentiful', () => {
    const sel = selectCommittee(pools([10, 10, 10, 10]), { kind: 'fait-accompli', seats: 500 }, nonce);
    expect(sel.persistent.length).toBe(4);
    expect(sel.nonPersistentCandidates.length).toBe(0);
    expect(sel.totalWeight).toBe(40n);
  });

  it('local sortition follows Poisson(λ) exactly at the CDF steps', () => {
    // λ = 1 (n₂·s = ρ): P[X ≤ 0] = e^-1, P[X ≤ 1] = 2e^-1 — computed independently in decimal.
    const D = 10n ** 120n;
    let einv = 0n;
    let term = D;
    for (let k = 1n; term !== 0n; k++) {
      einv += term;
      term = -term / k;
    }
    const scale = 1n << 256n;
    const step0 = (einv * scale) / D; // ⌊2^256 e^-1⌋
    const step1 = (2n * einv * scale) / D;
    expect(localSortitionSeats(step0 - 1n, 10, 1n, 10n)).toBe(0);
    expect(localSortitionSeats(step0 + 1n, 10, 1n, 10n)).toBe(1);
    expect(localSortitionSeats(step1 - 1n, 10, 1n, 10n)).toBe(1);
    expect(localSortitionSeats(step1 + 1n, 10, 1n, 10n)).toBe(2);
    expect(localSortitionSeats(0n, 10, 1n, 10n)).toBe(0);
    expect(localSortitionSeats(scale - 1n, 10, 1n, 10n)).toBeGreaterThan(10);
  });

  it('grants λ seats on average', () => {
    // λ = n₂·s/ρ = 3 for the candidate below; deterministic pseudo-random proofs
    let seats = 0;
    let zeros = 0;
    const N = 3000;
    const sel = selectCommittee(pools([1000, 30, 30, 30, 10]), { kind: 'fait-accompli', seats: 2 }, nonce);
    expect(sel.persistent.map((m) => m.poolId)).toEqual(['p000']);
    const idx = sel.byPoolId.get('p001')!.index;
    const lambda = Number(BigInt(sel.nonPersistentSeats) * 30n) / Number(sel.nonPersistentStake);
    for (let i = 0; i < N; i++) {
      const proof = hash256(new Uint8Array([i & 0xff, i >> 8])).slice(0, 24);
      const k = eligibilitySeats(sel, idx, new Uint8Array([...proof, ...proof]));
      seats += k;
      if (k === 0) zeros++;
    }
    expect(Math.abs(seats / N - lambda)).toBeLessThan(0.06);
    expect(Math.abs(zeros / N - Math.exp(-lambda))).toBeLessThan(0.04);
  });
});

describe('non-persistent eligibility proofs', () => {
  // one big pool (persistent) and 12 small ones competing for n₂ = 2 seats (λ = 1/6 each)
  const keys = Array.from({ length: 13 }, (_, i) => blsKeygen(new Uint8Array(32).fill(40 + i)));
  const ps: CommitteePool[] = keys.map((k, i) => ({ id: `np${i}`, stake: i === 0 ? 10_000 : 25, blsVkey: toHex(k.pk) }));
  const sel = selectCommittee(ps, { kind: 'fait-accompli', seats: 3 }, nonce);
  const small = Array.from({ length: 12 }, (_, i) => i + 1);

  it('proves and batch-verifies eligibility; rejects forged, swapped and ineligible claims', () => {
    expect(sel.persistent.map((m) => m.poolId)).toEqual(['np0']);
    expect(sel.nonPersistentSeats).toBe(2);
    expect(proveEligibility(sel, 'np0', keys[0].sk, 7)).toBeNull(); // persistent: no proof needed
    // find an election where at least two candidates are eligible
    let election = 0;
    let claims: { index: number; proof: Uint8Array; seats: number }[] = [];
    for (; election < 50; election++) {
      claims = small.flatMap((i) => proveEligibility(sel, `np${i}`, keys[i].sk, election) ?? []);
      if (claims.length >= 2) break;
    }
    expect(claims.length).toBeGreaterThanOrEqual(2);
    const res = verifyEligibility(sel, election, claims);
    expect(res).toEqual({ ok: true, seats: claims.map((c) => c.seats) });
    // same proofs, other election: they no longer verify (or no longer grant seats)
    expect(verifyEligibility(sel, election + 1000, claims).ok).toBe(false);
    // proof presented under another candidate's index
    const swapped = [{ index: claims[1].index, proof: claims[0].proof }];
    // (equal stakes, so the proof still claims seats: it is the signature check that fails)
    expect(verifyEligibility(sel, election, swapped)).toMatchObject({ ok: false, reason: 'invalid-eligibility', bad: [0] });
    // unknown index
    expect(verifyEligibility(sel, election, [{ index: 99, proof: claims[0].proof }])).toMatchObject({ ok: false, reason: 'unknown-voter' });
    // a candidate that won no seat cannot claim one with its genuine proof
    const losers = small.slice(0, 4).filter((i) => !claims.some((c) => c.index === sel.byPoolId.get(`np${i}`)!.index));
    for (const i of losers) {
      const idx = sel.byPoolId.get(`np${i}`)!.index;
      const proof = blsSignEligibility(keys[i].sk, eligibilityMessage(nonce, election));
      expect(verifyEligibility(sel, election, [{ index: idx, proof }])).toMatchObject({ ok: false, reason: 'ineligible-voter' });
    }
    expect(() => proveEligibility(sel, 'np1', keys[2].sk, election)).toThrow(/does not match/);
  });
});
