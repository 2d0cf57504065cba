/**
 * Leios EB certificates.
 *
 * Certificate = { electionId (slot of the announcing RB), ebHash (32 B), persistent-voter bitset,
 * non-persistent voters (candidate index + eligibility proof, ascending by index), one aggregate
 * BLS signature (48 B) over voteMessage(electionId, ebHash) }.
 * CBOR (node/codec/cbor.ts, compact arrays):
 *   [electionId, ebHash, bitset, [[index, proof], ...], aggregateSignature]
 * bitset: bit i = persistent seat i voted, byte i>>3, mask 1 << (i & 7); exactly ⌈P/8⌉ bytes.
 *
 * Weight: persistent voter = its weight; non-persistent voter = seats × seatWeight (seats from
 * its eligibility proof, leios/committee.ts). Quorum: weight ≥ τ · totalWeight, in exact
 * rational arithmetic (τ read as its decimal, 0.75 = 3/4).
 *
 * verifyCertificate never does one pairing per vote: all voters' keys are summed and the
 * aggregate checked once, and all eligibility proofs are checked in one randomized pairing
 * product. Cheap structural/quorum checks run before any pairing. It checks that the certificate
 * is valid for ITS electionId/ebHash; the caller checks that those are the ones it expects.
 *
 * buildCertificate verifies the votes itself (one aggregate check, bisecting only if some vote
 * is bad, plus one eligibility batch) unless told the votes were verified on arrival.
 */
import { asArray, asBytes, asUint, cborDecode, cborEncode, DecodeError } from '../codec/cbor.ts';
import {
  blsAggregateSignatures,
  blsVerifyAggregateSameMessage,
  blsVerifyPopsBatch,
  blsVerifyVotesBatch,
  voteMessage,
} from '../crypto/bls.ts';
import { decimalToRational } from '../crypto/leader.ts';
import { fromHex, hash256, toHex } from '../crypto/hash.ts';
import { eligibilitySeats, verifyEligibility, type CommitteeSelection } from './committee.ts';

export interface NonPersistentVote {
  index: number;
  eligibility: Uint8Array;
}

export interface Certificate {
  electionId: number;
  ebHash: Uint8Array;
  persistentVoters: Uint8Array;
  nonPersistentVoters: NonPersistentVote[];
  signature: Uint8Array;
}

export interface Vote {
  poolId: string;
  /** BLS signature over voteMessage(electionId, ebHash) */
  sig: Uint8Array;
  /** eligibility proof, required for non-persistent voters */
  eligibility?: Uint8Array;
}

export type CertificateRejection =
  | 'malformed'
  | 'wrong-committee'
  | 'no-voters'
  | 'unknown-voter'
  | 'ineligible-voter'
  | 'below-quorum'
  | 'invalid-eligibility'
  | 'invalid-signature';

export type CertificateVerdict = { ok: true; weight: bigint } | { ok: false; reason: CertificateRejection; detail?: string };

export function encodeCertificate(c: Certificate): Uint8Array {
  return cborEncode([
    c.electionId,
    c.ebHash,
    c.persistentVoters,
    c.nonPersistentVoters.map((v) => [v.index, v.eligibility]),
    c.signature,
  ]);
}

/** Strict decode; throws DecodeError on anything but the canonical shape. */
export function decodeCertificate(bytes: Uint8Array): Certificate {
  let raw: unknown;
  try {
    raw = cborDecode(bytes);
  } catch {
    throw new DecodeError('certificate');
  }
  const a = asArray(raw, 'certificate', 5);
  const np = asArray(a[3], 'certificate non-persistent voters').map((v) => {
    const pair = asArray(v, 'certificate non-persistent voter', 2);
    return { index: asUint(pair[0], 'voter index'), eligibility: new Uint8Array(asBytes(pair[1], 'eligibility proof', 48)) };
  });
  for (let i = 1; i < np.length; i++) {
    if (np[i].index <= np[i - 1].index) throw new DecodeError('certificate voter order');
  }
  return {
    electionId: asUint(a[0], 'election id'),
    ebHash: new Uint8Array(asBytes(a[1], 'EB hash', 32)),
    persistentVoters: new Uint8Array(asBytes(a[2], 'voter bitset')),
    nonPersistentVoters: np,
    signature: new Uint8Array(asBytes(a[4], 'aggregate signature', 48)),
  };
}

function bitsetFor(n: number, set: Iterable<number>): Uint8Array {
  const b = new Uint8Array((n + 7) >> 3);
  for (const i of set) b[i >> 3] |= 1 << (i & 7);
  return b;
}

