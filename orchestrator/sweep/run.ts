// Running a sweep: one `leiosnet run` per point (runPipeline, one run dir per point under
// <sweep dir>/points/), the state file updated around each, the sweep report at the end.
// Resumable: started again on the same --out, it keeps the points done, re-runs the one it was
// killed in (after taking that run's leftovers down) and goes on.

import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Summary } from '../analysis/summary.ts';
import { UserError } from '../errors.ts';
import { runPipeline, makeRunId } from '../pipeline/run.ts';
import { Progress } from '../pipeline/progress.ts';
import { loadPlan } from '../profile/resolve.ts';
import { getRuntime } from '../runtime/registry.ts';
import { DEFAULT_KNEE_THRESHOLD } from './knee.ts';
import { bisectSpec, gridPoints, nextBisect, parseAssertion, parseVary, pointId, pointSets, type SweepAssertion, type Vary } from './plan.ts';
import { writeSweepReport, type SweepReportFiles } from './report.ts';
import { checkPoint, pointMetrics, readState, sameSpec, writeState, type PointState, type SweepSpec, type SweepState } from './state.ts';

export interface PointRunRequest {
  profile: string;
  sets: string[];
  runtime: string;
  /** run dir, absolute; does not exist yet */
  out: string;
  cwd: string;
  signal: AbortSignal;
}

export interface PointRunResult {
  exitCode: number;
  status: string;
  error?: string;
}

/** How one point is run: `leiosnet run` in-process by default. */
export type PointRunner = (req: PointRunRequest) => Promise<PointRunResult>;

export interface SweepOptions {
  profile: string;
  vary: string[];
  sets?: string[];
  bisect?: boolean;
  assert?: string[];
  runtime?: string;
  /** sweep dir; default sweeps/<profile>-<stamp> under cwd */
  out?: string;
  cwd?: string;
  kneeThreshold?: number;
  /** Run at most this many points in this invocation, then stop (resumable). */
  maxPoints?: number;
  scrapeIntervalMs?: number;
  runPoint?: PointRunner;
  log?: (line: string) => void;
  /** Progress for each point's run (default: quiet). */
  progress?: () => Progress;
  signal?: AbortSignal;
}

export interface SweepResult {
  sweepDir: string;
  state: SweepState;
  report: SweepReportFiles;
  /** points run by this invocation */
  ran: number;
  /** all planned points are done */
  complete: boolean;
  interrupted: boolean;
}

