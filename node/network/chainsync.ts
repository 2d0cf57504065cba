// ChainSync, mini-protocol 2 (pull, like Cardano's node-to-node chain sync).
//
//   client                          server
//   [4, [points]]  FindIntersect →  ← [5, point, tip] IntersectFound | [6, tip] IntersectNotFound
//   [0] RequestNext             →  ← [2, header, point, tip] RollForward | [3, point, tip] RollBackward
//                                   ← [1] AwaitReply (then RollForward/RollBackward later)
//   [7] Done
// Points are [] (origin) or [slot, hash]; tips are [point, blockNo].
// As in Cardano, after IntersectFound the first RequestNext is answered with a RollBackward to
// the intersection: a client that tracks the peer's candidate chain just truncates to it.
// RequestNext may be pipelined; the server answers in order.
//
// Header relay (CIP-164: headers diffuse independently of chain selection, at most two per
// slot and issuer, so an equivocation reaches every honest node):
//                                   ← [8, header] RelayHeader
// answers a RequestNext like a roll message but leaves the client's read pointer and the peer's
// candidate chain alone: the header is one the server validated and relays although it may not
// be on its chain (the two headers of an equivocating issuer). HeaderRelay below decides what a
// node relays.

import { ownBytes } from '../codec/cbor.ts';
import { muxOf, type Mux, type MuxCarrier } from './mux.ts';
import {
  decodePoint,
  decodeTip,
  encodePoint,
  encodeTip,
  errorMessage,
  expectArray,
  expectBytes,
  messageTag,
  pointEqual,
  PROTOCOL,
  ProtocolError,
  type Point,
  type Tip,
} from './types.ts';

export type { Point, Tip };


export type ChainSyncStep = { kind: 'forward'; header: Uint8Array; point: Point } | { kind: 'backward'; point: Point };

/** Implemented by the core: our current chain, as served to peers. */
export interface ChainSyncProvider {
  tip(): Tip;
  /** First of `points` on our current chain; undefined = none (origin always intersects: return null). */
  intersect(points: Point[]): Point | undefined;
  /** The step after `after` (the client's read pointer): forward to the next block, backward to
   *  the fork point if `after` left our chain, undefined = `after` is our tip, wait. */
  next(after: Point): ChainSyncStep | undefined;
  /** Call `cb` whenever the chain changes; returns an unsubscribe function. */
  onTipChange(cb: () => void): () => void;
  /** Headers to relay to every peer off the chain (RelayHeader); returns an unsubscribe function. */
  onRelay?(cb: (header: Uint8Array) => void): () => void;
}

export const MAX_INTERSECT_POINTS = 100;
const MAX_HEADER_BYTES = 64 * 1024;

const MSG = { requestNext: 0, awaitReply: 1, rollForward: 2, rollBackward: 3, findIntersect: 4, intersectFound: 5, intersectNotFound: 6, done: 7, relayHeader: 8 } as const;

/** Headers a server keeps queued for one peer before it drops the oldest. */
export const MAX_RELAY_QUEUE = 64;

/** At most this many distinct headers per (slot, issuer) are accepted and relayed. */
export const MAX_HEADERS_PER_SLOT_ISSUER = 2;

export type RelayVerdict =
  /** the first header of its (slot, issuer): diffuses with the chain as usual */
  | { kind: 'first' }
  /** the second distinct header: equivocation; relay both (`pair`, first then second) */
  | { kind: 'equivocation'; pair: [Uint8Array, Uint8Array] }
  /** already seen */
  | { kind: 'duplicate' }
  /** a third (or later) header for the slot and issuer: neither processed nor relayed */
  | { kind: 'over-limit' };

/**
 * The two-header relay rule. `offer` records a validated header by (slot, issuer); headers older
 * than `keepSlots` behind the newest slot seen are forgotten (equivocation detection is a matter
 * of a few slots: 3·L_hdr). `admit` is the cheap check before validation: false for a third
 * distinct header, which must not cost a validation.
 */
export class HeaderRelay {
  private readonly bySlotIssuer = new Map<string, { hash: string; bytes: Uint8Array }[]>();
  private readonly slotsOf = new Map<number, string[]>();
  private newest = 0;
  readonly keepSlots: number;

  constructor(opts: { keepSlots?: number } = {}) {
    this.keepSlots = opts.keepSlots ?? 2000;
  }

  private static key(slot: number, issuer: string): string {
    return `${slot}:${issuer}`;
  }

  /** Would a header with this hash for (slot, issuer) be processed? */
  admit(slot: number, issuer: string, hash: string): boolean {
    const e = this.bySlotIssuer.get(HeaderRelay.key(slot, issuer));
    return !e || e.length < MAX_HEADERS_PER_SLOT_ISSUER || e.some((x) => x.hash === hash);
  }

