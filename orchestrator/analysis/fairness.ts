// Slot-battle fairness (summary.json `fairness`): does a pool's share of the final chain match its
// share of the stake, and who loses the fork battles? The experiment of the CIP idea "reduce the
// frequency of leader slots" (shared/reference/seeds): a pool far from the others sees blocks of
// adjacent slots late and forks against them, so it enters more battles than a central pool,
// loses half of them, and its adopted share falls below its stake share.
//
// Pure: it takes the blocks the traces name (id, slot, producer, parent, arrivals), each node's
// final tip and the pools (stake, region), and returns the figures. Definitions:
//   final chain   the chain to the tip most nodes ended on (ties: the higher block, then the id)
//   settled       blocks up to the deepest block every node's tip agrees on (the common ancestor
//                 of all final tips); later blocks were still in play when the run stopped and
//                 are left out of every count (`unsettledBlocks`)
//   forged        blocks the pool generated (RBGenerated), settled
//   adopted       of those, the ones on the final chain
//   orphaned      forged − adopted: lost in a battle, or built on a block that lost one
//   battle        two or more settled blocks with the same parent (a fork); a block's battle is
//                 same-slot if another contender has its slot, else adjacent-slot (the contenders
//                 are a few slots apart: one leader had not seen the other's block in time)
//   lost          a block in a battle that is not on the final chain
//   adoptedShare  adopted / all adopted; stakeShare = stake / all pool stake;
//   ratio         adoptedShare / stakeShare (1 = fair)
// Confidence intervals are Wilson score intervals (95 % by default) on the binomial counts
// (adopted of all adopted, orphaned of forged, lost of battles); the ratio's interval is the
// adopted share's divided by the stake share. `pLossVsRest` is the two-sided Fisher exact test of
// a region's orphaned/forged against all other regions' together.

export interface FairnessBlock {
  id: string;
  slot: number;
  producer: string;
  parent: string | null;
  /** node → first arrival (any time unit, the same as slotStart's) */
  arrivals?: Map<string, number>;
}

export interface FairnessInput {
  blocks: Iterable<FairnessBlock>;
  /** each node's final tip (block id); undefined for a node with none */
  tips: (string | undefined)[];
  pools: { name: string; stake: number; region?: string }[];
  /** start of a slot, in the arrivals' time unit (seconds); without it no delays */
  slotStart?: (slot: number) => number;
  leaderIntervalSlots?: number;
  /** confidence level of the intervals (default 0.95) */
  confidence?: number;
}

export type Interval = [number, number];

export interface FairnessCounts {
  stakeShare: number;
  forged: number;
  adopted: number;
  orphaned: number;
  /** orphaned / forged */
  orphanRate: number | null;
  orphanRateCi: Interval | null;
  battles: number;
  battlesSameSlot: number;
  battlesAdjacentSlot: number;
  lost: number;
  lostSameSlot: number;
  lostAdjacentSlot: number;
  /** battles / forged: how often a block of this pool had to fight */
  battleRate: number | null;
  /** lost / battles */
  battleLossRate: number | null;
  battleLossRateCi: Interval | null;
  adoptedShare: number | null;
  adoptedShareCi: Interval | null;
  /** adoptedShare / stakeShare (1 = fair) */
  ratio: number | null;
  ratioCi: Interval | null;
  /** mean delay from the slot start of this pool's blocks to their arrival at the other nodes */
  meanDelayMs: number | null;
  /** mean delay from the slot start of the other pools' blocks to their arrival here */
  meanInDelayMs: number | null;
}

export interface PoolFairness extends FairnessCounts {
  region: string | null;
  stake: number;
}

export interface RegionFairness extends FairnessCounts {
  pools: number;
  /** two-sided Fisher exact p of orphaned/forged here vs in all other regions */
  pLossVsRest: number | null;
}

