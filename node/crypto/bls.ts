/**
 * BLS12-381 MinSig for Leios votes: signatures in G1 (48 bytes compressed), public keys in G2
 * (96 bytes compressed), on @noble/curves 2.x `bls12_381.shortSignatures`; hash-to-curve is
 * RFC 9380 `BLS12381G1_XMD:SHA-256_SSWU_RO_` with our DSTs:
 *   DST_POP  = "BLS_DST_CARDANO_BASE_LEIOS_POP_V1"   proof of possession = sign("PoP" || pk)
 *   DST_VOTE = "BLS_DST_CARDANO_BASE_LEIOS_VOTE_V1"  votes = sign(voteMessage(electionId, ebHash))
 *
 * Keys: `blsKeygen(seed)` is the IETF KeyGen of draft-irtf-cfrg-bls-signature-05 §2.3 (the same
 * HKDF_mod_r as EIP-2333 and blst's keygen): salt "BLS-SIG-KEYGEN-SALT-" hashed with SHA-256
 * each round, PRK = HKDF-Extract(salt, seed || 0x00), OKM = HKDF-Expand(PRK, 0x0030, 48),
 * sk = OKM mod r (retry on 0). sk is 32 bytes big-endian.
 *
 * Costs (noble, one core, see bench/leios.bench.ts): a pairing check ≈ 20–40 ms, decoding a G2
 * key ≈ 1.5–2.5 ms, a G1 signature ≈ 1 ms, hashing to G1 ≈ 2–3 ms. So decoded public keys,
 * decoded signatures and hashed vote messages are cached here (bounded); same-message
 * aggregates are verified with ONE pairing check (`blsVerifyAggregateSameMessage`); incoming
 * votes are checked in batches (`blsVerifyVotesBatch`: one pairing product for the whole
 * batch, bisection only if some are bad). Warm the key cache for a new committee off the hot path
 * with `blsPublicKeyPoint(pk)` per member (≈ 2 ms each, once per process).
 * Same-message aggregation is only sound against rogue keys because every key has a verified
 * PoP (`blsVerifyPop`, enforced for genesis pools by leios/certificate.ts validatePoolPops).
 *
 * Batches must vouch for each item, not just for their sum (votes are kept and relayed one by
 * one; eligibility proofs (DST_ELIG) act as a VRF): `blsVerifyVotesBatch` and
 * `blsVerifyEligibilityBatch` check a random linear combination (64-bit verifier-chosen
 * coefficients; a forgery passes with probability 2^-64) in one pairing product.
 * `blsVerifyPopsBatch` does the same for many PoPs (distinct messages).
 *
 * Verification functions never throw on malformed bytes: they return false.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { extract, expand } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { RecentMap } from '../util/recent-map.ts';

const sigs = bls12_381.shortSignatures;
const G1 = bls12_381.G1.Point;
const G2 = bls12_381.G2.Point;
type G1Point = InstanceType<typeof G1>;
type G2Point = InstanceType<typeof G2>;
const R = bls12_381.fields.Fr.ORDER;

export const DST_POP = 'BLS_DST_CARDANO_BASE_LEIOS_POP_V1';
export const DST_VOTE = 'BLS_DST_CARDANO_BASE_LEIOS_VOTE_V1';
/** Non-persistent voter eligibility proofs (leios/committee.ts); a third tag, so a vote can never
 *  double as an eligibility proof or vice versa. */
export const DST_ELIG = 'BLS_DST_CARDANO_BASE_LEIOS_ELIG_V1';
export const BLS_SK_BYTES = 32;
export const BLS_PK_BYTES = 96;
export const BLS_SIG_BYTES = 48;

const enc = new TextEncoder();
const POP_PREFIX = enc.encode('PoP');
const KEYGEN_SALT = enc.encode('BLS-SIG-KEYGEN-SALT-');

