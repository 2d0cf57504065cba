/**
 * The node's Prometheus metrics (names fixed by DESIGN.md; dashboards and analysis use them).
 * Each node gets its own Registry (never prom-client's global one), so several nodes can live in
 * one process (tests, the in-process runtime) without clashing.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { LeiosFunnel, FUNNEL_STAGES, STAGE_BUCKETS_S } from './funnel.ts';

/** Delays measured from the slot start: 10 ms .. 30 s. */
export const DELAY_BUCKETS_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15, 20, 30];

/** Mini-protocol label values used for `protocol` (free-form, but keep to these). */
export type ProtocolLabel =
  | 'handshake'
  | 'chainsync'
  | 'blockfetch'
  | 'txsubmission'
  | 'keepalive'
  | 'leios-notify'
  | 'leios-fetch'
  | 'leios-votes'
  | (string & {});

export interface NodeMetrics {
  readonly registry: Registry;
  // chain state
  readonly slot: Gauge;
  readonly epoch: Gauge;
  readonly blockHeight: Gauge;
  readonly protocolVersion: Gauge;
  /** 1 while following the chain, 0 once stopped because it moved past our max protocol version */
  readonly following: Gauge;
  readonly nodeInfo: Gauge<'version' | 'max_protocol_version'>;
  // Praos
  readonly rbForged: Counter;
  readonly rbAdopted: Counter;
  readonly rollbacks: Counter;
  readonly leadershipChecks: Counter;
  readonly leadershipChecksMissed: Counter;
  readonly rbAdoptionDelay: Histogram;
  /** From the slot's start until this node's RB for it is forged, adopted and its header relayed, by kind (tx | cert) */
  readonly rbForgeDelay: Histogram<'kind'>;
  readonly rollbackDepth: Histogram;
  // Leios
  readonly ebForged: Counter;
  readonly ebReceived: Counter;
  readonly ebCertified: Counter;
  readonly votesCast: Counter;
  /** Elections this node was in the committee for (or not) and did not vote in, by the first rule that refused (once per election and EB) */
  readonly votesSkipped: Counter<'reason'>;
  readonly votesReceived: Counter;
  readonly voteBatches: Counter;
  readonly certsIncluded: Counter;
  readonly ebArrivalDelay: Histogram;
  readonly ebTxBytes: Counter;
  readonly ebCertifiedTxBytes: Counter;
  readonly ebCertificationDelay: Histogram;
  readonly votesInvalid: Counter;
  // mempool and ledger
  readonly mempoolTxs: Gauge;
  readonly mempoolBytes: Gauge;
  readonly txAccepted: Counter;
  readonly txRejected: Counter<'reason'>;
  readonly ledgerTxApplied: Counter;
  readonly ledgerTxBytesApplied: Counter;
  // network
  readonly peersConnected: Gauge;
  /** by mini-protocol and peer (peer label values bounded: see PeerLabels) */
  readonly netBytesSent: Counter<'protocol' | 'peer'>;
  readonly netBytesReceived: Counter<'protocol' | 'peer'>;
  /** Feed the net byte counters (the mux's OnBytes, plus the peer it talks to). */
  countBytes(protocol: string, dir: 'sent' | 'received', n: number, peer?: string): void;
  // Leios funnel: per-stage latency (tx in mempool → in an EB → EB certified → in the ledger)
  readonly txStageLatency: Histogram<'stage'>;
  readonly funnel: LeiosFunnel;
  /**
   * Where `leios_worker_heap_bytes{kind="used"|"total"}` reads the worker threads' V8 heaps from
   * (the process's nodejs_heap_* series cover the main thread only; a worker's heap is RSS too).
   */
  workerHeapSource: (() => Promise<{ used: number; total: number }>) | undefined;
  /** set `leios_node_info{version, max_protocol_version} 1` (replaces an earlier value) */
  setInfo(version: string, maxProtocolVersion: number): void;
}

export interface NodeMetricsOptions {
  /** release version, for leios_node_info */
  version?: string;
  /** highest protocol version this release follows, for leios_node_info */
  maxProtocolVersion?: number;
  /** register prom-client's default process metrics (default true) */
  defaultMetrics?: boolean;
  /** add a `node="<name>"` label to every series (default true) */
  nodeLabel?: boolean;
  /** distinct `peer` label values on the net byte counters before the rest count as "other" (default 64) */
  maxPeerLabels?: number;
}

/** Distinct peer label values per node: peers are few, but inbound names are the remote's word. */
export const MAX_PEER_LABELS = 64;
const MAX_PEER_LABEL_LENGTH = 64;

