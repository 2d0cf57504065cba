/**
 * Praos leader check, computed in exact integer arithmetic.
 *
 * A pool with relative stake σ = stake / totalStake leads a slot iff
 *     v / 2^256 < φ(σ) = 1 − (1 − f)^σ
 * where v is the 256-bit *leader value* Blake2b-256("L" || beta) of the slot's VRF output beta
 * (Cardano's domain separation since Babbage; the nonce contribution is Blake2b-256("N" || beta)).
 *
 * Instead of Cardano's per-check `taylorExpCmp` at 34 decimal digits we compute, once per
 * (stake, totalStake, f) and cached, the integer threshold T = ⌈2^256 · φ(σ)⌉ so that
 *     leader  ⇔  v < T        (one bigint comparison per slot).
 * φ is evaluated in binary fixed point with WORK_BITS = 448 fractional bits (≈ 134 decimal
 * digits, four times Cardano's 34) by series with only positive terms:
 *   c = −ln(1 − f) = m·ln 2 + 2·atanh(z),  2·atanh(z) = 2 Σ z^(2k+1)/(2k+1),  0 ≤ z < 1/3
 *   E = exp(σ·c) = Σ (σc)^n / n!,   φ = (E − 1) / E
 * The accumulated truncation error is below 2^-430, so T can differ from the exact ⌈2^256·φ⌉
 * only if 2^256·φ lies within 2^-174 of an integer: the decision for a uniformly random v is
 * exact except with probability < 2^-174 per check. σ = 1 is handled exactly (φ = f).
 * Everything is deterministic bigint arithmetic, so all nodes decide identically.
 *
 * f is read as the decimal it prints as (0.05 → 5/100, as Cardano's rational activeSlotCoeff),
 * not as the binary double nearest to it.
 */
import { hash256 } from './hash.ts';

export const LEADER_VALUE_BITS = 256;
const LEADER_SCALE = 1n << 256n;
const WORK_BITS = 448n;
const ONE = 1n << WORK_BITS;

/** Leader value: Blake2b-256("L" || beta). 32 bytes, compared on the 2^256 scale. */
export function vrfLeaderValue(beta: Uint8Array): Uint8Array {
  return hash256(concat1(0x4c, beta));
}

/** Nonce contribution of a block: Blake2b-256("N" || beta). */
export function vrfNonceValue(beta: Uint8Array): Uint8Array {
  return hash256(concat1(0x4e, beta));
}

function concat1(prefix: number, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length + 1);
  out[0] = prefix;
  out.set(b, 1);
  return out;
}

function beToBigint(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = 0; i < b.length; i++) n = (n << 8n) | BigInt(b[i]);
  return n;
}

/** A decimal number as an exact rational num/den from its shortest printed form (0.05 → 1/20). */
export function decimalToRational(x: number): { num: bigint; den: bigint } {
  if (!Number.isFinite(x) || x < 0) throw new Error(`expected a finite non-negative number, got ${x}`);
  const [mant, expStr] = x.toString().toLowerCase().split('e');
  const exp = expStr === undefined ? 0 : Number(expStr);
  const [intPart, fracPart = ''] = mant.split('.');
  let num = BigInt(intPart + fracPart);
  let den = 10n ** BigInt(fracPart.length);
  if (exp >= 0) num *= 10n ** BigInt(exp);
  else den *= 10n ** BigInt(-exp);
  const g = gcd(num, den) || 1n;
  return { num: num / g, den: den / g };
}

