// The multiplexer: one TCP connection per peer pair carries every mini-protocol.
//
// Sending: `send(protocolId, role, message, opts)` CBOR-encodes the message and queues it on
// the channel (protocol, role). The shaper pulls one segment (≤ segmentSize) at a time when
// the wire is free; each pull picks, over all channels, the best head message by
//   1. priority class rank (praos < txsub < leios-fresh < leios-stale; opts.priority overrides
//      the protocol's class for one message),
//   2. in the Leios classes only: freshness, higher `slot` first (no slot = before any slot),
//   3. FIFO.
// A message whose first segment has left keeps its channel until its last segment has left
// (the receiver reassembles per channel), but other channels pre-empt it between segments.
// Consequence for protocol designers: within one channel, Praos/txsub messages are strictly
// FIFO; Leios messages may overtake older-slot messages of the same channel that have not
// started yet, so Leios protocols must tolerate that reordering (e.g. replies keyed by id).
//
// Receiving: frames are reassembled per channel with a per-protocol max message size and a
// partial-receive timeout, CBOR-decoded and dispatched to the handler registered for the local
// role. Messages for a registered protocol without a handler yet are buffered (bounded) and
// delivered in order once a handler is attached. Any violation — bad header, unknown
// protocol, oversize, timeout, CBOR error, a handler throwing — closes this connection with a
// reason; nothing is thrown to the process.

import type { Socket } from 'node:net';
import { encodeFrame, FrameDecoder, HEADER_SIZE, RESPONDER_BIT, SEGMENT_SIZE } from './frame.ts';
import { Shaper, type LinkShape } from './shaper.ts';
import {
  decodeCbor,
  encodeCbor,
  errorMessage,
  PRIORITY_RANK,
  ProtocolError,
  type PriorityClass,
  type ProtocolSpec,
  type Role,
} from './types.ts';

/** Anything carrying a mux: a Peer or a Mux. Mini-protocol classes accept either. */
export type MuxCarrier = Mux | { mux: Mux };
export function muxOf(x: MuxCarrier): Mux {
  return x instanceof Mux ? x : x.mux;
}

export type ByteDirection = 'sent' | 'received';
/** `peer`: the remote's node name once the handshake named it (Mux.peer), else undefined. */
export type OnBytes = (protocolName: string, dir: ByteDirection, n: number, peer: string | undefined) => void;
export type MessageHandler = (message: unknown) => void | Promise<void>;

export interface SendOptions {
  /** Override the protocol's priority class for this message (e.g. 'leios-stale'). */
  priority?: PriorityClass;
  /** Freshness (slot number) of a Leios message; higher goes first within its class. */
  slot?: number;
}

export interface MuxOptions {
  /** Segment size (default 64 KiB). */
  segmentSize?: number;
  /** Time allowed between the first and the last segment of one message (default 30 s). */
  partialTimeoutMs?: number;
  /** Bytes (header included) per protocol and direction; feed prom-client counters from it. */
  onBytes?: OnBytes;
  /** Initial link shape of the outbound direction. */
  shape?: Partial<LinkShape>;
  /** Decoded messages buffered while no handler is attached (default 4 MiB). */
  maxUnhandledBytes?: number;
  /** Random source for loss (tests). */
  random?: () => number;
}

export interface MuxStats {
  bytesSent: number;
  bytesReceived: number;
  sent: Record<string, number>;
  received: Record<string, number>;
}

interface OutMessage {
  payload: Uint8Array;
  offset: number;
  rank: number;
  /** Only meaningful in Leios classes; +Infinity when absent. */
  fresh: number;
  seq: number;
}

interface OutChannel {
  wireId: number;
  spec: ProtocolSpec;
  queue: OutMessage[];
  current: OutMessage | undefined;
  queuedBytes: number;
  spaceWaiters: { max: number; resolve: () => void; reject: (e: Error) => void }[];
}

interface InChannel {
  parts: Uint8Array[];
  bytes: number;
  timer: NodeJS.Timeout | undefined;
}

const LEIOS_RANK = PRIORITY_RANK['leios-fresh'];

function before(a: OutMessage, b: OutMessage): boolean {
  if (a.rank !== b.rank) return a.rank < b.rank;
  if (a.rank >= LEIOS_RANK && a.fresh !== b.fresh) return a.fresh > b.fresh;
  return a.seq < b.seq;
}

/** Local role that receives a frame: frames sent by the peer's responder go to our initiator. */
function localKey(protocol: number, role: Role): number {
  return protocol * 2 + (role === 'responder' ? 1 : 0);
}