export interface Fairness {
  leaderIntervalSlots: number;
  confidence: number;
  /** slot of the deepest block all final tips agree on; blocks after it are unsettled */
  settledSlot: number | null;
  blocksForged: number;
  blocksAdopted: number;
  unsettledBlocks: number;
  battles: { total: number; sameSlot: number; adjacentSlot: number; blocks: number; lost: number; maxSlotGap: number };
  pools: Record<string, PoolFairness>;
  /** by region, for `regions` topologies (empty otherwise) */
  regions: Record<string, RegionFairness>;
}

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
const r1 = (x: number) => Math.round(x * 10) / 10;
const ci4 = (c: Interval): Interval => [r4(c[0]), r4(c[1])];

/** Two-sided standard normal quantile for a confidence level (0.95 → 1.959964). */
export function zFor(confidence: number): number {
  if (!(confidence > 0 && confidence < 1)) throw new Error(`confidence must be in (0, 1), got ${confidence}`);
  // Acklam's rational approximation of the normal quantile (relative error < 1.2e-9)
  const p = 1 - (1 - confidence) / 2;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const pHigh = 1 - 0.02425;
  if (p > pHigh) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/**
 * Wilson score interval for k successes in n trials:
 *   (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n).
 * Stays inside [0, 1] and is sensible at k = 0 or k = n, unlike the normal approximation.
 */
export function wilson(k: number, n: number, z = 1.959963984540054): Interval {
  if (!(n > 0)) throw new Error(`wilson: n must be positive, got ${n}`);
  if (k < 0 || k > n) throw new Error(`wilson: k ${k} outside [0, ${n}]`);
  const p = k / n;
  const z2 = z * z;
  const den = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / den;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / den;
  return [k === 0 ? 0 : Math.max(0, centre - half), k === n ? 1 : Math.min(1, centre + half)];
}

function logFactorials(n: number): Float64Array {
  const lf = new Float64Array(n + 1);
  for (let i = 2; i <= n; i++) lf[i] = lf[i - 1]! + Math.log(i);
  return lf;
}

/**
 * Two-sided Fisher exact test of the 2×2 table [[a, b], [c, d]]: the probability, with the
 * margins fixed, of a table at most as likely as the observed one (R's fisher.test convention,
 * with its 1e-7 relative tolerance for ties).
 */
export function fisherExact(a: number, b: number, c: number, d: number): number {
  const n = a + b + c + d;
  const row1 = a + b;
  const col1 = a + c;
  const lf = logFactorials(n);
  const logP = (x: number) => lf[row1]! + lf[n - row1]! + lf[col1]! + lf[n - col1]! - lf[n]! - lf[x]! - lf[row1 - x]! - lf[col1 - x]! - lf[n - row1 - col1 + x]!;
  const lo = Math.max(0, row1 + col1 - n);
  const hi = Math.min(row1, col1);
  const observed = logP(a);
  let p = 0;
  for (let x = lo; x <= hi; x++) {
    const lp = logP(x);
    if (lp <= observed + 1e-7 * Math.abs(observed) + 1e-12) p += Math.exp(lp);
  }
  return Math.min(1, p);
}

interface Acc {
  stake: number;
  forged: number;
  adopted: number;
  battles: number;
  battlesSameSlot: number;
  battlesAdjacentSlot: number;
  lost: number;
  lostSameSlot: number;
  lostAdjacentSlot: number;
  delaySum: number;
  delayN: number;
  inDelaySum: number;
  inDelayN: number;
}

const emptyAcc = (): Acc => ({
  stake: 0,
  forged: 0,
  adopted: 0,
  battles: 0,
  battlesSameSlot: 0,
  battlesAdjacentSlot: 0,
  lost: 0,
  lostSameSlot: 0,
  lostAdjacentSlot: 0,
  delaySum: 0,
  delayN: 0,
  inDelaySum: 0,
  inDelayN: 0,
});

function addAcc(into: Acc, x: Acc): void {
  for (const k of Object.keys(into) as (keyof Acc)[]) into[k] += x[k];
}

function counts(a: Acc, totalStake: number, totalAdopted: number, z: number): FairnessCounts {
  const stakeShare = totalStake > 0 ? a.stake / totalStake : 0;
  const orphaned = a.forged - a.adopted;
  const adoptedShare = totalAdopted > 0 ? a.adopted / totalAdopted : null;
  const shareCi = totalAdopted > 0 ? wilson(a.adopted, totalAdopted, z) : null;
  return {
    stakeShare: r4(stakeShare),
    forged: a.forged,
    adopted: a.adopted,
    orphaned,
    orphanRate: a.forged > 0 ? r4(orphaned / a.forged) : null,
    orphanRateCi: a.forged > 0 ? ci4(wilson(orphaned, a.forged, z)) : null,
    battles: a.battles,
    battlesSameSlot: a.battlesSameSlot,
    battlesAdjacentSlot: a.battlesAdjacentSlot,
    lost: a.lost,
    lostSameSlot: a.lostSameSlot,
    lostAdjacentSlot: a.lostAdjacentSlot,
    battleRate: a.forged > 0 ? r4(a.battles / a.forged) : null,
    battleLossRate: a.battles > 0 ? r4(a.lost / a.battles) : null,
    battleLossRateCi: a.battles > 0 ? ci4(wilson(a.lost, a.battles, z)) : null,
    adoptedShare: adoptedShare === null ? null : r4(adoptedShare),
    adoptedShareCi: shareCi ? ci4(shareCi) : null,
    ratio: adoptedShare !== null && stakeShare > 0 ? r4(adoptedShare / stakeShare) : null,
    ratioCi: shareCi && stakeShare > 0 ? ci4([shareCi[0] / stakeShare, shareCi[1] / stakeShare]) : null,
    meanDelayMs: a.delayN > 0 ? r1((a.delaySum / a.delayN) * 1000) : null,
    meanInDelayMs: a.inDelayN > 0 ? r1((a.inDelaySum / a.inDelayN) * 1000) : null,
  };
}

export function analyseFairness(input: FairnessInput): Fairness {
  const confidence = input.confidence ?? 0.95;
  const z = zFor(confidence);
  const byId = new Map<string, FairnessBlock>();
  for (const b of input.blocks) if (!byId.has(b.id)) byId.set(b.id, b);

  // ancestors of a tip, newest first (stops at an unknown block)
  const chainOf = (tip: string): string[] => {
    const out: string[] = [];
    const seen = new Set<string>();
    for (let k: string | null = tip; k !== null && byId.has(k) && !seen.has(k); k = byId.get(k)!.parent) {
      seen.add(k);
      out.push(k);
    }
    return out;
  };

  // final chain: the tip most nodes hold; ties by height, then id
  const tipCount = new Map<string, number>();
  for (const t of input.tips) if (t !== undefined && byId.has(t)) tipCount.set(t, (tipCount.get(t) ?? 0) + 1);
  const heightOf = new Map<string, number>();
  const height = (id: string): number => {
    let h = heightOf.get(id);
    if (h === undefined) heightOf.set(id, (h = chainOf(id).length));
    return h;
  };
  const best = [...tipCount.entries()].sort((x, y) => y[1] - x[1] || height(y[0]) - height(x[0]) || (x[0] < y[0] ? -1 : 1))[0]?.[0];
  const finalChain = new Set(best ? chainOf(best) : []);

  // settled horizon: the deepest final-chain block on every node's tip chain
  let settledSlot: number | null = null;
  if (best) {
    settledSlot = byId.get(best)!.slot;
    for (const t of tipCount.keys()) {
      if (t === best) continue;
      const common = chainOf(t).find((k) => finalChain.has(k));
      const s = common === undefined ? -1 : byId.get(common)!.slot;
      if (s < settledSlot) settledSlot = s;
    }
    if (settledSlot < 0) settledSlot = null;
  }
  const settled = (b: FairnessBlock) => settledSlot !== null && b.slot <= settledSlot;

  const poolAcc = new Map<string, Acc>();
  for (const p of input.pools) {
    const a = emptyAcc();
    a.stake = p.stake;
    poolAcc.set(p.name, a);
  }
  const accOf = (name: string): Acc => {
    let a = poolAcc.get(name);
    if (!a) poolAcc.set(name, (a = emptyAcc()));
    return a;
  };

  let blocksForged = 0;
  let blocksAdopted = 0;
  let unsettledBlocks = 0;
  const children = new Map<string, FairnessBlock[]>();
  for (const b of byId.values()) {
    // delays: every block, settled or not
    if (input.slotStart && b.arrivals) {
      const start = input.slotStart(b.slot);
      for (const [node, t] of b.arrivals) {
        if (node === b.producer) continue;
        const d = t - start;
        const out = accOf(b.producer);
        out.delaySum += d;
        out.delayN++;
        if (poolAcc.has(node)) {
          const inn = poolAcc.get(node)!;
          inn.inDelaySum += d;
          inn.inDelayN++;
        }
      }
    }
    if (!settled(b)) {
      unsettledBlocks++;
      continue;
    }
    const a = accOf(b.producer);
    a.forged++;
    blocksForged++;
    if (finalChain.has(b.id)) {
      a.adopted++;
      blocksAdopted++;
    }
    const key = b.parent ?? '';
    let sib = children.get(key);
    if (!sib) children.set(key, (sib = []));
    sib.push(b);
  }

  const battles = { total: 0, sameSlot: 0, adjacentSlot: 0, blocks: 0, lost: 0, maxSlotGap: 0 };
  for (const sib of children.values()) {
    if (sib.length < 2) continue;
    battles.total++;
    const slots = sib.map((b) => b.slot);
    const gap = Math.max(...slots) - Math.min(...slots);
    if (gap > battles.maxSlotGap) battles.maxSlotGap = gap;
    if (gap === 0) battles.sameSlot++;
    else battles.adjacentSlot++;
    for (const b of sib) {
      const same = sib.some((o) => o !== b && o.slot === b.slot);
      const a = accOf(b.producer);
      const lost = !finalChain.has(b.id);
      a.battles++;
      battles.blocks++;
      if (same) a.battlesSameSlot++;
      else a.battlesAdjacentSlot++;
      if (lost) {
        a.lost++;
        battles.lost++;
        if (same) a.lostSameSlot++;
        else a.lostAdjacentSlot++;
      }
    }
  }

  const regionOf = new Map(input.pools.map((p) => [p.name, p.region ?? null]));
  const totalStake = input.pools.reduce((s, p) => s + p.stake, 0);
  const pools: Record<string, PoolFairness> = {};
  const regionAcc = new Map<string, { acc: Acc; pools: number }>();
  for (const [name, a] of poolAcc) {
    const region = regionOf.get(name) ?? null;
    pools[name] = { region, stake: a.stake, ...counts(a, totalStake, blocksAdopted, z) };
    if (region !== null) {
      let r = regionAcc.get(region);
      if (!r) regionAcc.set(region, (r = { acc: emptyAcc(), pools: 0 }));
      addAcc(r.acc, a);
      r.pools++;
    }
  }
  const regions: Record<string, RegionFairness> = {};
  for (const [name, r] of regionAcc) {
    const rest = emptyAcc();
    for (const [other, o] of regionAcc) if (other !== name) addAcc(rest, o.acc);
    const p =
      regionAcc.size > 1 && r.acc.forged + rest.forged > 0
        ? fisherExact(r.acc.forged - r.acc.adopted, r.acc.adopted, rest.forged - rest.adopted, rest.adopted)
        : null;
    regions[name] = { pools: r.pools, ...counts(r.acc, totalStake, blocksAdopted, z), pLossVsRest: p === null ? null : Number(p.toPrecision(4)) };
  }

  return {
    leaderIntervalSlots: input.leaderIntervalSlots ?? 1,
    confidence,
    settledSlot,
    blocksForged,
    blocksAdopted,
    unsettledBlocks,
    battles,
    pools,
    regions,
  };
}