/** f as an exact rational num/den from its shortest decimal form (0.05 → 1/20). */
export function activeSlotCoeffRational(f: number): { num: bigint; den: bigint } {
  if (!Number.isFinite(f) || f <= 0 || f > 1) throw new Error(`active slot coefficient must be in (0, 1], got ${f}`);
  return decimalToRational(f);
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

const lnCache = new Map<string, bigint>();

/** 2·atanh(p/q) = ln((q+p)/(q−p)) in WORK_BITS fixed point, for 0 ≤ p/q ≤ 1/3. */
function twoAtanh(p: bigint, q: bigint): bigint {
  const z = (p << WORK_BITS) / q;
  const z2 = (z * z) >> WORK_BITS;
  let pow = z; // z^(2k+1)
  let sum = 0n;
  for (let k = 1n; pow > 0n; k += 2n) {
    sum += pow / k;
    pow = (pow * z2) >> WORK_BITS;
  }
  return 2n * sum;
}

const LN2 = twoAtanh(1n, 3n); // ln 2 = 2·atanh(1/3)

/**
 * c = −ln(1 − f) = ln(R), R = den/(den − num), in WORK_BITS fixed point (f < 1).
 * Argument reduction R = 2^m · r with r ∈ [1, 2), so ln r = 2·atanh((r−1)/(r+1)) with
 * (r−1)/(r+1) < 1/3: about 70 series terms for any f.
 */
function negLnOneMinusF(num: bigint, den: bigint): bigint {
  const key = `${num}/${den}`;
  const hit = lnCache.get(key);
  if (hit !== undefined) return hit;
  const d = den - num;
  let m = 0n;
  while (d << (m + 1n) <= den) m++;
  const dm = d << m; // r = den / dm ∈ [1, 2)
  const c = m * LN2 + twoAtanh(den - dm, den + dm);
  lnCache.set(key, c);
  return c;
}

/** φ(σ) in WORK_BITS fixed point for 0 < stake < totalStake, 0 < f < 1. */
function phiFixed(stake: bigint, totalStake: bigint, num: bigint, den: bigint): bigint {
  const y = (stake * negLnOneMinusF(num, den)) / totalStake; // σ·c
  // E − 1 = Σ_{n≥1} y^n/n!
  let term = y;
  let em1 = 0n;
  for (let n = 2n; term > 0n; n++) {
    em1 += term;
    term = (term * y) / (n << WORK_BITS);
  }
  return (em1 << WORK_BITS) / (ONE + em1);
}

const thresholdCache = new Map<string, bigint>();
const THRESHOLD_CACHE_MAX = 100_000;

/**
 * T = ⌈2^256 · φ(stake/totalStake)⌉: leader iff leader value (big-endian, 256 bits) < T.
 * 0 for zero stake; 2^256 (always) when f = 1 and stake > 0. Cached.
 */
export function leaderThreshold(stake: bigint, totalStake: bigint, f: number): bigint {
  if (typeof stake !== 'bigint' || typeof totalStake !== 'bigint') throw new Error('stake and totalStake must be bigint');
  if (totalStake <= 0n) throw new Error(`totalStake must be positive, got ${totalStake}`);
  if (stake < 0n || stake > totalStake) throw new Error(`stake ${stake} outside [0, ${totalStake}]`);
  const key = `${stake}/${totalStake}/${f}`;
  const hit = thresholdCache.get(key);
  if (hit !== undefined) return hit;
  const { num, den } = activeSlotCoeffRational(f);
  let t: bigint;
  if (stake === 0n) t = 0n;
  else if (num === den) t = LEADER_SCALE;
  else if (stake === totalStake) t = ceilDiv(LEADER_SCALE * num, den); // φ(1) = f exactly
  else {
    const shift = WORK_BITS - 256n;
    t = ceilDiv(phiFixed(stake, totalStake, num, den), 1n << shift);
  }
  if (thresholdCache.size >= THRESHOLD_CACHE_MAX) thresholdCache.clear();
  thresholdCache.set(key, t);
  return t;
}

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/**
 * Praos leader check. `vrfOutput` is either the 64-byte VRF output beta (the leader value
 * Blake2b-256("L" || beta) is derived here) or an already derived 32-byte leader value; both
 * ways give the same decision. Stakes may be given as numbers (integers) or bigints.
 */
export function isLeader(vrfOutput: Uint8Array, stake: bigint | number, totalStake: bigint | number, f: number): boolean {
  let value: Uint8Array;
  if (vrfOutput.length === 64) value = vrfLeaderValue(vrfOutput);
  else if (vrfOutput.length === 32) value = vrfOutput;
  else throw new Error(`VRF output must be 64 bytes (beta) or 32 bytes (leader value), got ${vrfOutput.length}`);
  const t = leaderThreshold(BigInt(stake), BigInt(totalStake), f);
  if (t === 0n) return false;
  return beToBigint(value) < t;
}

/** φ(σ) as a float, for statistics and expected-block estimates only (never for decisions). */
export function leaderProbability(stake: bigint | number, totalStake: bigint | number, f: number): number {
  const t = leaderThreshold(BigInt(stake), BigInt(totalStake), f);
  return Number((t * 2n ** 53n) / LEADER_SCALE) / 2 ** 53;
}

/**
 * The leader schedule of the "reduce leader slot frequency" proposal (genesis
 * `praos.leaderIntervalSlots` = N): leadership is checked only in slots with slot mod N = 0, so
 * two blocks are never closer than N slots and every fork battle is a same-slot battle, settled by
 * the lower VRF value wherever the pools are. N = 1 is Praos (every slot).
 */
export function leaderSlotsEnabled(slot: number, interval = 1): boolean {
  if (!Number.isInteger(interval) || interval < 1) throw new Error(`leader interval must be an integer ≥ 1, got ${interval}`);
  return interval === 1 || slot % interval === 0;
}

/**
 * The active slot coefficient of an enabled slot under a leader interval N, recalibrated so the
 * mean block interval stays 1/f slots. A slot has at least one leader with probability
 * 1 − Π(1 − φ(σᵢ)) = 1 − (1 − f')^Σσᵢ = f' (φ's independent-aggregation property), so enabled
 * slots carry blocks with probability f' and the mean interval between them is N/f' slots:
 *     N / f' = 1 / f   ⇔   f' = N·f      (requires N·f ≤ 1).
 * At N·f = 1 every pool with stake leads every enabled slot (φ = 1) and the tiebreak alone picks
 * the block. The product is returned as the decimal it prints as (0.05·3 → 0.15, not
 * 0.15000000000000002), so every node derives the same exact rational from it.
 */
export function intervalActiveSlotCoeff(f: number, interval: number): number {
  if (!Number.isInteger(interval) || interval < 1) throw new Error(`leader interval must be an integer ≥ 1, got ${interval}`);
  if (interval === 1) return f;
  const { num, den } = activeSlotCoeffRational(f);
  if (BigInt(interval) * num > den) throw new Error(`leader interval ${interval} with f = ${f}: N·f = ${interval * f} > 1, the mean block interval 1/f cannot be kept`);
  return Number((interval * f).toPrecision(15));
}
