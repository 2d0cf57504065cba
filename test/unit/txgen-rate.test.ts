// Open-loop rate control of the tx-generator, driven by a fake clock (explicit times).
import { describe, expect, it } from 'vitest';
import { mulberry32, onOffRate, PoissonArrivals, rampedRate, TokenBucket } from '../../tx-generator/rate.ts';

/** Run arrivals with a fake clock ticking every tickS up to endS; returns the arrival times. */
function drive(take: (t: number) => number, endS: number, tickS: number): number[] {
  const times: number[] = [];
  for (let k = 1; ; k++) {
    const t = Math.min(k * tickS, endS);
    for (let n = take(t); n > 0; n--) times.push(t);
    if (t >= endS) break;
  }
  return times;
}

const perSecond = (times: number[], seconds: number) => {
  const out = new Array(seconds).fill(0);
  for (const t of times) out[Math.min(seconds - 1, Math.ceil(t - 1e-9) - 1)]++;
  return out;
};

describe('token bucket', () => {
  it('emits exactly rate·t by time t at a constant rate, whatever the tick', () => {
    for (const tick of [0.001, 0.01, 0.1, 0.37, 1]) {
      const b = new TokenBucket(rampedRate(100));
      const times = drive((t) => b.take(t), 10, tick);
      expect(times.length).toBe(1000);
      expect(b.dropped).toBe(0);
    }
  });

  it('spaces arrivals evenly: 7 tx/s on 10 ms ticks gives one every ~143 ms', () => {
    const b = new TokenBucket(rampedRate(7));
    const times = drive((t) => b.take(t), 3, 0.01);
    expect(times.length).toBe(21);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeCloseTo(1 / 7, 1);
    expect(perSecond(times, 3)).toEqual([7, 7, 7]);
  });

  it('follows a linear ramp-up: C(t) = r·t²/2R during the ramp, then r per second', () => {
    const p = rampedRate(100, 4);
    expect(p.cumulative(2)).toBeCloseTo(50);
    expect(p.cumulative(4)).toBeCloseTo(200);
    expect(p.cumulative(6)).toBeCloseTo(400);
    expect(p.rateAt(1)).toBeCloseTo(25);
    expect(p.rateAt(5)).toBe(100);
    const b = new TokenBucket(p);
    const times = drive((t) => b.take(t), 6, 0.01);
    expect(times.length).toBe(400);
    expect(perSecond(times, 6)).toEqual([12, 38, 62, 88, 100, 100]); // ⌊C(s)⌋ differences
  });

  it('a stalled caller catches up within the burst, and loses the excess beyond it', () => {
    const b = new TokenBucket(rampedRate(100), { burstS: 2 });
    expect(b.take(1)).toBe(100);
    expect(b.take(2.5)).toBe(150); // 1.5 s stall: within 2 s of burst
    expect(b.take(7.5)).toBe(200); // 5 s stall: capped at 2 s worth
    expect(b.dropped).toBe(300);
    expect(b.take(8)).toBe(50);
  });

  it('never emits for a time that goes backwards', () => {
    const b = new TokenBucket(rampedRate(10));
    expect(b.take(1)).toBe(10);
    expect(b.take(0.5)).toBe(0);
    expect(b.take(1.1)).toBe(1);
  });
});

describe('on/off profile', () => {
  it('emits at the rate during on phases only', () => {
    const p = onOffRate(50, 2, 3);
    expect(p.rateAt(1)).toBe(50);
    expect(p.rateAt(3)).toBe(0);
    expect(p.rateAt(5.5)).toBe(50);
    expect(p.cumulative(10)).toBeCloseTo(200);
    const b = new TokenBucket(p);
    const times = drive((t) => b.take(t), 10, 0.01);
    expect(perSecond(times, 10)).toEqual([50, 50, 0, 0, 0, 50, 50, 0, 0, 0]);
  });

  it('applies the ramp-up inside on phases', () => {
    const p = onOffRate(100, 1, 1, 4);
    // on during [0,1), [2,3), [4,5): ∫ ramp over those = 1/8 + 5/8 + 1
    expect(p.cumulative(6)).toBeCloseTo(100 * (0.125 + 0.625 + 1));
    expect(p.cumulative(2)).toBeCloseTo(12.5);
    expect(p.cumulative(2.5)).toBeCloseTo(12.5 + 100 * (2.5 * 2.5 - 4) / 8);
  });

  it('with no off time it is the plain ramped rate', () => {
    expect(onOffRate(10, 1, 0, 2).cumulative(7)).toBeCloseTo(rampedRate(10, 2).cumulative(7));
  });
});

describe('poisson arrivals', () => {
  it('are deterministic per seed and average the rate', () => {
    const run = (seed: number) => {
      const a = new PoissonArrivals(rampedRate(200), seed);
      return drive((t) => a.take(t), 50, 0.01);
    };
    const x = run(7);
    expect(run(7)).toEqual(x);
    expect(run(8)).not.toEqual(x);
    // 10 000 expected: within 4 standard deviations (100)
    expect(Math.abs(x.length - 10_000)).toBeLessThan(400);
  });

  it('have exponential inter-arrival times (coefficient of variation ≈ 1)', () => {
    const a = new PoissonArrivals(rampedRate(1000), 3);
    // a fine clock so arrivals keep their own times
    const times = drive((t) => a.take(t), 20, 0.0001);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    const m = gaps.reduce((s, g) => s + g, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((s, g) => s + (g - m) ** 2, 0) / gaps.length);
    expect(m).toBeCloseTo(0.001, 4);
    expect(sd / m).toBeGreaterThan(0.9);
    expect(sd / m).toBeLessThan(1.1);
    // and the per-second counts vary like a Poisson count (variance ≈ mean), unlike the bucket
    const ps = perSecond(times, 20);
    const pm = ps.reduce((s, c) => s + c, 0) / ps.length;
    const pv = ps.reduce((s, c) => s + (c - pm) ** 2, 0) / ps.length;
    expect(pv / pm).toBeGreaterThan(0.3);
    expect(pv / pm).toBeLessThan(2.5);
  });

  it('mulberry32 is uniform on [0, 1)', () => {
    const r = mulberry32(1);
    const xs = Array.from({ length: 10_000 }, r);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeCloseTo(0.5, 1);
  });
});
