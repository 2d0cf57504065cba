// The sweep report: sweep-report.md and a self-contained sweep-report.html (uPlot inlined, as
// report/html.ts does for one run). Plots against offered load: included vs offered with the
// protocol ceiling and the knee; latency percentiles; CPU and RSS per node.

import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describeCeiling, planCeiling, type Ceiling } from './ceiling.ts';
import { findKnee, type Knee } from './knee.ts';
import { parseVary, pointSets } from './plan.ts';
import type { PointState, SweepState } from './state.ts';

export interface SweepReportFiles {
  md: string;
  html: string;
}

export interface SweepFigure {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  y2Label?: string;
  data: (number | null)[][];
  series: string[];
  scales?: string[];
  /** per series: draw points only (no line) */
  pointsOnly?: boolean[];
  dash?: boolean[];
}

export interface SweepGroup {
  /** the values of the other --vary paths, '' for a one-dimensional sweep */
  label: string;
  points: PointState[];
  knee: Knee;
}

export interface SweepAnalysis {
  groups: SweepGroup[];
  /** ceiling per point id (its plan) */
  ceilings: Map<string, Ceiling>;
  ceiling: Ceiling | undefined;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function analyseSweep(sweepDir: string, state: SweepState): SweepAnalysis {
  const first = state.spec.vary[0] ? parseVary(state.spec.vary[0]).path : undefined;
  const measured = state.points.filter((p) => p.status === 'done' && p.metrics);
  const byGroup = new Map<string, PointState[]>();
  for (const p of measured) {
    const label = pointSets(Object.fromEntries(Object.entries(p.values).filter(([k]) => k !== first))).join(' ');
    let g = byGroup.get(label);
    if (!g) byGroup.set(label, (g = []));
    g.push(p);
  }
  const groups: SweepGroup[] = [...byGroup].map(([label, points]) => {
    points.sort((a, b) => (a.metrics!.offeredTxkbPerS ?? 0) - (b.metrics!.offeredTxkbPerS ?? 0));
    const knee = findKnee(
      points.map((p) => ({ offered: p.metrics!.offeredTxkbPerS ?? NaN, included: p.metrics!.includedTxkbPerS ?? NaN })),
      state.spec.kneeThreshold,
    );
    return { label, points, knee };
  });
  const ceilings = new Map<string, Ceiling>();
  for (const p of measured) {
    const c = p.runDir ? planCeiling(readJson(join(sweepDir, p.runDir, 'profile.resolved.json'))) : undefined;
    if (c) ceilings.set(p.id, c);
  }
  return { groups, ceilings, ceiling: ceilings.values().next().value };
}

const f = (x: number | null | undefined, d = 1) => (x === null || x === undefined ? '–' : Number.isInteger(x) ? String(x) : x.toFixed(d));

export function renderSweepMarkdown(state: SweepState, a: SweepAnalysis): string {
  const s = state.spec;
  const out: string[] = [];
  out.push(`# Sweep of ${s.profile}`, '');
  out.push(`${s.mode === 'bisect' ? 'Bisection' : 'Grid'} over ${s.vary.map((v) => `\`${v}\``).join(', ')}` + (s.sets.length ? `, with ${s.sets.map((x) => `\`--set ${x}\``).join(' ')}` : '') + `, runtime ${s.runtime}.`);
  const done = state.points.filter((p) => p.status === 'done').length;
  out.push(`${done} of ${state.points.length} points measured${state.done ? '' : ' (incomplete: run the same command again to resume)'}.`);
  if (s.assert.length) out.push(`Assertions per point: ${s.assert.map((x) => `\`${x}\``).join(', ')}.`);
  out.push('');
  if (a.ceiling) {
    const distinct = new Set([...a.ceilings.values()].map((c) => c.txkbPerS.toFixed(3)));
    out.push(`**Ceiling**: ${describeCeiling(a.ceiling)}${distinct.size > 1 ? ' (first point; the parameters vary across points, each is plotted)' : ''}.`, '');
  }
  if (s.mode === 'bisect') {
    const r = state.result;
    out.push('## Bisection', '');
    out.push(
      r
        ? r.best === null
          ? `Even the lowest value misses an assertion (${r.firstFailing}).`
          : `Highest value meeting every assertion: **${r.best}**${r.firstFailing !== null ? ` (${r.firstFailing} misses)` : ' (the top of the range)'}.`
        : 'Not finished.',
      '',
    );
  }
  out.push('## Knee', '');
  out.push(
    `Rule: efficiency = included / offered; the knee is the highest offered load such that it and every lower load included at least ${Math.round(s.kneeThreshold * 100)} % of the offered load; the crossing is interpolated between it and the next point.`,
    '',
  );
  for (const g of a.groups) out.push(`- ${g.label ? `${g.label}: ` : ''}${g.knee.explanation}`);
  if (a.groups.length === 0) out.push('- no measured points yet');
  out.push('', '## Points', '');
  out.push('included: every tx the chain took by the end of the run (the drain too) per second of load; sustained: only txs included while the load ran, after the profile\'s analysis.warmupSlots, per second of that window (summary.json throughput.windowTxkbPerS).', '');
  const varyPaths = [...new Set(state.points.flatMap((p) => Object.keys(p.values)))];
  out.push(
    `| ${[...varyPaths, 'offered TxkB/s', 'submitted', 'included', 'sustained', 'eff.', 'incl. p50 s', 'incl. p95 s', 'RB p95 ms', 'EB p95 ms', 'cert rate', 'CPU/node %', 'RSS/node MB', 'PSS/node MB', 'ceiling', 'profile asserts', 'sweep asserts', 'run dir'].join(' | ')} |`,
  );
  out.push(`| ${[...varyPaths.map(() => '---'), ...new Array(17).fill('---:')].join(' | ')} |`);
  for (const p of state.points) {
    const m = p.metrics;
    const c = a.ceilings.get(p.id);
    out.push(
      `| ${[
        ...varyPaths.map((k) => String(p.values[k] ?? '')),
        f(m?.offeredTxkbPerS),
        f(m?.submittedTxkbPerS),
        f(m?.includedTxkbPerS),
        f(m?.sustainedTxkbPerS),
        m?.efficiency !== null && m?.efficiency !== undefined ? `${Math.round(m.efficiency * 100)} %` : '–',
        f(m?.inclusionP50S),
        f(m?.inclusionP95S),
        f(m?.rbP95Ms, 0),
        f(m?.ebP95Ms, 0),
        f(m?.certRate, 2),
        f(m?.cpuPctPerNode),
        f(m?.rssMbPerNode, 0),
        f(m?.pssMbPerNode, 0),
        c ? c.txkbPerS.toFixed(1) : '–',
        m ? (m.passed ? 'pass' : 'FAIL') : p.status,
        p.checks?.length ? (p.ok ? 'ok' : `miss ${p.checks.filter((x) => !x.passed).map((x) => x.text).join(', ')}`) : p.status === 'error' ? `error: ${(p.error ?? '').split('\n')[0]}` : '',
        p.runDir ? `\`${p.runDir}\`` : '',
      ].join(' | ')} |`,
    );
  }
  out.push('', 'Plots: sweep-report.html (included vs offered with the ceiling and the knee, latency, CPU and RSS per node against load).', '');
  return out.join('\n');
}

export function sweepFigures(a: SweepAnalysis): SweepFigure[] {
  const figs: SweepFigure[] = [];
  const multi = a.groups.length > 1;
  const name = (g: SweepGroup, what: string) => (multi ? `${what} ${g.label}` : what);
  const xs = [...new Set(a.groups.flatMap((g) => g.points.map((p) => p.metrics!.offeredTxkbPerS)).filter((x): x is number => x !== null))].sort((p, q) => p - q);
  const col = (g: SweepGroup, pick: (p: PointState) => number | null) => xs.map((x) => {
    const p = g.points.find((q) => q.metrics!.offeredTxkbPerS === x);
    return p ? pick(p) : null;
  });
  // 1. included vs offered, y = x, the ceiling, the knee
  {
    const series: string[] = [];
    const data: (number | null)[][] = [xs];
    const pointsOnly: boolean[] = [];
    const dash: boolean[] = [];
    for (const g of a.groups) {
      series.push(name(g, 'included'));
      data.push(col(g, (p) => p.metrics!.includedTxkbPerS));
      pointsOnly.push(false);
      dash.push(false);
      series.push(name(g, 'submitted'));
      data.push(col(g, (p) => p.metrics!.submittedTxkbPerS));
      pointsOnly.push(false);
      dash.push(true);
    }
    series.push('offered (y = x)');
    data.push(xs.slice());
    pointsOnly.push(false);
    dash.push(true);
    if (a.ceilings.size) {
      series.push('protocol ceiling');
      const byX = new Map<number, number>();
      for (const g of a.groups) for (const p of g.points) {
        const c = a.ceilings.get(p.id);
        if (c && p.metrics!.offeredTxkbPerS !== null) byX.set(p.metrics!.offeredTxkbPerS, c.txkbPerS);
      }
      data.push(xs.map((x) => (byX.has(x) ? Math.round(byX.get(x)! * 10) / 10 : null)));
      pointsOnly.push(false);
      dash.push(true);
    }
    for (const g of a.groups) {
      if (!g.knee.point) continue;
      series.push(name(g, 'knee'));
      data.push(xs.map((x) => (x === g.knee.point!.offered ? g.knee.point!.included : null)));
      pointsOnly.push(true);
      dash.push(false);
    }
    figs.push({ id: 'fig-sweep-throughput', title: 'Included vs offered throughput, with the protocol ceiling and the knee', xLabel: 'offered TxkB/s', yLabel: 'TxkB/s', data, series, pointsOnly, dash });
  }
  // 2. latency
  {
    const series: string[] = [];
    const data: (number | null)[][] = [xs];
    const scales: string[] = [];
    for (const g of a.groups) {
      for (const [label, pick, scale] of [
        ['inclusion p50 s', (p: PointState) => p.metrics!.inclusionP50S, 'y'],
        ['inclusion p95 s', (p: PointState) => p.metrics!.inclusionP95S, 'y'],
        ['RB p95 ms', (p: PointState) => p.metrics!.rbP95Ms, 'y2'],
        ['EB p95 ms', (p: PointState) => p.metrics!.ebP95Ms, 'y2'],
      ] as const) {
        series.push(name(g, label));
        data.push(col(g, pick));
        scales.push(scale);
      }
    }
    figs.push({ id: 'fig-sweep-latency', title: 'Latency percentiles against load', xLabel: 'offered TxkB/s', yLabel: 'inclusion latency s', y2Label: 'diffusion ms', data, series, scales });
  }
  // 3. CPU and RSS per node
  {
    const series: string[] = [];
    const data: (number | null)[][] = [xs];
    const scales: string[] = [];
    for (const g of a.groups) {
      series.push(name(g, 'CPU % per node'));
      data.push(col(g, (p) => p.metrics!.cpuPctPerNode));
      scales.push('y');
      series.push(name(g, 'RSS MB per node'));
      data.push(col(g, (p) => p.metrics!.rssMbPerNode));
      scales.push('y2');
    }
    figs.push({ id: 'fig-sweep-resources', title: 'CPU and memory per node against load', xLabel: 'offered TxkB/s', yLabel: 'CPU % of one core (mean per node)', y2Label: 'RSS MB (mean per node)', data, series, scales });
  }
  return figs;
}

let assets: { js: string; css: string } | undefined;
function uplot(): { js: string; css: string } {
  if (!assets) {
    const dist = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
    assets = { js: readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8'), css: readFileSync(join(dist, 'uPlot.min.css'), 'utf8') };
  }
  return assets;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const scriptJson = (v: unknown) => JSON.stringify(v).replace(/</g, '\\u003c');

function mdToHtml(md: string): string {
  const inline = (s: string) => esc(s).replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>').replace(/`([^`]+)`/g, '<code>$1</code>');
  const out: string[] = [];
  const lines = md.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('# ')) out.push(`<h1>${inline(l.slice(2))}</h1>`);
    else if (l.startsWith('## ')) out.push(`<h2>${inline(l.slice(3))}</h2>`);
    else if (l.startsWith('- ')) out.push(`<p>• ${inline(l.slice(2))}</p>`);
    else if (l.startsWith('| ')) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i]!.startsWith('| ')) rows.push(lines[i++]!.slice(2, -2).split(' | '));
      i--;
      const [head, , ...body] = rows;
      out.push(`<table><thead><tr>${head!.map((c) => `<th>${inline(c)}</th>`).join('')}</tr></thead><tbody>${body.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`);
    } else if (l.trim()) out.push(`<p>${inline(l)}</p>`);
  }
  return out.join('\n');
}

