/**
 * The node's logger: pino JSON lines to a file (created with its directory; appended to) or to
 * stdout. File output is asynchronous (sonic-boom) and flushed synchronously on process exit.
 * A log file stays under `maxFileBytes` (default LOG_MAX_FILE_BYTES, 256 MiB): past it one line
 * says the log was cut there, and later lines are dropped (the node keeps running).
 */
import { statSync } from 'node:fs';
import { pino, type Logger, type Level } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly Level[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

/** Default bound of one log file. */
export const LOG_MAX_FILE_BYTES = 256 * 1024 * 1024;

/**
 * `createLogger('pool-1', 'runs/x/nodes/pool-1/node.log', 'debug')`. Every line carries
 * `node: <name>` and an ISO timestamp. An unknown level throws (the config names it).
 */
export function createLogger(name: string, file?: string, level: string = 'info', maxFileBytes: number = LOG_MAX_FILE_BYTES): Logger {
  if (level !== 'silent' && !(LOG_LEVELS as readonly string[]).includes(level))
    throw new Error(`log level must be one of ${LOG_LEVELS.join(', ')}, silent; got "${level}"`);
  const options = {
    level,
    base: { node: name, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (!file) return pino(options);
  const dest = pino.destination({ dest: file, mkdir: true, append: true, sync: false });
  if (fileDests.size === 0) process.on('exit', flushAll);
  fileDests.add(dest);
  dest.on('close', () => fileDests.delete(dest));
  let bytes = 0;
  try {
    bytes = statSync(file).size;
  } catch {
    /* new file */
  }
  let cut = false;
  const reserve = 512;
  // pino writes whole lines; count them and stop at the bound
  const capped = {
    write(line: string): boolean {
      if (cut) return true;
      const n = Buffer.byteLength(line);
      if (bytes + n > maxFileBytes - reserve) {
        cut = true;
        return dest.write(`${JSON.stringify({ level: 40, time: new Date().toISOString(), node: name, pid: process.pid, msg: `log file reached ${maxFileBytes} bytes: later lines are dropped` })}\n`);
      }
      bytes += n;
      return dest.write(line);
    },
    flush(cb?: (err?: Error) => void): void {
      dest.flush(cb);
    },
    flushSync(): void {
      dest.flushSync();
    },
  };
  const logger = pino(options, capped as unknown as Dest);
  destOf.set(logger, dest);
  return logger;
}

const destOf = new WeakMap<Logger, Dest>();

type Dest = ReturnType<typeof pino.destination>;
const fileDests = new Set<Dest>();

function flushAll(): void {
  for (const d of fileDests) {
    try {
      d.flushSync();
    } catch {
      // not open yet / already closed
    }
  }
}

/** Flush a file logger's pending lines and close its file (e.g. at the end of a test). */
export async function closeLogger(logger: Logger): Promise<void> {
  await new Promise<void>((resolve) => logger.flush(() => resolve()));
  const dest = destOf.get(logger) ?? [...fileDests].find((d) => (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] === d);
  if (dest) {
    fileDests.delete(dest);
    await new Promise<void>((resolve) => {
      dest.once('close', () => resolve());
      dest.end();
    });
  }
}
