/**
 * JSONL trace writer in the Leios simulator's envelope:
 *   {"time_s": <seconds since genesis systemStart, float>, "message": {"type": ..., "node": ..., ...}}
 *
 * `emit` only serialises and queues: writes happen asynchronously, one at a time, when
 * `flushIntervalMs` passes or `flushBytes` are queued. On SIGTERM/SIGINT and on process exit the
 * queue is written synchronously (writes are positioned, so re-writing a chunk whose async write
 * may or may not have landed is harmless). If the disk falls so far behind that `maxBufferBytes`
 * are queued, further events are dropped and counted, and a `TraceDropped` event says how many.
 *
 * TxAccepted/TxRejected are batched: ids collect until the next flush (or `maxTxIdsPerEvent`) and
 * go out as one event stamped with the first tx's time, so those lines can be up to one flush
 * interval older than the lines before them; consumers should not assume `time_s` is monotonic.
 *
 * Size bound: a trace file never grows past `maxFileBytes` (default TRACE_MAX_FILE_BYTES, 1 GiB;
 * an hour of ci-bench load writes a few MB per node). Past it, events are dropped and counted;
 * one TraceDropped line (the usual shape) is written when the limit is hit and, with the final
 * count, at close — from a reserve kept for them, so the file stays under the bound.
 *
 * The node's own SIGTERM handler should still `await trace.close()`; the built-in handler only
 * guarantees nothing queued is lost when the process dies by the signal's default action.
 *
 * `time_s` uses the true wall clock, not the node's (possibly offset) slot clock, so traces of
 * different nodes can be merged to measure diffusion.
 */
import fs from 'node:fs';
import path from 'node:path';
import type {
  CertCreated,
  CertIncluded,
  HardFork,
  RBAdopted,
  Rollback,
  SlotMissed,
  StoppedFollowing,
  TxIncluded,
} from './trace-events.ts';

export interface TraceMessage {
  type: string;
  node: string;
  [field: string]: unknown;
}

export interface TraceLine {
  time_s: number;
  message: TraceMessage;
}

// --- simulator events (field names as in trace.shared.schema.json) ---------------------------

export interface BlockRef {
  id: string;
}

export interface RBGeneratedMsg extends TraceMessage {
  type: 'RBGenerated';
  id: string;
  slot: number;
  producer: string;
  size_bytes: number;
  tx_payload_bytes?: number;
  parent: BlockRef | null;
  /** the EB certified by this RB (Linear Leios: at most one) */
  endorsement: { eb: BlockRef } | null;
  /** ours: the EB this RB announces */
  announced_eb?: BlockRef | null;
  /** ours */
  block_no?: number;
  /** ours: transactions in the RB body */
  tx_count?: number;
}

export interface EBGeneratedMsg extends TraceMessage {
  type: 'EBGenerated';
  id: string;
  slot: number;
  producer: string;
  size_bytes: number;
  /** always 0 in Linear Leios (as in the simulator) */
  pipeline: number;
  input_blocks: BlockRef[];
  endorser_blocks: BlockRef[];
  /** ours: bytes of the transactions the EB references */
  tx_payload_bytes?: number;
  /** ours: number of transactions referenced */
  tx_count?: number;
  /** ours: the RB announcing it */
  rb_ref?: string | null;
}

export interface VTBundleGeneratedMsg extends TraceMessage {
  type: 'VTBundleGenerated';
  id: string;
  slot: number;
  producer: string;
  size_bytes: number;
  pipeline: number;
  /** EB id → number of votes (sortition weight) in this bundle */
  votes: Record<string, number>;
  /** ours: the election (slot of the announcing RB), the voting pool, the slot the vote was cast in */
  election_id?: number;
  voter?: string;
  vote_slot?: number;
}

export interface ReceivedMsg extends TraceMessage {
  type: 'RBReceived' | 'EBReceived' | 'VTBundleReceived';
  id: string;
  recipient: string;
  sender?: string;
  slot?: number;
  /** ours, votes: the election and the voting pool */
  election_id?: number;
  voter?: string;
}

