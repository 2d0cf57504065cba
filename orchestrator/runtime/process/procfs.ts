// Linux /proc helpers: is this pid still the process we spawned, how much CPU and memory does
// it use, signal its process group, wait for it to go.

import { readFileSync, readdirSync } from 'node:fs';
import type { ProcRecord } from '../../state.ts';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on every Linux we run on
const PAGE_SIZE = 4096;

export interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  /** user + system CPU time in clock ticks */
  cpuTicks: number;
  startTicks: number;
}

/** Parse /proc/<pid>/stat; undefined if the process is gone. The comm field may hold spaces and ')'. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state); field n is f[n - 3]
  return {
    pid,
    state: f[0]!,
    pgrp: Number(f[2]),
    cpuTicks: Number(f[11]) + Number(f[12]),
    startTicks: Number(f[19]),
  };
}

export function readCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (raw === '') return []; // zombie or kernel thread
    return raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

export function rssBytes(pid: number): number | undefined {
  try {
    const f = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
    return Number(f[1]) * PAGE_SIZE;
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  const st = readProcStat(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/**
 * True if `pid` is still the process we recorded: same start time and same argv. A recycled pid
 * (another program, or another start) fails both checks, so we never signal a stranger.
 */
export function isOurs(rec: Pick<ProcRecord, 'pid' | 'startTicks' | 'cmdline'>, marker?: string): boolean {
  const st = readProcStat(rec.pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  if (rec.startTicks && st.startTicks !== rec.startTicks) return false;
  const cmd = readCmdline(rec.pid);
  if (!cmd) return false;
  if (cmd.length === rec.cmdline.length && cmd.every((a, i) => a === rec.cmdline[i])) return true;
  // argv rewritten in place (process.title) but still naming our run dir
  return marker !== undefined && cmd.join(' ').includes(marker);
}

/** The stat of every live (not zombie) process. */
function liveProcs(): ProcStat[] {
  const out: ProcStat[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = readProcStat(Number(d));
    if (st && st.state !== 'Z' && st.state !== 'X') out.push(st);
  }
  return out;
}

/**
 * Kill every live process started with `--config <runDir>/…` that no record covers: a
 * process spawned in the few ms before its pid reached pids.json, when the orchestrator was
 * SIGKILLed just then (kill-anywhere found one). Every node and generator of a run is started
 * that way, so the argument marks it. Returns the pids signalled.
 */
export function killStrays(runDir: string): number[] {
  const marker = runDir.endsWith('/') ? runDir : runDir + '/';
  const out: number[] = [];
  for (const { pid } of liveProcs()) {
    if (pid === process.pid) continue;
    const cmd = readCmdline(pid);
    // `--config <runDir>/…` exactly: a shell or `tail -f` on a run-dir file is not ours to kill
    const c = cmd?.indexOf('--config') ?? -1;
    if (!cmd || c < 0 || !cmd[c + 1]?.startsWith(marker)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      out.push(pid);
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/** Every live pid in process group `pgid`. */
export function groupMembers(pgid: number): number[] {
  return liveProcs()
    .filter((st) => st.pgrp === pgid)
    .map((st) => st.pid);
}

/**
 * Signal the group of a recorded process. The leader must still be ours; if the leader is gone,
 * members still in its group whose argv names our run dir (`marker`) are signalled one by one.
 * Returns true if anything was signalled.
 */
export function signalRecorded(rec: ProcRecord, sig: NodeJS.Signals, marker?: string): boolean {
  if (isOurs(rec, marker)) {
    try {
      process.kill(-rec.pgid, sig);
      return true;
    } catch {
      try {
        process.kill(rec.pid, sig);
        return true;
      } catch {
        return false;
      }
    }
  }
  if (!marker) return false;
  let any = false;
  for (const pid of groupMembers(rec.pgid)) {
    const cmd = readCmdline(pid);
    if (cmd && cmd.some((a) => a.includes(marker))) {
      try {
        process.kill(pid, sig);
        any = true;
      } catch {
        /* gone */
      }
    }
  }
  return any;
}

/** Is anything of this record still running (leader ours, or members of its group with the marker)? */
export function recordedAlive(rec: ProcRecord, marker?: string): boolean {
  if (isOurs(rec, marker)) return true;
  if (!marker) return false;
  return groupMembers(rec.pgid).some((pid) => (readCmdline(pid) ?? []).some((a) => a.includes(marker)));
}

export async function waitUntil(cond: () => boolean, timeoutMs: number, stepMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * Still the same process (pid alive with the recorded start time)? Ownership is proven once with
 * `isOurs`; afterwards identity is enough — a dying process loses its argv before it is gone.
 */
export function sameProcess(rec: Pick<ProcRecord, 'pid' | 'startTicks'>): boolean {
  const st = readProcStat(rec.pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X' && (!rec.startTicks || st.startTicks === rec.startTicks);
}

/** Wait until the recorded process is gone (or `timeoutMs` passes). */
export function waitGone(rec: Pick<ProcRecord, 'pid' | 'startTicks'>, timeoutMs: number): Promise<boolean> {
  return waitUntil(() => !sameProcess(rec), timeoutMs);
}

/** SIGTERM the group, wait up to graceMs, then SIGKILL and wait for the exit. */
export async function terminate(rec: ProcRecord, graceMs: number, marker?: string): Promise<void> {
  if (isOurs(rec, marker)) {
    const group = (sig: NodeJS.Signals) => {
      try {
        process.kill(-rec.pgid, sig);
      } catch {
        try {
          process.kill(rec.pid, sig);
        } catch {
          /* gone */
        }
      }
    };
    group('SIGCONT'); // a paused process cannot act on SIGTERM
    group('SIGTERM');
    if (await waitGone(rec, graceMs)) return;
    if (sameProcess(rec)) group('SIGKILL');
    await waitGone(rec, 5_000);
    return;
  }
  // the leader is gone or not ours: members of its group that still name our run dir
  if (!recordedAlive(rec, marker)) return;
  signalRecorded(rec, 'SIGCONT', marker);
  signalRecorded(rec, 'SIGTERM', marker);
  if (await waitUntil(() => !recordedAlive(rec, marker), graceMs)) return;
  signalRecorded(rec, 'SIGKILL', marker);
  await waitUntil(() => !recordedAlive(rec, marker), 5_000);
}

/** CPU ticks → percent of one core between two samples. */
export function cpuPct(prevTicks: number, prevMs: number, ticks: number, nowMs: number): number {
  const dt = (nowMs - prevMs) / 1000;
  if (dt <= 0) return 0;
  return ((ticks - prevTicks) / CLK_TCK / dt) * 100;
}

export { CLK_TCK, PAGE_SIZE };