/** Indices of set bits; null if the bitset has the wrong length or a bit beyond n. */
function bitsetMembers(b: Uint8Array, n: number): number[] | null {
  if (b.length !== (n + 7) >> 3) return null;
  const out: number[] = [];
  for (let i = 0; i < b.length * 8; i++) {
    if (b[i >> 3] & (1 << (i & 7))) {
      if (i >= n) return null;
      out.push(i);
    }
  }
  return out;
}

function quorumReached(weight: bigint, total: bigint, quorum: number): boolean {
  const { num, den } = decimalToRational(quorum);
  if (num <= 0n || num > den) throw new Error(`quorum must be in (0, 1], got ${quorum}`);
  return total > 0n && weight * den >= num * total;
}

/**
 * Aggregate the committee's votes on (electionId, ebHash) into a certificate, or null if they
 * do not reach the quorum. Votes from non-members, duplicates, non-persistent votes without a
 * seat-granting eligibility proof and (unless `votesVerified`) invalid signatures/proofs are
 * dropped.
 */
export function buildCertificate(
  selection: CommitteeSelection,
  votes: Vote[],
  ebHash: Uint8Array,
  electionId: number,
  quorum = 0.75,
  opts: { votesVerified?: boolean } = {},
): Certificate | null {
  const msg = voteMessage(electionId, ebHash);
  const seen = new Set<string>();
  type Cand = { role: 'persistent' | 'non-persistent'; index: number; pk: Uint8Array; sig: Uint8Array; eligibility?: Uint8Array; weight: bigint };
  let cands: Cand[] = [];
  for (const v of votes) {
    const m = selection.byPoolId.get(v.poolId);
    if (!m || seen.has(v.poolId) || !(v.sig instanceof Uint8Array) || v.sig.length !== 48) continue;
    if (m.role === 'persistent') {
      const p = selection.persistent[m.index];
      seen.add(v.poolId);
      cands.push({ role: m.role, index: m.index, pk: p.pk, sig: v.sig, weight: p.weight });
    } else {
      if (!v.eligibility) continue;
      const seats = eligibilitySeats(selection, m.index, v.eligibility);
      if (seats === 0) continue;
      seen.add(v.poolId);
      const c = selection.nonPersistentCandidates[m.index];
      cands.push({ role: m.role, index: m.index, pk: c.pk, sig: v.sig, eligibility: v.eligibility, weight: BigInt(seats) * selection.seatWeight });
    }
  }
  const weightOf = (cs: Cand[]) => cs.reduce((a, c) => a + c.weight, 0n);
  if (cands.length === 0 || !quorumReached(weightOf(cands), selection.totalWeight, quorum)) return null;
  if (!opts.votesVerified) {
    // Eligibility first, signatures last: every subset the signature check accepts verifies as
    // an aggregate, so the sum over all accepted votes verifies too; dropping votes after that
    // could break a pair of (colluding) signatures that only cancel out together.
    const np = cands.filter((c) => c.role === 'non-persistent');
    if (np.length > 0) {
      const el = verifyEligibility(selection, electionId, np.map((c) => ({ index: c.index, proof: c.eligibility! })));
      if (!el.ok) {
        const bad = new Set(el.bad.map((i) => np[i]));
        cands = cands.filter((c) => !bad.has(c));
      }
    }
    const sigOk = blsVerifyVotesBatch(msg, cands.map((c) => ({ pk: c.pk, sig: c.sig })));
    cands = cands.filter((_, i) => sigOk[i]);
    if (cands.length === 0 || !quorumReached(weightOf(cands), selection.totalWeight, quorum)) return null;
  }
  const persistent = cands.filter((c) => c.role === 'persistent').map((c) => c.index);
  const nonPersistent = cands
    .filter((c) => c.role === 'non-persistent')
    .sort((a, b) => a.index - b.index)
    .map((c) => ({ index: c.index, eligibility: new Uint8Array(c.eligibility!) }));
  return {
    electionId,
    ebHash: new Uint8Array(ebHash),
    persistentVoters: bitsetFor(selection.persistent.length, persistent),
    nonPersistentVoters: nonPersistent,
    signature: blsAggregateSignatures(cands.map((c) => c.sig)),
  };
}