// --- helper arguments ---------------------------------------------------------------------------

export interface RBGeneratedArgs {
  id: string;
  slot: number;
  size_bytes: number;
  tx_payload_bytes?: number;
  parent: string | null;
  /** id of the EB whose certificate this RB carries */
  endorsement?: string | null;
  /** id of the EB this RB announces */
  announced_eb?: string | null;
  block_no?: number;
  tx_count?: number;
}

export interface EBGeneratedArgs {
  id: string;
  slot: number;
  size_bytes: number;
  tx_payload_bytes?: number;
  tx_count?: number;
  rb_ref?: string | null;
}

export interface VTBundleGeneratedArgs {
  id: string;
  slot: number;
  size_bytes: number;
  votes: Record<string, number>;
  election_id?: number;
  voter?: string;
  vote_slot?: number;
}

export interface ReceivedArgs {
  id: string;
  sender?: string;
  slot?: number;
  election_id?: number;
  voter?: string;
}

type Without<T, K extends string> = Omit<T, K | 'type' | 'node'>;

export interface TraceWriterOptions {
  /** JSONL file (appended to; directory created); undefined = a writer that drops everything */
  file?: string;
  /** node name, put in every message */
  node: string;
  /** genesis system start, ms since the Unix epoch */
  systemStartMs: number;
  /** wall clock in ms since the Unix epoch; default performance.timeOrigin + performance.now() */
  now?: () => number;
  /** default 250 ms */
  flushIntervalMs?: number;
  /** start a write once this many bytes are queued; default 64 KiB */
  flushBytes?: number;
  /** drop events beyond this many queued bytes; default 16 MiB */
  maxBufferBytes?: number;
  /** the file never grows past this many bytes; default TRACE_MAX_FILE_BYTES */
  maxFileBytes?: number;
  /** max tx ids per TxAccepted/TxRejected event; default 1000 */
  maxTxIdsPerEvent?: number;
  /** write the queue synchronously on SIGTERM/SIGINT/exit; default true */
  handleSignals?: boolean;
}

interface TxBatch {
  firstMs: number;
  lastMs: number;
  ids: string[];
}

/** Default bound of one trace file. */
export const TRACE_MAX_FILE_BYTES = 1024 * 1024 * 1024;
/** Kept free under the bound for the TraceDropped notes. */
const NOTE_RESERVE = 1024;

const live = new Set<TraceWriter>();
let handlersInstalled = false;
const SIGNALS = ['SIGTERM', 'SIGINT'] as const;

function onSignal(sig: NodeJS.Signals): void {
  for (const w of live) w.flushSync();
  // if nobody else handles the signal, restore the default action (terminate)
  if (process.listenerCount(sig) === 1) {
    uninstallHandlers();
    process.kill(process.pid, sig);
  }
}

function onExit(): void {
  for (const w of live) w.flushSync();
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('exit', onExit);
}

function uninstallHandlers(): void {
  if (!handlersInstalled) return;
  handlersInstalled = false;
  for (const s of SIGNALS) process.off(s, onSignal);
  process.off('exit', onExit);
}

export class TraceWriter {
  readonly node: string;
  readonly file: string | undefined;
  private readonly systemStartMs: number;
  private readonly now: () => number;
  private readonly flushBytes: number;
  private readonly maxBufferBytes: number;
  private readonly maxFileBytes: number;
  /** the size limit was reached: events are only counted */
  private full = false;
  private readonly maxTxIds: number;
  private readonly signals: boolean;

  private fd = -1;
  private pos = 0;
  private queue: string[] = [];
  private queuedBytes = 0;
  /** the chunk whose async write is in flight, and where it goes */
  private inflight: { buf: Buffer; pos: number } | undefined;
  private inflightDone: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private droppedSinceReport = 0;
  private droppedTotal = 0;
  private written = 0;
  private closed = false;
  private closing = false;
  private txAcc: TxBatch | undefined;
  private txRej = new Map<string, TxBatch>();
  private writeError: Error | undefined;

