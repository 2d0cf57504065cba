/**
 * A Map that forgets: insertion-ordered, evicting its oldest entries past a count, a byte budget
 * or an age. The node's caches (signature verdicts, tx bodies, decoded BLS points) only help for
 * as long as the thing cached is still in flight; the age bound gives a steady load a steady
 * size within minutes instead of a slow fill towards the count cap (the soak's growth bar).
 */
export interface RecentMapOptions<V> {
  maxEntries?: number;
  /** with `sizeOf`: the sum of sizeOf(v) stays ≤ maxBytes */
  maxBytes?: number;
  sizeOf?: (v: V) => number;
  /** entries older than this (since their last `set`) are evicted on the next `set` */
  maxAgeMs?: number;
  now?: () => number;
}

interface Slot<V> {
  v: V;
  t: number;
  n: number;
}

export class RecentMap<V> {
  private readonly map = new Map<string, Slot<V>>();
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly sizeOf: ((v: V) => number) | undefined;
  private readonly now: () => number;
  private total = 0;

  constructor(o: RecentMapOptions<V>) {
    this.maxEntries = o.maxEntries ?? Infinity;
    this.maxBytes = o.maxBytes ?? Infinity;
    this.maxAgeMs = o.maxAgeMs ?? Infinity;
    this.sizeOf = o.sizeOf;
    this.now = o.now ?? Date.now;
  }

  get size(): number {
    return this.map.size;
  }
  /** sum of sizeOf over the entries (0 without sizeOf) */
  get bytes(): number {
    return this.total;
  }
  has(k: string): boolean {
    return this.map.has(k);
  }
  get(k: string): V | undefined {
    return this.map.get(k)?.v;
  }

  /** Insert or replace (a replaced entry becomes the newest), then evict what is past the bounds. */
  set(k: string, v: V): void {
    this.delete(k);
    const t = this.now();
    const n = this.sizeOf ? this.sizeOf(v) : 0;
    this.map.set(k, { v, t, n });
    this.total += n;
    const oldest = t - this.maxAgeMs;
    for (const [key, s] of this.map) {
      if (this.map.size <= this.maxEntries && this.total <= this.maxBytes && s.t >= oldest) break;
      if (key === k) break; // never evict what was just set
      this.map.delete(key);
      this.total -= s.n;
    }
  }

  delete(k: string): boolean {
    const s = this.map.get(k);
    if (!s) return false;
    this.map.delete(k);
    this.total -= s.n;
    return true;
  }

  clear(): void {
    this.map.clear();
    this.total = 0;
  }
}
