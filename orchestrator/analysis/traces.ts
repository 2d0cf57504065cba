// Reading node traces: JSONL in the Leios simulator envelope `{"time_s": t, "message": {"type": ...}}`.
// The analysis accepts the simulator's shared names and the node's own events, with a few
// aliases, so a renamed field does not silently zero a figure.

import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface TraceMessage {
  type: string;
  [k: string]: unknown;
}

export interface TraceEvent {
  time_s: number;
  message: TraceMessage;
}

/** Node names of a run dir: the directories under nodes/. */
export function runNodes(runDir: string): string[] {
  const dir = join(runDir, 'nodes');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => statSync(join(dir, n)).isDirectory())
    .sort(naturalCompare);
}

/** "node-2" < "node-10". */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Stream one JSONL file; malformed lines (a node killed mid-write) are skipped and counted. */
export async function readJsonl<T = unknown>(file: string, each: (v: T) => void): Promise<{ lines: number; bad: number }> {
  let lines = 0;
  let bad = 0;
  if (!existsSync(file)) return { lines, bad };
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    lines++;
    let v: T;
    try {
      v = JSON.parse(line) as T;
    } catch {
      bad++;
      continue;
    }
    each(v);
  }
  return { lines, bad };
}

/** Read a trace file, calling `each` with well-formed events. */
export async function readTrace(file: string, each: (e: TraceEvent) => void): Promise<{ lines: number; bad: number }> {
  let bad = 0;
  const r = await readJsonl<TraceEvent>(file, (e) => {
    if (e && typeof e.time_s === 'number' && e.message && typeof e.message.type === 'string') each(e);
    else bad++;
  });
  return { lines: r.lines, bad: r.bad + bad };
}

export function str(m: TraceMessage, ...keys: string[]): string | undefined {
  for (const k of keys) {
    const v = m[k];
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number') return String(v);
  }
  return undefined;
}

export function num(m: TraceMessage, ...keys: string[]): number | undefined {
  for (const k of keys) {
    const v = m[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}
