// Leios funnel: offered load → mempool → EB → certificate → ledger, rate and bytes/s at each
// stage, latency per stage, certification rate, EBs announced vs certified, votes per election.
import { bars, base, q, qi, row, SEL, RUN, statPanel, ts } from './common.ts';

export const uid = 'leiosnet-leios-funnel';

const stageQuantile = (p: number) =>
  q(`histogram_quantile(${p}, sum by (run, stage, le) (rate(leios_tx_stage_latency_seconds_bucket{${SEL}}[$__rate_interval])))`, `p${Math.round(p * 100)} {{stage}} {{run}}`);

const r = (m: string, agg = 'sum', sel = SEL) => `${agg} by (run) (rate(${m}{${sel}}[$__rate_interval]))`;

export function build() {
  return base(uid, 'leiosnet / Leios funnel', 'Offered load → mempool → endorser block → certificate → ledger')
    .withRow(row('Stages (tx/s)'))
    .withPanel(
      ts(
        'Transactions per second at each stage',
        'none',
        [
          q(r('leios_txgen_submitted_total', 'sum', RUN), 'offered (generator) {{run}}'),
          q(r('leios_tx_accepted_total', 'max'), 'mempool admitted (max node) {{run}}'),
          q(r('leios_ledger_tx_applied_total', 'max'), 'ledger applied (max node) {{run}}'),
        ],
        'Offered: generator submissions; mempool: admissions at the busiest node; ledger: txs applied from RB bodies and certified EBs',
      ),
    )
    .withPanel(
      ts(
        'Bytes per second',
        'Bps',
        [q(`max by (run) (leios_mempool_bytes{${SEL}})`, 'mempool size (max node) {{run}}'), q(r('leios_ledger_tx_bytes_applied_total', 'max'), 'ledger tx bytes/s {{run}}')],
        'Ledger: bytes of transactions applied per second; mempool: bytes waiting (a level, not a rate)',
      ),
    )
    .withPanel(
      ts('Blocks per second by stage', 'none', [
        q(r('leios_eb_forged_total'), 'EBs announced {{run}}'),
        q(r('leios_eb_certified_total', 'max'), 'EBs certified {{run}}'),
        q(r('leios_certs_included_total', 'max'), 'certificates on chain {{run}}'),
        q(r('leios_rb_forged_total'), 'RBs forged {{run}}'),
      ]),
    )
    .withPanel(ts('Mempool', 'none', [q(`leios_mempool_txs{${SEL}}`)], 'Transactions waiting in each node’s mempool'))
    .withRow(row('Totals'))
    .withPanel(
      bars(
        'Funnel (since start)',
        'none',
        [
          qi(`sum(leios_txgen_submitted_total{${RUN}})`, 'offered'),
          qi(`max(leios_tx_accepted_total{${SEL}})`, 'mempool admitted'),
          qi(`max(leios_ledger_tx_applied_total{${SEL}})`, 'ledger applied'),
        ],
      ),
    )
    .withPanel(
      bars('EBs announced vs certified', 'none', [
        qi(`sum(leios_eb_forged_total{${SEL}})`, 'announced'),
        qi(`max(leios_eb_certified_total{${SEL}})`, 'certified'),
        qi(`max(leios_certs_included_total{${SEL}})`, 'certificates on chain'),
      ]),
    )
    .withPanel(
      statPanel('Certification rate', 'percentunit', qi(`max(leios_eb_certified_total{${SEL}}) / clamp_min(sum(leios_eb_forged_total{${SEL}}), 1)`, 'certified / announced'), 'EBs certified over EBs announced, since the start'),
    )
    .withPanel(statPanel('Votes per election', 'none', qi(`sum(leios_votes_cast_total{${SEL}}) / clamp_min(sum(leios_eb_forged_total{${SEL}}), 1)`, 'votes / EB'), 'Votes cast per EB announced (each EB is one election)'))
    .withPanel(statPanel('Rejected by mempools', 'none', qi(`sum(leios_tx_rejected_total{${SEL}}) or vector(0)`, 'rejected')))
    .withRow(row('Latency per stage'))
    .withPanel(
      ts(
        'Latency per stage, p50 (at the nodes)',
        's',
        [stageQuantile(0.5)],
        'mempool_to_eb: a tx entered a node’s mempool → an EB referencing it is at that node; eb_to_certified: EB there → certificate formed or seen; ' +
          'certified_to_ledger: certificate → the certifying RB adopted; mempool_to_ledger: mempool → applied (RB body or certified EB). Over all selected nodes.',
      ),
    )
    .withPanel(ts('Latency per stage, p95 (at the nodes)', 's', [stageQuantile(0.95)]))
    .withPanel(
      ts(
        'Stage completions per second',
        'none',
        [q(`sum by (run, stage) (rate(leios_tx_stage_latency_seconds_count{${SEL}}[$__rate_interval]))`, '{{stage}} {{run}}')],
        'Observations per second of each stage (txs for mempool_to_*, EBs for eb_to_certified and certified_to_ledger)',
      ),
    )
    .withPanel(
      ts(
        'Mempool → ledger (submission to inclusion)',
        's',
        [
          q(`histogram_quantile(0.5, sum by (run, le) (rate(leios_txgen_inclusion_latency_seconds_bucket{${RUN}}[$__rate_interval])))`, 'p50 {{run}}'),
          q(`histogram_quantile(0.95, sum by (run, le) (rate(leios_txgen_inclusion_latency_seconds_bucket{${RUN}}[$__rate_interval])))`, 'p95 {{run}}'),
        ],
        'From the generator: submission to inclusion on the chain it follows',
      ),
    )
    .withPanel(
      ts(
        'EB arrival (slot start → EB at node)',
        's',
        [
          q(`histogram_quantile(0.5, sum by (run, le) (rate(leios_eb_arrival_delay_seconds_bucket{${SEL}}[$__rate_interval])))`, 'p50 {{run}}'),
          q(`histogram_quantile(0.95, sum by (run, le) (rate(leios_eb_arrival_delay_seconds_bucket{${SEL}}[$__rate_interval])))`, 'p95 {{run}}'),
        ],
      ),
    )
    .withPanel(
      ts('Votes', 'none', [q(r('leios_votes_cast_total'), 'cast/s {{run}}'), q(r('leios_votes_received_total'), 'received/s (all nodes) {{run}}')]),
    );
}
