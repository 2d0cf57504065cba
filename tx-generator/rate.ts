// Rate control, open loop: arrivals are due by the clock, never by how fast the node takes
// them. A rate profile gives the target rate r(t) and its integral C(t) = ∫₀ᵗ r (the
// expected number of arrivals by t); arrival processes turn C(t) into whole arrivals.
// All times are seconds since the start of the benchmark phase.

export interface RateProfile {
  /** Target rate (tx/s) at t. */
  rateAt(tS: number): number;
  /** Expected arrivals in [0, t]: ∫₀ᵗ rateAt. */
  cumulative(tS: number): number;
  /** Largest rate the profile reaches. */
  readonly peak: number;
}

/** Share of the full rate at t under a linear ramp of rampS seconds. */
function rampShare(tS: number, rampS: number): number {
  if (tS <= 0) return 0;
  return rampS > 0 && tS < rampS ? tS / rampS : 1;
}

/** ∫₀ᵗ rampShare. */
function rampIntegral(tS: number, rampS: number): number {
  if (tS <= 0) return 0;
  if (rampS <= 0) return tS;
  return tS < rampS ? (tS * tS) / (2 * rampS) : rampS / 2 + (tS - rampS);
}

/** `rate` tx/s after a linear ramp-up of `rampS` seconds from 0. */
export function rampedRate(rate: number, rampS = 0): RateProfile {
  return {
    peak: rate,
    rateAt: (t) => rate * rampShare(t, rampS),
    cumulative: (t) => rate * rampIntegral(t, rampS),
  };
}

/**
 * On/off: `rate` (ramped) during the first `onS` of every `onS + offS` period, 0 otherwise.
 * The cycle starts with an on phase at t = 0.
 */
export function onOffRate(rate: number, onS: number, offS: number, rampS = 0): RateProfile {
  if (!(onS > 0)) throw new RangeError('onS must be > 0');
  const period = onS + Math.max(0, offS);
  const onAt = (t: number) => offS <= 0 || t - Math.floor(t / period) * period < onS;
  return {
    peak: rate,
    rateAt: (t) => (t >= 0 && onAt(t) ? rate * rampShare(t, rampS) : 0),
    cumulative: (t) => {
      if (t <= 0) return 0;
      if (offS <= 0) return rate * rampIntegral(t, rampS);
      let sum = 0;
      const full = Math.floor(t / period);
      // cycles after the ramp have a closed form: each contributes onS
      const rampCycles = Math.min(full, Math.ceil(rampS / period));
      for (let k = 0; k < rampCycles; k++) sum += rampIntegral(k * period + onS, rampS) - rampIntegral(k * period, rampS);
      sum += (full - rampCycles) * onS;
      const a = full * period;
      const b = Math.min(t, a + onS);
      if (b > a) sum += rampIntegral(b, rampS) - rampIntegral(a, rampS);
      return rate * sum;
    },
  };
}

/** Arrivals due by time t, taken incrementally. */
export interface Arrivals {
  readonly profile: RateProfile;
  /** Arrivals due since the previous call (t is non-decreasing). */
  take(tS: number): number;
  /** Arrivals lost because the bucket overflowed (the generator fell far behind). */
  readonly dropped: number;
}

export interface TokenBucketOptions {
  /** Most tokens kept, in seconds of peak rate (default 2 s; at least 1 token). A generator
   *  stalled longer than this loses the excess (counted in `dropped`) instead of bursting. */
  burstS?: number;
}

/**
 * Token bucket filled by the rate profile: tokens(t) += C(t) − C(last), capped; every whole
 * token is one arrival. At a constant rate the arrivals are evenly spaced; the count by t
 * is ⌊C(t)⌋ as long as the bucket never overflows.
 */
export class TokenBucket implements Arrivals {
  readonly profile: RateProfile;
  readonly capacity: number;
  private lastS = 0;
  private lastC = 0;
  private tokens = 0;
  dropped = 0;

  constructor(profile: RateProfile, opts: TokenBucketOptions = {}) {
    this.profile = profile;
    this.capacity = Math.max(1, profile.peak * (opts.burstS ?? 2));
  }

  /** Fractional tokens currently in the bucket. */
  get level(): number {
    return this.tokens;
  }

  take(tS: number): number {
    if (tS > this.lastS) {
      const c = this.profile.cumulative(tS);
      this.tokens += c - this.lastC;
      this.lastC = c;
      this.lastS = tS;
      if (this.tokens > this.capacity) {
        const over = Math.floor(this.tokens - this.capacity);
        this.dropped += over;
        this.tokens -= over;
      }
    }
    const n = Math.floor(this.tokens + 1e-9);
    this.tokens -= n;
    return n;
  }
}

/** Small seeded PRNG (mulberry32): deterministic workloads for tests and reruns. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Poisson arrivals of rate r(t): exponential inter-arrival times (mean 1 in "operational
 * time" C(t), which is exactly a non-homogeneous Poisson process of intensity r(t)).
 */
export class PoissonArrivals implements Arrivals {
  readonly profile: RateProfile;
  readonly dropped = 0;
  private readonly rand: () => number;
  private next: number;

  constructor(profile: RateProfile, seed = 1) {
    this.profile = profile;
    this.rand = mulberry32(seed);
    this.next = this.gap();
  }

  private gap(): number {
    return -Math.log(1 - this.rand());
  }

  take(tS: number): number {
    const c = this.profile.cumulative(tS);
    let n = 0;
    while (this.next <= c) {
      n++;
      this.next += this.gap();
    }
    return n;
  }
}