const PAGE_JS = `
const figs = JSON.parse(document.getElementById('figures').textContent);
const palette = ['#1f77b4','#d62728','#2ca02c','#ff7f0e','#9467bd','#8c564b','#e377c2','#7f7f7f','#bcbd22','#17becf'];
for (const f of figs) {
  const el = document.getElementById(f.id);
  if (!f.data[0] || f.data[0].length === 0) { el.textContent = 'no measured points yet'; continue; }
  const series = [{ label: f.xLabel }].concat(f.series.map((name, i) => {
    const only = f.pointsOnly && f.pointsOnly[i];
    return { label: name, stroke: palette[i % palette.length], width: only ? 0 : 1.5, spanGaps: true,
      dash: f.dash && f.dash[i] ? [6, 4] : undefined, scale: f.scales ? f.scales[i] : 'y',
      points: { show: true, size: only ? 12 : 5 } };
  }));
  const axes = [{ label: f.xLabel }, { label: f.yLabel, scale: 'y' }];
  if (f.y2Label) axes.push({ label: f.y2Label, scale: 'y2', side: 1, grid: { show: false } });
  new uPlot({ width: Math.min(960, window.innerWidth - 40), height: 360, series, axes,
    scales: { x: { time: false } } }, f.data, el);
}
`;

