// The report's "Fairness (slot battles)" section and figure (summary.fairness, analysis/fairness.ts).
import type { Fairness, FairnessCounts } from '../analysis/fairness.ts';
import type { Summary } from '../analysis/summary.ts';
import type { Figure } from './html.ts';
import { fmt, table } from './markdown.ts';

const pct = (x: number | null) => (x === null ? '–' : `${fmt(Math.round(x * 1000) / 10)} %`);
const ci = (c: [number, number] | null, asPct = false) => (c === null ? '–' : asPct ? `${pct(c[0])} – ${pct(c[1])}` : `${fmt(c[0])} – ${fmt(c[1])}`);

function row(name: string, c: FairnessCounts, extra: unknown[] = []): unknown[] {
  return [
    name,
    ...extra,
    pct(c.stakeShare),
    c.forged,
    c.adopted,
    `${pct(c.orphanRate)} (${ci(c.orphanRateCi, true)})`,
    `${c.battles} (${c.battlesSameSlot} / ${c.battlesAdjacentSlot})`,
    `${c.lost} (${c.lostSameSlot} / ${c.lostAdjacentSlot})`,
    pct(c.adoptedShare),
    `${fmt(c.ratio)} (${ci(c.ratioCi)})`,
    c.meanDelayMs,
  ];
}

const HEAD = ['stake', 'forged', 'adopted', 'orphaned (95 % CI)', 'battles (same / adjacent slot)', 'lost (same / adjacent)', 'adopted share', 'adopted/stake (95 % CI)', 'mean delay ms'];

export function renderFairnessMarkdown(s: Summary): string[] {
  const f = s.fairness;
  if (!f) return [];
  const out = [
    '',
    '## Fairness (slot battles)',
    '',
    `Leader check every ${f.leaderIntervalSlots === 1 ? 'slot (Praos)' : `${f.leaderIntervalSlots} slots (f' = ${f.leaderIntervalSlots}·f)`}; ` +
      `settled up to slot ${fmt(f.settledSlot)}: ${f.blocksForged} blocks forged, ${f.blocksAdopted} on the final chain, ${f.unsettledBlocks} unsettled. ` +
      `${f.battles.total} fork battles (${f.battles.sameSlot} same-slot, ${f.battles.adjacentSlot} adjacent-slot, slots up to ${f.battles.maxSlotGap} apart), ` +
      `${f.battles.lost} of their ${f.battles.blocks} blocks lost. Intervals: Wilson ${Math.round(f.confidence * 100)} %; adopted/stake = 1 is fair.`,
    '',
  ];
  const regions = Object.entries(f.regions);
  if (regions.length) {
    out.push(table(['region', 'pools', ...HEAD, 'p (losses vs rest)'], regions.map(([n, r]) => [...row(n, r, [r.pools]), r.pLossVsRest])), '');
  }
  out.push(table(['pool', 'region', ...HEAD], Object.entries(f.pools).map(([n, p]) => row(n, p, [p.region ?? '–']))));
  return out;
}

/** Adopted/stake ratio per pool against the mean delay of its blocks, one series per region. */
export function fairnessFigures(s: Summary, align: (parts: [number[], (number | null)[]][]) => (number | null)[][]): Figure[] {
  const f: Fairness | undefined = s.fairness;
  if (!f) return [];
  const groups = new Map<string, [number, number][]>();
  for (const p of Object.values(f.pools)) {
    if (p.meanDelayMs === null || p.ratio === null) continue;
    const g = p.region ?? 'pools';
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g)!.push([p.meanDelayMs, p.ratio]);
  }
  const names = [...groups.keys()];
  const parts = names.map((g) => {
    const pts = groups.get(g)!.sort((a, b) => a[0] - b[0]);
    return [pts.map((x) => x[0]), pts.map((x) => x[1])] as [number[], number[]];
  });
  return [
    {
      id: 'fig-fairness',
      title: 'Fairness: adopted share / stake share per pool vs the mean propagation delay of its blocks',
      xLabel: 'mean delay of the pool’s blocks to the other nodes, ms from slot start',
      yLabel: 'adopted share / stake share',
      data: parts.length ? align(parts) : [[]],
      series: names,
      scatter: true,
    },
  ];
}

/** `leiosnet compare`: the fairness figures of two runs side by side, per region (else per pool). */
export function renderFairnessCompare(base: Fairness | null, cand: Fairness | null): string[] {
  const groups = (f: Fairness | null): Record<string, FairnessCounts> => (f ? (Object.keys(f.regions).length ? f.regions : f.pools) : {});
  const a = groups(base);
  const b = groups(cand);
  const names = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  const cell = (c: FairnessCounts | undefined, pick: (c: FairnessCounts) => string) => (c ? pick(c) : '–');
  const metrics: [string, (c: FairnessCounts) => string][] = [
    ['forged / adopted', (c) => `${c.forged} / ${c.adopted}`],
    ['battles per forged block', (c) => pct(c.battleRate)],
    ['battles same / adjacent slot', (c) => `${c.battlesSameSlot} / ${c.battlesAdjacentSlot}`],
    ['battle loss rate', (c) => `${pct(c.battleLossRate)} (${ci(c.battleLossRateCi, true)})`],
    ['orphaned of forged', (c) => `${pct(c.orphanRate)} (${ci(c.orphanRateCi, true)})`],
    ['adopted / stake', (c) => `${fmt(c.ratio)} (${ci(c.ratioCi)})`],
    ['mean delay ms', (c) => fmt(c.meanDelayMs)],
  ];
  const rows: unknown[][] = [];
  for (const n of names) for (const [m, pick] of metrics) rows.push([n, m, cell(a[n], pick), cell(b[n], pick)]);
  const head = (f: Fairness | null) =>
    f ? `N = ${f.leaderIntervalSlots}, ${f.battles.total} battles (${f.battles.sameSlot} same-slot, ${f.battles.adjacentSlot} adjacent), ${f.blocksAdopted}/${f.blocksForged} adopted` : 'no fairness figures';
  return [
    '## Fairness (slot battles)',
    '',
    `Base: ${head(base)}. Candidate: ${head(cand)}. 95 % Wilson intervals in brackets; adopted/stake = 1 is fair.`,
    '',
    table(['group', 'figure', 'base', 'candidate'], rows),
    '',
  ];
}
