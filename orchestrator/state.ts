// The state directory ($LEIOSNET_HOME, default ~/.leiosnet): one record per live run, so that
// `down <id>`, `down --all`, `ls` and `status` find every run without a live orchestrator.
//
//   $LEIOSNET_HOME/runs/<run-id>.json   RunRecord (runtime, runDir, profile, pids, addresses)
//   $LEIOSNET_HOME/lock/                short-lived mutex (mkdir is atomic) around address allocation

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface ProcRecord {
  /** Node name, or "generator". */
  name: string;
  pid: number;
  /** Process group id (the child is spawned detached, so it leads its own group: pgid = pid). */
  pgid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot): with cmdline, proves the pid is still ours. */
  startTicks: number;
  /** argv as the child was spawned; /proc/<pid>/cmdline must match it before we signal the group. */
  cmdline: string[];
  startedAt: string;
}

export interface AddressRecord {
  name: string;
  host: string;
  n2nPort: number;
  adminPort: number;
}

export interface RunRecord {
  runId: string;
  runtime: string;
  runDir: string;
  profile?: string;
  createdAt: string;
  /** Current processes of the run (replaced on restart). */
  pids: ProcRecord[];
  /** Loopback addresses reserved by this run (process runtime). */
  addresses?: AddressRecord[];
}

export function leiosnetHome(): string {
  return process.env.LEIOSNET_HOME || join(homedir(), '.leiosnet');
}

function runsDir(): string {
  return join(leiosnetHome(), 'runs');
}

function recordPath(runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId)) throw new Error(`invalid run id ${JSON.stringify(runId)}`);
  return join(runsDir(), `${runId}.json`);
}

/** Write JSON atomically (temp file + rename): a reader never sees half a file. */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.${Math.random().toString(16).slice(2)}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

export function writeRunRecord(rec: RunRecord): void {
  mkdirSync(runsDir(), { recursive: true });
  writeJsonAtomic(recordPath(rec.runId), rec);
}

export function readRunRecord(runId: string): RunRecord | undefined {
  try {
    return JSON.parse(readFileSync(recordPath(runId), 'utf8')) as RunRecord;
  } catch {
    return undefined;
  }
}

export function listRunRecords(): RunRecord[] {
  let names: string[];
  try {
    names = readdirSync(runsDir());
  } catch {
    return [];
  }
  const out: RunRecord[] = [];
  for (const f of names.sort()) {
    if (!f.endsWith('.json')) continue;
    const rec = readRunRecord(f.slice(0, -5));
    if (rec) out.push(rec);
  }
  return out;
}

export function removeRunRecord(runId: string): void {
  rmSync(recordPath(runId), { force: true });
}

/**
 * Run `fn` holding the state-dir lock. The lock is a directory (mkdir is atomic); a lock older
 * than `staleMs` was left by a killed orchestrator and is broken.
 */
export async function withStateLock<T>(fn: () => Promise<T> | T, staleMs = 30_000): Promise<T> {
  const home = leiosnetHome();
  mkdirSync(home, { recursive: true });
  const lock = join(home, 'lock');
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(lock).mtimeMs > staleMs) rmSync(lock, { recursive: true, force: true });
      } catch {
        /* removed meanwhile */
      }
      if (Date.now() > deadline) throw new Error(`state lock ${lock} held for over a minute`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
