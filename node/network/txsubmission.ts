// TxSubmission, mini-protocol 4 (pull, like Cardano's TxSubmission2). The *server* is the side
// that receives transactions and drives the exchange; the *client* offers them.
//
//   client → [0, wantResults]                     Init (client ready; wantResults = send TxResults)
//   server → [1, blocking, ack, req]              RequestTxIds
//   client → [2, [[txId, sizeBytes], ...]]        ReplyTxIds (blocking ⇒ non-empty)
//   server → [3, [txId, ...]]                     RequestTxs (ids announced, not yet acknowledged)
//   client → [4, [txBytes, ...]]                  ReplyTxs (may omit txs it no longer has)
//   client → [5]                                  Done (instead of a reply to a blocking request)
//   server → [6, [[txId, reason | null], ...]]    TxResults (our extension: the verdict per tx)
//
// The server keeps at most `window` (default 100) ids unacknowledged per peer. Ids are resolved
// (already known, or fetched and submitted) before they are acknowledged in the next request.
// A blocking request may only be sent when nothing is left unacknowledged, and has no timeout;
// every other request must be answered within `requestTimeoutMs` (default 30 s).

import { toHex } from '../crypto/hash.ts';
import { muxOf, type Mux, type MuxCarrier } from './mux.ts';
import {
  expectArray,
  expectBool,
  expectBytes,
  expectString,
  expectUint,
  MAX_HASH_BYTES,
  messageTag,
  PROTOCOL,
  ProtocolError,
} from './types.ts';

const MSG = { init: 0, requestTxIds: 1, replyTxIds: 2, requestTxs: 3, replyTxs: 4, done: 5, txResults: 6 } as const;

export const DEFAULT_TX_WINDOW = 100;
const MAX_REASON_CHARS = 1024;

export interface TxIdAndSize {
  id: Uint8Array;
  size: number;
}

export interface TxResult {
  id: Uint8Array;
  /** Reject reason, or null = accepted. */
  reason: string | null;
}

/** Offering side (mempool reader of a node, or the tx-generator). */
export interface TxSource {
  /** Up to `max` ids not offered before. `blocking`: wait until at least one exists; returning
   *  [] to a blocking request means "no more, ever" (Done is sent). */
  nextTxIds(max: number, blocking: boolean): TxIdAndSize[] | Promise<TxIdAndSize[]>;
  /** The txs for ids offered earlier, in that order; omit those no longer available. */
  getTxs(ids: Uint8Array[]): Uint8Array[] | Promise<Uint8Array[]>;
  /** The receiving node's verdicts (only if provided: it asks the server to send them). */
  onResults?(results: TxResult[]): void;
  /** Ids the server acknowledged (hex, in offer order): it will not ask for them any more, so
   *  what was offered and not fetched (the node knew the tx already) can be let go. */
  onAcknowledged?(idHexes: string[]): void;
}

/** Receiving side (a node's mempool). */
export interface TxSink {
  /** The id of a tx, as the offering side computes it (e.g. hash of its body). */
  txId(tx: Uint8Array): Uint8Array;
  /** Already have it (in the mempool or the ledger): do not fetch. */
  known(id: Uint8Array): boolean;
  /** Validate and add; one reject reason (or null = accepted) per tx, in order. */
  submit(txs: Uint8Array[]): (string | null)[] | Promise<(string | null)[]>;
}

export interface TxSubmissionServerOptions {
  /** Max unacknowledged ids per peer (default 100). */
  window?: number;
  /** Largest tx size a peer may announce (default 64 KiB). */
  maxTxBytes?: number;
  /** Announced bytes per RequestTxs (default 1 MiB). */
  maxBatchBytes?: number;
  requestTimeoutMs?: number;
}

export interface TxSubmissionStats {
  announced: number;
  fetched: number;
  accepted: number;
  rejected: number;
}

type Waiter = { kind: 'ids' | 'txs'; resolve: (v: unknown[]) => void; reject: (e: Error) => void };

/** Pulls transactions from one peer into the sink. */
export class TxSubmissionServer {
  private readonly mux: Mux;
  private readonly sink: TxSink;
  private readonly window: number;
  private readonly maxTxBytes: number;
  private readonly maxBatchBytes: number;
  private readonly timeoutMs: number;
  private waiter: Waiter | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private wantResults = false;
  /** The client said Done, or the connection closed. */
  private finished = false;
  readonly stats: TxSubmissionStats = { announced: 0, fetched: 0, accepted: 0, rejected: 0 };

  constructor(peer: MuxCarrier, sink: TxSink, opts: TxSubmissionServerOptions = {}) {
    this.mux = muxOf(peer);
    this.sink = sink;
    this.window = opts.window ?? DEFAULT_TX_WINDOW;
    this.maxTxBytes = opts.maxTxBytes ?? 64 * 1024;
    this.maxBatchBytes = opts.maxBatchBytes ?? 1024 * 1024;
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.mux.handle(PROTOCOL.txSubmission, 'responder', (m) => this.onMessage(m));
    this.mux.onClose((reason) => {
      this.finished = true;
      if (this.timer) clearTimeout(this.timer);
      this.waiter?.reject(new Error(`connection closed: ${reason}`));
      this.waiter = undefined;
    });
  }