/** Certificate weight from its voter sets (no cryptography); null if a voter is unknown/ineligible. */
function certificateWeight(cert: Certificate, selection: CommitteeSelection): { weight: bigint } | { reason: CertificateRejection; detail: string } {
  const members = bitsetMembers(cert.persistentVoters, selection.persistent.length);
  if (!members) return { reason: 'unknown-voter', detail: 'bitset length or a bit beyond the persistent seats' };
  let weight = 0n;
  for (const i of members) weight += selection.persistent[i].weight;
  let prev = -1;
  for (const v of cert.nonPersistentVoters) {
    if (!Number.isSafeInteger(v.index) || v.index <= prev) return { reason: 'malformed', detail: 'non-persistent voters not strictly ascending' };
    prev = v.index;
    if (!selection.nonPersistentCandidates[v.index]) return { reason: 'unknown-voter', detail: `non-persistent index ${v.index}` };
    const seats = eligibilitySeats(selection, v.index, v.eligibility);
    if (seats === 0) return { reason: 'ineligible-voter', detail: `non-persistent index ${v.index}` };
    weight += BigInt(seats) * selection.seatWeight;
  }
  return { weight };
}

/**
 * Full certificate check against the election's committee: structure, voters, quorum, then
 * the eligibility proofs (one randomized pairing product) and the aggregate signature (one
 * pairing check over the summed keys of all voters).
 */
export function verifyCertificate(cert: Certificate, selection: CommitteeSelection, quorum = 0.75): CertificateVerdict {
  if (
    !Number.isSafeInteger(cert.electionId) ||
    cert.electionId < 0 ||
    !(cert.ebHash instanceof Uint8Array) ||
    cert.ebHash.length !== 32 ||
    !(cert.signature instanceof Uint8Array) ||
    cert.signature.length !== 48 ||
    !(cert.persistentVoters instanceof Uint8Array) ||
    !Array.isArray(cert.nonPersistentVoters)
  ) {
    return { ok: false, reason: 'malformed' };
  }
  if (selection.kind === 'truncation' && cert.nonPersistentVoters.length > 0) {
    return { ok: false, reason: 'wrong-committee', detail: 'non-persistent voters in a truncation committee' };
  }
  const w = certificateWeight(cert, selection);
  if ('reason' in w) return { ok: false, reason: w.reason, detail: w.detail };
  const members = bitsetMembers(cert.persistentVoters, selection.persistent.length)!;
  if (members.length + cert.nonPersistentVoters.length === 0) return { ok: false, reason: 'no-voters' };
  if (!quorumReached(w.weight, selection.totalWeight, quorum)) {
    return { ok: false, reason: 'below-quorum', detail: `${w.weight} of ${selection.totalWeight}` };
  }
  if (cert.nonPersistentVoters.length > 0) {
    const el = verifyEligibility(
      selection,
      cert.electionId,
      cert.nonPersistentVoters.map((v) => ({ index: v.index, proof: v.eligibility })),
    );
    if (!el.ok) return { ok: false, reason: el.reason, detail: `non-persistent voters at ${el.bad.join(',')}` };
  }
  const pks = [
    ...members.map((i) => selection.persistent[i].pk),
    ...cert.nonPersistentVoters.map((v) => selection.nonPersistentCandidates[v.index].pk),
  ];
  if (!blsVerifyAggregateSameMessage(pks, voteMessage(cert.electionId, cert.ebHash), cert.signature)) {
    return { ok: false, reason: 'invalid-signature' };
  }
  return { ok: true, weight: w.weight };
}

/** Digest of the genesis pools' ids, BLS keys and proofs of possession (what a PoP check covered). */
export function popsDigest(pools: { id: string; blsVkey: string; blsPop: string }[]): string {
  const text = pools.map((p) => `${p.id} ${p.blsVkey} ${p.blsPop}`).join('\n');
  return toHex(hash256(new TextEncoder().encode(text)));
}

/**
 * Genesis check: ids of pools whose BLS key is malformed or whose proof of possession does not
 * verify (a rogue key without a valid PoP is rejected). All PoPs are checked in one randomized
 * pairing product (bisection only when some are bad).
 */
export function validatePoolPops(pools: { id: string; blsVkey: string; blsPop: string }[]): string[] {
  const items: { pk: Uint8Array; pop: Uint8Array }[] = [];
  const idx: number[] = [];
  const bad: string[] = [];
  pools.forEach((p, i) => {
    try {
      items.push({ pk: fromHex(p.blsVkey), pop: fromHex(p.blsPop) });
      idx.push(i);
    } catch {
      bad.push(p.id);
    }
  });
  const ok = blsVerifyPopsBatch(items);
  ok.forEach((v, j) => {
    if (!v) bad.push(pools[idx[j]].id);
  });
  const order = new Map(pools.map((p, i) => [p.id, i]));
  return bad.sort((a, b) => order.get(a)! - order.get(b)!);
}
