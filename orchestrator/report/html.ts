// report.html: one self-contained file (uPlot JS and CSS inlined from node_modules/uplot/dist),
// so it opens offline and survives being mailed or attached to a CI run.
// Figures: RB/EB diffusion CDFs, throughput and mempool over time, CPU and RSS per node.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Series } from '../analysis/analyse.ts';
import type { Summary } from '../analysis/summary.ts';
import { renderMarkdown } from './markdown.ts';
import type { ScenarioReport } from './scenario.ts';
import { fairnessFigures } from './fairness.ts';

export interface Figure {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  /** uPlot AlignedData: x, then one array per series */
  data: (number | null)[][];
  series: string[];
  /** Per-series y axis: 'y' (left) or 'y2' (right) */
  scales?: string[];
  y2Label?: string;
  /** points only, no lines (a scatter plot) */
  scatter?: boolean;
}

let uplotAssets: { js: string; css: string } | undefined;
function uplot(): { js: string; css: string } {
  if (!uplotAssets) {
    const req = createRequire(import.meta.url);
    const dist = dirname(req.resolve('uplot/dist/uPlot.iife.min.js'));
    uplotAssets = {
      js: readFileSync(join(dist, 'uPlot.iife.min.js'), 'utf8'),
      css: readFileSync(join(dist, 'uPlot.min.css'), 'utf8'),
    };
  }
  return uplotAssets;
}

/** Empirical CDF points of a sorted sample. */
function cdf(sorted: number[]): [number[], number[]] {
  const n = sorted.length;
  return [sorted.map((x) => Math.round(x * 10) / 10), sorted.map((_, i) => (i + 1) / n)];
}