  constructor(opts: TraceWriterOptions) {
    this.node = opts.node;
    this.file = opts.file;
    this.systemStartMs = opts.systemStartMs;
    this.now = opts.now ?? (() => performance.timeOrigin + performance.now());
    this.flushBytes = opts.flushBytes ?? 64 * 1024;
    this.maxBufferBytes = opts.maxBufferBytes ?? 16 * 1024 * 1024;
    this.maxFileBytes = Math.max(NOTE_RESERVE * 2, opts.maxFileBytes ?? TRACE_MAX_FILE_BYTES);
    this.maxTxIds = opts.maxTxIdsPerEvent ?? 1000;
    this.signals = opts.handleSignals ?? true;
    if (this.file) {
      fs.mkdirSync(path.dirname(path.resolve(this.file)), { recursive: true });
      this.fd = fs.openSync(this.file, fs.constants.O_WRONLY | fs.constants.O_CREAT, 0o644);
      this.pos = fs.fstatSync(this.fd).size;
      this.timer = setInterval(() => void this.flush(), opts.flushIntervalMs ?? 250);
      this.timer.unref();
      live.add(this);
      if (this.signals) installHandlers();
    } else this.closed = true;
  }

  /** seconds since genesis system start, now */
  timeS(): number {
    return (this.now() - this.systemStartMs) / 1000;
  }

  /** events dropped because the buffer was full */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** lines handed to the OS so far */
  get linesWritten(): number {
    return this.written;
  }

  /** Queue one event; `node` is filled in when absent. Never blocks on I/O. */
  emit(message: { type: string; node?: string; [field: string]: unknown }, timeS?: number): void {
    if (this.closed) return;
    let msg: object = message;
    if (message.node === undefined) {
      const { node: _absent, ...rest } = message;
      msg = Object.assign({ type: rest.type, node: this.node }, rest);
    }
    this.push(JSON.stringify({ time_s: timeS ?? this.timeS(), message: msg }) + '\n');
  }

  /** bytes the file will have once everything queued is written */
  private get projectedBytes(): number {
    return this.pos + this.queuedBytes;
  }

  private push(line: string): void {
    if (!this.full && this.projectedBytes + Buffer.byteLength(line) > this.maxFileBytes - NOTE_RESERVE) {
      // the file is full: say so once (from the reserve), then only count
      this.full = true;
      this.droppedSinceReport++;
      this.droppedTotal++;
      this.noteDrops(true);
      return;
    }
    if (this.full || this.queuedBytes + line.length > this.maxBufferBytes) {
      this.droppedSinceReport++;
      this.droppedTotal++;
      return;
    }
    this.noteDrops();
    this.queue.push(line);
    this.queuedBytes += line.length;
    if (this.queuedBytes >= this.flushBytes && !this.inflight) void this.flush();
  }

  /** queue a TraceDropped event for events dropped since the last one */
  private noteDrops(force = false): void {
    if (this.droppedSinceReport === 0) return;
    // once full, notes wait for close (one final count), unless this is the one saying so
    if (this.full && !force && !this.closing) return;
    const note = JSON.stringify({ time_s: this.timeS(), message: { type: 'TraceDropped', node: this.node, count: this.droppedSinceReport } }) + '\n';
    if (this.projectedBytes + Buffer.byteLength(note) > this.maxFileBytes) return;
    this.droppedSinceReport = 0;
    this.queue.push(note);
    this.queuedBytes += note.length;
  }

  // --- simulator events -------------------------------------------------------------------------

  rbGenerated(a: RBGeneratedArgs): void {
    const m: RBGeneratedMsg = {
      type: 'RBGenerated',
      node: this.node,
      id: a.id,
      slot: a.slot,
      producer: this.node,
      size_bytes: a.size_bytes,
      parent: a.parent === null ? null : { id: a.parent },
      endorsement: a.endorsement ? { eb: { id: a.endorsement } } : null,
    };
    if (a.tx_payload_bytes !== undefined) m.tx_payload_bytes = a.tx_payload_bytes;
    if (a.announced_eb !== undefined) m.announced_eb = a.announced_eb === null ? null : { id: a.announced_eb };
    if (a.block_no !== undefined) m.block_no = a.block_no;
    if (a.tx_count !== undefined) m.tx_count = a.tx_count;
    this.emit(m);
  }

