import { describe, expect, it } from 'vitest';
import {
  activeSlotCoeffRational,
  isLeader,
  leaderProbability,
  leaderThreshold,
  vrfLeaderValue,
  vrfNonceValue,
} from '../../node/crypto/leader.ts';
import { hash256 } from '../../node/crypto/hash.ts';

const SCALE = 1n << 256n;

function toBytes32(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/**
 * Exact oracle for σ = p/q, f = num/den: v leads iff v/2^256 < 1 − (1−f)^(p/q)
 *   ⇔ (1−f)^p · 2^(256q) < (2^256 − v)^q   (both sides positive, raised to the q-th power)
 *   ⇔ (den−num)^p · 2^(256q) < (2^256 − v)^q · den^p          (pure integers)
 */
function exactLeads(v: bigint, p: bigint, q: bigint, num: bigint, den: bigint): boolean {
  return (den - num) ** p * (1n << (256n * q)) < (SCALE - v) ** q * den ** p;
}

/**
 * Independent high-precision evaluation (decimal fixed point, other series than the module):
 * ln(1−f) = −Σ f^n/n, φ = −Σ_{n≥1} (−y)^n/n! with y = σ·(−ln(1−f)). Returns ⌈2^256 φ⌉.
 */
function decimalThreshold(stake: bigint, total: bigint, num: bigint, den: bigint): bigint {
  const D = 10n ** 160n;
  let c = 0n;
  let pw = D;
  for (let n = 1n; ; n++) {
    pw = (pw * num) / den;
    if (pw === 0n) break;
    c += pw / n;
  }
  const y = (c * stake) / total;
  let phi = 0n;
  let term = D;
  for (let n = 1n; ; n++) {
    term = (term * y) / (D * n);
    if (term === 0n) break;
    phi += n % 2n === 1n ? term : -term;
  }
  return (phi * SCALE + D - 1n) / D;
}

describe('Praos leader check', () => {
  it('reads f as its decimal rational', () => {
    expect(activeSlotCoeffRational(0.05)).toEqual({ num: 1n, den: 20n });
    expect(activeSlotCoeffRational(1e-7)).toEqual({ num: 1n, den: 10_000_000n });
    expect(activeSlotCoeffRational(1)).toEqual({ num: 1n, den: 1n });
    expect(() => activeSlotCoeffRational(0)).toThrow();
    expect(() => activeSlotCoeffRational(1.5)).toThrow();
  });

  it('σ = 1 gives φ = f exactly; σ = 0 never leads; f = 1 always leads', () => {
    const t = leaderThreshold(10n, 10n, 0.05);
    expect(t).toBe((SCALE + 19n) / 20n); // ⌈2^256/20⌉
    expect(isLeader(toBytes32(t - 1n), 10n, 10n, 0.05)).toBe(true);
    expect(isLeader(toBytes32(t), 10n, 10n, 0.05)).toBe(false);
    expect(leaderThreshold(0n, 10n, 0.05)).toBe(0n);
    expect(isLeader(new Uint8Array(32), 0n, 10n, 0.05)).toBe(false);
    expect(isLeader(new Uint8Array(32).fill(0xff), 1n, 10n ** 15n, 1)).toBe(true);
  });

  it('matches the exact integer oracle at the threshold boundary for rational σ', () => {
    const cases: [bigint, bigint, number][] = [
      [1n, 2n, 0.05],
      [1n, 3n, 0.05],
      [2n, 7n, 0.05],
      [99n, 100n, 0.05],
      [1n, 1000n, 0.05],
      [1n, 3n, 0.5],
      [1n, 2n, 0.75], // φ = 1/2 exactly: threshold 2^255
      [5n, 11n, 0.9],
      [1n, 10n, 0.999999],
    ];
    for (const [p, q, f] of cases) {
      const { num, den } = activeSlotCoeffRational(f);
      const t = leaderThreshold(p, q, f);
      expect(exactLeads(t - 1n, p, q, num, den), `${p}/${q} f=${f} T-1`).toBe(true);
      expect(exactLeads(t, p, q, num, den), `${p}/${q} f=${f} T`).toBe(false);
      expect(isLeader(toBytes32(t - 1n), p, q, f)).toBe(true);
      expect(isLeader(toBytes32(t), p, q, f)).toBe(false);
    }
    expect(leaderThreshold(1n, 2n, 0.75)).toBe(1n << 255n);
  });

  it('matches an independent decimal evaluation at tiny and ordinary σ', () => {
    const total = 45_000_000_000_000_000n; // 45 G ada in lovelace
    for (const stake of [1n, 7n, 1_000_000n, 123_456_789_012n, total / 3n, total - 1n]) {
      expect(leaderThreshold(stake, total, 0.05), `stake ${stake}`).toBe(decimalThreshold(stake, total, 1n, 20n));
    }
    // σ = 1 lovelace out of 45e15: φ ≈ 1.14e-18, still a positive threshold
    const tiny = leaderThreshold(1n, total, 0.05);
    expect(tiny > 0n).toBe(true);
    expect(Number(tiny) / 2 ** 256).toBeCloseTo(-Math.log1p(-0.05) / 45e15, 30);
  });

  it('agrees with the float formula and is monotone in stake', () => {
    for (const sigma of [0.001, 0.01, 0.1, 0.3, 0.5, 0.9]) {
      const stake = BigInt(Math.round(sigma * 1e9));
      const p = leaderProbability(stake, 1_000_000_000n, 0.05);
      expect(Math.abs(p - (1 - 0.95 ** sigma)) / p).toBeLessThan(1e-12);
    }
    let prev = -1n;
    for (let s = 0n; s <= 20n; s++) {
      const t = leaderThreshold(s, 20n, 0.05);
      expect(t > prev).toBe(true);
      prev = t;
    }
  });

  it('derives the leader value from a 64-byte beta, with domain separation', () => {
    const beta = hash256(new Uint8Array([1])).slice(0, 32);
    const beta64 = new Uint8Array(64);
    beta64.set(beta);
    const lv = vrfLeaderValue(beta64);
    const lnonce = vrfNonceValue(beta64);
    expect(lv.length).toBe(32);
    expect(Buffer.compare(lv, lnonce)).not.toBe(0);
    expect(Buffer.compare(lv, hash256(Uint8Array.of(0x4c, ...beta64)))).toBe(0);
    for (const [s, t] of [[1n, 2n], [1n, 50n], [3n, 4n]] as [bigint, bigint][]) {
      expect(isLeader(beta64, s, t, 0.05)).toBe(isLeader(lv, s, t, 0.05));
    }
    expect(() => isLeader(new Uint8Array(16), 1n, 2n, 0.05)).toThrow(/64 bytes/);
  });

  it('elects about f of slots at σ = 1 (deterministic sample)', () => {
    let wins = 0;
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const beta = new Uint8Array(64);
      new DataView(beta.buffer).setUint32(0, i);
      if (isLeader(beta, 1n, 1n, 0.05)) wins++;
    }
    // Binomial(4000, 0.05): mean 200, sd ≈ 13.8
    expect(wins).toBeGreaterThan(140);
    expect(wins).toBeLessThan(260);
  });
});
