// Prometheus HTTP API client (PromQL), and the export of a run's samples from a Prometheus into
// the collector's file format (metrics/samples.jsonl), which the analysis reads. A run with a
// Prometheus gets its metric samples from there; without one, from the collector's own scraper.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { SAMPLES_FILE, SOURCE_FILE, type MetricsSample, type MetricsSource } from './files.ts';
import { seriesKey } from './prometheus.ts';

export class PromQLError extends Error {
  readonly errorType: string | undefined;
  constructor(message: string, errorType?: string) {
    super(message);
    this.name = 'PromQLError';
    this.errorType = errorType;
  }
}

export interface VectorResult {
  metric: Record<string, string>;
  value: [number, string];
}
export interface MatrixResult {
  metric: Record<string, string>;
  values: [number, string][];
}

export interface ActiveTarget {
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
  scrapeUrl: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  lastScrape: string;
  lastScrapeDuration: number;
}

async function api<T>(base: string, path: string, params: Record<string, string>, timeoutMs = 15_000): Promise<T> {
  const url = `${base.replace(/\/$/, '')}/api/v1/${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new PromQLError(`${url}: ${(e as Error).message}`);
  }
  const body = (await res.json().catch(() => undefined)) as { status: string; data: T; error?: string; errorType?: string } | undefined;
  if (!body || body.status !== 'success') throw new PromQLError(`${path} ${JSON.stringify(params.query ?? '')}: ${body?.errorType ?? res.status} ${body?.error ?? ''}`.trim(), body?.errorType);
  return body.data;
}

/** Instant query; `time` in Unix seconds (default now). */
export async function query(base: string, expr: string, time?: number): Promise<VectorResult[]> {
  const params: Record<string, string> = { query: expr };
  if (time !== undefined) params.time = String(time);
  const data = await api<{ resultType: string; result: unknown }>(base, 'query', params);
  if (data.resultType === 'scalar' || data.resultType === 'string') return [{ metric: {}, value: data.result as [number, string] }];
  return data.result as VectorResult[];
}

/** Range query; times in Unix seconds, step in seconds. */
export async function queryRange(base: string, expr: string, start: number, end: number, stepS: number): Promise<MatrixResult[]> {
  const data = await api<{ resultType: string; result: MatrixResult[] }>(base, 'query_range', { query: expr, start: String(start), end: String(end), step: String(stepS) });
  return data.result;
}

export async function activeTargets(base: string): Promise<ActiveTarget[]> {
  const res = await fetch(`${base.replace(/\/$/, '')}/api/v1/targets?state=active`, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { data: { activeTargets: ActiveTarget[] } };
  return body.data.activeTargets;
}

/** Metric names Prometheus knows (label values of __name__). */
export async function metricNames(base: string, match?: string): Promise<string[]> {
  const u = new URL(`${base.replace(/\/$/, '')}/api/v1/label/__name__/values`);
  if (match) u.searchParams.set('match[]', match);
  const res = await fetch(u, { signal: AbortSignal.timeout(5_000) });
  const body = (await res.json()) as { data: string[] };
  return body.data;
}

/**
 * Wait until every active target was scraped at or after `afterS` (Unix seconds) — so the last
 * figures of a run are in — or `timeoutMs` passes. Resolves with the targets' last state.
 */
export async function awaitScrapesAfter(base: string, afterS: number, timeoutMs: number): Promise<ActiveTarget[]> {
  const deadline = Date.now() + timeoutMs;
  let ts: ActiveTarget[] = [];
  for (;;) {
    ts = await activeTargets(base).catch(() => ts);
    const fresh = ts.length > 0 && ts.every((t) => t.health !== 'up' || Date.parse(t.lastScrape) / 1000 >= afterS);
    if (fresh || Date.now() >= deadline) return ts;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Labels Prometheus adds (target labels), dropped from series keys: the sample names the node. */
export const TARGET_LABELS = ['job', 'instance', 'run', 'node', 'role', 'release', 'region', 'runtime'] as const;

export interface ExportOptions {
  runId: string;
  /** Unix seconds */
  start: number;
  end: number;
  stepS: number;
  /** nodes to export (default: every non-orchestrator target of the run) */
  nodes?: string[];
}

/** Prometheus caps a range query at 11,000 points per series. */
const MAX_POINTS = 10_000;

/**
 * Read a run's samples from Prometheus (one range query per node, step = the scrape interval)
 * as collector samples: one per node per step, keys without target labels, like the scraper's.
 */
export async function samplesFromPrometheus(base: string, opts: ExportOptions): Promise<MetricsSample[]> {
  const run = JSON.stringify(opts.runId);
  let nodes = opts.nodes;
  if (!nodes) {
    const windowS = Math.max(1, Math.ceil(opts.end - opts.start) + 1);
    const r = await query(base, `count by (node) (last_over_time({run=${run}, role!="orchestrator", __name__=~"leios_.*"}[${windowS}s]))`, opts.end);
    nodes = r.map((x) => x.metric.node!).filter(Boolean).sort();
  }
  const stepS = Math.max(opts.stepS, (opts.end - opts.start) / MAX_POINTS);
  const nSteps = Math.floor((opts.end - opts.start) / stepS + 1e-9) + 1;
  const t0 = opts.start;
  const out: MetricsSample[] = [];
  for (const node of nodes) {
    const series = await queryRange(base, `{run=${run}, node=${JSON.stringify(node)}, __name__!~"up|scrape_.*"}`, opts.start, opts.end, stepS);
    const rows: (MetricsSample | undefined)[] = new Array(nSteps);
    let labels: Record<string, string> | undefined;
    for (const s of series) {
      const name = s.metric.__name__;
      if (!name) continue;
      const own: Record<string, string> = {};
      for (const [k, v] of Object.entries(s.metric)) if (k !== '__name__' && !(TARGET_LABELS as readonly string[]).includes(k)) own[k] = v;
      labels ??= Object.fromEntries(['run', 'node', 'role', 'release', 'region'].filter((k) => s.metric[k] !== undefined).map((k) => [k, s.metric[k]!]));
      const key = seriesKey({ name, labels: own });
      for (const [t, v] of s.values) {
        const value = Number(v);
        if (!Number.isFinite(value)) continue;
        const i = Math.round((t - t0) / stepS);
        if (i < 0 || i >= nSteps) continue;
        const row = (rows[i] ??= { t, round: i, node, values: {} });
        row.values[key] = value;
      }
    }
    for (const r of rows) if (r) out.push(labels ? { ...r, labels } : r);
  }
  out.sort((a, b) => a.round - b.round || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
  return out;
}

/** Export a run's samples from Prometheus into <runDir>/metrics/samples.jsonl (+ metrics/source.json). */
export async function exportSamples(base: string, runDir: string, opts: ExportOptions): Promise<{ samples: number; nodes: number; series: number }> {
  const samples = await samplesFromPrometheus(base, opts);
  const file = join(runDir, SAMPLES_FILE);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, samples.map((s) => JSON.stringify(s)).join('\n') + (samples.length ? '\n' : ''));
  const nodes = new Set(samples.map((s) => s.node));
  const series = new Set<string>();
  for (const s of samples) for (const k of Object.keys(s.values)) series.add(`${s.node}/${k}`);
  const source: MetricsSource = { source: 'prometheus', url: base, runId: opts.runId, start: opts.start, end: opts.end, stepS: opts.stepS, samples: samples.length, exportedAt: new Date().toISOString() };
  writeFileSync(join(runDir, SOURCE_FILE), JSON.stringify(source, null, 2) + '\n');
  return { samples: samples.length, nodes: nodes.size, series: series.size };
}
