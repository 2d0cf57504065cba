// Reading node traces: JSONL in the Leios simulator envelope `{"time_s": t, "message": {"type": ...}}`.
// The analysis accepts the simulator's shared names and the node's own events, with a few
// aliases, so a renamed field does not silently zero a figure.

import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

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

const CHUNK = 1 << 20;
/** Yield to the event loop after this many bytes, so a long read does not stall timers. */
const YIELD_EVERY = 32 << 20;

/**
 * Call `each` with every non-empty line of a file (without its newline), streaming it once in
 * 1 MB chunks: memory stays at a chunk plus the longest line, whatever the file's size.
 */
export async function forEachLine(file: string, each: (line: string) => void): Promise<void> {
  if (!existsSync(file)) return;
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let sinceYield = 0;
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const text = rest + decoder.write(n === CHUNK ? buf : buf.subarray(0, n));
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        let end = nl;
        if (end > start && text.charCodeAt(end - 1) === 13) end--; // CRLF
        if (end > start) each(text.slice(start, end));
        start = nl + 1;
      }
      rest = start === 0 ? text : text.slice(start);
      sinceYield += n;
      if (sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
    rest += decoder.end();
    if (rest.trim() !== '') each(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
  } finally {
    closeSync(fd);
  }
}

/** Stream one JSONL file; malformed lines (a node killed mid-write) are skipped and counted. */
export async function readJsonl<T = unknown>(file: string, each: (v: T) => void): Promise<{ lines: number; bad: number }> {
  let lines = 0;
  let bad = 0;
  await forEachLine(file, (line) => {
    if (line.trim() === '') return;
    lines++;
    let v: T;
    try {
      v = JSON.parse(line) as T;
    } catch {
      bad++;
      return;
    }
    each(v);
  });
  return { lines, bad };
}

// Peeking at a raw trace line without parsing it. A trace line is
// {"time_s":<n>,"message":{"type":"<T>",...}}; these find one field's value by its key text
// (first occurrence). They are exact for the node's own lines (JSON.stringify, no spaces, the
// message's string fields are hex ids or names) and return undefined when a line looks
// otherwise, so callers fall back to JSON.parse.

/** The message type, or undefined. */
export function peekType(line: string): string | undefined {
  return peekString(line, '"type":"');
}

/** The string value after `key` (which ends with the opening quote), if it has no escapes. */
export function peekString(line: string, key: string): string | undefined {
  const i = line.indexOf(key);
  if (i === -1) return undefined;
  const from = i + key.length;
  const end = line.indexOf('"', from);
  if (end === -1) return undefined;
  const v = line.slice(from, end);
  return v.includes('\\') ? undefined : v;
}

/** The number after `key` (e.g. `"slot":`), or undefined. */
export function peekNumber(line: string, key: string): number | undefined {
  const i = line.indexOf(key);
  if (i === -1) return undefined;
  const from = i + key.length;
  let end = from;
  while (end < line.length) {
    const c = line.charCodeAt(end);
    // digits, '-', '+', '.', 'e', 'E'
    if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69) end++;
    else break;
  }
  if (end === from) return undefined;
  const v = Number(line.slice(from, end));
  return Number.isFinite(v) ? v : undefined;
}

/** time_s of a line in the node's envelope (it comes first), or undefined. */
export function peekTime(line: string): number | undefined {
  return line.startsWith('{"time_s":') ? peekNumber(line, '{"time_s":') : undefined;
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
