// `leiosnet logs <run-id> <node> --follow`: print what a log gains, until Ctrl-C (or `signal`).
// A file in the run dir (process runtime) is read incrementally from a byte offset (a truncated
// or rotated file starts over); a log that lives with the runtime (a container's output) is
// polled through NodeHandle.logs() and its new tail printed.

import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface FollowOptions {
  /** the log file, read from byte `from` on */
  file?: string;
  from?: number;
  /** a log without a file: polled whole, the text already printed is `printed` */
  logs?: () => Promise<string>;
  printed?: string;
  out: (s: string) => void;
  /** stop following (default: SIGINT/SIGTERM) */
  signal?: AbortSignal;
  intervalMs?: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((r) => {
    const t = setTimeout(r, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
  });

/** Follow until the signal (or Ctrl-C). Resolves with how it ended. */
export async function followLog(o: FollowOptions): Promise<'stopped'> {
  let signal = o.signal;
  let detach = () => {};
  if (!signal) {
    const ac = new AbortController();
    const onSig = () => ac.abort();
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
    detach = () => {
      process.off('SIGINT', onSig);
      process.off('SIGTERM', onSig);
    };
    signal = ac.signal;
  }
  try {
    if (o.file) await followFile(o.file, o.from ?? 0, o.out, signal, o.intervalMs ?? 250);
    else if (o.logs) await followPolled(o.logs, o.printed ?? '', o.out, signal, o.intervalMs ?? 1_000);
  } finally {
    detach();
  }
  return 'stopped';
}

async function followFile(file: string, from: number, out: (s: string) => void, signal: AbortSignal, intervalMs: number): Promise<void> {
  let pos = from;
  let decoder = new StringDecoder('utf8');
  const buf = Buffer.alloc(1 << 16);
  while (!signal.aborted) {
    if (existsSync(file)) {
      const fd = openSync(file, 'r');
      try {
        const size = fstatSync(fd).size;
        if (size < pos) {
          pos = 0; // truncated or replaced: start over
          decoder = new StringDecoder('utf8');
        }
        while (pos < size) {
          const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
          if (n <= 0) break;
          pos += n;
          const s = decoder.write(buf.subarray(0, n));
          if (s) out(s);
        }
      } finally {
        closeSync(fd);
      }
    }
    await sleep(intervalMs, signal);
  }
}

async function followPolled(logs: () => Promise<string>, printed: string, out: (s: string) => void, signal: AbortSignal, intervalMs: number): Promise<void> {
  let seen = printed;
  while (!signal.aborted) {
    await sleep(intervalMs, signal);
    if (signal.aborted) break;
    const now = await logs().catch(() => undefined);
    if (now === undefined || now === seen) continue;
    // the log grew: print the new tail; it restarted (new container): print it all
    out(now.startsWith(seen) ? now.slice(seen.length) : now);
    seen = now;
  }
}
