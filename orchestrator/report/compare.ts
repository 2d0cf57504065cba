// compare(base, candidate): Δ and Δ% over every numeric metric of summary.json, like locli's
// comparison tables. Each metric has a direction (latency up = worse, throughput up = better);
// a change in the worse direction beyond the threshold is a regression.

import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Summary } from '../analysis/summary.ts';
import type { Fairness } from '../analysis/fairness.ts';
import { renderFairnessCompare } from './fairness.ts';
import { fmt, table } from './markdown.ts';

export type Direction = 'lower' | 'higher' | 'neutral';

export interface CompareRow {
  metric: string;
  base: number | boolean | null;
  candidate: number | boolean | null;
  delta: number | null;
  deltaPct: number | null;
  better: Direction;
  verdict: 'regression' | 'improvement' | '';
}

export interface CompareResult {
  base: { runId: string; path: string };
  candidate: { runId: string; path: string };
  thresholdPct: number;
  /** 'slots': durations and rates converted to slots (`--in-slots`) */
  unit?: 'slots';
  rows: CompareRow[];
  /** summary.fairness of both runs, shown side by side (slot-battle experiments) */
  fairness?: { base: Fairness | null; candidate: Fairness | null };
  regressions: string[];
  improvements: string[];
}

/** Which way is better, by metric path. First match wins. */
const RULES: [RegExp, Direction][] = [
  [/^run\./, 'neutral'],
  [/^diffusion\.\w+\.(samples|blocks|withinS)$/, 'neutral'],
  [/^diffusion\.\w+\.reachedWithinShare$/, 'higher'],
  [/^diffusion\./, 'lower'],
  [/^latency\./, 'lower'],
  [/^resources\./, 'lower'],
  [/^chain\.(maxForkDepth|rollbacks)$/, 'lower'],
  [/^chain\.(blocks|density|tipAgreement|tipAgreementShare)$/, 'higher'],
  [/^chain\./, 'neutral'],
  [/^throughput\.(txRejected|txPending)$/, 'lower'],
  [/^throughput\.(txIncluded|txkbPerS|tps)$/, 'higher'],
  [/^throughput\./, 'neutral'],
  [/^leios\.hardForkSlot$/, 'neutral'],
  // votes not cast, by rule: more is worse (they were counted as improvements)
  [/^leios\.votesSkipped\./, 'lower'],
  [/^leios\./, 'higher'],
  [/^passed$/, 'higher'],
];

export function direction(metric: string): Direction {
  for (const [re, d] of RULES) if (re.test(metric)) return d;
  return 'neutral';
}

/** Numeric and boolean leaves of a summary, by dotted path (per-node resources and assertions left out). */
export function flatten(obj: unknown, prefix = '', out = new Map<string, number | boolean | null>()): Map<string, number | boolean | null> {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) return out;
  for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (path === 'resources.perNode' || path === 'assertions' || path === 'run.seed' || path === 'fairness.pools') continue;
    if (typeof v === 'number' || typeof v === 'boolean' || v === null) out.set(path, v);
    else if (typeof v === 'object') flatten(v, path, out);
  }
  return out;
}

/**
 * The same leaves in the protocol's own unit, the slot, so runs at different slot lengths compare
 * (the time-scaled model: a 0.2 s-slot run should match a 1 s-slot run *in slots*). Durations
 * (`…S`, `…Ms`) become `…Slots`, rates (`…PerS`, `tps`) become per slot; unitless figures
 * (shares, counts) stay as they are.
 */
export function inSlots(flat: Map<string, number | boolean | null>, slotLengthS: number): Map<string, number | boolean | null> {
  const out = new Map<string, number | boolean | null>();
  const r = (x: number) => Number(x.toPrecision(6));
  for (const [k, v] of flat) {
    if (k.startsWith('run.') || typeof v !== 'number') out.set(k, v);
    else if (/PerS$/.test(k)) out.set(k.replace(/PerS$/, 'PerSlot'), r(v * slotLengthS));
    else if (/Ms$/.test(k)) out.set(k.replace(/Ms$/, 'Slots'), r(v / 1000 / slotLengthS));
    else if (/(?<!within)S$/.test(k)) out.set(k.replace(/S$/, 'Slots'), r(v / slotLengthS));
    else if (k === 'throughput.tps') out.set('throughput.txPerSlot', r(v * slotLengthS));
    else out.set(k, v);
  }
  return out;
}

