// report.md: the summary as tables a reviewer reads in a PR or a terminal.

import type { Series } from '../analysis/analyse.ts';
import { percentile } from '../analysis/stats.ts';
import type { Summary } from '../analysis/summary.ts';
import { renderScenarioMarkdown, type ScenarioReport } from './scenario.ts';
import { renderTxFateMarkdown } from './tx-fate.ts';
import { renderFairnessMarkdown } from './fairness.ts';
import { renderAdversaryMarkdown } from './adversary.ts';
import { conformanceMarkdown } from '../verify/markdown.ts';

export function fmt(v: unknown, digits = 3): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return v.toLocaleString('en-US');
    return Number(v.toPrecision(Math.max(digits, Math.ceil(Math.log10(Math.abs(v) + 1)) + 2))).toLocaleString('en-US', {
      maximumFractionDigits: 4,
    });
  }
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}

/** A Markdown table; columns whose cells are all numbers (or empty) are right-aligned. */
export function table(header: string[], rows: unknown[][]): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const numeric = header.map((_, i) => i > 0 && rows.every((r) => r[i] === null || r[i] === undefined || typeof r[i] === 'number' || /^[+-]?[\d,.]+( %)?$|^–$|^∞$/.test(String(r[i]))));
  const lines = [`| ${header.map(esc).join(' | ')} |`, `| ${numeric.map((n) => (n ? '---:' : '---')).join(' | ')} |`];
  for (const r of rows) lines.push(`| ${r.map((c) => esc(typeof c === 'string' ? c : fmt(c))).join(' | ')} |`);
  return lines.join('\n');
}

function kv(rows: [string, unknown][]): string {
  return table(['metric', 'value'], rows);
}

/** Deciles of a sorted sample, as a one-line CDF. */
function cdfLine(sorted: number[]): string {
  if (sorted.length === 0) return '–';
  return [0.1, 0.25, 0.5, 0.75, 0.9, 0.99].map((p) => `p${Math.round(p * 100)} ${fmt(percentile(sorted, p), 3)}`).join(' · ');
}

