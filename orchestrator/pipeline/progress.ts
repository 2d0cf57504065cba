// Progress of a run on stderr (stdout stays free for --json): one status line updated in place on
// a TTY (phase, slot, blocks, tx rate, elapsed), plain timestamped lines otherwise.

export interface Status {
  slot?: number;
  slots?: number;
  blocks?: number;
  txRate?: number;
}

export interface ProgressOptions {
  stream?: NodeJS.WriteStream;
  tty?: boolean;
  /** Non-TTY: a status line at most this often. */
  plainEveryMs?: number;
  quiet?: boolean;
}

function elapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export class Progress {
  private readonly out: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly plainEveryMs: number;
  private readonly quiet: boolean;
  private readonly t0 = Date.now();
  private phase = '';
  private status: Status = {};
  private lastPlain = 0;
  private lineShown = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: ProgressOptions = {}) {
    this.out = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? Boolean(this.out.isTTY);
    this.plainEveryMs = opts.plainEveryMs ?? 10_000;
    this.quiet = opts.quiet ?? false;
    if (this.tty && !this.quiet) {
      this.timer = setInterval(() => this.render(), 500);
      this.timer.unref();
    }
  }

  private statusText(): string {
    const s = this.status;
    const parts = [`[${this.phase}]`];
    if (s.slot !== undefined) parts.push(`slot ${s.slot}${s.slots ? `/${s.slots}` : ''}`);
    if (s.blocks !== undefined) parts.push(`blocks ${s.blocks}`);
    if (s.txRate !== undefined) parts.push(`${s.txRate.toFixed(1)} tx/s`);
    parts.push(elapsed(Date.now() - this.t0));
    return parts.join(' · ');
  }

  private render(): void {
    if (this.quiet || !this.tty || !this.phase) return;
    const cols = this.out.columns || 100;
    this.out.write(`\r\x1b[K${this.statusText().slice(0, cols - 1)}`);
    this.lineShown = true;
  }

  private clearLine(): void {
    if (this.tty && this.lineShown) {
      this.out.write('\r\x1b[K');
      this.lineShown = false;
    }
  }

  /** A line that stays (phase changes, faults, assertion results). */
  log(line: string): void {
    if (this.quiet) return;
    this.clearLine();
    this.out.write(this.tty ? `${line}\n` : `${new Date().toISOString().slice(11, 19)} ${line}\n`);
    this.render();
  }

  setPhase(phase: string): void {
    this.phase = phase;
    this.log(`${phase}…`);
  }

  update(s: Status): void {
    this.status = { ...this.status, ...s };
    if (this.quiet) return;
    if (this.tty) return; // rendered by the timer
    if (Date.now() - this.lastPlain >= this.plainEveryMs) {
      this.lastPlain = Date.now();
      this.out.write(`${new Date().toISOString().slice(11, 19)} ${this.statusText()}\n`);
    }
  }

  done(): void {
    if (this.timer) clearInterval(this.timer);
    this.clearLine();
  }
}