  private onMessage(msg: unknown): void {
    const [tag, a] = messageTag(msg, 'txsubmission');
    if (tag === MSG.init) {
      if (this.started || a.length !== 2) throw new ProtocolError('txsubmission: unexpected Init');
      this.started = true;
      this.wantResults = expectBool(a[1], 'txsubmission wantResults');
      this.mux.guard(this.run(), 'txsubmission');
      return;
    }
    const w = this.waiter;
    if (tag === MSG.done) {
      if (!w || w.kind !== 'ids' || !this.blockingOutstanding || a.length !== 1) throw new ProtocolError('txsubmission: unexpected Done');
      this.waiter = undefined;
      this.finished = true;
      w.resolve([]);
      return;
    }
    if (tag === MSG.replyTxIds || tag === MSG.replyTxs) {
      const kind = tag === MSG.replyTxIds ? 'ids' : 'txs';
      if (!w || w.kind !== kind || a.length !== 2) throw new ProtocolError(`txsubmission: unexpected ${kind} reply`);
      if (this.timer) clearTimeout(this.timer);
      this.timer = undefined;
      this.waiter = undefined;
      w.resolve(expectArray(a[1], `txsubmission ${kind}`));
      return;
    }
    throw new ProtocolError(`txsubmission: unexpected message tag ${tag} from client`);
  }

  private blockingOutstanding = false;

  private request(kind: 'ids' | 'txs', msg: unknown[], timed: boolean): Promise<unknown[]> {
    return new Promise((resolve, reject) => {
      this.waiter = { kind, resolve, reject };
      if (timed) this.timer = setTimeout(() => this.mux.close(`txsubmission: no response within ${this.timeoutMs} ms`), this.timeoutMs);
      this.mux.send(PROTOCOL.txSubmission, 'responder', msg);
    });
  }

  private async run(): Promise<void> {
    let ack = 0;
    while (!this.finished && !this.mux.closed) {
      // Everything announced so far is resolved, so the next request is blocking.
      this.blockingOutstanding = true;
      const raw = await this.request('ids', [MSG.requestTxIds, true, ack, this.window], false);
      this.blockingOutstanding = false;
      if (this.finished) return;
      if (raw.length === 0) throw new ProtocolError('txsubmission: empty reply to a blocking request');
      if (raw.length > this.window) throw new ProtocolError('txsubmission: more ids than requested');
      const announced = new Map<string, { id: Uint8Array; size: number }>();
      for (const e of raw) {
        const pair = expectArray(e, 'txsubmission id/size', 2, 2);
        const id = expectBytes(pair[0], 'txsubmission txId', MAX_HASH_BYTES);
        const size = expectUint(pair[1], 'txsubmission size', this.maxTxBytes);
        announced.set(toHex(id), { id, size });
      }
      this.stats.announced += raw.length;
      ack = raw.length;
      const wanted = [...announced.values()].filter((t) => !this.sink.known(t.id));
      // fetch in batches bounded by announced bytes
      let i = 0;
      while (i < wanted.length) {
        const batch: { id: Uint8Array; size: number }[] = [];
        let bytes = 0;
        while (i < wanted.length && (batch.length === 0 || bytes + wanted[i].size <= this.maxBatchBytes)) {
          bytes += wanted[i].size;
          batch.push(wanted[i++]);
        }
        await this.fetchAndSubmit(batch);
        if (this.mux.closed) return;
      }
    }
  }

  private async fetchAndSubmit(batch: { id: Uint8Array; size: number }[]): Promise<void> {
    const requested = new Map(batch.map((t) => [toHex(t.id), t]));
    const raw = await this.request('txs', [MSG.requestTxs, batch.map((t) => t.id)], true);
    if (raw.length > batch.length) throw new ProtocolError('txsubmission: more txs than requested');
    const txs: Uint8Array[] = [];
    const ids: Uint8Array[] = [];
    for (const r of raw) {
      const tx = expectBytes(r, 'txsubmission tx', this.maxTxBytes);
      const id = this.sink.txId(tx);
      const key = toHex(id);
      const req = requested.get(key);
      if (!req) throw new ProtocolError(`txsubmission: tx ${key} was not requested`);
      if (tx.length > req.size) throw new ProtocolError(`txsubmission: tx ${key} larger than announced (${tx.length} > ${req.size})`);
      requested.delete(key);
      txs.push(tx);
      ids.push(id);
    }
    this.stats.fetched += txs.length;
    if (txs.length === 0) return;
    const verdicts = await this.sink.submit(txs);
    if (verdicts.length !== txs.length) throw new Error('TxSink.submit returned a wrong number of verdicts');
    for (const v of verdicts) if (v === null) this.stats.accepted++;
    else this.stats.rejected++;
    if (this.wantResults && !this.mux.closed) {
      this.mux.send(PROTOCOL.txSubmission, 'responder', [MSG.txResults, ids.map((id, k) => [id, verdicts[k]])]);
    }
  }
}

