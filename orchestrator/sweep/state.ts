// The sweep state file (<sweep dir>/sweep.json): the spec, and every point with its status and
// figures. Written atomically after every change, so a sweep killed at any moment resumes from
// it: done points are kept, a point caught `running` is run again in a fresh run dir.

import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Summary } from '../analysis/summary.ts';
import { UserError } from '../errors.ts';
import { holds, type SweepAssertion } from './plan.ts';

export const SWEEP_FILE = 'sweep.json';

export interface SweepSpec {
  profile: string;
  /** --set flags applied to every point */
  sets: string[];
  /** --vary as written */
  vary: string[];
  mode: 'grid' | 'bisect';
  /** --assert as written */
  assert: string[];
  runtime: string;
  /** knee efficiency threshold */
  kneeThreshold: number;
}

/** The figures a sweep plots and bounds, per point (null = not measured). */
export interface PointMetrics {
  /** planned: tps × txSizeBytes (or txkbPerS), kB/s */
  offeredTxkbPerS: number | null;
  /** what the generator submitted per second of load, kB/s */
  submittedTxkbPerS: number | null;
  /** included by the end of the run (the drain too) per second of load, kB/s */
  includedTxkbPerS: number | null;
  /** included while the load ran, after the profile's warm-up, per second (summary windowTxkbPerS) */
  sustainedTxkbPerS?: number | null;
  /** included / offered */
  efficiency: number | null;
  tps: number | null;
  inclusionP50S: number | null;
  inclusionP95S: number | null;
  rbP50Ms: number | null;
  rbP95Ms: number | null;
  rbP99Ms: number | null;
  ebP50Ms: number | null;
  ebP95Ms: number | null;
  ebP99Ms: number | null;
  certRate: number | null;
  ebsCertified: number | null;
  cpuPctPerNode: number | null;
  rssMbPerNode: number | null;
  /** when the runtime measures PSS */
  pssMbPerNode?: number | null;
  /** rejected / submitted */
  rejectedShare: number | null;
  /** the profile's own assertions */
  passed: number | null;
}

export interface PointState {
  id: string;
  values: Record<string, number>;
  status: 'pending' | 'running' | 'done' | 'error';
  /** run dir of the current attempt, relative to the sweep dir */
  runDir?: string;
  attempts: number;
  exitCode?: number;
  error?: string;
  metrics?: PointMetrics;
  /** the sweep's --assert results */
  checks?: { text: string; actual: number | null; passed: boolean }[];
  /** every --assert held */
  ok?: boolean;
  startedAt?: string;
  endedAt?: string;
}

export interface SweepState {
  version: 1;
  spec: SweepSpec;
  createdAt: string;
  updatedAt: string;
  points: PointState[];
  /** bisect: the answer once found */
  result?: { best: number | null; firstFailing: number | null };
  done: boolean;
}

export function stateFile(sweepDir: string): string {
  return join(sweepDir, SWEEP_FILE);
}

export function readState(sweepDir: string): SweepState | undefined {
  const f = stateFile(sweepDir);
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as SweepState;
  } catch (e) {
    throw new UserError(`${f}: not a sweep state file (${(e as Error).message})`);
  }
}

export function writeState(sweepDir: string, st: SweepState): void {
  const f = stateFile(sweepDir);
  mkdirSync(dirname(f), { recursive: true });
  st.updatedAt = new Date().toISOString();
  const tmp = `${f}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(st, null, 2) + '\n');
  renameSync(tmp, f);
}

/** Same sweep? (A resumed sweep must be the one that was started.) */
export function sameSpec(a: SweepSpec, b: SweepSpec): string | undefined {
  const keys: (keyof SweepSpec)[] = ['profile', 'sets', 'vary', 'mode', 'assert', 'runtime'];
  for (const k of keys) if (JSON.stringify(a[k]) !== JSON.stringify(b[k])) return `${k}: ${JSON.stringify(a[k])} was started, ${JSON.stringify(b[k])} given`;
  return undefined;
}

/** A point's figures from its summary.json and plan. */
export function pointMetrics(summary: Summary, plan: { generator?: { tps?: number; txSizeBytes?: number; txkbPerS?: number; enabled?: boolean } } | undefined): PointMetrics {
  const g = plan?.generator;
  const offered =
    g && g.enabled !== false ? (typeof g.txkbPerS === 'number' ? g.txkbPerS : typeof g.tps === 'number' && typeof g.txSizeBytes === 'number' ? (g.tps * g.txSizeBytes) / 1000 : null) : null;
  const t = summary.throughput;
  const window = t.loadWindowS;
  const size = g?.txSizeBytes;
  const submitted = window && typeof size === 'number' ? (t.txSubmitted * size) / 1000 / window : null;
  const included = t.txkbPerS;
  const r = (x: number | null | undefined, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10 ** d) / 10 ** d);
  return {
    offeredTxkbPerS: r(offered),
    submittedTxkbPerS: r(submitted),
    includedTxkbPerS: r(included),
    sustainedTxkbPerS: r(t.windowTxkbPerS),
    efficiency: offered && included !== null ? r(included / offered, 4) : null,
    tps: t.tps,
    inclusionP50S: summary.latency.inclusionP50S,
    inclusionP95S: summary.latency.inclusionP95S,
    rbP50Ms: summary.diffusion.rb.p50Ms,
    rbP95Ms: summary.diffusion.rb.p95Ms,
    rbP99Ms: summary.diffusion.rb.p99Ms,
    ebP50Ms: summary.diffusion.eb.p50Ms,
    ebP95Ms: summary.diffusion.eb.p95Ms,
    ebP99Ms: summary.diffusion.eb.p99Ms,
    certRate: summary.leios.certRate,
    ebsCertified: summary.leios.ebsCertified,
    cpuPctPerNode: summary.resources.cpuPctPerNode,
    rssMbPerNode: summary.resources.rssMbPerNode,
    pssMbPerNode: summary.resources.pssMbPerNode ?? null,
    rejectedShare: t.txSubmitted ? r(t.txRejected / t.txSubmitted, 4) : null,
    passed: summary.passed ? 1 : 0,
  };
}

function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** Check the sweep's assertions against a point (metric names first, then summary paths). A figure that was not measured fails. */
export function checkPoint(asserts: readonly SweepAssertion[], metrics: PointMetrics, summary?: Summary): { text: string; actual: number | null; passed: boolean }[] {
  return asserts.map((a) => {
    let v: unknown = a.metric in metrics ? metrics[a.metric as keyof PointMetrics] : getPath(summary, a.metric);
    if (typeof v === 'boolean') v = v ? 1 : 0;
    const actual = typeof v === 'number' && Number.isFinite(v) ? v : null;
    return { text: a.text, actual, passed: actual !== null && holds(a.op, actual, a.value) };
  });
}