/** Merge several (x, y) series onto one sorted x axis with nulls where a series has no point. */
export function align(parts: [number[], (number | null)[]][]): (number | null)[][] {
  const xs = [...new Set(parts.flatMap(([x]) => x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const out: (number | null)[][] = [xs];
  for (const [x, y] of parts) {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    x.forEach((xv, i) => {
      col[index.get(xv)!] = y[i] ?? null;
    });
    out.push(col);
  }
  return out;
}

export function figures(series: Series): Figure[] {
  const figs: Figure[] = [];
  const parts: [number[], number[]][] = [];
  const names: string[] = [];
  if (series.rbDelaysMs.length) {
    parts.push(cdf(series.rbDelaysMs));
    names.push('RB');
  }
  if (series.ebDelaysMs.length) {
    parts.push(cdf(series.ebDelaysMs));
    names.push('EB');
  }
  figs.push({
    id: 'fig-diffusion-cdf',
    title: 'Block diffusion: CDF of arrival time from slot start',
    xLabel: 'ms from slot start',
    yLabel: 'share of (block, node) arrivals',
    data: parts.length ? align(parts) : [[]],
    series: names,
  });
  const tl = series.timeline;
  figs.push({
    id: 'fig-throughput',
    title: 'Throughput and mempool over time',
    xLabel: 's since start',
    yLabel: 'tx/s applied',
    y2Label: 'mempool txs (mean per node)',
    data: [tl.t, tl.txRate, tl.mempoolTxs],
    series: ['tx/s applied', 'mempool txs'],
    scales: ['y', 'y2'],
  });
  figs.push({
    id: 'fig-height',
    title: 'Chain height over time',
    xLabel: 's since start',
    yLabel: 'block height (best node)',
    data: [tl.t, tl.height],
    series: ['height'],
  });
  const nodes = Object.keys(series.resources).sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  figs.push({
    id: 'fig-cpu',
    title: 'CPU per node',
    xLabel: 's since start',
    yLabel: 'CPU % of one core',
    data: nodes.length ? align(nodes.map((n) => [series.resources[n]!.t, series.resources[n]!.cpuPct])) : [[]],
    series: nodes,
  });
  figs.push({
    id: 'fig-rss',
    title: 'Resident memory per node',
    xLabel: 's since start',
    yLabel: 'RSS MB',
    data: nodes.length ? align(nodes.map((n) => [series.resources[n]!.t, series.resources[n]!.rssMb])) : [[]],
    series: nodes,
  });
  return figs;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON safe inside <script>. */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c');
}

/** Minimal Markdown table/heading/paragraph rendering for the summary part of the page. */
function markdownToHtml(md: string): string {
  const out: string[] = [];
  const lines = md.split('\n');
  const inline = (s: string) =>
    escapeHtml(s)
      .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>')
      .replace(/`([^`]+)`/g, '<code>$1</code>');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i]!;
    if (l.startsWith('# ')) out.push(`<h1>${inline(l.slice(2))}</h1>`);
    else if (l.startsWith('## ')) out.push(`<h2>${inline(l.slice(3))}</h2>`);
    else if (l.startsWith('| ')) {
      const rows: string[][] = [];
      while (i < lines.length && lines[i]!.startsWith('| ')) {
        rows.push(lines[i]!.slice(2, -2).split(/(?<!\\) \| /).map((c) => c.replace(/\\\|/g, '|')));
        i++;
      }
      i--;
      const [head, , ...body] = rows;
      out.push(
        '<table><thead><tr>' +
          head!.map((c) => `<th>${inline(c)}</th>`).join('') +
          '</tr></thead><tbody>' +
          body.map((r) => '<tr>' + r.map((c, j) => `<td${j ? ' class="num"' : ''}>${inline(c)}</td>`).join('') + '</tr>').join('') +
          '</tbody></table>',
      );
    } else if (l.trim() !== '') out.push(`<p>${inline(l)}</p>`);
  }
  return out.join('\n');
}

const PAGE_JS = `
const figs = JSON.parse(document.getElementById('figures').textContent);
const palette = ['#1f77b4','#d62728','#2ca02c','#ff7f0e','#9467bd','#8c564b','#e377c2','#7f7f7f','#bcbd22','#17becf'];
for (const f of figs) {
  const el = document.getElementById(f.id);
  if (!f.data[0] || f.data[0].length === 0) { el.textContent = 'no data in this run'; continue; }
  const series = [{ label: f.xLabel }].concat(f.series.map((name, i) => ({
    label: name, stroke: palette[i % palette.length], width: 1.5, spanGaps: true,
    scale: f.scales ? f.scales[i] : 'y', points: { show: f.scatter || f.data[0].length < 60, size: f.scatter ? 8 : 5 },
    ...(f.scatter ? { paths: () => null } : {}),
  })));
  const axes = [{ label: f.xLabel }, { label: f.yLabel, scale: 'y' }];
  if (f.y2Label) axes.push({ label: f.y2Label, scale: 'y2', side: 1, grid: { show: false } });
  new uPlot({ width: Math.min(960, window.innerWidth - 40), height: 320, series, axes,
    scales: { x: { time: false } }, legend: { show: f.series.length <= 20 } }, f.data, el);
}
`;

export function renderHtml(summary: Summary, series: Series, scenario?: ScenarioReport): string {
  const { js, css } = uplot();
  const figs = [...figures(series), ...fairnessFigures(summary, align)];
  const body = markdownToHtml(renderMarkdown(summary, undefined, scenario).replace(/\nPlots: report\.html.*\n/, '\n'));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>leiosnet ${escapeHtml(summary.run.id)}</title>
<style>${css}</style>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 20px; color: #222; max-width: 1000px; }
table { border-collapse: collapse; margin: 6px 0 14px; } th, td { border: 1px solid #ddd; padding: 3px 8px; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } th { background: #f4f4f4; }
h2 { margin-top: 26px; border-bottom: 1px solid #eee; } .fig { margin: 8px 0 24px; }
</style></head>
<body>
${body}
<h2>Figures</h2>
${figs.map((f) => `<h3>${escapeHtml(f.title)}</h3>\n<div class="fig" id="${f.id}"></div>`).join('\n')}
<script type="application/json" id="summary">${scriptJson(summary)}</script>
<script type="application/json" id="figures">${scriptJson(figs)}</script>
<script>${js.replace(/<\/script/gi, '<\\/script')}</script>
<script>${PAGE_JS}</script>
</body></html>
`;
}
