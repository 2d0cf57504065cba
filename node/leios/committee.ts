/**
 * Leios voting committee for one epoch, from the stake distribution and the genesis `Committee`.
 *
 * Pools with zero stake never vote. Pools are ranked by stake (descending), ties by id
 * (ascending), so the result depends only on the set of pools, not their order.
 *
 * kind 'truncation' (CIP-164): the top pools until their cumulative stake ≥ sigmaC · total
 *   stake are all persistent voters, weight = stake; there are no non-persistent voters.
 *
 * kind 'fait-accompli' (wFA^LS, Gaži–Kiayias–Russell, CCS'23; as in the Leios wFA-LS demo):
 *   with n = seats and ρ_i = stake of ranks ≥ i, rank i (0-based) becomes persistent while
 *   i < n and NOT (1 − s_i/ρ_i)² ≥ (n − i − 1)/(n − i)   [exact rational arithmetic].
 *   Persistent voters (i* of them) vote every election with weight = stake.
 *   The other pools are non-persistent candidates for n₂ = n − i* seats, each worth ρ_np/n₂
 *   (ρ_np = their total stake): per election, candidate j gets k seats by local sortition,
 *   k ~ Poisson(λ = n₂ · s_j / ρ_np), drawn from its eligibility proof:
 *     proof  = BLS signature with DST_ELIG over eligibilityMessage(epochNonce, electionId)
 *              = epochNonce (32 B) || u64be(electionId)   (unique, so it acts as a VRF)
 *     u      = Blake2b-256(proof) / 2^256
 *     k      = min { k : u < P[Poisson(λ) ≤ k] }   (bigint fixed point, 320 fractional bits)
 *   The expected non-persistent weight is ρ_np, so the expected committee weight is the total
 *   stake. A candidate with k = 0 is not eligible in that election.
 *
 * Weights are integers: weight = stake × weightScale (weightScale = n₂ when there are
 * non-persistent candidates, else 1) and one non-persistent seat weighs seatWeight = ρ_np, so all shares are exact.
 * totalWeight = total active stake × weightScale (the base of the quorum τ, as CIP-164 says;
 * for Fait Accompli it equals Σ persistent weights + n₂ · seatWeight, the expected committee weight).
 *
 * API: selectCommittee(pools, committee, epochNonce) → CommitteeSelection;
 *      eligibilityMessage, proveEligibility, eligibilitySeats, localSortitionSeats,
 *      verifyEligibility (batched: one pairing product for all claims, see crypto/bls.ts).
 */
import type { Committee } from '../genesis/schema.ts';
import { fromHex, hash256 } from '../crypto/hash.ts';
import { blsPublicKey, blsSignEligibility, blsVerifyEligibilityBatch } from '../crypto/bls.ts';
import { decimalToRational } from '../crypto/leader.ts';

export interface CommitteePool {
  id: string;
  stake: bigint | number;
  /** BLS12-381 G2 public key, 96 bytes hex */
  blsVkey: string;
}

export interface CommitteeMember {
  poolId: string;
  /** persistent: bit index in certificates; non-persistent: candidate index in certificates */
  index: number;
  stake: bigint;
  /** persistent: stake × weightScale; non-persistent candidates: 0 (seats × seatWeight per election) */
  weight: bigint;
  blsVkey: string;
  pk: Uint8Array;
}

export interface CommitteeSelection {
  kind: Committee['kind'];
  epochNonce: Uint8Array;
  persistent: CommitteeMember[];
  nonPersistentCandidates: CommitteeMember[];
  /** n₂: expected number of non-persistent seats per election (0 for truncation) */
  nonPersistentSeats: number;
  /** ρ_np: total stake of the non-persistent candidates */
  nonPersistentStake: bigint;
  /** weight of one non-persistent seat (= ρ_np when n₂ > 0) */
  seatWeight: bigint;
  weightScale: bigint;
  totalWeight: bigint;
  byPoolId: Map<string, { role: 'persistent' | 'non-persistent'; index: number }>;
}

