// The knee of an included-vs-offered throughput curve.
//
// Rule (stated in every sweep report): efficiency = included / offered. The knee is the
// highest offered load such that it and every lower load carry at least `threshold` (default
// 90 %) of what is offered — the last load the testnet keeps up with. Between that point and the
// next one (the first below the threshold) the crossing included = threshold × offered is
// interpolated linearly: `estimateTxkbPerS`. Past the knee the curve either plateaus (the best
// included stays within 10 % of the highest seen) or collapses (the highest load includes less
// than 90 % of the best): that is reported too, as it is what tells a ceiling from overload.

export interface LoadPoint {
  offered: number;
  included: number;
}

export interface Knee {
  threshold: number;
  /** index into the sorted points, or null (no knee: every point efficient, or none) */
  index: number | null;
  /** offered/included at the knee point */
  point: LoadPoint | null;
  /** interpolated offered load where included = threshold × offered (null when unbracketed) */
  estimateTxkbPerS: number | null;
  /** best included seen, and at which offered load */
  maxIncluded: LoadPoint | null;
  /** beyond the knee: 'plateau' | 'collapse'; 'none' if the knee was not passed */
  beyond: 'plateau' | 'collapse' | 'none';
  /** a sentence for the report */
  explanation: string;
}

export const DEFAULT_KNEE_THRESHOLD = 0.9;

export function findKnee(points: readonly LoadPoint[], threshold = DEFAULT_KNEE_THRESHOLD): Knee {
  const pts = points.filter((p) => Number.isFinite(p.offered) && p.offered > 0 && Number.isFinite(p.included)).slice().sort((a, b) => a.offered - b.offered);
  const pct = `${Math.round(threshold * 100)} %`;
  const base = { threshold, index: null, point: null, estimateTxkbPerS: null, maxIncluded: null, beyond: 'none' as const };
  if (pts.length === 0) return { ...base, explanation: 'no measured points' };
  let maxIncluded = pts[0]!;
  for (const p of pts) if (p.included > maxIncluded.included) maxIncluded = p;
  const eff = (p: LoadPoint) => p.included / p.offered;
  let firstBad = pts.findIndex((p) => eff(p) < threshold);
  if (firstBad === -1) {
    return {
      ...base,
      maxIncluded,
      explanation: `every point included at least ${pct} of its offered load: the knee is above ${fmt(pts[pts.length - 1]!.offered)} TxkB/s offered`,
    };
  }
  if (firstBad === 0) {
    return {
      ...base,
      maxIncluded,
      explanation: `already the lowest load (${fmt(pts[0]!.offered)} TxkB/s offered) included less than ${pct} of it: the knee is below the range`,
    };
  }
  const i = firstBad - 1;
  const a = pts[i]!;
  const b = pts[firstBad]!;
  const slope = (b.included - a.included) / (b.offered - a.offered);
  let est = Math.abs(threshold - slope) < 1e-12 ? a.offered : (a.included - slope * a.offered) / (threshold - slope);
  if (!(est >= a.offered && est <= b.offered)) est = a.offered;
  const last = pts[pts.length - 1]!;
  const beyond = last.included < 0.9 * maxIncluded.included ? 'collapse' : 'plateau';
  return {
    threshold,
    index: i,
    point: a,
    estimateTxkbPerS: est,
    maxIncluded,
    beyond,
    explanation:
      `knee at ${fmt(a.offered)} TxkB/s offered (${fmt(a.included)} included, ${Math.round(eff(a) * 100)} %): the highest load at which every load up to it included ≥ ${pct} of what was offered; ` +
      `${fmt(b.offered)} offered included ${fmt(b.included)} (${Math.round(eff(b) * 100)} %). Interpolated crossing ≈ ${fmt(est)} TxkB/s. ` +
      (beyond === 'collapse'
        ? `Beyond it the chain collapses: ${fmt(last.offered)} offered included ${fmt(last.included)}, below 90 % of the best ${fmt(maxIncluded.included)}.`
        : `Beyond it included throughput plateaus (best ${fmt(maxIncluded.included)} at ${fmt(maxIncluded.offered)} offered).`),
  };
}

function fmt(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}