  rbReceived(a: ReceivedArgs): void {
    this.emit(this.received('RBReceived', a));
  }

  ebGenerated(a: EBGeneratedArgs): void {
    const m: EBGeneratedMsg = {
      type: 'EBGenerated',
      node: this.node,
      id: a.id,
      slot: a.slot,
      producer: this.node,
      size_bytes: a.size_bytes,
      pipeline: 0,
      input_blocks: [],
      endorser_blocks: [],
    };
    if (a.tx_payload_bytes !== undefined) m.tx_payload_bytes = a.tx_payload_bytes;
    if (a.tx_count !== undefined) m.tx_count = a.tx_count;
    if (a.rb_ref !== undefined) m.rb_ref = a.rb_ref;
    this.emit(m);
  }

  ebReceived(a: ReceivedArgs): void {
    this.emit(this.received('EBReceived', a));
  }

  vtBundleGenerated(a: VTBundleGeneratedArgs): void {
    const m: VTBundleGeneratedMsg = {
      type: 'VTBundleGenerated',
      node: this.node,
      id: a.id,
      slot: a.slot,
      producer: this.node,
      size_bytes: a.size_bytes,
      pipeline: 0,
      votes: a.votes,
    };
    if (a.election_id !== undefined) m.election_id = a.election_id;
    if (a.voter !== undefined) m.voter = a.voter;
    if (a.vote_slot !== undefined) m.vote_slot = a.vote_slot;
    this.emit(m);
  }

  vtBundleReceived(a: ReceivedArgs): void {
    this.emit(this.received('VTBundleReceived', a));
  }

  private received(type: ReceivedMsg['type'], a: ReceivedArgs): ReceivedMsg {
    const m: ReceivedMsg = { type, node: this.node, id: a.id, recipient: this.node };
    if (a.sender !== undefined) m.sender = a.sender;
    if (a.slot !== undefined) m.slot = a.slot;
    if (a.election_id !== undefined) m.election_id = a.election_id;
    if (a.voter !== undefined) m.voter = a.voter;
    return m;
  }

  // --- our events (schemas in trace-events.ts) ---------------------------------------------------

  rbAdopted(a: Without<RBAdopted, never>): void {
    this.emit({ type: 'RBAdopted', node: this.node, ...a });
  }

  rollback(a: Without<Rollback, never>): void {
    this.emit({ type: 'Rollback', node: this.node, ...a });
  }

  /** Batched: ids accumulate into one TxAccepted event per flush. */
  txAccepted(ids: string | readonly string[]): void {
    if (this.closed) return;
    const t = this.now();
    this.txAcc ??= { firstMs: t, lastMs: t, ids: [] };
    this.addIds(this.txAcc, ids, t);
    if (this.txAcc.ids.length >= this.maxTxIds) this.emitTxBatches();
  }

  /** Batched per reason: one TxRejected event per reason per flush. */
  txRejected(ids: string | readonly string[], reason: string): void {
    if (this.closed) return;
    const t = this.now();
    let b = this.txRej.get(reason);
    if (!b) this.txRej.set(reason, (b = { firstMs: t, lastMs: t, ids: [] }));
    this.addIds(b, ids, t);
    if (b.ids.length >= this.maxTxIds) this.emitTxBatches();
  }

  private addIds(b: TxBatch, ids: string | readonly string[], t: number): void {
    b.lastMs = t;
    if (typeof ids === 'string') b.ids.push(ids);
    else for (const id of ids) b.ids.push(id);
  }

  private emitTxBatches(): void {
    const span = (b: TxBatch) => Math.round(b.lastMs - b.firstMs) / 1000;
    const ts = (b: TxBatch) => (b.firstMs - this.systemStartMs) / 1000;
    if (this.txAcc && this.txAcc.ids.length > 0) {
      const b = this.txAcc;
      this.txAcc = undefined;
      this.emit({ type: 'TxAccepted', node: this.node, count: b.ids.length, ids: b.ids, spanS: span(b) }, ts(b));
    }
    for (const [reason, b] of this.txRej) {
      if (b.ids.length === 0) continue;
      this.emit({ type: 'TxRejected', node: this.node, count: b.ids.length, ids: b.ids, reason, spanS: span(b) }, ts(b));
    }
    this.txRej.clear();
  }

