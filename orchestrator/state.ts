// The state directory ($LEIOSNET_HOME, default ~/.leiosnet): one record per live run, so that
// `down <id>`, `down --all`, `ls` and `status` find every run without a live orchestrator.
//
//   $LEIOSNET_HOME/runs/<run-id>.json   RunRecord (runtime, runDir, profile, pids, addresses)
//   $LEIOSNET_HOME/lock/                short-lived mutex (mkdir is atomic) around address allocation
//
// Records and every file written through writeJsonAtomic are mode 0600 (the process runtime's
// pids.json holds the node templates, admin tokens included); directories it creates are 0700.

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

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
  /**
   * The orchestrator that reserved the addresses (pid and /proc start time): while it lives, the
   * reservation holds even before any process of the run has started.
   */
  owner?: { pid: number; startTicks: number };
}

export function leiosnetHome(): string {
  return process.env.LEIOSNET_HOME || join(homedir(), '.leiosnet');
}

/**
 * Machine-wide index of state directories ($TMPDIR/leiosnet-homes-<uid>/): one file per home that
 * ever recorded a run here, holding its path. Runs of *other* homes (a test's private
 * LEIOSNET_HOME, another checkout) still share 127/8 with ours, so address allocation reads their
 * records too. Also the place of the machine-wide allocation lock.
 */
export function homesIndexDir(): string {
  return join(tmpdir(), `leiosnet-homes-${process.getuid?.() ?? 'user'}`);
}

function registerHome(home: string): void {
  try {
    const dir = homesIndexDir();
    privateDir(dir);
    const file = join(dir, `${createHash('sha256').update(home).digest('hex').slice(0, 24)}.home`);
    if (!existsSync(file)) writeFileSync(file, home, { mode: 0o600 });
  } catch {
    /* the index is an optimisation of safety, never a reason to fail */
  }
}

/** Every state directory known on this machine (ours first), existing ones only. */
export function knownHomes(): string[] {
  const out = [resolve(leiosnetHome())];
  let names: string[] = [];
  try {
    names = readdirSync(homesIndexDir());
  } catch {
    return out;
  }
  for (const n of names) {
    if (!n.endsWith('.home')) continue;
    const file = join(homesIndexDir(), n);
    try {
      const home = resolve(readFileSync(file, 'utf8'));
      if (!existsSync(join(home, 'runs'))) {
        rmSync(file, { force: true }); // that home is gone (a removed test dir)
        continue;
      }
      if (!out.includes(home)) out.push(home);
    } catch {
      /* unreadable: skip */
    }
  }
  return out;
}

/** The run records of another state directory (read-only). */
export function listRunRecordsIn(home: string): RunRecord[] {
  const dir = join(home, 'runs');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: RunRecord[] = [];
  for (const f of names.sort()) {
    if (!f.endsWith('.json')) continue;
    try {
      out.push(JSON.parse(readFileSync(join(dir, f), 'utf8')) as RunRecord);
    } catch {
      /* half-written or foreign */
    }
  }
  return out;
}

function runsDir(): string {
  return join(leiosnetHome(), 'runs');
}

function recordPath(runId: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(runId)) throw new Error(`invalid run id ${JSON.stringify(runId)}`);
  return join(runsDir(), `${runId}.json`);
}

/** A directory created owner-only (0700); an existing one is left as it is (LEIOSNET_HOME may be anywhere). */
function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/**
 * Write JSON atomically (temp file + rename): a reader never sees half a file. Mode 0600: the
 * temp file is created owner-only, so the file is never readable by others, not even briefly.
 */
export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.${Math.random().toString(16).slice(2)}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

export function writeRunRecord(rec: RunRecord): void {
  privateDir(leiosnetHome());
  privateDir(runsDir());
  if (rec.addresses?.length) registerHome(resolve(leiosnetHome()));
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
  privateDir(home);
  return withDirLock(join(home, 'lock'), fn, staleMs);
}

/**
 * The machine-wide lock (in homesIndexDir()): address allocation holds it, so two orchestrators
 * with different state directories never hand out the same loopback address either. Take it
 * inside withStateLock, never the other way round.
 */
export async function withMachineLock<T>(fn: () => Promise<T> | T, staleMs = 30_000): Promise<T> {
  privateDir(homesIndexDir());
  return withDirLock(join(homesIndexDir(), 'lock'), fn, staleMs);
}

async function withDirLock<T>(lock: string, fn: () => Promise<T> | T, staleMs: number): Promise<T> {
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