function defaultRunner(scrapeIntervalMs: number | undefined, progress: (() => Progress) | undefined): PointRunner {
  return async (req) => {
    const r = await runPipeline({
      profile: req.profile,
      sets: req.sets,
      runtime: req.runtime,
      out: req.out,
      cwd: req.cwd,
      signal: req.signal,
      handleSignals: false,
      scrapeIntervalMs,
      progress: progress?.(),
    });
    return { exitCode: r.exitCode, status: r.status, ...(r.error ? { error: r.error } : {}) };
  };
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** A point left `running` by a killed sweep: take its testnet down, keep its dir aside, run again. */
async function recoverStale(sweepDir: string, p: PointState, runtime: string, log: (s: string) => void): Promise<void> {
  if (p.runDir) {
    const dir = join(sweepDir, p.runDir);
    const meta = readJson<{ runId?: string }>(join(dir, 'meta.json'));
    if (meta?.runId) {
      try {
        const rt = await getRuntime(runtime);
        await rt.down(meta.runId);
        log(`${p.id}: took down ${meta.runId}, left running by the interrupted sweep`);
      } catch (e) {
        log(`${p.id}: could not take down ${meta.runId}: ${(e as Error).message}`);
      }
    }
    if (existsSync(dir)) renameSync(dir, `${dir}.interrupted`);
  }
  p.status = 'pending';
  delete p.runDir;
}

export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  const cwd = opts.cwd ?? process.cwd();
  const log = opts.log ?? (() => {});
  const runtime = opts.runtime ?? 'process';
  const varies: Vary[] = opts.vary.map(parseVary);
  const asserts: SweepAssertion[] = (opts.assert ?? []).map(parseAssertion);
  const mode = opts.bisect ? 'bisect' : 'grid';
  const kneeThreshold = opts.kneeThreshold ?? DEFAULT_KNEE_THRESHOLD;
  if (mode === 'bisect' && asserts.length === 0) asserts.push(parseAssertion(`efficiency>=${kneeThreshold}`));
  const spec: SweepSpec = { profile: opts.profile, sets: opts.sets ?? [], vary: opts.vary, mode, assert: asserts.map((a) => a.text), runtime, kneeThreshold };

  const bis = mode === 'bisect' ? bisectSpec(varies) : undefined;
  const grid = mode === 'grid' ? gridPoints(varies) : undefined;
  // every point's plan must resolve before anything runs (bad input → exit 2 up front)
  const planned = grid ?? [
    { id: '', values: { [bis!.path]: bis!.from } },
    { id: '', values: { [bis!.path]: bis!.to } },
  ];
  for (const p of planned) loadPlan(opts.profile, { sets: [...spec.sets, ...pointSets(p.values)], cwd });
  await getRuntime(runtime);

  const sweepDir = resolve(cwd, opts.out ?? join('sweeps', makeRunId(`sweep-${opts.profile.replace(/[^A-Za-z0-9._-]/g, '_').replace(/\.ya?ml$/, '')}`)));
  let state = readState(sweepDir);
  if (state) {
    const diff = sameSpec(state.spec, spec);
    if (diff) throw new UserError(`--out: ${sweepDir} holds a different sweep (${diff}); give another --out`);
    log(`resuming the sweep in ${sweepDir}: ${state.points.filter((p) => p.status === 'done').length}/${state.points.length} points done`);
    for (const p of state.points) if (p.status === 'running' || p.status === 'error') await recoverStale(sweepDir, p, runtime, log);
  } else {
    const now = new Date().toISOString();
    state = { version: 1, spec, createdAt: now, updatedAt: now, points: (grid ?? []).map((g) => ({ ...g, status: 'pending', attempts: 0 })), done: false };
  }
  writeState(sweepDir, state);

  const abort = new AbortController();
  const onAbort = () => abort.abort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const runner = opts.runPoint ?? defaultRunner(opts.scrapeIntervalMs, opts.progress);
  let ran = 0;
  let interrupted = false;

  const runOne = async (p: PointState): Promise<void> => {
    p.attempts++;
    const rel = join('points', p.attempts === 1 ? p.id : `${p.id}.${p.attempts}`);
    p.runDir = rel;
    p.status = 'running';
    p.startedAt = new Date().toISOString();
    delete p.error;
    writeState(sweepDir, state!);
    const idx = state!.points.indexOf(p) + 1;
    log(`[${idx}/${mode === 'grid' ? state!.points.length : '?'}] ${pointSets(p.values).join(' ')} → ${relative(cwd, join(sweepDir, rel)) || '.'}`);
    const dir = join(sweepDir, rel);
    let r: PointRunResult;
    try {
      r = await runner({ profile: opts.profile, sets: [...spec.sets, ...pointSets(p.values)], runtime, out: dir, cwd, signal: abort.signal });
    } catch (e) {
      r = { exitCode: 3, status: 'error', error: (e as Error).message };
    }
    ran++;
    if (abort.signal.aborted || r.status === 'interrupted') {
      interrupted = true;
      p.status = 'running'; // recovered (down, dir aside, run again) on resume
      writeState(sweepDir, state!);
      return;
    }
    p.exitCode = r.exitCode;
    p.endedAt = new Date().toISOString();
    const summary = readJson<Summary>(join(dir, 'summary.json'));
    const plan = readJson<Parameters<typeof pointMetrics>[1]>(join(dir, 'profile.resolved.json'));
    if (summary) {
      p.metrics = pointMetrics(summary, plan);
      p.checks = checkPoint(asserts, p.metrics, summary);
      p.ok = p.checks.every((c) => c.passed);
      p.status = 'done';
      if (r.error) p.error = r.error;
    } else {
      p.status = 'error';
      p.error = r.error ?? `no summary.json (${r.status}, exit ${r.exitCode})`;
      p.ok = false;
    }
    writeState(sweepDir, state!);
    const m = p.metrics;
    log(
      `    ${p.status}${p.error ? ` (${p.error.split('\n')[0]})` : ''}` +
        (m ? `: offered ${m.offeredTxkbPerS ?? '–'} → included ${m.includedTxkbPerS ?? '–'} TxkB/s, inclusion p95 ${m.inclusionP95S ?? '–'} s, RB p95 ${m.rbP95Ms ?? '–'} ms, CPU/node ${m.cpuPctPerNode ?? '–'} %` : '') +
        (p.checks?.length ? ` · ${p.ok ? 'meets' : 'misses'} ${p.checks.filter((c) => !c.passed).map((c) => `${c.text} (${c.actual ?? '–'})`).join(', ') || 'every --assert'}` : ''),
    );
  };

  const budgetLeft = () => opts.maxPoints === undefined || ran < opts.maxPoints;
  try {
    if (grid) {
      for (const p of state.points) {
        if (p.status === 'done') continue;
        if (!budgetLeft() || interrupted) break;
        await runOne(p);
      }
      state.done = state.points.every((p) => p.status === 'done' || p.status === 'error');
    } else {
      for (;;) {
        const trials = state.points.filter((p) => p.status === 'done' || p.status === 'error').map((p) => ({ value: p.values[bis!.path]!, ok: p.ok === true }));
        const next = nextBisect(bis!, trials);
        if (next.done) {
          state.result = { best: next.best, firstFailing: next.firstFailing };
          state.done = true;
          break;
        }
        if (!budgetLeft() || interrupted) break;
        const values = { [bis!.path]: next.value };
        let p = state.points.find((q) => q.id === pointId(values));
        if (!p) {
          p = { id: pointId(values), values, status: 'pending', attempts: 0 };
          state.points.push(p);
        }
        await runOne(p);
      }
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    writeState(sweepDir, state);
  }
  const report = writeSweepReport(sweepDir, state);
  return { sweepDir, state, report, ran, complete: state.done, interrupted };
}