function normalize(pools: CommitteePool[]): { id: string; stake: bigint; blsVkey: string; pk: Uint8Array }[] {
  const seen = new Set<string>();
  const out = [];
  for (const p of pools) {
    if (seen.has(p.id)) throw new Error(`duplicate pool id ${p.id}`);
    seen.add(p.id);
    const stake = BigInt(p.stake);
    if (stake < 0n) throw new Error(`negative stake for pool ${p.id}`);
    if (stake === 0n) continue;
    const pk = fromHex(p.blsVkey);
    if (pk.length !== 96) throw new Error(`pool ${p.id}: BLS key must be 96 bytes`);
    out.push({ id: p.id, stake, blsVkey: p.blsVkey.toLowerCase(), pk });
  }
  out.sort((a, b) => (a.stake > b.stake ? -1 : a.stake < b.stake ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out;
}

export function selectCommittee(pools: CommitteePool[], committee: Committee, epochNonce: Uint8Array): CommitteeSelection {
  if (!(epochNonce instanceof Uint8Array) || epochNonce.length !== 32) throw new Error('epoch nonce must be 32 bytes');
  const ranked = normalize(pools);
  const total = ranked.reduce((a, p) => a + p.stake, 0n);
  let nPersistent: number;
  let n2 = 0;
  if (committee.kind === 'truncation') {
    const { num, den } = decimalToRational(committee.sigmaC);
    if (num <= 0n || num > den) throw new Error(`sigmaC must be in (0, 1], got ${committee.sigmaC}`);
    let cum = 0n;
    nPersistent = 0;
    while (nPersistent < ranked.length && cum * den < num * total) cum += ranked[nPersistent++].stake;
  } else {
    const n = committee.seats;
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`seats must be a positive integer, got ${n}`);
    let remaining = total; // ρ_i
    let i = 0;
    for (; i < ranked.length; i++) {
      if (i >= n) break;
      const s = ranked[i].stake;
      const x = remaining - s;
      const left = BigInt(n - i);
      if (x * x * left >= (left - 1n) * remaining * remaining) break;
      remaining -= s;
    }
    nPersistent = i;
    n2 = n - i;
  }
  const rest = ranked.slice(nPersistent);
  const rhoStar = rest.reduce((a, p) => a + p.stake, 0n);
  const hasNonPersistent = committee.kind === 'fait-accompli' && n2 > 0 && rest.length > 0;
  const scale = hasNonPersistent ? BigInt(n2) : 1n;
  const seatWeight = hasNonPersistent ? rhoStar : 0n;
  const byPoolId: CommitteeSelection['byPoolId'] = new Map();
  const persistent = ranked.slice(0, nPersistent).map((p, index) => {
    byPoolId.set(p.id, { role: 'persistent', index });
    return { poolId: p.id, index, stake: p.stake, weight: p.stake * scale, blsVkey: p.blsVkey, pk: p.pk };
  });
  const nonPersistentCandidates = hasNonPersistent
    ? rest.map((p, index) => {
        byPoolId.set(p.id, { role: 'non-persistent', index });
        return { poolId: p.id, index, stake: p.stake, weight: 0n, blsVkey: p.blsVkey, pk: p.pk };
      })
    : [];
  return {
    kind: committee.kind,
    epochNonce: new Uint8Array(epochNonce),
    persistent,
    nonPersistentCandidates,
    nonPersistentSeats: hasNonPersistent ? n2 : 0,
    nonPersistentStake: hasNonPersistent ? rhoStar : 0n,
    seatWeight,
    weightScale: scale,
    // The quorum base is the total active stake (CIP-164: Σ stake(votes) ≥ τ · stake_total-active),
    // not the committee's stake: a truncated committee must bring τ of everyone's stake.
    totalWeight: total * scale,
    byPoolId,
  };
}

/** Message a non-persistent candidate signs (DST_ELIG) to prove eligibility: epochNonce || u64be(electionId). */
export function eligibilityMessage(epochNonce: Uint8Array, electionId: number): Uint8Array {
  if (!Number.isSafeInteger(electionId) || electionId < 0) throw new Error(`bad election id ${electionId}`);
  const m = new Uint8Array(epochNonce.length + 8);
  m.set(epochNonce);
  new DataView(m.buffer).setBigUint64(epochNonce.length, BigInt(electionId));
  return m;
}

const W = 320n;
const ONE = 1n << W;

/**
 * Local sortition: min k with u < P[Poisson(λ) ≤ k], λ = n₂·stake/ρ_np, u = value/2^256
 * (value a 256-bit integer). Bigint fixed point with 320 fractional bits: the result can differ
 * from the exact one only when u lies within ~2^-300 of a CDF step.
 */
export function localSortitionSeats(value: bigint, n2: number, stake: bigint, rho: bigint): number {
  const lambda = (BigInt(n2) * stake * ONE) / rho;
  // E = e^λ = Σ λ^j/j! (terms truncated to W bits; the sum below walks the very same terms,
  // so it reaches E exactly and the loop always ends, at the latest when cum = E)
  let e = 0n;
  for (let j = 1n, t = ONE; t > 0n; j++) {
    e += t;
    t = (t * lambda) / (j * ONE);
  }
  // u < e^-λ Σ_{j≤k} λ^j/j!  ⇔  value · E < cum · 2^256
  const lhs = value * e;
  let cum = 0n;
  let t = ONE;
  for (let k = 0; ; k++) {
    cum += t;
    if (lhs < cum << 256n) return k;
    t = (t * lambda) / (BigInt(k + 1) * ONE);
  }
}

/** Seats a non-persistent candidate's eligibility proof grants (no signature check: batch-verify separately). */
export function eligibilitySeats(selection: CommitteeSelection, index: number, proof: Uint8Array): number {
  const c = selection.nonPersistentCandidates[index];
  if (!c || selection.nonPersistentSeats === 0 || selection.nonPersistentStake === 0n) return 0;
  if (!(proof instanceof Uint8Array) || proof.length !== 48) return 0;
  const h = hash256(proof);
  let v = 0n;
  for (const b of h) v = (v << 8n) | BigInt(b);
  return localSortitionSeats(v, selection.nonPersistentSeats, c.stake, selection.nonPersistentStake);
}

/**
 * Eligibility of `poolId` (holding BLS secret `blsSk`) in `electionId`: its proof and seats, or
 * null if the pool is not a non-persistent candidate or wins no seat. Persistent voters need none.
 */
export function proveEligibility(
  selection: CommitteeSelection,
  poolId: string,
  blsSk: Uint8Array,
  electionId: number,
): { index: number; proof: Uint8Array; seats: number } | null {
  const m = selection.byPoolId.get(poolId);
  if (!m || m.role !== 'non-persistent') return null;
  const cand = selection.nonPersistentCandidates[m.index];
  const pk = blsPublicKey(blsSk);
  if (!pk.every((b, i) => b === cand.pk[i])) throw new Error(`BLS key does not match pool ${poolId}`);
  const proof = blsSignEligibility(blsSk, eligibilityMessage(selection.epochNonce, electionId));
  const seats = eligibilitySeats(selection, m.index, proof);
  return seats > 0 ? { index: m.index, proof, seats } : null;
}

export type EligibilityResult = { ok: true; seats: number[] } | { ok: false; reason: 'unknown-voter' | 'ineligible-voter' | 'invalid-eligibility'; bad: number[] };

/**
 * Check eligibility claims of one election: every index a candidate, every proof granting ≥ 1
 * seat, and all proofs valid BLS signatures (ONE randomized pairing product for all of them).
 * `bad` lists positions in `claims`.
 */
export function verifyEligibility(
  selection: CommitteeSelection,
  electionId: number,
  claims: { index: number; proof: Uint8Array }[],
): EligibilityResult {
  const unknown = claims.flatMap((c, i) => (Number.isInteger(c.index) && selection.nonPersistentCandidates[c.index] ? [] : [i]));
  if (unknown.length) return { ok: false, reason: 'unknown-voter', bad: unknown };
  const seats = claims.map((c) => eligibilitySeats(selection, c.index, c.proof));
  const zero = seats.flatMap((s, i) => (s > 0 ? [] : [i]));
  if (zero.length) return { ok: false, reason: 'ineligible-voter', bad: zero };
  if (claims.length === 0) return { ok: true, seats };
  const valid = blsVerifyEligibilityBatch(
    eligibilityMessage(selection.epochNonce, electionId),
    claims.map((c) => ({ pk: selection.nonPersistentCandidates[c.index].pk, sig: c.proof })),
  );
  const bad = valid.flatMap((v, i) => (v ? [] : [i]));
  if (bad.length) return { ok: false, reason: 'invalid-eligibility', bad };
  return { ok: true, seats };
}