export function renderSweepHtml(state: SweepState, a: SweepAnalysis): string {
  const { js, css } = uplot();
  const figs = sweepFigures(a);
  const body = mdToHtml(renderSweepMarkdown(state, a).replace(/\nPlots: sweep-report\.html.*\n/, '\n'));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>leiosnet sweep ${esc(state.spec.profile)}</title>
<style>${css}</style>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 20px; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 6px 0 14px; font-size: 12px; } th, td { border: 1px solid #ddd; padding: 3px 6px; }
td { text-align: right; font-variant-numeric: tabular-nums; } th { background: #f4f4f4; }
h2 { margin-top: 26px; border-bottom: 1px solid #eee; } .fig { margin: 8px 0 24px; }
</style></head>
<body>
${body}
<h2>Figures</h2>
${figs.map((x) => `<h3>${esc(x.title)}</h3>\n<div class="fig" id="${x.id}"></div>`).join('\n')}
<script type="application/json" id="sweep">${scriptJson(state)}</script>
<script type="application/json" id="figures">${scriptJson(figs)}</script>
<script>${js.replace(/<\/script/gi, '<\\/script')}</script>
<script>${PAGE_JS}</script>
</body></html>
`;
}

export function writeSweepReport(sweepDir: string, state: SweepState): SweepReportFiles {
  const a = analyseSweep(sweepDir, state);
  const md = join(sweepDir, 'sweep-report.md');
  const html = join(sweepDir, 'sweep-report.html');
  writeFileSync(md, renderSweepMarkdown(state, a));
  writeFileSync(html, renderSweepHtml(state, a));
  return { md, html };
}