  txIncluded(a: Without<TxIncluded, never>): void {
    this.emit({ type: 'TxIncluded', node: this.node, ...a });
  }

  certCreated(a: Without<CertCreated, never>): void {
    this.emit({ type: 'CertCreated', node: this.node, ...a });
  }

  certIncluded(a: Without<CertIncluded, never>): void {
    this.emit({ type: 'CertIncluded', node: this.node, ...a });
  }

  hardFork(a: Without<HardFork, never>): void {
    this.emit({ type: 'HardFork', node: this.node, ...a });
  }

  stoppedFollowing(a: Without<StoppedFollowing, never>): void {
    this.emit({ type: 'StoppedFollowing', node: this.node, ...a });
  }

  slotMissed(a: Without<SlotMissed, never>): void {
    this.emit({ type: 'SlotMissed', node: this.node, ...a });
  }

  // --- writing ----------------------------------------------------------------------------------

  /** Write everything queued so far; resolves when the OS has it. */
  async flush(): Promise<void> {
    this.emitTxBatches();
    while (this.inflightDone) await this.inflightDone;
    this.noteDrops();
    if (this.queue.length === 0 || this.fd < 0) return;
    const buf = Buffer.from(this.queue.join(''), 'utf8');
    const lines = this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
    const chunk = { buf, pos: this.pos };
    this.pos += buf.length;
    this.inflight = chunk;
    this.inflightDone = this.writeChunk(chunk).then(
      () => {
        this.written += lines;
      },
      (e: Error) => {
        if (!this.writeError) process.stderr.write(`trace writer ${this.file}: ${e.message}\n`);
        this.writeError = e;
      },
    ).finally(() => {
      this.inflight = undefined;
      this.inflightDone = undefined;
    });
    await this.inflightDone;
    if (this.queue.length > 0 && this.queuedBytes >= this.flushBytes) await this.flush();
  }

  private async writeChunk(c: { buf: Buffer; pos: number }): Promise<void> {
    let off = 0;
    while (off < c.buf.length) {
      const n = await new Promise<number>((resolve, reject) =>
        fs.write(this.fd, c.buf, off, c.buf.length - off, c.pos + off, (err, w) => (err ? reject(err) : resolve(w))),
      );
      off += n;
    }
  }

  /** Write the in-flight chunk (again) and the queue, synchronously. For signal/exit handlers. */
  flushSync(): void {
    if (this.fd < 0) return;
    this.emitTxBatches();
    this.noteDrops();
    try {
      if (this.inflight) fs.writeSync(this.fd, this.inflight.buf, 0, this.inflight.buf.length, this.inflight.pos);
      if (this.queue.length > 0) {
        const buf = Buffer.from(this.queue.join(''), 'utf8');
        const lines = this.queue.length;
        this.queue = [];
        this.queuedBytes = 0;
        const at = this.pos;
        this.pos += buf.length;
        let off = 0;
        while (off < buf.length) off += fs.writeSync(this.fd, buf, off, buf.length - off, at + off);
        this.written += lines;
      }
    } catch (e) {
      process.stderr.write(`trace writer ${this.file}: ${(e as Error).message}\n`);
    }
  }

  /** Flush and close the file. Idempotent. */
  async close(): Promise<void> {
    if (this.fd < 0) return;
    this.closing = true;
    await this.flush();
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const fd = this.fd;
    this.fd = -1;
    live.delete(this);
    if (live.size === 0) uninstallHandlers();
    fs.closeSync(fd);
  }
}

/** A writer that discards everything (no `traceFile` configured). */
export function nullTraceWriter(node: string): TraceWriter {
  return new TraceWriter({ node, systemStartMs: 0 });
}