/**
 * Bounded cardinality of the `peer` label: the first `max` distinct names keep their own value,
 * later ones share "other"; bytes before the handshake named the peer count as "unknown". A name
 * is kept only if it looks like one (letters, digits, . _ - :, at most 64 characters).
 */
export class PeerLabels {
  private readonly seen = new Set<string>();
  private readonly max: number;
  constructor(max = MAX_PEER_LABELS) {
    this.max = max;
  }
  of(peer: string | undefined): string {
    if (peer === undefined || peer === '') return 'unknown';
    if (this.seen.has(peer)) return peer;
    if (this.seen.size >= this.max || peer.length > MAX_PEER_LABEL_LENGTH || !/^[A-Za-z0-9._:-]+$/.test(peer)) return 'other';
    this.seen.add(peer);
    return peer;
  }
  get size(): number {
    return this.seen.size;
  }
}

export function createNodeMetrics(nodeName: string, opts: NodeMetricsOptions = {}): NodeMetrics {
  const registry = new Registry();
  if (opts.nodeLabel ?? true) registry.setDefaultLabels({ node: nodeName });
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const gauge = (name: string, help: string) => new Gauge({ name: `leios_${name}`, help, registers });
  const counter = (name: string, help: string) => new Counter({ name: `leios_${name}`, help, registers });

  new Gauge({
    name: 'leios_worker_heap_bytes',
    help: 'V8 heap of the node\'s worker threads, summed (kind: used | total)',
    labelNames: ['kind'] as const,
    registers,
    async collect() {
      const h = await m.workerHeapSource?.().catch(() => undefined);
      this.set({ kind: 'used' }, h?.used ?? 0);
      this.set({ kind: 'total' }, h?.total ?? 0);
    },
  });

  const nodeInfo = new Gauge({
    name: 'leios_node_info',
    help: 'Node release version and the highest protocol version it supports (value is always 1)',
    labelNames: ['version', 'max_protocol_version'] as const,
    registers,
  });
  const netBytesSent = new Counter({
    name: 'leios_net_bytes_sent_total',
    help: 'Bytes sent to peers, by mini-protocol and peer',
    labelNames: ['protocol', 'peer'] as const,
    registers,
  });
  const netBytesReceived = new Counter({
    name: 'leios_net_bytes_received_total',
    help: 'Bytes received from peers, by mini-protocol and peer',
    labelNames: ['protocol', 'peer'] as const,
    registers,
  });
  const peerLabels = new PeerLabels(opts.maxPeerLabels ?? MAX_PEER_LABELS);
  const txStageLatency = new Histogram({
    name: 'leios_tx_stage_latency_seconds',
    help:
      'Leios funnel latency per stage at this node: mempool_to_eb (per tx: entered the mempool → in an EB this node has), ' +
      'eb_to_certified (per EB: EB here → certificate formed or seen), certified_to_ledger (per EB: certificate → its txs applied), ' +
      'mempool_to_ledger (per tx: entered the mempool → applied, from an RB body or a certified EB)',
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS_S,
    registers,
  });
  for (const stage of FUNNEL_STAGES) txStageLatency.zero({ stage }); // every stage's series exists from the start
  const following = gauge('following', '1 while following the chain; 0 after stopping because the chain moved past our max protocol version');
  following.set(1);

  const m: NodeMetrics = {
    registry,
    slot: gauge('slot', 'Current slot (from the wall clock and genesis system start)'),
    epoch: gauge('epoch', 'Current epoch'),
    blockHeight: gauge('block_height', 'Block number of the selected chain tip'),
    protocolVersion: gauge('protocol_version', 'Protocol (major) version of the chain at the tip'),
    following,
    nodeInfo,

    rbForged: counter('rb_forged_total', 'Ranking blocks forged by this node'),
    rbAdopted: counter('rb_adopted_total', 'Ranking blocks adopted onto the selected chain'),
    rollbacks: counter('rollbacks_total', 'Chain switches that rolled back at least one block'),
    leadershipChecks: counter('leadership_checks_total', 'Slot leadership checks performed'),
    leadershipChecksMissed: counter('leadership_checks_missed_total', 'Slots whose leadership check was missed (event loop late past the slot)'),
    rbAdoptionDelay: new Histogram({
      name: 'leios_rb_adoption_delay_seconds',
      help: 'Time from the start of an RB\'s slot until this node adopted it',
      buckets: DELAY_BUCKETS_S,
      registers,
    }),

    rollbackDepth: new Histogram({
      name: 'leios_rollback_depth_blocks',
      help: 'Blocks rolled back per chain switch',
      buckets: [1, 2, 3, 5, 10, 20, 50, 100],
      registers,
    }),

    ebForged: counter('eb_forged_total', 'Endorser blocks forged (announced) by this node'),
    ebTxBytes: counter('eb_tx_bytes_total', 'Transaction bytes referenced by the EBs announced in adopted RBs'),
    ebCertifiedTxBytes: counter('eb_certified_tx_bytes_total', 'Transaction bytes of certified EBs applied to the ledger'),
    ebCertificationDelay: new Histogram({
      name: 'leios_eb_certification_delay_seconds',
      help: 'Time from the start of an EB\'s slot until this node adopted the RB certifying it',
      buckets: [1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300],
      registers,
    }),
    votesInvalid: counter('votes_invalid_total', 'Votes from peers that failed verification (not relayed; the peer is dropped)'),
    rbForgeDelay: new Histogram({
      name: 'leios_rb_forge_delay_seconds',
      help: "From the slot's start until this node's RB for it was forged and handed to chain selection and the peers, by kind (tx: carries txs; cert: carries a certificate)",
      labelNames: ['kind'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    ebReceived: counter('eb_received_total', 'Endorser blocks received from peers'),
    ebCertified: counter('eb_certified_total', 'Endorser blocks for which a certificate was formed or seen'),
    votesCast: counter('votes_cast_total', 'Leios votes cast by this node'),
    votesSkipped: new Counter({
      name: 'leios_votes_skipped_total',
      help: 'Votes not cast, by the CIP-164 rule that refused (once per election and EB; too-early is not counted, it only defers)',
      labelNames: ['reason'] as const,
      registers,
    }),
    votesReceived: counter('votes_received_total', 'Leios votes received from peers'),
    voteBatches: counter('vote_batches_total', 'Batches of peer votes verified (one pairing product each when all are valid)'),
    certsIncluded: counter('certs_included_total', 'EB certificates included in adopted RBs'),
    ebArrivalDelay: new Histogram({
      name: 'leios_eb_arrival_delay_seconds',
      help: 'Time from the start of an EB\'s slot until this node had the EB',
      buckets: DELAY_BUCKETS_S,
      registers,
    }),

    mempoolTxs: gauge('mempool_txs', 'Transactions in the mempool'),
    mempoolBytes: gauge('mempool_bytes', 'Bytes of transactions in the mempool'),
    txAccepted: counter('tx_accepted_total', 'Transactions accepted into the mempool'),
    txRejected: new Counter({
      name: 'leios_tx_rejected_total',
      help: 'Transactions rejected by the mempool, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    ledgerTxApplied: counter('ledger_tx_applied_total', 'Transactions applied to the ledger (RB bodies and certified EBs)'),
    ledgerTxBytesApplied: counter('ledger_tx_bytes_applied_total', 'Bytes of transactions applied to the ledger'),

    peersConnected: gauge('peers_connected', 'Peers with an established connection'),
    netBytesSent,
    netBytesReceived,
    countBytes(protocol, dir, n, peer) {
      (dir === 'sent' ? netBytesSent : netBytesReceived).inc({ protocol, peer: peerLabels.of(peer) }, n);
    },
    txStageLatency,
    funnel: new LeiosFunnel(txStageLatency),
    workerHeapSource: undefined,

    setInfo(version: string, maxProtocolVersion: number) {
      nodeInfo.reset();
      nodeInfo.set({ version, max_protocol_version: String(maxProtocolVersion) }, 1);
    },
  };
  if (opts.version !== undefined || opts.maxProtocolVersion !== undefined)
    m.setInfo(opts.version ?? 'unknown', opts.maxProtocolVersion ?? 0);
  return m;
}

/** The metric names (with prefix) that DESIGN.md fixes, for tests and the collector. */
export const DESIGN_METRIC_NAMES = [
  'leios_slot',
  'leios_epoch',
  'leios_block_height',
  'leios_protocol_version',
  'leios_rb_forged_total',
  'leios_rb_adopted_total',
  'leios_rollbacks_total',
  'leios_eb_forged_total',
  'leios_eb_received_total',
  'leios_eb_certified_total',
  'leios_votes_cast_total',
  'leios_votes_received_total',
  'leios_certs_included_total',
  'leios_mempool_txs',
  'leios_mempool_bytes',
  'leios_tx_accepted_total',
  'leios_tx_rejected_total',
  'leios_ledger_tx_applied_total',
  'leios_ledger_tx_bytes_applied_total',
  'leios_peers_connected',
  'leios_net_bytes_sent_total',
  'leios_net_bytes_received_total',
  'leios_rb_adoption_delay_seconds',
  'leios_eb_arrival_delay_seconds',
] as const;

export { LeiosFunnel, FUNNEL_STAGES, type FunnelStage } from './funnel.ts';