export function compareSummaries(base: Summary, cand: Summary, thresholdPct = 5, opts: { inSlots?: boolean } = {}): Omit<CompareResult, 'base' | 'candidate'> {
  const slots = (s: Summary, f: Map<string, number | boolean | null>) => {
    if (!opts.inSlots) return f;
    if (!s.run.slotLengthS) throw Object.assign(new Error(`--in-slots: run ${s.run.id} has no run.slotLengthS in its summary.json`), { exitCode: 2 });
    return inSlots(f, s.run.slotLengthS);
  };
  const a = slots(base, flatten(base));
  const b = slots(cand, flatten(cand));
  const keys = [...a.keys(), ...[...b.keys()].filter((k) => !a.has(k))];
  const rows: CompareRow[] = [];
  for (const metric of keys) {
    const x = a.get(metric) ?? null;
    const y = b.get(metric) ?? null;
    const better = direction(metric);
    let delta: number | null = null;
    let deltaPct: number | null = null;
    let worse = false;
    let improved = false;
    if (typeof x === 'number' && typeof y === 'number') {
      delta = y - x;
      deltaPct = x !== 0 ? (delta / Math.abs(x)) * 100 : delta === 0 ? 0 : null;
      const big = deltaPct === null ? delta !== 0 : Math.abs(deltaPct) > thresholdPct;
      if (big && better !== 'neutral') {
        const up = delta > 0;
        worse = better === 'lower' ? up : !up;
        improved = !worse;
      }
    } else if (typeof x === 'boolean' && typeof y === 'boolean' && x !== y && better === 'higher') {
      worse = x && !y;
      improved = !x && y;
    }
    rows.push({
      metric,
      base: x,
      candidate: y,
      delta: delta === null ? null : Number(delta.toPrecision(6)),
      deltaPct: deltaPct === null ? null : Math.round(deltaPct * 10) / 10,
      better,
      verdict: worse ? 'regression' : improved ? 'improvement' : '',
    });
  }
  return {
    thresholdPct,
    rows,
    regressions: rows.filter((r) => r.verdict === 'regression').map((r) => r.metric),
    improvements: rows.filter((r) => r.verdict === 'improvement').map((r) => r.metric),
  };
}

function loadSummary(path: string): { summary: Summary; dir: string } {
  const isDir = existsSync(path) && statSync(path).isDirectory();
  const file = isDir ? join(path, 'summary.json') : path;
  if (!existsSync(file)) {
    const e = new Error(`${file}: no summary.json (run \`leiosnet report ${path}\` first?)`) as Error & { exitCode: number };
    e.exitCode = 2;
    throw e;
  }
  return { summary: JSON.parse(readFileSync(file, 'utf8')) as Summary, dir: isDir ? path : join(file, '..') };
}

/** Compare two run dirs (or summary.json files). */
export function compare(basePath: string, candPath: string, thresholdPct = 5, opts: { inSlots?: boolean } = {}): CompareResult {
  const base = loadSummary(basePath);
  const cand = loadSummary(candPath);
  return {
    base: { runId: base.summary.run?.id ?? basePath, path: basePath },
    candidate: { runId: cand.summary.run?.id ?? candPath, path: candPath },
    ...(opts.inSlots ? { unit: 'slots' as const } : {}),
    ...compareSummaries(base.summary, cand.summary, thresholdPct, opts),
    ...(base.summary.fairness || cand.summary.fairness ? { fairness: { base: base.summary.fairness ?? null, candidate: cand.summary.fairness ?? null } } : {}),
  };
}

export function renderCompareMarkdown(r: CompareResult): string {
  const arrow = (d: Direction) => (d === 'lower' ? '↓' : d === 'higher' ? '↑' : '');
  const rows = r.rows.map((row) => [
    `${row.metric} ${arrow(row.better)}`.trim(),
    fmt(row.base),
    fmt(row.candidate),
    row.delta === null ? '–' : (row.delta > 0 ? '+' : '') + fmt(row.delta),
    row.deltaPct === null ? (row.delta ? '∞' : '–') : (row.deltaPct > 0 ? '+' : '') + fmt(row.deltaPct) + ' %',
    row.verdict === 'regression' ? '**REGRESSION**' : row.verdict === 'improvement' ? 'better' : '',
  ]);
  return [
    `# Compare: ${r.candidate.runId} vs ${r.base.runId}`,
    '',
    `Base \`${r.base.path}\`, candidate \`${r.candidate.path}\`. ↑ higher is better, ↓ lower is better; ` +
      (r.unit === 'slots' ? 'durations and rates in slots (each run in its own slot length); ' : '') +
      `changes beyond ${r.thresholdPct} % the wrong way are regressions.`,
    '',
    `**${r.regressions.length} regression(s)**${r.regressions.length ? ': ' + r.regressions.join(', ') : ''}; ` +
      `${r.improvements.length} improvement(s).`,
    '',
    table(['metric', 'base', 'candidate', 'Δ', 'Δ%', ''], rows),
    '',
    ...(r.fairness ? renderFairnessCompare(r.fairness.base, r.fairness.candidate) : []),
  ].join('\n');
}

/** Write compare.md and compare.json into `outDir`; returns their paths. */
export function writeCompare(r: CompareResult, outDir: string): { md: string; json: string } {
  const md = join(outDir, 'compare.md');
  const json = join(outDir, 'compare.json');
  mkdirSync(outDir, { recursive: true }); // --out may name a directory that does not exist yet
  writeFileSync(md, renderCompareMarkdown(r));
  writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  return { md, json };
}
