// Diffusion: RB adoption and EB arrival delay heatmaps (histograms: events faster than a
// scrape interval), their quantiles, and bytes by mini-protocol per link (node → peer) and node.
import { base, histogramHeatmap, q, row, SEL, ts } from './common.ts';

export const uid = 'leiosnet-diffusion';

const quant = (p: number, m: string) => q(`histogram_quantile(${p}, sum by (run, le) (rate(${m}_bucket{${SEL}}[$__rate_interval])))`, `p${Math.round(p * 100)} {{run}}`);

export function build() {
  return base(uid, 'leiosnet / Diffusion', 'How fast ranking and endorser blocks reach the nodes, and what the links carry')
    .withRow(row('Ranking blocks'))
    .withPanel(histogramHeatmap('RB adoption delay (slot start → adopted)', 'leios_rb_adoption_delay_seconds', 'Per-bucket adoptions over all selected nodes'))
    .withPanel(ts('RB adoption delay quantiles', 's', [quant(0.5, 'leios_rb_adoption_delay_seconds'), quant(0.95, 'leios_rb_adoption_delay_seconds'), quant(0.99, 'leios_rb_adoption_delay_seconds')]))
    .withRow(row('Endorser blocks'))
    .withPanel(histogramHeatmap('EB arrival delay (slot start → EB at node)', 'leios_eb_arrival_delay_seconds'))
    .withPanel(ts('EB arrival delay quantiles', 's', [quant(0.5, 'leios_eb_arrival_delay_seconds'), quant(0.95, 'leios_eb_arrival_delay_seconds'), quant(0.99, 'leios_eb_arrival_delay_seconds')]))
    .withPanel(ts('EBs received per second', 'none', [q(`rate(leios_eb_received_total{${SEL}}[$__rate_interval])`)]))
    .withRow(row('Links by mini-protocol'))
    .withPanel(
      ts(
        'Bytes sent per link and mini-protocol',
        'Bps',
        [q(`sum by (node, peer, protocol) (rate(leios_net_bytes_sent_total{${SEL}}[$__rate_interval]))`, '{{node}} → {{peer}} {{protocol}}')],
        'Per link (node → peer, the peer named by its handshake; "unknown" before it, "other" past 64 peers) and mini-protocol',
      ),
    )
    .withPanel(
      ts(
        'Bytes received per link and mini-protocol',
        'Bps',
        [q(`sum by (node, peer, protocol) (rate(leios_net_bytes_received_total{${SEL}}[$__rate_interval]))`, '{{node}} ← {{peer}} {{protocol}}')],
      ),
    )
    .withPanel(ts('Bytes sent per node and mini-protocol', 'Bps', [q(`sum by (node, protocol) (rate(leios_net_bytes_sent_total{${SEL}}[$__rate_interval]))`, '{{node}} {{protocol}}')]))
    .withPanel(ts('Network bytes by mini-protocol (all nodes)', 'Bps', [q(`sum by (run, protocol) (rate(leios_net_bytes_sent_total{${SEL}}[$__rate_interval]))`, '{{protocol}} {{run}}')]));
}
