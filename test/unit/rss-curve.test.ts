import { describe, expect, it } from 'vitest';
import { rssCurve, rssGrowth } from '../support/rss.ts';

// bench:soak prints each process's RSS at every tenth of the run next to the growth figure: a
// series that climbs and then levels off (caches filling) reads differently from a steady leak.

describe('rssCurve', () => {
  it('takes the samples at 0 %, 10 %, … 100 % of the series, first and last included', () => {
    const s = Array.from({ length: 101 }, (_, i) => ({ tS: i * 5, rssMb: 100 + i }));
    expect(rssCurve(s).map((x) => x.rssMb)).toEqual([100, 110, 120, 130, 140, 150, 160, 170, 180, 190, 200]);
    expect(rssCurve(s.slice(0, 3)).map((x) => x.tS)).toEqual([0, 0, 0, 5, 5, 5, 5, 5, 10, 10, 10]);
    expect(rssCurve([])).toEqual([]);
  });

  it('a series that levels off: large growth after a short warm-up, little after a long one', () => {
    const s = Array.from({ length: 721 }, (_, i) => ({ tS: i * 5, rssMb: 250 - 150 * Math.exp(-i / 150) }));
    expect(rssGrowth(s, 720)!.growthPct).toBeGreaterThan(10);
    expect(rssGrowth(s, 2400)!.growthPct).toBeLessThan(3);
    const curve = rssCurve(s);
    expect(curve[10]!.rssMb - curve[9]!.rssMb).toBeLessThan(curve[1]!.rssMb - curve[0]!.rssMb);
  });
});
