// The report's "Adversary" section (summary.adversary, orchestrator/analysis/adversary.ts): what
// each adversarial node did, what honest nodes did about it, EBs per producer, and the measured
// degradation against the attack-free baseline run (analysis.baseline).
import type { Summary } from '../analysis/summary.ts';
import { fmt, table } from './markdown.ts';

const LABELS: Record<string, string> = {
  'leios.certRate': 'certification rate',
  'leios.ebsCertified': 'EBs certified',
  'leios.certsIncluded': 'CertRBs on chain',
  'throughput.txkbPerS': 'throughput TxkB/s',
  'throughput.tps': 'throughput tx/s',
  'diffusion.rb.p95Ms': 'RB diffusion p95 ms',
  'diffusion.eb.p95Ms': 'EB diffusion p95 ms',
  'latency.inclusionP50S': 'inclusion p50 s',
  'chain.blocks': 'blocks',
};

export function renderAdversaryMarkdown(s: Summary): string[] {
  const a = s.adversary;
  if (!a) return [];
  const out = ['', '## Adversary', ''];
  out.push(
    table(
      ['adversarial node', 'what it did (trace actions)'],
      a.nodes.map((n) => [n, Object.entries(a.actions[n] ?? {}).map(([k, v]) => `${k} ${v}`).join(', ') || 'nothing traced']),
    ),
    '',
  );
  const honest = Object.entries(a.honest);
  if (honest.length) {
    out.push(
      table(
        ['honest node', 'votes refused', 'EBs refused', 'certificates refused', 'blocks refused', 'equivocations detected'],
        honest.map(([n, h]) => [n, h.votesRefused, h.ebsRefused, h.certificatesRefused, h.blocksRefused ?? 0, h.equivocationsDetected]),
      ),
      '',
    );
  }
  const ebs = Object.entries(a.ebs).sort(([x], [y]) => x.localeCompare(y, undefined, { numeric: true }));
  if (ebs.length) {
    out.push(table(['EB producer', 'forged', 'certified', ''], ebs.map(([p, e]) => [p, e.forged, e.certified, a.nodes.includes(p) ? 'adversarial' : ''])), '');
  }
  const d = a.degradation;
  if (!d) {
    out.push('No baseline to compare with (set analysis.baseline to the run dir of the same profile without the attack).');
    return out;
  }
  const name = d.baseline.runId ? `run ${d.baseline.runId}${d.baseline.profile ? ` (profile ${d.baseline.profile})` : ''}` : d.baseline.path;
  if (d.error) {
    out.push(`Degradation against the baseline: not measured, ${d.error}.`);
    return out;
  }
  const worse = d.rows.filter((r) => r.worse).map((r) => `${LABELS[r.metric] ?? r.metric} ${r.deltaPct !== null ? `${r.deltaPct > 0 ? '+' : ''}${fmt(r.deltaPct)} %` : fmt(r.delta)}`);
  out.push('', `## Degradation against the attack-free baseline, ${name}`, '');
  out.push(worse.length ? `Worse than the baseline: ${worse.join(', ')}.` : 'No figure is worse than the baseline.', '');
  out.push(
    table(
      ['figure', 'baseline', 'under attack', 'Δ', 'Δ %', ''],
      d.rows.map((r) => [LABELS[r.metric] ?? r.metric, r.baseline, r.attack, r.delta, r.deltaPct, r.worse ? 'worse' : '']),
    ),
  );
  return out;
}
