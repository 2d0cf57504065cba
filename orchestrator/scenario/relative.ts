// Step-only assertions: `grows` (relative to an earlier value), `majority-agreement` (health
// with a grace period) and `throughput-above-praos` (a rate over a window). Each returns the
// last value seen, like the other assertions.

import type { Evaluation, NodeState } from '../analysis/assertions.ts';
import type { PlanGenesis } from '../profile/plan.ts';
import type { StepAssertion } from '../profile/schema.ts';
import type { Deployment } from '../runtime/runtime.ts';
import { METRIC, followers, metricOf, nodeMetrics, snapshot, type Snapshot } from './live.ts';
import { nodeStates } from './view.ts';

export type RelativeAssertion = Extract<StepAssertion, { kind: 'grows' | 'majority-agreement' | 'throughput-above-praos' }>;

export function isRelative(a: StepAssertion): a is RelativeAssertion {
  return a.kind === 'grows' || a.kind === 'majority-agreement' || a.kind === 'throughput-above-praos';
}

/** `grows`: the current value against the baseline. */
export function evaluateGrows(a: Extract<RelativeAssertion, { kind: 'grows' }>, base: Snapshot, now: Snapshot, baseLabel: string): Evaluation {
  const from = base[a.metric];
  const to = now[a.metric];
  const d = Math.round((to - from) * 1000) / 1000;
  return { passed: d >= a.by, detail: `${a.metric} ${from} → ${to} (+${d}, want +${a.by} since ${baseLabel})` };
}

/** Largest share of `nodes` whose tips agree: same hash, or (maxBlocksApart > 0) within that many blocks. */
export function agreementShare(states: [string, NodeState][], maxBlocksApart: number): { share: number; tips: string } {
  const tips = states.map(([n, s]) => `${n} #${s.blockNo ?? '–'} ${(s.hash ?? '–').slice(0, 8)}`).join(', ');
  if (states.length === 0) return { share: 0, tips: 'no running nodes' };
  let best = 0;
  for (const [, s] of states) {
    const c =
      maxBlocksApart === 0
        ? states.filter(([, o]) => o.hash !== undefined && o.hash === s.hash).length
        : states.filter(([, o]) => o.blockNo !== undefined && s.blockNo !== undefined && Math.abs(o.blockNo - s.blockNo) <= maxBlocksApart).length;
    best = Math.max(best, c);
  }
  return { share: best / states.length, tips };
}

export function majorityNow(a: Extract<RelativeAssertion, { kind: 'majority-agreement' }>, states: Record<string, NodeState>): Evaluation & { share: number } {
  const sel = a.nodes ? a.nodes.map((n): [string, NodeState] => [n, states[n] ?? {}]) : followers(states);
  const { share, tips } = agreementShare(sel, a.maxBlocksApart ?? 1);
  const min = a.minShare ?? 0.5;
  return { passed: share > min, share, detail: `${Math.round(share * 100)} % agree (want > ${Math.round(min * 100)} %): ${tips}` };
}

/** Praos capacity in bytes per second: one full RB body per active slot. */
export function praosCapacityBps(g: Pick<PlanGenesis, 'protocolParams' | 'activeSlotCoeff' | 'slotLengthS'>): number {
  return (g.protocolParams.maxBlockBodySize * g.activeSlotCoeff) / g.slotLengthS;
}

/** Bytes applied per second over a window: the best per-node delta of the ledger counter. */
export function windowRate(before: Record<string, Record<string, number>>, after: Record<string, Record<string, number>>, windowS: number): number | null {
  let best: number | null = null;
  for (const [n, m] of Object.entries(after)) {
    const a = metricOf(before[n], METRIC.txBytesApplied);
    const b = metricOf(m, METRIC.txBytesApplied);
    if (a === undefined || b === undefined || b < a) continue; // restarted in between
    const r = (b - a) / windowS;
    best = best === null ? r : Math.max(best, r);
  }
  return best;
}

export async function measureThroughput(
  dep: Deployment,
  a: Extract<RelativeAssertion, { kind: 'throughput-above-praos' }>,
  g: Pick<PlanGenesis, 'protocolParams' | 'activeSlotCoeff' | 'slotLengthS'>,
  wait: (ms: number) => Promise<void>,
): Promise<Evaluation> {
  const windowS = a.windowS ?? 20;
  const factor = a.factor ?? 1;
  const before = await nodeMetrics(dep);
  await wait(windowS * 1000);
  const after = await nodeMetrics(dep);
  const rate = windowRate(before, after, windowS);
  const cap = praosCapacityBps(g);
  const kb = (x: number) => Math.round(x / 10) / 100;
  return {
    passed: rate !== null && rate > factor * cap,
    detail: `${rate === null ? 'unknown' : kb(rate)} kB/s applied over ${windowS} s (want > ${factor} × Praos capacity ${kb(cap)} kB/s)`,
  };
}

export { snapshot, nodeStates };
