/**
 * The node's Prometheus metrics (names fixed by DESIGN.md; dashboards and analysis use them).
 * Each node gets its own Registry (never prom-client's global one), so several nodes can live in
 * one process (tests, the in-process runtime) without clashing.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

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
  readonly rollbackDepth: Histogram;
  // Leios
  readonly ebForged: Counter;
  readonly ebReceived: Counter;
  readonly ebCertified: Counter;
  readonly votesCast: Counter;
  readonly votesReceived: Counter;
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
  readonly netBytesSent: Counter<'protocol'>;
  readonly netBytesReceived: Counter<'protocol'>;
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
}

export function createNodeMetrics(nodeName: string, opts: NodeMetricsOptions = {}): NodeMetrics {
  const registry = new Registry();
  if (opts.nodeLabel ?? true) registry.setDefaultLabels({ node: nodeName });
  if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const gauge = (name: string, help: string) => new Gauge({ name: `leios_${name}`, help, registers });
  const counter = (name: string, help: string) => new Counter({ name: `leios_${name}`, help, registers });

  const nodeInfo = new Gauge({
    name: 'leios_node_info',
    help: 'Node release version and the highest protocol version it supports (value is always 1)',
    labelNames: ['version', 'max_protocol_version'] as const,
    registers,
  });
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
    ebReceived: counter('eb_received_total', 'Endorser blocks received from peers'),
    ebCertified: counter('eb_certified_total', 'Endorser blocks for which a certificate was formed or seen'),
    votesCast: counter('votes_cast_total', 'Leios votes cast by this node'),
    votesReceived: counter('votes_received_total', 'Leios votes received from peers'),
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
    netBytesSent: new Counter({
      name: 'leios_net_bytes_sent_total',
      help: 'Bytes sent to peers, by mini-protocol',
      labelNames: ['protocol'] as const,
      registers,
    }),
    netBytesReceived: new Counter({
      name: 'leios_net_bytes_received_total',
      help: 'Bytes received from peers, by mini-protocol',
      labelNames: ['protocol'] as const,
      registers,
    }),

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
