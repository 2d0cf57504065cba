/**
 * Small node state (last known tip, clock offset, ...) as a JSON file that is replaced atomically:
 * write `<file>.tmp-<pid>-<n>`, fsync it, rename over `<file>`, fsync the directory. A reader (or a
 * restart after `kill -9` / power loss) sees either the old or the new content, never a mix.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

let tmpSeq = 0;

function tmpName(file: string): string {
  return `${file}.tmp-${process.pid}-${++tmpSeq}`;
}

function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // not supported on every filesystem
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function serialise(value: unknown): string {
  const text = JSON.stringify(value, null, 2);
  if (text === undefined) throw new TypeError('state file value is not JSON-serialisable');
  return text + '\n';
}

/** Atomically replace `file` with `value` as JSON. Creates the directory if needed. */
export async function writeStateFile(file: string, value: unknown): Promise<void> {
  const text = serialise(value);
  const dir = path.dirname(path.resolve(file));
  await fsp.mkdir(dir, { recursive: true });
  const tmp = tmpName(file);
  try {
    const fh = await fsp.open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  fsyncDirSync(dir);
}

/** Synchronous variant, for `process.on('exit')` handlers. */
export function writeStateFileSync(file: string, value: unknown): void {
  const text = serialise(value);
  const dir = path.dirname(path.resolve(file));
  fs.mkdirSync(dir, { recursive: true });
  const tmp = tmpName(file);
  try {
    const fd = fs.openSync(tmp, 'w', 0o644);
    try {
      fs.writeFileSync(fd, text, 'utf8');
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fsyncDirSync(dir);
}

/**
 * Read a state file. `undefined` if it does not exist. A file that is not valid JSON (only possible
 * if something other than this module wrote it) also gives `undefined`, and `onCorrupt` is told why.
 * Leftover temp files of writers that died are removed.
 */
export async function readStateFile<T = unknown>(file: string, onCorrupt?: (reason: string) => void): Promise<T | undefined> {
  const dir = path.dirname(path.resolve(file));
  const base = path.basename(file) + '.tmp-';
  try {
    for (const n of await fsp.readdir(dir)) if (n.startsWith(base)) await fsp.rm(path.join(dir, n), { force: true });
  } catch {
    // directory absent
  }
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    onCorrupt?.(`${file}: ${(e as Error).message}`);
    return undefined;
  }
}

/**
 * A state file with serialised saves: concurrent `save` calls never interleave, and saves that
 * pile up while one is in flight collapse into one write of the latest value.
 */
export class StateFile<T> {
  readonly file: string;
  private inFlight: Promise<void> | undefined;
  private pending: { value: T; waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> } | undefined;

  constructor(file: string) {
    this.file = file;
  }

  load(onCorrupt?: (reason: string) => void): Promise<T | undefined> {
    return readStateFile<T>(this.file, onCorrupt);
  }

  save(value: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.pending) {
        this.pending.value = value;
        this.pending.waiters.push({ resolve, reject });
      } else this.pending = { value, waiters: [{ resolve, reject }] };
      if (!this.inFlight) this.drain();
    });
  }

  /** Resolves when no save is in flight or queued. */
  async idle(): Promise<void> {
    while (this.inFlight) await this.inFlight;
  }

  private drain(): void {
    const job = this.pending;
    if (!job) return;
    this.pending = undefined;
    this.inFlight = writeStateFile(this.file, job.value).then(
      () => job.waiters.forEach((w) => w.resolve()),
      (e) => job.waiters.forEach((w) => w.reject(e)),
    ).finally(() => {
      this.inFlight = undefined;
      this.drain();
    });
  }
}
