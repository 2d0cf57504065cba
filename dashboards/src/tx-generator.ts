// tx-generator: target vs actual rate, accepted/rejected by reason, in flight, inclusion latency.
import { base, q, row, RUN, states, ts } from './common.ts';

export const uid = 'leiosnet-tx-generator';

const GEN = `${RUN}, role="generator"`;

export function build() {
  return base(uid, 'leiosnet / tx-generator', 'The synthetic workload: offered rate, verdicts, transactions in flight')
    .withRow(row('Rate'))
    .withPanel(
      ts('Target vs actual rate', 'none', [
        q(`leios_txgen_target_tps{${GEN}}`, 'target (generator) {{run}}'),
        q(`leios_orchestrator_generator_target_tps{${RUN}}`, 'target (orchestrator) {{run}}'),
        q(`leios_txgen_rate_tps{${GEN}}`, 'actual, last second {{run}}'),
        q(`sum by (run) (rate(leios_txgen_submitted_total{${GEN}}[$__rate_interval]))`, 'submitted/s {{run}}'),
      ]),
    )
    .withPanel(ts('Submitted per target node', 'none', [q(`sum by (run, target) (rate(leios_txgen_submitted_total{${GEN}}[$__rate_interval]))`, '{{target}}')]))
    .withRow(row('Verdicts'))
    .withPanel(ts('Accepted per second', 'none', [q(`sum by (run, target) (rate(leios_txgen_accepted_total{${GEN}}[$__rate_interval]))`, '{{target}}')]))
    .withPanel(
      ts('Rejected per second by reason', 'none', [q(`sum by (run, reason) (rate(leios_txgen_rejected_total{${GEN}}[$__rate_interval])) or vector(0)`, '{{reason}}')], 'No series but 0 while nothing was rejected'),
    )
    .withRow(row('In flight'))
    .withPanel(
      ts('Pending, included, backlog', 'none', [
        q(`leios_txgen_pending{${GEN}}`, 'pending {{run}}'),
        q(`leios_txgen_included{${GEN}}`, 'included {{run}}'),
        q(`sum by (run) (leios_txgen_backlog{${GEN}})`, 'backlog {{run}}'),
      ]),
    )
    .withPanel(
      ts('Inclusion latency', 's', [
        q(`histogram_quantile(0.5, sum by (run, le) (rate(leios_txgen_inclusion_latency_seconds_bucket{${GEN}}[$__rate_interval])))`, 'p50 {{run}}'),
        q(`histogram_quantile(0.95, sum by (run, le) (rate(leios_txgen_inclusion_latency_seconds_bucket{${GEN}}[$__rate_interval])))`, 'p95 {{run}}'),
      ]),
    )
    .withPanel(states('Phase', [q(`max by (phase) (leios_txgen_phase{${GEN}})`, '{{phase}}')]))
    .withPanel(ts('Generator running (orchestrator)', 'none', [q(`leios_orchestrator_generator_running{${RUN}}`, '{{run}}')]));
}
