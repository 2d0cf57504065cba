/** Integer split of `total` proportional to `weights`: largest remainder, ties to the earlier entry. */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const out = exact.map(Math.floor);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  const rest = total - out.reduce((a, b) => a + b, 0);
  for (let k = 0; k < rest; k++) out[order[k % out.length]!.i]!++;
  return out;
}