  /** Headers recorded for (slot, issuer), first seen first. */
  headers(slot: number, issuer: string): Uint8Array[] {
    return (this.bySlotIssuer.get(HeaderRelay.key(slot, issuer)) ?? []).map((x) => x.bytes);
  }

  /** Did `issuer` sign two headers for `slot`? */
  equivocated(slot: number, issuer: string): boolean {
    return (this.bySlotIssuer.get(HeaderRelay.key(slot, issuer))?.length ?? 0) >= 2;
  }

  offer(slot: number, issuer: string, hash: string, bytes: Uint8Array): RelayVerdict {
    const k = HeaderRelay.key(slot, issuer);
    let e = this.bySlotIssuer.get(k);
    if (e?.some((x) => x.hash === hash)) return { kind: 'duplicate' };
    if (e && e.length >= MAX_HEADERS_PER_SLOT_ISSUER) return { kind: 'over-limit' };
    if (!e) {
      this.bySlotIssuer.set(k, (e = []));
      const ks = this.slotsOf.get(slot);
      if (ks) ks.push(k);
      else this.slotsOf.set(slot, [k]);
    }
    // kept for keepSlots: a copy, not a view into the message buffer it arrived in
    e.push({ hash, bytes: ownBytes(bytes) });
    if (slot > this.newest) this.prune(slot);
    return e.length === 1 ? { kind: 'first' } : { kind: 'equivocation', pair: [e[0].bytes, e[1].bytes] };
  }

  private prune(newest: number): void {
    this.newest = newest;
    const limit = newest - this.keepSlots;
    for (const [slot, keys] of this.slotsOf) {
      if (slot >= limit) continue;
      for (const k of keys) this.bySlotIssuer.delete(k);
      this.slotsOf.delete(slot);
    }
  }
}

type Op = { kind: 'next' } | { kind: 'intersect'; points: Point[] };

export interface ChainSyncServerOptions {
  /** Most RequestNext a client may have outstanding (default 100). */
  maxPipelined?: number;
}

/** Serves our chain to one peer. */
export class ChainSyncServer {
  private readonly mux: Mux;
  private readonly provider: ChainSyncProvider;
  private readonly maxPipelined: number;
  private readonly ops: Op[] = [];
  private cursor: Point = null;
  private pendingRollback: { point: Point } | undefined;
  private awaiting = false;
  private done = false;
  private readonly unsubscribe: () => void;
  private readonly unsubscribeRelay: () => void;
  private readonly detach: () => void;
  private readonly relayQueue: Uint8Array[] = [];

  constructor(peer: MuxCarrier, provider: ChainSyncProvider, opts: ChainSyncServerOptions = {}) {
    this.mux = muxOf(peer);
    this.provider = provider;
    this.maxPipelined = opts.maxPipelined ?? 100;
    const wake = () => {
      if (!this.awaiting || this.done || this.mux.closed) return;
      try {
        this.process();
      } catch (e) {
        this.mux.close(`chainsync: ${errorMessage(e)}`);
      }
    };
    this.unsubscribe = provider.onTipChange(wake);
    this.unsubscribeRelay =
      provider.onRelay?.((h) => {
        if (this.done) return;
        if (this.relayQueue.length >= MAX_RELAY_QUEUE) this.relayQueue.shift();
        this.relayQueue.push(h);
        wake();
      }) ?? (() => {});
    this.detach = this.mux.handle(PROTOCOL.chainSync, 'responder', (m) => this.onMessage(m));
    this.mux.onClose(() => this.stop());
  }

  stop(): void {
    this.done = true;
    this.unsubscribe();
    this.unsubscribeRelay();
    this.detach();
  }

  private onMessage(msg: unknown): void {
    if (this.done) throw new ProtocolError('chainsync: message after Done');
    const [tag, a] = messageTag(msg, 'chainsync');
    if (tag === MSG.requestNext) {
      if (a.length !== 1) throw new ProtocolError('chainsync: malformed RequestNext');
      if (this.ops.length >= this.maxPipelined) throw new ProtocolError(`chainsync: more than ${this.maxPipelined} pipelined requests`);
      this.ops.push({ kind: 'next' });
    } else if (tag === MSG.findIntersect) {
      if (a.length !== 2) throw new ProtocolError('chainsync: malformed FindIntersect');
      const points = expectArray(a[1], 'chainsync FindIntersect points', 0, MAX_INTERSECT_POINTS).map((p) => decodePoint(p));
      if (this.ops.length > 0) throw new ProtocolError('chainsync: FindIntersect while requests are outstanding');
      this.ops.push({ kind: 'intersect', points });
    } else if (tag === MSG.done) {
      if (this.ops.length > 0) throw new ProtocolError('chainsync: Done while requests are outstanding');
      this.done = true; // keep the handler: anything after Done is a violation
      this.unsubscribe();
      this.unsubscribeRelay();
      return;
    } else throw new ProtocolError(`chainsync: unexpected message tag ${tag} from client`);
    if (!this.awaiting) this.process();
  }