function hexOf(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

const pkCache = new RecentMap<G2Point>({ maxEntries: 20_000 });
const msgCache = new RecentMap<G1Point>({ maxEntries: 256 });
/** Decoded signatures: a vote checked on arrival is not decoded again when aggregated. */
const sigCache = new RecentMap<G1Point>({ maxEntries: 8192, maxAgeMs: 10 * 60_000 });

/** Decoded, subgroup-checked public key (cached); throws on an invalid or identity key. */
export function blsPublicKeyPoint(pk: Uint8Array): G2Point {
  if (!(pk instanceof Uint8Array) || pk.length !== BLS_PK_BYTES) {
    throw new Error(`BLS public key must be ${BLS_PK_BYTES} bytes`);
  }
  const key = hexOf(pk);
  const hit = pkCache.get(key);
  if (hit) return hit;
  const p = G2.fromBytes(pk);
  p.assertValidity();
  if (p.is0()) throw new Error('BLS public key is the identity');
  pkCache.set(key, p);
  return p;
}

function tryPk(pk: Uint8Array): G2Point | null {
  try {
    return blsPublicKeyPoint(pk);
  } catch {
    return null;
  }
}

function trySig(sig: Uint8Array): G1Point | null {
  if (!(sig instanceof Uint8Array) || sig.length !== BLS_SIG_BYTES) return null;
  const key = hexOf(sig);
  const hit = sigCache.get(key);
  if (hit) return hit;
  try {
    const p = sigs.Signature.fromBytes(sig); // on-curve and subgroup checked
    if (p.is0()) return null;
    sigCache.set(key, p);
    return p;
  } catch {
    return null;
  }
}

function hashToG1(msg: Uint8Array, dst: string): G1Point {
  const key = dst + ':' + hexOf(msg);
  const hit = msgCache.get(key);
  if (hit) return hit;
  const p = sigs.hash(msg, dst);
  msgCache.set(key, p);
  return p;
}

function skScalar(sk: Uint8Array): Uint8Array {
  if (!(sk instanceof Uint8Array) || sk.length !== BLS_SK_BYTES) {
    throw new Error(`BLS secret key must be ${BLS_SK_BYTES} bytes`);
  }
  return sk;
}

/** e(pk, H) == e(G2, sig), one pairing check; every caller passes checked points (decoded keys
 *  and signatures, sums of them, hashes). */
function pairingCheck(pk: G2Point, h: G1Point, sig: G1Point): boolean {
  return productWithNegG2IsOne([{ g1: h, g2: pk }], sig);
}

/** IETF BLS KeyGen (HKDF_mod_r) from a ≥ 32-byte seed; deterministic. */
export function blsKeygen(seed: Uint8Array): { sk: Uint8Array; pk: Uint8Array } {
  const sk = blsSecretKey(seed);
  return { sk, pk: sigs.getPublicKey(skScalar(sk)).toBytes(true) };
}

/** The secret key of blsKeygen alone: a signer needs no public key, and deriving it (a G2
 *  multiplication) was a fifth of a node's start-up CPU. */
export function blsSecretKey(seed: Uint8Array): Uint8Array {
  if (!(seed instanceof Uint8Array) || seed.length < 32) throw new Error('BLS keygen seed must be at least 32 bytes');
  const ikm = new Uint8Array(seed.length + 1);
  ikm.set(seed); // || I2OSP(0, 1)
  let salt: Uint8Array = KEYGEN_SALT;
  for (;;) {
    salt = sha256(salt);
    const okm = expand(sha256, extract(sha256, ikm, salt), Uint8Array.of(0, 48), 48);
    let x = 0n;
    for (const b of okm) x = (x << 8n) | BigInt(b);
    x %= R;
    if (x !== 0n) {
      const sk = new Uint8Array(32);
      for (let i = 31; i >= 0; i--) {
        sk[i] = Number(x & 0xffn);
        x >>= 8n;
      }
      return sk;
    }
  }
}

export function blsPublicKey(sk: Uint8Array): Uint8Array {
  return sigs.getPublicKey(skScalar(sk)).toBytes(true);
}

function signWith(sk: Uint8Array, msg: Uint8Array, dst: string): Uint8Array {
  return sigs.Signature.toBytes(sigs.sign(hashToG1(msg, dst), skScalar(sk)));
}

function popMessage(pk: Uint8Array): Uint8Array {
  const m = new Uint8Array(POP_PREFIX.length + pk.length);
  m.set(POP_PREFIX);
  m.set(pk, POP_PREFIX.length);
  return m;
}

/** Proof of possession: sign("PoP" || pk) with DST_POP. 48 bytes. */
export function blsPop(sk: Uint8Array): Uint8Array {
  return signWith(sk, popMessage(blsPublicKey(sk)), DST_POP);
}

export function blsVerifyPop(pk: Uint8Array, pop: Uint8Array): boolean {
  const P = tryPk(pk);
  const S = trySig(pop);
  if (!P || !S) return false;
  return pairingCheck(P, hashToG1(popMessage(pk), DST_POP), S);
}

/** Vote signature (DST_VOTE). 48 bytes. */
export function blsSign(sk: Uint8Array, msg: Uint8Array): Uint8Array {
  return signWith(sk, msg, DST_VOTE);
}

/** One vote signature check (one pairing: avoid on hot paths; prefer the batch/aggregate forms). */
export function blsVerify(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  const P = tryPk(pk);
  const S = trySig(sig);
  if (!P || !S) return false;
  return pairingCheck(P, hashToG1(msg, DST_VOTE), S);
}

/** Sum of signatures (G1). Throws on an empty list or a malformed signature. */
export function blsAggregateSignatures(sigList: Uint8Array[]): Uint8Array {
  if (sigList.length === 0) throw new Error('cannot aggregate zero signatures');
  let acc = G1.ZERO;
  for (const s of sigList) {
    const p = trySig(s);
    if (!p) throw new Error('malformed BLS signature in aggregate');
    acc = acc.add(p);
  }
  return sigs.Signature.toBytes(acc);
}

function aggregatePkPoints(pks: Uint8Array[]): G2Point {
  let acc = G2.ZERO;
  for (const pk of pks) acc = acc.add(blsPublicKeyPoint(pk));
  return acc;
}

/** Sum of public keys (G2). Throws on an empty list or a malformed key. */
export function blsAggregatePublicKeys(pks: Uint8Array[]): Uint8Array {
  if (pks.length === 0) throw new Error('cannot aggregate zero public keys');
  return aggregatePkPoints(pks).toBytes(true);
}

/**
 * All `pks` signed the same `msg` (DST_VOTE) and `aggSig` is the sum of their signatures:
 * aggregates the (cached, PoP-checked) keys and runs ONE pairing check.
 */
export function blsVerifyAggregateSameMessage(pks: Uint8Array[], msg: Uint8Array, aggSig: Uint8Array): boolean {
  if (pks.length === 0) return false;
  const S = trySig(aggSig);
  if (!S) return false;
  let P: G2Point;
  try {
    P = aggregatePkPoints(pks);
  } catch {
    return false;
  }
  if (P.is0()) return false;
  return pairingCheck(P, hashToG1(msg, DST_VOTE), S);
}

/**
 * Per-vote validity of many votes on the same message (DST_VOTE), as a randomized batch:
 * e(Σ r_i·σ_i, G2) = e(H(msg), Σ r_i·pk_i) with fresh 64-bit r_i, one pairing product when all
 * are valid (the common case); otherwise bisect (fresh r_i per half), so k bad votes cost
 * O(k·log n) products. Random coefficients, not a plain sum: with a plain sum, σ1 + δ and
 * σ2 − δ from two colluding voters cancel and pass as valid votes each (the vote pool would
 * then keep and relay two invalid votes). Malformed keys/signatures are invalid without any
 * pairing.
 */
export function blsVerifyVotesBatch(msg: Uint8Array, items: { pk: Uint8Array; sig: Uint8Array }[]): boolean[] {
  return sameMessageBatch(msg, DST_VOTE, items);
}

/** Eligibility proof: BLS signature with DST_ELIG (unique, so usable as a VRF output). */
export function blsSignEligibility(sk: Uint8Array, msg: Uint8Array): Uint8Array {
  return signWith(sk, msg, DST_ELIG);
}

/** Verifier-chosen 64-bit coefficients from the CSPRNG (never zero): a forged batch passes with probability ≤ 2^-64. */
function randomScalars64(n: number): bigint[] {
  const words = new BigUint64Array(n);
  // getRandomValues fills at most 65,536 bytes per call.
  for (let i = 0; i < n; i += 8192) crypto.getRandomValues(words.subarray(i, Math.min(n, i + 8192)));
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(words[i] | 1n);
  return out;
}

/**
 * Σ r_i·P_i for 64-bit r_i by the bucket method, its window c chosen for the batch size: a
 * window costs n additions plus ~2·2^c for its buckets, so one vote (c = 1, plain double-and-add)
 * costs ~100 G2 operations where a fixed c = 4 cost ~560, more than half of a one-vote batch.
 * Empty buckets are skipped rather than added as the identity (a full addition each).
 */
function msm64<P extends { add(o: P): P; double(): P; is0(): boolean }>(zero: P, points: P[], scalars: bigint[]): P {
  const n = points.length;
  let c = 1;
  let best = Infinity;
  for (let w = 1; w <= 8; w++) {
    const cost = Math.ceil(64 / w) * (n + 2 * ((1 << w) - 1) + w);
    if (cost < best) [best, c] = [cost, w];
  }
  const windows = Math.ceil(64 / c);
  const mask = BigInt((1 << c) - 1);
  let acc: P | null = null;
  for (let w = windows - 1; w >= 0; w--) {
    if (acc) for (let d = 0; d < c; d++) acc = acc.double();
    const buckets: (P | null)[] = new Array(1 << c).fill(null);
    const shift = BigInt(c * w);
    for (let i = 0; i < n; i++) {
      const digit = Number((scalars[i] >> shift) & mask);
      if (digit) buckets[digit] = buckets[digit] ? buckets[digit]!.add(points[i]) : points[i];
    }
    // Σ d·bucket[d] as a running sum from the top
    let running: P | null = null;
    let sum: P | null = null;
    for (let d = buckets.length - 1; d >= 1; d--) {
      const b = buckets[d];
      if (b) running = running ? running.add(b) : b;
      if (running) sum = sum ? sum.add(running) : running;
    }
    if (sum) acc = acc ? acc.add(sum) : sum;
  }
  return acc ?? zero;
}

let negG2Lines: unknown;

/**
 * Π e(g1_i, g2_i) · e(S, −G2) = 1, for points already known to be in their subgroups (decoded
 * keys and signatures are checked, hashes are cofactor-cleared, and sums and multiples stay in):
 * the Miller loop directly, without pairingBatch's per-call subgroup checks of the fresh sums
 * (~4 ms for a G2 point, ~2.5 ms for G1) and with −G2's line coefficients computed once. A batch
 * of one vote: 24 -> 16 ms. The identity anywhere fails the check (as pairingBatch refuses it).
 */
function productWithNegG2IsOne(pairs: { g1: G1Point; g2: G2Point }[], S: G1Point): boolean {
  if (S.is0() || pairs.some((p) => p.g1.is0() || p.g2.is0())) return false;
  const pre = (bls12_381.utils as unknown as { calcPairingPrecomputes: (p: G2Point) => unknown }).calcPairingPrecomputes;
  negG2Lines ??= pre(G2.BASE.negate());
  const terms = pairs.map(({ g1, g2 }) => {
    const a = g1.toAffine();
    return [pre(g2), a.x, a.y];
  });
  const s = S.toAffine();
  terms.push([negG2Lines, s.x, s.y]);
  try {
    const f = (bls12_381.millerLoopBatch as unknown as (t: unknown[], fe: boolean) => Parameters<typeof bls12_381.fields.Fp12.eql>[0])(terms, true);
    return bls12_381.fields.Fp12.eql(f, bls12_381.fields.Fp12.ONE);
  } catch {
    return false;
  }
}

/** Finds the invalid items by bisection, given a "whole subset is valid" test. */
function bisect(allValid: (idx: number[]) => boolean, ok: boolean[], idx: number[]): void {
  if (idx.length === 0) return;
  if (allValid(idx)) {
    for (const i of idx) ok[i] = true;
    return;
  }
  if (idx.length === 1) return;
  const mid = idx.length >> 1;
  bisect(allValid, ok, idx.slice(0, mid));
  bisect(allValid, ok, idx.slice(mid));
}

/**
 * Per-item validity of eligibility proofs (DST_ELIG) by different keys on the same `msg`: the
 * same randomized batch check as votes (each proof must be valid on its own: they act as VRF
 * outputs).
 */
export function blsVerifyEligibilityBatch(msg: Uint8Array, items: { pk: Uint8Array; sig: Uint8Array }[]): boolean[] {
  return sameMessageBatch(msg, DST_ELIG, items);
}

/**
 * Randomized batch check of signatures by different keys on one message:
 * e(H(msg), Σ r_i pk_i) · e(Σ r_i σ_i, −G2) = 1 (two Miller loops, one final exponentiation);
 * bisection with fresh coefficients on failure.
 */
function sameMessageBatch(msg: Uint8Array, dst: string, items: { pk: Uint8Array; sig: Uint8Array }[]): boolean[] {
  const ok = new Array<boolean>(items.length).fill(false);
  const Ps: G2Point[] = [];
  const Ss: G1Point[] = [];
  const live: number[] = [];
  items.forEach((it, i) => {
    const P = tryPk(it.pk);
    const S = trySig(it.sig);
    Ps.push(P ?? G2.ZERO);
    Ss.push(S ?? G1.ZERO);
    if (P && S) live.push(i);
  });
  if (live.length === 0) return ok;
  const h = hashToG1(msg, dst);
  bisect((idx) => {
    const r = randomScalars64(idx.length);
    const P = msm64(G2.ZERO, idx.map((i) => Ps[i]), r);
    const S = msm64(G1.ZERO, idx.map((i) => Ss[i]), r);
    return productWithNegG2IsOne([{ g1: h, g2: P }], S);
  }, ok, live);
  return ok;
}

/**
 * Per-item validity of many proofs of possession (distinct messages "PoP" || pk_i):
 * e(G2, Σ r_i σ_i) = Π e(r_i·H(m_i), pk_i) as one pairing product (n+1 Miller loops, one final
 * exponentiation) instead of n separate pairing checks; bisection on failure.
 */
export function blsVerifyPopsBatch(items: { pk: Uint8Array; pop: Uint8Array }[]): boolean[] {
  const ok = new Array<boolean>(items.length).fill(false);
  const Ps: (G2Point | null)[] = [];
  const Ss: (G1Point | null)[] = [];
  const Hs: (G1Point | null)[] = [];
  const live: number[] = [];
  items.forEach((it, i) => {
    const P = tryPk(it.pk);
    const S = trySig(it.pop);
    Ps.push(P);
    Ss.push(S);
    Hs.push(P && S ? sigs.hash(popMessage(it.pk), DST_POP) : null);
    if (P && S) live.push(i);
  });
  bisect((idx) => {
    const r = randomScalars64(idx.length);
    const S = msm64(G1.ZERO, idx.map((i) => Ss[i]!), r);
    return productWithNegG2IsOne(idx.map((i, j) => ({ g1: Hs[i]!.multiplyUnsafe(r[j]), g2: Ps[i]! })), S);
  }, ok, live);
  return ok;
}

/**
 * Canonical bytes every voter signs for an election: "LEIOS-VOTE" tag is carried by DST_VOTE,
 * so the message is u64 big-endian electionId (the announcing RB's slot) || 32-byte EB hash.
 */
export function voteMessage(electionId: number, ebHash: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(electionId) || electionId < 0) throw new Error(`bad election id ${electionId}`);
  if (!(ebHash instanceof Uint8Array) || ebHash.length !== 32) throw new Error('EB hash must be 32 bytes');
  const m = new Uint8Array(40);
  new DataView(m.buffer).setBigUint64(0, BigInt(electionId));
  m.set(ebHash, 8);
  return m;
}