export interface TxSubmissionClientOptions {
  /** Largest window a server may ask for (default 100). */
  maxWindow?: number;
}

/** Offers our transactions to one peer. Sends Init at construction. */
export class TxSubmissionClient {
  private readonly mux: Mux;
  private readonly source: TxSource;
  private readonly maxWindow: number;
  private readonly unacked: string[] = [];
  private readonly unackedSet = new Set<string>();
  private busy = false;
  private done = false;

  constructor(peer: MuxCarrier, source: TxSource, opts: TxSubmissionClientOptions = {}) {
    this.mux = muxOf(peer);
    this.source = source;
    this.maxWindow = opts.maxWindow ?? DEFAULT_TX_WINDOW;
    this.mux.handle(PROTOCOL.txSubmission, 'initiator', (m) => this.onMessage(m));
    this.mux.send(PROTOCOL.txSubmission, 'initiator', [MSG.init, source.onResults !== undefined]);
  }

  /** Ids offered and not yet acknowledged by the server. */
  get outstanding(): number {
    return this.unacked.length;
  }

  private onMessage(msg: unknown): void | Promise<void> {
    const [tag, a] = messageTag(msg, 'txsubmission');
    if (tag === MSG.txResults) {
      if (a.length !== 2) throw new ProtocolError('txsubmission: malformed TxResults');
      const results = expectArray(a[1], 'txsubmission results').map((e): TxResult => {
        const pair = expectArray(e, 'txsubmission result', 2, 2);
        const id = expectBytes(pair[0], 'txsubmission result id', MAX_HASH_BYTES);
        const reason = pair[1] === null ? null : expectString(pair[1], 'txsubmission reason', MAX_REASON_CHARS);
        return { id, reason };
      });
      this.source.onResults?.(results);
      return;
    }
    if (this.done) throw new ProtocolError('txsubmission: request after Done');
    if (this.busy) throw new ProtocolError('txsubmission: request while the previous one is unanswered');
    if (tag === MSG.requestTxIds) {
      if (a.length !== 4) throw new ProtocolError('txsubmission: malformed RequestTxIds');
      const blocking = expectBool(a[1], 'txsubmission blocking');
      const ack = expectUint(a[2], 'txsubmission ack', 0xffff);
      const req = expectUint(a[3], 'txsubmission req', 0xffff);
      if (ack > this.unacked.length) throw new ProtocolError('txsubmission: acknowledged more ids than offered');
      const acked = this.unacked.splice(0, ack);
      for (const k of acked) this.unackedSet.delete(k);
      if (acked.length > 0) this.source.onAcknowledged?.(acked);
      if (blocking && this.unacked.length > 0) throw new ProtocolError('txsubmission: blocking request with ids unacknowledged');
      if (blocking && req === 0) throw new ProtocolError('txsubmission: blocking request for 0 ids');
      if (this.unacked.length + req > this.maxWindow) throw new ProtocolError('txsubmission: request exceeds the window');
      return this.replyIds(blocking, req);
    }
    if (tag === MSG.requestTxs) {
      if (a.length !== 2) throw new ProtocolError('txsubmission: malformed RequestTxs');
      const ids = expectArray(a[1], 'txsubmission ids', 1, this.maxWindow).map((v) => expectBytes(v, 'txsubmission txId', MAX_HASH_BYTES));
      for (const id of ids) if (!this.unackedSet.has(toHex(id))) throw new ProtocolError('txsubmission: requested a tx that was not offered');
      return this.replyTxs(ids);
    }
    throw new ProtocolError(`txsubmission: unexpected message tag ${tag} from server`);
  }

  private async replyIds(blocking: boolean, req: number): Promise<void> {
    this.busy = true;
    try {
      const got = (await this.source.nextTxIds(req, blocking)).slice(0, req);
      if (this.mux.closed) return;
      if (blocking && got.length === 0) {
        this.done = true;
        this.mux.send(PROTOCOL.txSubmission, 'initiator', [MSG.done]);
        return;
      }
      for (const t of got) {
        const k = toHex(t.id);
        this.unacked.push(k);
        this.unackedSet.add(k);
      }
      this.mux.send(PROTOCOL.txSubmission, 'initiator', [MSG.replyTxIds, got.map((t) => [t.id, t.size])]);
    } finally {
      this.busy = false;
    }
  }

  private async replyTxs(ids: Uint8Array[]): Promise<void> {
    this.busy = true;
    try {
      const txs = await this.source.getTxs(ids);
      if (!this.mux.closed) this.mux.send(PROTOCOL.txSubmission, 'initiator', [MSG.replyTxs, txs]);
    } finally {
      this.busy = false;
    }
  }
}