  private send(m: unknown[]): void {
    this.mux.send(PROTOCOL.chainSync, 'responder', m);
  }

  private process(): void {
    while (this.ops.length > 0 && !this.done) {
      const op = this.ops[0];
      if (op.kind === 'intersect') {
        const p = this.provider.intersect(op.points);
        const tip = encodeTip(this.provider.tip());
        if (p === undefined) this.send([MSG.intersectNotFound, tip]);
        else {
          this.cursor = p;
          this.pendingRollback = { point: p };
          this.send([MSG.intersectFound, encodePoint(p), tip]);
        }
        this.ops.shift();
        continue;
      }
      if (this.pendingRollback) {
        this.send([MSG.rollBackward, encodePoint(this.pendingRollback.point), encodeTip(this.provider.tip())]);
        this.pendingRollback = undefined;
      } else if (this.relayQueue.length > 0) {
        this.send([MSG.relayHeader, this.relayQueue.shift()!]);
      } else {
        const step = this.provider.next(this.cursor);
        if (step === undefined) {
          if (!this.awaiting) {
            this.awaiting = true;
            this.send([MSG.awaitReply]);
          }
          return;
        }
        if (step.kind === 'forward') this.send([MSG.rollForward, step.header, encodePoint(step.point), encodeTip(this.provider.tip())]);
        else this.send([MSG.rollBackward, encodePoint(step.point), encodeTip(this.provider.tip())]);
        this.cursor = step.point;
      }
      this.awaiting = false;
      this.ops.shift();
    }
  }
}

export interface ChainSyncClientHandlers {
  /** A header the peer adopted; `point` is the peer's claim of the header's point (check it
   *  against the header). Returning a promise delays further requests (back-pressure);
   *  throwing a ProtocolError (e.g. invalid header) drops the peer. */
  rollForward(header: Uint8Array, tip: Tip, point: Point): void | Promise<void>;
  /** The peer switched forks (or, first, the intersection): truncate its candidate chain. */
  rollBackward(point: Point, tip: Tip): void | Promise<void>;
  /** The peer has nothing new: we are at its tip. */
  awaitReply?(): void;
  /** A header the peer relays off its chain (equivocation evidence): validate it, do not follow it. */
  relayHeader?(header: Uint8Array): void | Promise<void>;
}

export interface ChainSyncClientOptions {
  /** RequestNext kept in flight while behind the peer's tip (default 4). */
  pipeline?: number;
  /** Time the server has to answer a request (AwaitReply counts), default 30 s. */
  requestTimeoutMs?: number;
}

/** Follows one peer's chain: `start(knownPoints)`, then callbacks. */
export class ChainSyncClient {
  private readonly mux: Mux;
  private readonly handlers: ChainSyncClientHandlers;
  private readonly pipeline: number;
  private readonly timeoutMs: number;
  private state: 'new' | 'intersecting' | 'following' | 'stopping' | 'done' = 'new';
  /** RequestNext sent whose RollForward/RollBackward has not arrived. */
  private inFlight = 0;
  /** Replies received whose handler has not finished. */
  private unprocessed = 0;
  private headAwaiting = false;
  private atTip = false;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  private intersectWaiter: { resolve: (r: { intersect: Point | undefined; tip: Tip }) => void; reject: (e: Error) => void } | undefined;
  /** The peer's tip as last reported. */
  tip: Tip | undefined;

  constructor(peer: MuxCarrier, handlers: ChainSyncClientHandlers, opts: ChainSyncClientOptions = {}) {
    this.mux = muxOf(peer);
    this.handlers = handlers;
    this.pipeline = Math.max(1, opts.pipeline ?? 4);
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.mux.handle(PROTOCOL.chainSync, 'initiator', (m) => this.onMessage(m));
    this.mux.onClose((reason) => {
      this.state = 'done';
      this.disarm();
      this.intersectWaiter?.reject(new Error(`connection closed: ${reason}`));
      this.intersectWaiter = undefined;
    });
  }

