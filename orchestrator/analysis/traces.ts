// Reading node traces: JSONL in the Leios simulator envelope `{"time_s": t, "message": {"type": ...}}`.
// The analysis accepts the simulator's shared names and the node's own events, with a few
// aliases, so a renamed field does not silently zero a figure.

import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { isAscii } from 'node:buffer';
import { join } from 'node:path';

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

/** UTF-8 → string; ASCII (traces, metrics: hex ids and names) is copied as one-byte text. */
function decode(b: Buffer): string {
  return b.toString(isAscii(b) ? 'latin1' : 'utf8');
}
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
  /** bytes after the last newline of the previous chunk (a line's start) */
  let carry: Buffer | undefined;
  let sinceYield = 0;
  const lines = (text: string) => {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      let end = nl;
      if (end > start && text.charCodeAt(end - 1) === 13) end--; // CRLF
      if (end > start) each(text.slice(start, end));
      start = nl + 1;
    }
    if (start < text.length) {
      let end = text.length;
      if (text.charCodeAt(end - 1) === 13) end--;
      if (end > start) each(text.slice(start, end));
    }
  };
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      // decode whole lines only (a newline byte never sits inside a UTF-8 sequence); the line
      // carried over from the previous chunk is completed with this chunk's first line
      const lastNl = chunk.lastIndexOf(10);
      if (lastNl === -1) {
        carry = carry ? Buffer.concat([carry, chunk]) : Buffer.from(chunk);
        continue;
      }
      let from = 0;
      if (carry) {
        const firstNl = chunk.indexOf(10);
        lines(decode(Buffer.concat([carry, chunk.subarray(0, firstNl)])));
        from = firstNl + 1;
      }
      carry = lastNl + 1 < n ? Buffer.from(chunk.subarray(lastNl + 1)) : undefined;
      if (lastNl > from) lines(decode(chunk.subarray(from, lastNl)));
      sinceYield += n;
      if (sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
    if (carry && carry.length) lines(decode(carry));
  } finally {
    closeSync(fd);
  }
}

/**
 * Like forEachLine, but hands over each line as bytes (`buf[start, end)`, valid only during the
 * call), so a caller can look at a line and skip it without decoding it at all.
 */
export async function forEachLineBytes(file: string, each: (buf: Buffer, start: number, end: number) => void): Promise<void> {
  if (!existsSync(file)) return;
  const fd = openSync(file, 'r');
  const buf = Buffer.allocUnsafe(CHUNK);
  let carry: Buffer | undefined;
  let sinceYield = 0;
  const line = (b: Buffer, s: number, e: number) => {
    if (e > s && b[e - 1] === 13) e--; // CRLF
    if (e > s) each(b, s, e);
  };
  try {
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const chunk = buf.subarray(0, n);
      let from = 0;
      let nl = chunk.indexOf(10);
      if (nl === -1) {
        carry = carry ? Buffer.concat([carry, chunk]) : Buffer.from(chunk);
        continue;
      }
      if (carry) {
        const first = Buffer.concat([carry, chunk.subarray(0, nl)]);
        line(first, 0, first.length);
        from = nl + 1;
        nl = chunk.indexOf(10, from);
        carry = undefined;
      }
      while (nl !== -1) {
        line(chunk, from, nl);
        from = nl + 1;
        nl = chunk.indexOf(10, from);
      }
      carry = from < n ? Buffer.from(chunk.subarray(from)) : undefined;
      sinceYield += n;
      if (sinceYield >= YIELD_EVERY) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }
    if (carry && carry.length) line(carry, 0, carry.length);
  } finally {
    closeSync(fd);
  }
}

/** Index of `pattern` in `buf[start, end)`, or -1. */
export function indexIn(buf: Buffer, pattern: Buffer, start: number, end: number): number {
  const i = buf.subarray(start, end).indexOf(pattern);
  return i === -1 ? -1 : start + i;
}

/** The JSON number starting at `buf[i]`: value and the index after it (value undefined if none). */
export function numberAt(buf: Buffer, i: number, end: number): { value: number | undefined; next: number } {
  let j = i;
  while (j < end) {
    const c = buf[j]!;
    if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69) j++;
    else break;
  }
  if (j === i) return { value: undefined, next: i };
  const v = Number(buf.toString('latin1', i, j));
  return { value: Number.isFinite(v) ? v : undefined, next: j };
}

/** The string value (no escapes) starting at `buf[i]` up to the next quote: text and the index of that quote. */
export function stringAt(buf: Buffer, i: number, end: number): { value: string | undefined; next: number } {
  for (let j = i; j < end; j++) {
    const c = buf[j]!;
    if (c === 34) return { value: buf.toString('latin1', i, j), next: j };
    if (c === 92 || c > 127) return { value: undefined, next: j };
  }
  return { value: undefined, next: end };
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
