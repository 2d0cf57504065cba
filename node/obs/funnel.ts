// The Leios funnel's latency per stage, as one node sees it: a transaction enters the mempool →
// is referenced by an endorser block this node has (forged or whose closure completed here) →
// that EB is certified (a quorum of votes formed the certificate here, or an adopted RB carried
// it) → the transaction is applied to the ledger (from an RB body or from the certified EB).
//
// Observed into `leios_tx_stage_latency_seconds{stage}` (node/obs/metrics.ts):
//   mempool_to_eb        per tx   mempool → first EB referencing it
//   eb_to_certified      per EB   EB here → certificate
//   certified_to_ledger  per EB   certificate → its txs applied (the certifying RB adopted)
//   mempool_to_ledger    per tx   mempool → applied (any path)
//
// Memory is bounded: at most `maxTxs` transactions and `maxEbs` EBs are remembered (oldest
// forgotten first); a tx that leaves the mempool without reaching the ledger is forgotten by age.

import type { Histogram } from 'prom-client';
import { toHex } from '../crypto/hash.ts';

export const FUNNEL_STAGES = ['mempool_to_eb', 'eb_to_certified', 'certified_to_ledger', 'mempool_to_ledger'] as const;
export type FunnelStage = (typeof FUNNEL_STAGES)[number];

/** 50 ms .. 10 min: mempool → ledger is tens of seconds in the CIP's simulations (49–134 s). */
export const STAGE_BUCKETS_S = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600];

export interface FunnelOptions {
  maxTxs?: number;
  maxEbs?: number;
  now?: () => number;
}

interface TxMark {
  arrivedMs: number;
  inEb: boolean;
}

interface EbMark {
  seenMs: number;
  certifiedMs?: number;
  applied?: boolean;
}

export class LeiosFunnel {
  private readonly hist: Histogram<'stage'>;
  private readonly txs = new Map<string, TxMark>();
  private readonly ebs = new Map<string, EbMark>();
  private readonly maxTxs: number;
  private readonly maxEbs: number;
  private readonly now: () => number;

  constructor(hist: Histogram<'stage'>, opts: FunnelOptions = {}) {
    this.hist = hist;
    this.maxTxs = opts.maxTxs ?? 200_000;
    this.maxEbs = opts.maxEbs ?? 512;
    this.now = opts.now ?? Date.now;
  }

  private observe(stage: FunnelStage, ms: number): void {
    this.hist.observe({ stage }, Math.max(0, ms) / 1000);
  }

  /** A transaction entered this node's mempool (the first time counts). */
  txArrived(txId: string, atMs = this.now()): void {
    if (this.txs.has(txId)) return;
    this.txs.set(txId, { arrivedMs: atMs, inEb: false });
    if (this.txs.size > this.maxTxs) this.txs.delete(this.txs.keys().next().value!);
  }

  /** This node has an EB (forged, or its closure completed): its txs are "in an EB". */
  ebSeen(ebHex: string, txIds: Iterable<string>, atMs = this.now()): void {
    if (this.ebs.has(ebHex)) return;
    this.ebs.set(ebHex, { seenMs: atMs });
    if (this.ebs.size > this.maxEbs) this.ebs.delete(this.ebs.keys().next().value!);
    for (const id of txIds) {
      const t = this.txs.get(id);
      if (!t || t.inEb) continue;
      t.inEb = true;
      this.observe('mempool_to_eb', atMs - t.arrivedMs);
    }
  }

  /** A certificate for the EB: formed here from votes, or seen in an adopted RB (the first counts). */
  ebCertified(ebHex: string, atMs = this.now()): void {
    const e = this.ebs.get(ebHex);
    if (!e || e.certifiedMs !== undefined) return;
    e.certifiedMs = atMs;
    this.observe('eb_to_certified', atMs - e.seenMs);
  }

  /** Transactions applied to the ledger (an adopted RB's body, or the EB it certifies: `viaEb`). */
  txsApplied(txIds: Iterable<string>, viaEb?: string, atMs = this.now()): void {
    if (viaEb !== undefined) {
      this.ebCertified(viaEb, atMs);
      const e = this.ebs.get(viaEb);
      if (e && e.certifiedMs !== undefined && !e.applied) {
        e.applied = true;
        this.observe('certified_to_ledger', atMs - e.certifiedMs);
      }
    }
    for (const id of txIds) {
      const t = this.txs.get(id);
      if (!t) continue;
      this.txs.delete(id);
      this.observe('mempool_to_ledger', atMs - t.arrivedMs);
    }
  }

  get tracked(): { txs: number; ebs: number } {
    return { txs: this.txs.size, ebs: this.ebs.size };
  }
}

/** What attachFunnel needs of the mempool and the Leios engine (structural: no import cycle). */
export interface FunnelSources {
  mempool: { onAdd(fn: (tx: { idHex: string }) => void): unknown };
  leios: {
    on(event: 'eb-complete', fn: (hash: Uint8Array, slot: number, size: number) => void): unknown;
    on(event: 'certificate', fn: (ebHex: string, electionId: number) => void): unknown;
    get(hash: Uint8Array): { enc: { eb: { txs: { id: Uint8Array }[] } } } | undefined;
  };
}

/**
 * Wire the funnel to a node's mempool (arrivals) and Leios engine (EBs complete here,
 * certificates formed here). Ledger application comes from the chain observer (txsApplied).
 */
export function attachFunnel(funnel: LeiosFunnel, s: FunnelSources): void {
  s.mempool.onAdd((tx) => funnel.txArrived(tx.idHex));
  s.leios.on('eb-complete', (hash) => {
    const e = s.leios.get(hash);
    funnel.ebSeen(toHex(hash), e ? e.enc.eb.txs.map((r) => toHex(r.id)) : []);
  });
  s.leios.on('certificate', (ebHex) => funnel.ebCertified(ebHex));
}
