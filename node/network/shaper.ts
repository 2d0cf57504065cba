// Link shaping in the transport (kernel netem is not available; this is our netem).
//
// The shaper owns the write side of one socket. It *pulls* frames from the mux scheduler
// only when the (virtual) wire is free, so the mux can pick the highest-priority frame at
// that moment — that is what makes pre-emption real under a bandwidth limit.
//
//   bandwidthBps  wire time per frame = bytes / bandwidth; the next frame is pulled when the
//                 wire is free again.
//   latencyMs     each frame is written latencyMs after it left the wire; order preserved.
//   loss          a lost frame is not dropped (TCP semantics): it, and everything behind it
//                 (head-of-line blocking), arrives one retransmission timeout late,
//                 RTO = max(200 ms, 3 × latency).
//   down          handled by the peer manager (closes the connection, refuses new ones);
//                 the shaper itself ignores it.
// Without a bandwidth limit the socket's own back-pressure (its write buffer above the
// high-water mark) is the "busy wire".

import type { Socket } from 'node:net';
import type { LinkShape } from '../config/schema.ts';

export type { LinkShape };

export const DEFAULT_SHAPE: LinkShape = { latencyMs: 0, loss: 0, down: false };

export function normaliseShape(s: Partial<LinkShape> | undefined): LinkShape {
  const out: LinkShape = {
    latencyMs: Math.max(0, s?.latencyMs ?? 0),
    loss: Math.min(1, Math.max(0, s?.loss ?? 0)),
    down: s?.down ?? false,
  };
  if (s?.bandwidthBps !== undefined && s.bandwidthBps > 0) out.bandwidthBps = s.bandwidthBps;
  return out;
}

export function retransmitTimeoutMs(latencyMs: number): number {
  return Math.max(200, 3 * latencyMs);
}

/** Where frames come from: the mux scheduler. */
export interface FrameSource {
  /** The next frame to put on the wire, chosen by priority now; undefined = nothing queued. */
  nextFrame(): Uint8Array | undefined;
}

/** Minimal writable the shaper needs (a net.Socket in practice). */
export type ShaperSink = Pick<Socket, 'write' | 'writableLength' | 'writableHighWaterMark' | 'once' | 'destroyed'>;

interface Delayed {
  frame: Uint8Array;
  at: number;
}

const EPSILON_MS = 1;
/** Bytes allowed in flight inside the latency line before the shaper stops pulling frames. */
const MAX_IN_FLIGHT_BYTES = 8 * 1024 * 1024;

export class Shaper {
  private shapeValue: LinkShape;
  private readonly sink: ShaperSink;
  private readonly source: FrameSource;
  private readonly random: () => number;
  private wireFreeAt = 0;
  private lastDeliverAt = 0;
  private readonly delayed: Delayed[] = [];
  private delayedHead = 0;
  private delayedBytes = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private waitingDrain = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  /** Frames that were delayed by a simulated loss. */
  lostFrames = 0;

  constructor(sink: ShaperSink, source: FrameSource, shape?: Partial<LinkShape>, random: () => number = Math.random) {
    this.sink = sink;
    this.source = source;
    this.shapeValue = normaliseShape(shape);
    this.random = random;
  }

  get shape(): LinkShape {
    return { ...this.shapeValue };
  }

  setShape(shape: Partial<LinkShape>): void {
    const prevBandwidth = this.shapeValue.bandwidthBps;
    this.shapeValue = normaliseShape(shape);
    // A new bandwidth takes effect for the next frame; do not keep the wire busy because of
    // a previous, much slower setting.
    const now = performance.now();
    if (this.shapeValue.bandwidthBps !== prevBandwidth && this.wireFreeAt > now) {
      this.wireFreeAt = now;
      if (this.pumpTimer) {
        clearTimeout(this.pumpTimer);
        this.pumpTimer = undefined;
      }
    }
    this.kick();
  }

  /** The mux has something new queued. */
  kick(): void {
    if (this.stopped || this.pumpTimer || this.waitingDrain) return;
    this.pump();
  }

  /** Nothing queued in the shaper (frames still in the mux queues are not counted). */
  get idle(): boolean {
    return this.delayedHead >= this.delayed.length;
  }

  /** Resolves once every frame taken from the source has been written to the socket. */
  whenIdle(): Promise<void> {
    if (this.idle || this.stopped) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.pumpTimer = this.flushTimer = undefined;
    this.delayed.length = 0;
    this.delayedHead = 0;
    this.delayedBytes = 0;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const r of w) r();
  }

  private congested(): boolean {
    return this.sink.writableLength >= this.sink.writableHighWaterMark;
  }

  private pump(): void {
    this.pumpTimer = undefined;
    if (this.stopped || this.sink.destroyed) return;
    for (;;) {
      const now = performance.now();
      const s = this.shapeValue;
      if (s.bandwidthBps !== undefined && this.wireFreeAt > now + EPSILON_MS) {
        this.pumpTimer = setTimeout(() => this.pump(), Math.ceil(this.wireFreeAt - now));
        return;
      }
      if (this.delayedBytes >= MAX_IN_FLIGHT_BYTES) return; // flush() kicks again
      if (this.congested()) {
        this.waitingDrain = true;
        this.sink.once('drain', () => {
          this.waitingDrain = false;
          this.kick();
        });
        return;
      }
      const frame = this.source.nextFrame();
      if (!frame) return;
      const start = Math.max(now, this.wireFreeAt);
      this.wireFreeAt = start + (s.bandwidthBps !== undefined ? (frame.length * 1000) / s.bandwidthBps : 0);
      const lost = s.loss > 0 && this.random() < s.loss;
      if (lost) this.lostFrames++;
      const at = Math.max(this.lastDeliverAt, this.wireFreeAt + s.latencyMs + (lost ? retransmitTimeoutMs(s.latencyMs) : 0));
      this.lastDeliverAt = at;
      if (at <= now + EPSILON_MS && this.idle) {
        this.sink.write(frame);
      } else {
        this.delayed.push({ frame, at });
        this.delayedBytes += frame.length;
        this.scheduleFlush();
      }
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer || this.idle) return;
    const wait = this.delayed[this.delayedHead].at - performance.now();
    this.flushTimer = setTimeout(() => this.flush(), Math.max(0, Math.ceil(wait)));
  }

  private flush(): void {
    this.flushTimer = undefined;
    if (this.stopped || this.sink.destroyed) return;
    const now = performance.now();
    // Everything due goes out in one write: a syscall (and a read at the peer) per frame was a
    // tenth of a loaded node's CPU.
    const due: Uint8Array[] = [];
    let dueBytes = 0;
    while (this.delayedHead < this.delayed.length && this.delayed[this.delayedHead].at <= now + EPSILON_MS) {
      const f = this.delayed[this.delayedHead].frame;
      due.push(f);
      dueBytes += f.length;
      this.delayedHead++;
    }
    this.delayedBytes -= dueBytes;
    if (due.length === 1) this.sink.write(due[0]);
    else if (due.length > 1) this.sink.write(Buffer.concat(due, dueBytes));
    if (this.delayedHead > 1024 && this.delayedHead * 2 > this.delayed.length) {
      this.delayed.splice(0, this.delayedHead);
      this.delayedHead = 0;
    }
    if (this.idle) {
      this.delayed.length = 0;
      this.delayedHead = 0;
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const r of w) r();
    } else {
      this.scheduleFlush();
    }
    this.kick();
  }
}
