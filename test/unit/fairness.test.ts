import { describe, expect, it } from 'vitest';
import { analyseFairness, fisherExact, wilson, zFor, type FairnessBlock } from '../../orchestrator/analysis/fairness.ts';
import type { Summary } from '../../orchestrator/analysis/summary.ts';
import { fairnessFigures, renderFairnessCompare, renderFairnessMarkdown } from '../../orchestrator/report/fairness.ts';
import { align } from '../../orchestrator/report/html.ts';

// Hand-made block tree (1 s slots, slot start = slot), pools A and B in eu, C in au (stake 1:1:2):
//
//   a1(0) ─┬─ b2(10) ─┬─ a3(20)                     a3 vs c3: same-slot battle, c3 wins
//          │          └─ c3(20) ── b4(30) ─┬─ c5(40)   tip of nodes 1 and 2 (final chain)
//          └─ c2(11)                       └─ a5(41)   tip of node 3
//   b2 vs c2: adjacent-slot battle, b2 wins. Nodes agree up to b4 (slot 30): c5, a5 unsettled.
const blocks: FairnessBlock[] = [
  { id: 'a1', slot: 0, producer: 'A', parent: null, arrivals: new Map([['B', 0.1], ['C', 0.5]]) },
  { id: 'b2', slot: 10, producer: 'B', parent: 'a1', arrivals: new Map([['A', 10.1], ['C', 10.7]]) },
  { id: 'c2', slot: 11, producer: 'C', parent: 'a1' },
  { id: 'a3', slot: 20, producer: 'A', parent: 'b2' },
  { id: 'c3', slot: 20, producer: 'C', parent: 'b2' },
  { id: 'b4', slot: 30, producer: 'B', parent: 'c3' },
  { id: 'c5', slot: 40, producer: 'C', parent: 'b4' },
  { id: 'a5', slot: 41, producer: 'A', parent: 'b4' },
];
const pools = [
  { name: 'A', stake: 1, region: 'eu' },
  { name: 'B', stake: 1, region: 'eu' },
  { name: 'C', stake: 2, region: 'au' },
];

describe('fairness analysis on a hand-made fork tree', () => {
  const f = analyseFairness({ blocks, tips: ['c5', 'c5', 'a5'], pools, slotStart: (s) => s, leaderIntervalSlots: 1 });

  it('final chain, settled horizon, forged and adopted', () => {
    expect(f.settledSlot).toBe(30);
    expect(f.unsettledBlocks).toBe(2);
    expect(f.blocksForged).toBe(6);
    expect(f.blocksAdopted).toBe(4);
    expect([f.pools.A!.forged, f.pools.A!.adopted, f.pools.A!.orphaned]).toEqual([2, 1, 1]);
    expect([f.pools.B!.forged, f.pools.B!.adopted, f.pools.B!.orphaned]).toEqual([2, 2, 0]);
    expect([f.pools.C!.forged, f.pools.C!.adopted, f.pools.C!.orphaned]).toEqual([2, 1, 1]);
  });

  it('battles: same-slot and adjacent-slot, entered and lost', () => {
    expect(f.battles).toEqual({ total: 2, sameSlot: 1, adjacentSlot: 1, blocks: 4, lost: 2, maxSlotGap: 1 });
    const A = f.pools.A!;
    expect([A.battles, A.battlesSameSlot, A.battlesAdjacentSlot, A.lost, A.lostSameSlot, A.lostAdjacentSlot]).toEqual([1, 1, 0, 1, 1, 0]);
    const B = f.pools.B!;
    expect([B.battles, B.battlesSameSlot, B.battlesAdjacentSlot, B.lost]).toEqual([1, 0, 1, 0]);
    const C = f.pools.C!;
    expect([C.battles, C.battlesSameSlot, C.battlesAdjacentSlot, C.lost, C.lostSameSlot, C.lostAdjacentSlot]).toEqual([2, 1, 1, 1, 0, 1]);
    expect(C.battleLossRate).toBe(0.5);
    expect(C.battleRate).toBe(1);
  });

  it('adopted share against stake share, with Wilson intervals', () => {
    expect([f.pools.A!.stakeShare, f.pools.B!.stakeShare, f.pools.C!.stakeShare]).toEqual([0.25, 0.25, 0.5]);
    expect([f.pools.A!.adoptedShare, f.pools.B!.adoptedShare, f.pools.C!.adoptedShare]).toEqual([0.25, 0.5, 0.25]);
    expect([f.pools.A!.ratio, f.pools.B!.ratio, f.pools.C!.ratio]).toEqual([1, 2, 0.5]);
    const [lo, hi] = wilson(1, 4);
    expect(f.pools.C!.adoptedShareCi).toEqual([Math.round(lo * 1e4) / 1e4, Math.round(hi * 1e4) / 1e4]);
    expect(f.pools.C!.ratioCi![0]).toBeCloseTo(lo / 0.5, 3);
    expect(f.pools.C!.ratioCi![1]).toBeCloseTo(hi / 0.5, 3);
  });

  it('groups by region, with the Fisher test of the region against the rest', () => {
    expect(Object.keys(f.regions).sort()).toEqual(['au', 'eu']);
    const eu = f.regions.eu!;
    expect([eu.pools, eu.forged, eu.adopted, eu.orphaned, eu.battles, eu.lost]).toEqual([2, 4, 3, 1, 2, 1]);
    expect([eu.stakeShare, eu.adoptedShare, eu.ratio]).toEqual([0.5, 0.75, 1.5]);
    // au: 1 orphaned, 1 adopted vs rest 1, 3: every table with these margins is at most as likely
    expect(f.regions.au!.pLossVsRest).toBe(1);
  });

  it('mean propagation delay from the slot start, out of and into each pool', () => {
    // a1 from A: 0.1 s to B, 0.5 s to C; b2 from B: 0.1 s to A, 0.7 s to C
    expect(f.pools.A!.meanDelayMs).toBe(300);
    expect(f.pools.B!.meanDelayMs).toBe(400);
    expect(f.pools.C!.meanDelayMs).toBeNull();
    expect(f.pools.C!.meanInDelayMs).toBe(600);
    expect(f.pools.A!.meanInDelayMs).toBe(100);
  });

  it('all tips agreeing: everything up to the tip is settled', () => {
    const g = analyseFairness({ blocks, tips: ['c5', 'c5'], pools });
    expect(g.settledSlot).toBe(40);
    expect(g.blocksForged).toBe(7);
    expect(g.blocksAdopted).toBe(5);
    expect(g.regions.au!.forged).toBe(3);
    expect(g.pools.A!.meanDelayMs).toBeNull(); // no slotStart: no delays
  });

  it('no regions in the plan: empty region table', () => {
    const g = analyseFairness({ blocks, tips: ['c5'], pools: pools.map(({ name, stake }) => ({ name, stake })) });
    expect(g.regions).toEqual({});
    expect(g.pools.A!.region).toBeNull();
  });
});