export class Mux {
  readonly socket: Socket;
  /** The remote node's name, once known (set by the peer manager at the handshake): a metrics label. */
  peer: string | undefined;
  private readonly segmentSize: number;
  private readonly partialTimeoutMs: number;
  private readonly onBytes: OnBytes | undefined;
  private readonly maxUnhandledBytes: number;
  private readonly shaper: Shaper;
  private readonly decoder: FrameDecoder;
  private readonly protocols = new Map<number, ProtocolSpec>();
  private readonly out = new Map<number, OutChannel>();
  private readonly active = new Set<OutChannel>();
  private readonly inbound = new Map<number, InChannel>();
  private readonly handlers = new Map<number, MessageHandler>();
  private readonly unhandled = new Map<number, { msg: unknown; size: number }[]>();
  private unhandledBytes = 0;
  private readonly closeListeners: ((reason: string) => void)[] = [];
  private seq = 0;
  private closedReason: string | undefined;
  private ending = false;
  private readonly stats: MuxStats = { bytesSent: 0, bytesReceived: 0, sent: {}, received: {} };

  constructor(socket: Socket, opts: MuxOptions = {}) {
    this.socket = socket;
    this.segmentSize = opts.segmentSize ?? SEGMENT_SIZE;
    this.partialTimeoutMs = opts.partialTimeoutMs ?? 30_000;
    this.onBytes = opts.onBytes;
    this.maxUnhandledBytes = opts.maxUnhandledBytes ?? 4 * 1024 * 1024;
    this.decoder = new FrameDecoder(this.segmentSize, (protocol, fromResponder, len) => this.checkHeader(protocol, fromResponder, len));
    this.shaper = new Shaper(socket, { nextFrame: () => this.nextFrame() }, opts.shape, opts.random);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.close(`socket error: ${e.message}`));
    socket.on('end', () => this.close('connection closed by peer'));
    socket.on('close', () => this.close('connection closed'));
  }

  // ------------------------------------------------------------------ registry

  /** Make a protocol known on this connection (frames of unknown protocols close it). */
  register(spec: ProtocolSpec): void {
    if (!Number.isInteger(spec.id) || spec.id < 0 || spec.id >= RESPONDER_BIT) throw new RangeError(`bad protocol id ${spec.id}`);
    const existing = this.protocols.get(spec.id);
    if (existing && existing.name !== spec.name) throw new Error(`protocol id ${spec.id} already registered as ${existing.name}`);
    this.protocols.set(spec.id, { ...spec });
  }

  isRegistered(protocolId: number): boolean {
    return this.protocols.has(protocolId);
  }

  protocol(protocolId: number): ProtocolSpec | undefined {
    return this.protocols.get(protocolId);
  }

  /** Attach the handler for messages arriving for our `role` of a protocol. Returns a detach function. */
  handle(protocolId: number, role: Role, handler: MessageHandler): () => void {
    if (!this.protocols.has(protocolId)) throw new Error(`protocol ${protocolId} is not registered`);
    const key = localKey(protocolId, role);
    if (this.handlers.has(key)) throw new Error(`protocol ${protocolId} ${role} already has a handler`);
    this.handlers.set(key, handler);
    if (this.unhandled.has(key)) queueMicrotask(() => this.flushUnhandled(key));
    return () => {
      if (this.handlers.get(key) === handler) this.handlers.delete(key);
    };
  }

  // ------------------------------------------------------------------ sending

  /** Queue a message; returns false (and drops it) when the connection is closed or closing. */
  send(protocolId: number, role: Role, message: unknown, opts: SendOptions = {}): boolean {
    if (this.closedReason !== undefined || this.ending) return false;
    const ch = this.outChannel(protocolId, role);
    const payload = encodeCbor(message);
    const rank = PRIORITY_RANK[opts.priority ?? ch.spec.priority];
    const m: OutMessage = { payload, offset: 0, rank, fresh: opts.slot ?? Infinity, seq: this.seq++ };
    // sorted insert (stable: equal keys keep FIFO order)
    const q = ch.queue;
    let lo = 0;
    let hi = q.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (before(m, q[mid])) hi = mid;
      else lo = mid + 1;
    }
    q.splice(lo, 0, m);
    ch.queuedBytes += payload.length;
    this.active.add(ch);
    this.shaper.kick();
    return true;
  }

  /** Payload bytes queued (not yet on the wire) on one channel. */
  queuedBytes(protocolId: number, role: Role): number {
    return this.out.get(protocolId | (role === 'responder' ? RESPONDER_BIT : 0))?.queuedBytes ?? 0;
  }

  /** Resolves when the channel has at most `maxQueuedBytes` queued; rejects if the connection closes. */
  waitForSpace(protocolId: number, role: Role, maxQueuedBytes: number): Promise<void> {
    if (this.closedReason !== undefined) return Promise.reject(new Error(`connection closed: ${this.closedReason}`));
    const ch = this.outChannel(protocolId, role);
    if (ch.queuedBytes <= maxQueuedBytes) return Promise.resolve();
    return new Promise((resolve, reject) => ch.spaceWaiters.push({ max: maxQueuedBytes, resolve, reject }));
  }

  private outChannel(protocolId: number, role: Role): OutChannel {
    const wireId = protocolId | (role === 'responder' ? RESPONDER_BIT : 0);
    let ch = this.out.get(wireId);
    if (!ch) {
      const spec = this.protocols.get(protocolId);
      if (!spec) throw new Error(`protocol ${protocolId} is not registered`);
      ch = { wireId, spec, queue: [], current: undefined, queuedBytes: 0, spaceWaiters: [] };
      this.out.set(wireId, ch);
    }
    return ch;
  }

  /** Scheduler: the next segment to put on the wire (called by the shaper). */
  private nextFrame(): Uint8Array | undefined {
    let best: OutChannel | undefined;
    let bestMsg: OutMessage | undefined;
    for (const ch of this.active) {
      const m = ch.current ?? ch.queue[0];
      if (!bestMsg || before(m, bestMsg)) {
        best = ch;
        bestMsg = m;
      }
    }
    if (!best || !bestMsg) return undefined;
    if (!best.current) best.current = best.queue.shift();
    const start = bestMsg.offset;
    const end = Math.min(bestMsg.payload.length, start + this.segmentSize);
    bestMsg.offset = end;
    const last = end === bestMsg.payload.length;
    if (last) {
      best.current = undefined;
      if (best.queue.length === 0) this.active.delete(best);
    }
    const frame = encodeFrame({
      protocol: best.spec.id,
      fromResponder: (best.wireId & RESPONDER_BIT) !== 0,
      last,
      payload: bestMsg.payload.subarray(start, end),
    });
    best.queuedBytes -= end - start;
    if (best.spaceWaiters.length) {
      const keep = [];
      for (const w of best.spaceWaiters) if (best.queuedBytes <= w.max) w.resolve();
      else keep.push(w);
      best.spaceWaiters = keep;
    }
    this.count(best.spec.name, 'sent', frame.length);
    return frame;
  }

  // ------------------------------------------------------------------ receiving

  /** Reject unknown protocols and oversize messages as soon as a header arrives. */
  private checkHeader(protocol: number, fromResponder: boolean, len: number): void {
    const spec = this.protocols.get(protocol);
    if (!spec) throw new ProtocolError(`unknown mini-protocol ${protocol}`);
    const partial = this.inbound.get(protocol | (fromResponder ? RESPONDER_BIT : 0))?.bytes ?? 0;
    if (partial + len > spec.maxMessageBytes) throw new ProtocolError(`${spec.name}: message exceeds ${spec.maxMessageBytes} bytes`);
  }

  private onData(chunk: Buffer): void {
    if (this.closedReason !== undefined) return;
    this.decoder.feed(chunk);
    for (;;) {
      if (this.closedReason !== undefined) return;
      let f;
      try {
        f = this.decoder.next();
      } catch (e) {
        this.close(errorMessage(e));
        return;
      }
      if (!f) return;
      const spec = this.protocols.get(f.protocol);
      if (!spec) {
        this.close(`unknown mini-protocol ${f.protocol}`);
        return;
      }
      this.count(spec.name, 'received', HEADER_SIZE + f.payload.length);
      const wireId = f.protocol | (f.fromResponder ? RESPONDER_BIT : 0);
      let ch = this.inbound.get(wireId);
      if (!ch) {
        ch = { parts: [], bytes: 0, timer: undefined };
        this.inbound.set(wireId, ch);
      }
      ch.bytes += f.payload.length;
      if (ch.bytes > spec.maxMessageBytes) {
        this.close(`${spec.name}: message exceeds ${spec.maxMessageBytes} bytes`);
        return;
      }
      ch.parts.push(f.payload);
      if (!f.last) {
        if (!ch.timer) {
          ch.timer = setTimeout(() => this.close(`${spec.name}: message not completed within ${this.partialTimeoutMs} ms`), this.partialTimeoutMs);
        }
        continue;
      }
      if (ch.timer) clearTimeout(ch.timer);
      const bytes = ch.parts.length === 1 ? ch.parts[0] : Buffer.concat(ch.parts, ch.bytes);
      const size = ch.bytes;
      ch.parts = [];
      ch.bytes = 0;
      ch.timer = undefined;
      let msg: unknown;
      try {
        msg = decodeCbor(bytes);
      } catch (e) {
        this.close(`${spec.name}: ${errorMessage(e)}`);
        return;
      }
      this.dispatch(localKey(f.protocol, f.fromResponder ? 'initiator' : 'responder'), spec, msg, size);
    }
  }

  private dispatch(key: number, spec: ProtocolSpec, msg: unknown, size: number): void {
    const h = this.handlers.get(key);
    const buffered = this.unhandled.get(key);
    if (!h || buffered) {
      this.unhandledBytes += size;
      if (this.unhandledBytes > this.maxUnhandledBytes) {
        this.close(`${spec.name}: too many messages before the protocol was started`);
        return;
      }
      if (buffered) buffered.push({ msg, size });
      else this.unhandled.set(key, [{ msg, size }]);
      return;
    }
    this.invoke(spec, h, msg);
  }

  private flushUnhandled(key: number): void {
    const list = this.unhandled.get(key);
    const spec = this.protocols.get(key >> 1);
    if (!list || !spec) return;
    while (list.length && this.closedReason === undefined) {
      const h = this.handlers.get(key);
      if (!h) return; // detached again; keep the rest buffered
      const { msg, size } = list.shift()!;
      this.unhandledBytes -= size;
      this.invoke(spec, h, msg);
    }
    if (list.length === 0) this.unhandled.delete(key);
  }

  private invoke(spec: ProtocolSpec, h: MessageHandler, msg: unknown): void {
    try {
      const r = h(msg);
      if (r && typeof (r as Promise<void>).then === 'function') {
        (r as Promise<void>).then(undefined, (e) => this.close(`${spec.name}: ${errorMessage(e)}`));
      }
    } catch (e) {
      this.close(`${spec.name}: ${errorMessage(e)}`);
    }
  }

  private count(name: string, dir: ByteDirection, n: number): void {
    if (dir === 'sent') {
      this.stats.bytesSent += n;
      this.stats.sent[name] = (this.stats.sent[name] ?? 0) + n;
    } else {
      this.stats.bytesReceived += n;
      this.stats.received[name] = (this.stats.received[name] ?? 0) + n;
    }
    if (this.onBytes) {
      try {
        this.onBytes(name, dir, n, this.peer);
      } catch {
        // a metrics callback must not break the connection
      }
    }
  }

  // ------------------------------------------------------------------ shape, stats, lifecycle

  get shape(): LinkShape {
    return this.shaper.shape;
  }

  setShape(shape: Partial<LinkShape>): void {
    this.shaper.setShape(shape);
  }

  getStats(): MuxStats {
    return { ...this.stats, sent: { ...this.stats.sent }, received: { ...this.stats.received } };
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  get closeReason(): string | undefined {
    return this.closedReason;
  }

  /** Called once with the reason when the connection closes (immediately if already closed). */
  onClose(cb: (reason: string) => void): void {
    if (this.closedReason !== undefined) {
      const r = this.closedReason;
      queueMicrotask(() => cb(r));
    } else this.closeListeners.push(cb);
  }

  /** Run an async task of a protocol; its rejection closes the connection instead of escaping. */
  guard(p: Promise<unknown>, protocolName = 'protocol'): void {
    p.then(undefined, (e) => this.close(`${protocolName}: ${errorMessage(e)}`));
  }

  /** Close now, discarding anything queued. Idempotent. */
  close(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.shaper.stop();
    this.socket.destroy();
    this.cleanup(reason);
  }

  /** Close gracefully: send what is queued (within `timeoutMs`), then close. */
  async end(reason: string, timeoutMs = 2000): Promise<void> {
    if (this.closedReason !== undefined || this.ending) return;
    this.ending = true;
    const deadline = performance.now() + timeoutMs;
    while (this.closedReason === undefined && performance.now() < deadline && (this.active.size > 0 || !this.shaper.idle)) {
      if (this.active.size === 0) await this.shaper.whenIdle();
      else await new Promise((r) => setTimeout(r, 5));
    }
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    this.shaper.stop();
    const s = this.socket;
    const t = setTimeout(() => s.destroy(), 1000);
    t.unref();
    s.end(() => {
      clearTimeout(t);
      s.destroy();
    });
    this.cleanup(reason);
  }

  private cleanup(reason: string): void {
    for (const ch of this.inbound.values()) if (ch.timer) clearTimeout(ch.timer);
    this.inbound.clear();
    this.unhandled.clear();
    const err = new Error(`connection closed: ${reason}`);
    for (const ch of this.out.values()) {
      for (const w of ch.spaceWaiters) w.reject(err);
      ch.spaceWaiters = [];
      ch.queue = [];
      ch.current = undefined;
      ch.queuedBytes = 0;
    }
    this.active.clear();
    const ls = this.closeListeners.splice(0);
    for (const l of ls) {
      try {
        l(reason);
      } catch {
        // listeners must not break teardown
      }
    }
  }
}

export { ProtocolError };