export function renderMarkdown(summary: Summary, series?: Series, scenario?: ScenarioReport): string {
  const s = summary;
  const out: string[] = [];
  out.push(`# leiosnet run ${s.run.id}`);
  out.push('');
  out.push(
    `**${s.passed ? 'PASSED' : 'FAILED'}** — profile \`${s.run.profile}\`, runtime \`${s.run.runtime}\`, ${s.run.nodes} nodes, ` +
      `${fmt(s.run.durationS)} s, seed ${fmt(s.run.seed)}, slot ${fmt(s.run.slotLengthS)} s`,
  );
  out.push('');
  if (s.assertions.length) {
    out.push('## Assertions', '');
    out.push(table(['assertion', 'result', 'detail'], s.assertions.map((a) => [a.name, a.passed ? (a.detail.startsWith('skipped: ') ? 'SKIP' : 'PASS') : 'FAIL', a.detail])));
    out.push('');
  }
  const scen = scenario ? renderScenarioMarkdown(scenario) : [];
  const timelineAt = scen.indexOf('## Timeline');
  const scenTimeline = timelineAt >= 0 ? scen.splice(timelineAt - 1) : [];
  if (scen.length) out.push(...scen.slice(1), '');
  out.push('## Chain', '');
  out.push(
    kv([
      ['blocks', s.chain.blocks],
      ['final slot', s.chain.finalSlot],
      ['tip agreement', s.chain.tipAgreement],
      ['nodes on the majority tip', s.chain.tipAgreementShare === null ? null : `${fmt(s.chain.tipAgreementShare * 100)} %`],
      ['max fork depth', s.chain.maxForkDepth],
      ['rollbacks', s.chain.rollbacks],
      ['density (blocks/slot)', s.chain.density],
    ]),
  );
  out.push('', '## Diffusion (from slot start)', '');
  const d = (name: string, p: Summary['diffusion']['rb']) => [
    name,
    p.p50Ms,
    p.p95Ms,
    p.p99Ms,
    p.reachedWithinShare === null ? null : `${fmt(p.reachedWithinShare * 100)} %`,
    p.blocks,
    p.samples,
  ];
  out.push(
    table(
      ['block', 'p50 ms', 'p95 ms', 'p99 ms', `reached within ${s.diffusion.rb.withinS} s`, 'blocks', 'arrivals'],
      [d('RB', s.diffusion.rb), d('EB', s.diffusion.eb)],
    ),
  );
  if (series) {
    out.push('', `RB CDF (ms): ${cdfLine(series.rbDelaysMs)}`, '', `EB CDF (ms): ${cdfLine(series.ebDelaysMs)}`);
  }
  out.push('', '## Leios', '');
  out.push(
    kv([
      ['EBs announced', s.leios.ebsAnnounced],
      ['EBs certified', s.leios.ebsCertified],
      ['certification rate', s.leios.certRate],
      ['votes cast', s.leios.votesCast],
      ['votes not cast, by rule', skippedLine(s.leios.votesSkipped)],
      ['certificates included', s.leios.certsIncluded],
      ['hard fork slot', s.leios.hardForkSlot],
    ]),
  );
  if (s.conformance) out.push('', ...conformanceMarkdown(s.conformance));
  out.push('', '## Throughput and latency', '');
  out.push(
    kv([
      ['tx submitted', s.throughput.txSubmitted],
      ['tx included', s.throughput.txIncluded],
      ['tx rejected', s.throughput.txRejected],
      ['tx pending', s.throughput.txPending],
      ['TxkB/s (all included ÷ load window)', s.throughput.txkbPerS],
      ['TxkB/s sustained (included while loaded, after warm-up)', s.throughput.windowTxkbPerS ?? null],
      ['tx/s', s.throughput.tps],
      ['load window s', s.throughput.loadWindowS],
      ['inclusion p50 s', s.latency.inclusionP50S],
      ['inclusion p95 s', s.latency.inclusionP95S],
    ]),
  );
  out.push('', '## Resources', '');
  const pss = s.resources.pssMbPerNode != null ? `, PSS ${fmt(s.resources.pssMbPerNode)} MB` : '';
  out.push(`Mean per node: CPU ${fmt(s.resources.cpuPctPerNode)} %, RSS ${fmt(s.resources.rssMbPerNode)} MB${pss}`, '');
  const per = Object.entries(s.resources.perNode);
  const withPss = per.some(([, r]) => typeof r.pssMb === 'number');
  if (per.length)
    out.push(
      withPss
        ? table(['node', 'CPU %', 'RSS MB', 'PSS MB'], per.map(([n, r]) => [n, r.cpuPct, r.rssMb, r.pssMb ?? null]))
        : table(['node', 'CPU %', 'RSS MB'], per.map(([n, r]) => [n, r.cpuPct, r.rssMb])),
    );
  out.push(...renderAdversaryMarkdown(s));
  out.push(...renderTxFateMarkdown(s));
  out.push(...renderFairnessMarkdown(s));
  const happenings = series?.events.filter((e) => e.type !== 'phase' && e.type !== 'assertion') ?? [];
  if (scenTimeline.length) out.push(...scenTimeline);
  else if (happenings.length) {
    out.push('', '## Timeline', '');
    out.push(table(['t (s)', 'event'], happenings.map((e) => [e.t, e.text])));
  }
  out.push('', 'Plots: report.html (diffusion CDFs, throughput and mempool over time, CPU and RSS per node).', '');
  return out.join('\n');
}

/** "late-header 12, not-in-committee 40" (reasons with a count, largest first), or "none". */
function skippedLine(v: Record<string, number> | null | undefined): string | null {
  if (!v) return null;
  const parts = Object.entries(v).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r} ${n}`);
  return parts.length ? parts.join(', ') : 'none';
}