describe('statistics', () => {
  it('Wilson score interval: textbook values', () => {
    const [a, b] = wilson(5, 10);
    expect(a).toBeCloseTo(0.2366, 4);
    expect(b).toBeCloseTo(0.7634, 4);
    const [c, d] = wilson(0, 10);
    expect(c).toBe(0);
    expect(d).toBeCloseTo(0.2775, 4);
    const [e, g] = wilson(10, 10);
    expect(e).toBeCloseTo(0.7225, 4);
    expect(g).toBe(1);
    expect(() => wilson(1, 0)).toThrow();
  });

  it('normal quantiles', () => {
    expect(zFor(0.95)).toBeCloseTo(1.959964, 5);
    expect(zFor(0.99)).toBeCloseTo(2.575829, 5);
    expect(zFor(0.5)).toBeCloseTo(0.67449, 4);
  });

  it('Fisher exact test: the lady tasting tea and a lopsided table', () => {
    expect(fisherExact(3, 1, 1, 3)).toBeCloseTo(0.4857, 4);
    // R: fisher.test(matrix(c(10, 2, 3, 15), 2)) → p = 0.0005367
    expect(fisherExact(10, 3, 2, 15)).toBeCloseTo(0.0005367, 6);
    expect(fisherExact(0, 0, 5, 5)).toBeCloseTo(1, 9);
  });
});

describe('fairness in the report and in compare', () => {
  const f = analyseFairness({ blocks, tips: ['c5', 'c5', 'a5'], pools, slotStart: (s) => s });
  const summary = { fairness: f } as unknown as Summary;

  it('report.md: region and pool tables; report.html: the ratio-vs-delay scatter', () => {
    const md = renderFairnessMarkdown(summary).join('\n');
    expect(md).toContain('## Fairness (slot battles)');
    expect(md).toMatch(/\| au \| 1 \| 50 % \| 2 \| 1 \|/);
    expect(md).toContain('2 fork battles (1 same-slot, 1 adjacent-slot');
    const [fig] = fairnessFigures(summary, align);
    expect(fig!.scatter).toBe(true);
    expect(fig!.series.sort()).toEqual(['eu']); // C has no measured delay
    expect(fig!.data).toEqual([[300, 400], [1, 2]]);
  });

  it('compare: both runs side by side per region', () => {
    const g = analyseFairness({ blocks, tips: ['c5', 'c5'], pools, slotStart: (s) => s, leaderIntervalSlots: 5 });
    const md = renderFairnessCompare(f, g).join('\n');
    expect(md).toContain('Base: N = 1, 2 battles');
    expect(md).toContain('Candidate: N = 5');
    expect(md).toMatch(/\| au \| forged \/ adopted \| 2 \/ 1 \| 3 \/ 2 \|/);
  });
});
