// Overview: tips and height per node, fork depth, blocks/min, peers, protocol version and
// release per node, the orchestrator's phase and assertions; faults/upgrades as annotations.
import { base, bars, q, qi, row, SEL, RUN, states, statPanel, ts } from './common.ts';

export const uid = 'leiosnet-overview';

export function build() {
  return base(uid, 'leiosnet / Overview', 'Tips, height, forks, peers and releases per node of a leiosnet testnet')
    .withRow(row('Chain'))
    .withPanel(ts('Slot per node', 'none', [q(`leios_slot{${SEL}}`)], 'Current slot (wall clock and genesis system start)'))
    .withPanel(ts('Block height per node', 'none', [q(`leios_block_height{${SEL}}`)], 'Block number of each node’s selected tip'))
    .withPanel(
      ts(
        'Height spread (fork depth bound)',
        'none',
        [q(`max by (run) (leios_block_height{${SEL}}) - min by (run) (leios_block_height{${SEL}})`, '{{run}}')],
        'Highest minus lowest tip height over the nodes: an upper bound of the current fork depth (0 or 1 when nodes agree)',
      ),
    )
    .withPanel(ts('Rollbacks', 'none', [q(`increase(leios_rollbacks_total{${SEL}}[$__rate_interval])`)], 'Chain switches that rolled back at least one block'))
    .withPanel(
      ts('Blocks per minute', 'none', [q(`60 * sum by (run) (rate(leios_rb_forged_total{${SEL}}[$__rate_interval]))`, 'forged {{run}}'), q(`60 * max by (run) (rate(leios_rb_adopted_total{${SEL}}[$__rate_interval]))`, 'adopted (max node) {{run}}')]),
    )
    .withPanel(ts('Peers connected', 'none', [q(`leios_peers_connected{${SEL}}`)]))
    .withRow(row('Releases and protocol'))
    .withPanel(ts('Protocol version at the tip', 'none', [q(`leios_protocol_version{${SEL}}`)], 'Protocol (major) version of the chain at each node’s tip'))
    .withPanel(states('Following the chain', [q(`leios_following{${SEL}}`)], '1 while following; 0 once a node stopped (chain beyond its max protocol version)'))
    .withPanel(bars('Release per node', 'none', [qi(`max by (node, version, max_protocol_version) (leios_node_info{${SEL}})`, '{{node}} {{version}} (max PV {{max_protocol_version}})')], 'leios_node_info: release version and the highest protocol version it follows'))
    .withPanel(bars('Nodes per release', 'none', [qi(`count by (release) (leios_slot{${SEL}})`, '{{release}}')], 'From the targets’ release label'))
    .withRow(row('Orchestrator'))
    .withPanel(states('Phase', [q(`max by (phase) (leios_orchestrator_phase{${RUN}})`, '{{phase}}')], 'The orchestrator’s phase (1 = current)'))
    .withPanel(statPanel('Assertions passed', 'none', qi(`sum(leios_orchestrator_assertions_total{${RUN}, result="passed"})`, 'passed')))
    .withPanel(statPanel('Assertions failed', 'none', qi(`sum(leios_orchestrator_assertions_total{${RUN}, result="failed"})`, 'failed')))
    .withPanel(statPanel('Faults applied', 'none', qi(`sum(leios_orchestrator_faults_total{${RUN}}) or vector(0)`, 'faults')));
}