  /** Find the intersection with `knownPoints` (newest first; include null to always
   *  intersect), then follow the peer's chain through the handlers. */
  start(knownPoints: Point[]): Promise<{ intersect: Point | undefined; tip: Tip }> {
    if (this.state !== 'new') return Promise.reject(new Error('ChainSyncClient already started'));
    if (knownPoints.length > MAX_INTERSECT_POINTS) return Promise.reject(new RangeError(`at most ${MAX_INTERSECT_POINTS} points`));
    if (this.mux.closed) return Promise.reject(new Error(`connection closed: ${this.mux.closeReason}`));
    this.state = 'intersecting';
    return new Promise((resolve, reject) => {
      this.intersectWaiter = { resolve, reject };
      this.mux.send(PROTOCOL.chainSync, 'initiator', [MSG.findIntersect, knownPoints.map(encodePoint)]);
      this.arm();
    });
  }

  /** Stop following: no new requests; Done is sent once the outstanding ones are answered. */
  stop(): void {
    if (this.state === 'following') {
      this.state = 'stopping';
      this.topUp();
    }
  }

  private arm(): void {
    this.disarm();
    this.timer = setTimeout(() => this.mux.close(`chainsync: no response within ${this.timeoutMs} ms`), this.timeoutMs);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private onMessage(msg: unknown): void {
    const [tag, a] = messageTag(msg, 'chainsync');
    switch (tag) {
      case MSG.intersectFound:
      case MSG.intersectNotFound: {
        if (this.state !== 'intersecting' || !this.intersectWaiter) throw new ProtocolError('chainsync: unexpected intersect reply');
        const found = tag === MSG.intersectFound;
        if (a.length !== (found ? 3 : 2)) throw new ProtocolError('chainsync: malformed intersect reply');
        const point = found ? decodePoint(a[1]) : undefined;
        const tip = decodeTip(a[found ? 2 : 1]);
        this.tip = tip;
        this.disarm();
        const w = this.intersectWaiter;
        this.intersectWaiter = undefined;
        this.state = 'following';
        this.atTip = found && pointEqual(point!, tip.point);
        w.resolve({ intersect: point, tip });
        this.topUp();
        return;
      }
      case MSG.awaitReply:
        if (a.length !== 1) throw new ProtocolError('chainsync: malformed AwaitReply');
        if (this.inFlight === 0 || this.headAwaiting) throw new ProtocolError('chainsync: unexpected AwaitReply');
        this.headAwaiting = true;
        this.atTip = true;
        this.disarm();
        this.handlers.awaitReply?.();
        return;
      case MSG.rollForward:
      case MSG.rollBackward: {
        if (this.inFlight === 0) throw new ProtocolError('chainsync: reply without a request');
        const forward = tag === MSG.rollForward;
        if (a.length !== (forward ? 4 : 3)) throw new ProtocolError('chainsync: malformed roll message');
        const tip = decodeTip(a[forward ? 3 : 2]);
        const point = decodePoint(a[forward ? 2 : 1]);
        const header = forward ? expectBytes(a[1], 'chainsync header', MAX_HEADER_BYTES) : undefined;
        this.inFlight--;
        this.headAwaiting = false;
        if (this.inFlight > 0) this.arm();
        else this.disarm();
        this.tip = tip;
        this.atTip = pointEqual(point, tip.point);
        this.unprocessed++;
        this.enqueue(() => (header ? this.handlers.rollForward(header, tip, point) : this.handlers.rollBackward(point, tip)));
        return;
      }
      case MSG.relayHeader: {
        if (this.inFlight === 0) throw new ProtocolError('chainsync: reply without a request');
        if (a.length !== 2) throw new ProtocolError('chainsync: malformed RelayHeader');
        const header = expectBytes(a[1], 'chainsync relayed header', MAX_HEADER_BYTES);
        this.inFlight--;
        this.headAwaiting = false;
        if (this.inFlight > 0) this.arm();
        else this.disarm();
        this.unprocessed++;
        this.enqueue(() => this.handlers.relayHeader?.(header));
        return;
      }
      default:
        throw new ProtocolError(`chainsync: unexpected message tag ${tag} from server`);
    }
  }

  private enqueue(f: () => void | Promise<void>): void {
    this.chain = this.chain
      .then(async () => {
        if (this.mux.closed) return;
        await f();
        this.unprocessed--;
        this.topUp();
      })
      .catch((e) => this.mux.close(`chainsync: ${errorMessage(e)}`));
  }

  private topUp(): void {
    if (this.mux.closed) return;
    if (this.state === 'stopping') {
      if (this.inFlight === 0 && this.unprocessed === 0) {
        this.state = 'done';
        this.mux.send(PROTOCOL.chainSync, 'initiator', [MSG.done]);
      }
      return;
    }
    if (this.state !== 'following') return;
    const depth = this.atTip ? 1 : this.pipeline;
    while (this.inFlight + this.unprocessed < depth) {
      this.inFlight++;
      this.mux.send(PROTOCOL.chainSync, 'initiator', [MSG.requestNext]);
      if (this.inFlight === 1) this.arm();
    }
  }
}
