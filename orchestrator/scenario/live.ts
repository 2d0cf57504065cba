// Live figures of a running deployment for step assertions and checks: each node's tip (view.ts)
// and a few counters from its /metrics. Counters live in the node's memory and restart from 0
// with the node, so figures take the best node, and rates are per-node deltas.

import { scrapeMetrics } from '../collect/collector.ts';
import { sumMetric } from '../collect/prometheus.ts';
import type { Deployment } from '../runtime/runtime.ts';
import { nodeStates } from './view.ts';

export const METRIC = {
  certsIncluded: 'leios_certs_included_total',
  txApplied: 'leios_ledger_tx_applied_total',
  txBytesApplied: 'leios_ledger_tx_bytes_applied_total',
  rollbacks: 'leios_rollbacks_total',
  following: 'leios_following',
  blockHeight: 'leios_block_height',
} as const;

/** Each running node's metrics (flattened series), in parallel; unreachable nodes are left out. */
export async function nodeMetrics(dep: Deployment, names?: readonly string[]): Promise<Record<string, Record<string, number>>> {
  const hs = dep.nodes().filter((h) => !names || names.includes(h.name));
  const out: Record<string, Record<string, number>> = {};
  await Promise.all(
    hs.map(async (h) => {
      const running = await h.running().catch(() => false);
      if (!running) return;
      const m = await scrapeMetrics(h.endpoints(), 1_500, { node: h.name, keep: (n) => n.startsWith('leios_') });
      if (m) out[h.name] = m;
    }),
  );
  return out;
}

export function metricOf(m: Record<string, number> | undefined, name: string): number | undefined {
  return m ? sumMetric(m, name) : undefined;
}

export { followers } from './recovery.ts';

/** A snapshot of the figures `grows` assertions compare. */
export interface Snapshot {
  atMs: number;
  height: number;
  'certified-ebs': number;
  'tx-applied': number;
  'tx-kb-applied': number;
}

export async function snapshot(dep: Deployment): Promise<Snapshot> {
  const [states, metrics] = await Promise.all([nodeStates(dep), nodeMetrics(dep)]);
  const best = (name: string, scale = 1) => Math.max(0, ...Object.values(metrics).map((m) => (metricOf(m, name) ?? 0) / scale));
  return {
    atMs: Date.now(),
    height: Math.max(0, ...Object.values(states).map((s) => s.blockNo ?? 0)),
    'certified-ebs': best(METRIC.certsIncluded),
    'tx-applied': best(METRIC.txApplied),
    'tx-kb-applied': Math.round(best(METRIC.txBytesApplied, 1000) * 1000) / 1000,
  };
}
