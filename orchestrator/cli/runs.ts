// Finding runs for the CLI: live ones through the runtimes (state dir, labels), finished ones
// through their run dirs (runs/<run-id>/ under cwd, or a path).

import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserError } from '../errors.ts';
import { availableRuntimes, getRuntime } from '../runtime/registry.ts';
import type { Deployment, RunInfo, Runtime } from '../runtime/runtime.ts';
import { readRunRecord } from '../state.ts';

export interface LiveRun extends RunInfo {
  error?: string;
}

/** Every run every loadable runtime knows of; a runtime that cannot answer (no engine) is reported, not fatal. */
export async function listLiveRuns(only?: string): Promise<{ runs: LiveRun[]; problems: string[] }> {
  const runs: LiveRun[] = [];
  const problems: string[] = [];
  const runtimes = only ? [await getRuntime(only)] : await availableRuntimes();
  for (const rt of runtimes) {
    try {
      runs.push(...(await rt.list()));
    } catch (e) {
      if (rt.name !== 'process') continue; // no engine / no cluster here: nothing of ours there either
      problems.push(`${rt.name}: ${(e as Error).message}`);
    }
  }
  return { runs, problems };
}

/** The runtime that holds a live run, if any. */
export async function runtimeOf(runId: string): Promise<Runtime | undefined> {
  const rec = readRunRecord(runId);
  if (rec) return getRuntime(rec.runtime);
  for (const rt of await availableRuntimes()) {
    try {
      if ((await rt.list()).some((r) => r.runId === runId)) return rt;
    } catch {
      /* not reachable */
    }
  }
  return undefined;
}

export async function attachRun(runId: string): Promise<{ rt: Runtime; dep: Deployment }> {
  const rt = await runtimeOf(runId);
  const dep = rt ? await rt.attach(runId) : undefined;
  if (!rt || !dep) throw new UserError(`run-id: no running testnet ${JSON.stringify(runId)} (see \`leiosnet ls\`)`);
  return { rt, dep };
}

/** A run dir from a run id (live or under runs/) or a path. */
export function findRunDir(ref: string, cwd = process.cwd()): string {
  const rec = /^[A-Za-z0-9._-]+$/.test(ref) ? readRunRecord(ref) : undefined;
  if (rec?.runDir && existsSync(rec.runDir)) return rec.runDir;
  for (const p of [resolve(cwd, ref), resolve(cwd, 'runs', ref)]) {
    if (existsSync(p) && statSync(p).isDirectory()) return p;
  }
  throw new UserError(`run: no run dir for ${JSON.stringify(ref)} (looked in the state dir, ${resolve(cwd, ref)} and ${resolve(cwd, 'runs', ref)})`);
}

export interface FinishedRun {
  runId: string;
  runDir: string;
  profile?: string;
  runtime?: string;
  status?: string;
  startedAt?: string;
  passed?: boolean;
}

/** Runs under <cwd>/runs with a meta.json, newest first. */
export function listRunDirs(cwd = process.cwd()): FinishedRun[] {
  const dir = join(cwd, 'runs');
  if (!existsSync(dir)) return [];
  const out: FinishedRun[] = [];
  for (const name of readdirSync(dir)) {
    const runDir = join(dir, name);
    try {
      const meta = JSON.parse(readFileSync(join(runDir, 'meta.json'), 'utf8')) as Record<string, unknown>;
      let passed: boolean | undefined;
      try {
        passed = (JSON.parse(readFileSync(join(runDir, 'summary.json'), 'utf8')) as { passed?: boolean }).passed;
      } catch {
        /* no summary */
      }
      out.push({
        runId: String(meta.runId ?? name),
        runDir,
        profile: meta.profile as string | undefined,
        runtime: meta.runtime as string | undefined,
        status: meta.status as string | undefined,
        startedAt: meta.startedAt as string | undefined,
        passed,
      });
    } catch {
      /* not a run dir */
    }
  }
  return out.sort((a, b) => (b.startedAt ?? '').localeCompare(a.startedAt ?? ''));
}

/** Remove a live run; a testnet started by `up` gets status "stopped" and endedAt in its meta.json. */
export async function downRun(rt: Runtime, runId: string): Promise<void> {
  const runDir = readRunRecord(runId)?.runDir;
  await rt.down(runId);
  if (!runDir) return;
  const file = join(runDir, 'meta.json');
  try {
    const meta = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    if (meta.status === 'up') writeFileSync(file, JSON.stringify({ ...meta, status: 'stopped', endedAt: new Date().toISOString() }, null, 2) + '\n');
  } catch {
    /* no meta.json: not started by the pipeline */
  }
}
