// summary.json: the keys DESIGN.md fixes (tools rely on them) plus a few more. Unknowable
// figures are null (a Praos run has no EB diffusion), never a made-up 0.

import type { Conformance } from '../verify/index.ts';

export interface Percentiles {
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
  /** (block, node) arrivals measured */
  samples: number;
  /** Blocks measured */
  blocks: number;
  /** Share of (block, non-producer node) pairs that arrived within `withinS` of the slot start */
  reachedWithinShare: number | null;
  withinS: number;
}

export interface AssertionResult {
  name: string;
  passed: boolean;
  detail: string;
}

export interface Summary {
  run: {
    id: string;
    profile: string;
    runtime: string;
    seed: number | string | null;
    nodes: number;
    durationS: number | null;
    slotLengthS: number | null;
  };
  chain: {
    blocks: number;
    finalSlot: number | null;
    tipAgreement: boolean;
    /** Share of nodes on the most common final tip */
    tipAgreementShare: number | null;
    maxForkDepth: number;
    rollbacks: number;
    /** blocks / slots */
    density: number | null;
  };
  leios: {
    ebsAnnounced: number;
    ebsCertified: number;
    certRate: number | null;
    votesCast: number;
    /**
     * Votes not cast, summed over nodes, by the CIP-164 rule that refused (leios_votes_skipped_total;
     * once per node, election and EB). Every reason is present (0 when none); null without metrics.
     */
    votesSkipped: Record<string, number> | null;
    certsIncluded: number;
    hardForkSlot: number | null;
  };
  throughput: {
    txSubmitted: number;
    txIncluded: number;
    txRejected: number;
    txPending: number;
    /** tx bytes included by the end of the run (drain too) ÷ the load window */
    txkbPerS: number | null;
    /** tx bytes included while the load ran ÷ the load window: the sustained rate (absent in older summaries) */
    windowTxkbPerS?: number | null;
    tps: number | null;
    loadWindowS: number | null;
  };
  latency: {
    inclusionP50S: number | null;
    inclusionP95S: number | null;
  };
  diffusion: {
    rb: Percentiles;
    eb: Percentiles;
  };
  resources: {
    cpuPctPerNode: number | null;
    rssMbPerNode: number | null;
    /** PSS (shared pages counted once), when the runtime measured it (resources.jsonl pssMb) */
    pssMbPerNode?: number | null;
    perNode: Record<string, { cpuPct: number | null; rssMb: number | null; pssMb?: number | null }>;
  };
  /** the trace verifier's verdict (orchestrator/verify), absent when it did not run */
  conformance?: Conformance;
  /** per-node recovery after each fault (scenario/recovery.ts) */
  faults?: import('../scenario/recovery.ts').FaultRow[];
  /** accepted txs that never reached the ledger, by cause (tx-fate.ts) */
  txFate?: import('./tx-fate.ts').TxFate;
  /** slot-battle fairness per pool and region: forged, adopted, battles, lost, adopted/stake (fairness.ts) */
  fairness?: import('./fairness.ts').Fairness;
  /** what the adversaries did and honest nodes' refusals and detections (adversary.ts), absent without adversaries */
  adversary?: import('./adversary.ts').AdversarySummary;
  assertions: AssertionResult[];
  passed: boolean;
}
