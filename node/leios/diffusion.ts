// Leios diffusion mini-protocols (CIP-164 "Linear Leios"), carried only on connections that
// negotiated node-to-node version 2. Pass `LEIOS_PROTOCOLS` as `extraProtocols` to the
// PeerManager; then, per peer with `peer.hasProtocol(LEIOS_NOTIFY)`, attach the classes below.
//
// LeiosNotify, mini-protocol 16 ('leios-notify', max message 1 MiB). Symmetric push: our
// initiator instance sends, the peer's responder instance receives (and vice versa), so one
// `LeiosNotify` per peer both sends and receives.
//   [0, ebHash(32), slot, ebSizeBytes]   OfferEb  (the sender has this EB and its full closure)
//   [1, [voteBytes, ...]]                Votes    (opaque vote encodings, 1..maxVotesPerMessage)
//
// LeiosFetch, mini-protocol 17 ('leios-fetch', max message 16 MiB: an EB's txs are ≤ 12 MB; the
// mux cuts a message into 64 KiB segments and lets Praos frames pre-empt it between segments).
//   client                                   server
//   [0, ebHash, slot] RequestEb          →   ← [1, ebHash, ebBytes] Eb         | [2, ebHash] NoEb
//   [3, ebHash, slot, [txIndex, ...]]    →   ← [4, ebHash, [txBytes, ...]] EbTxs (in the requested
//     RequestEbTxs (distinct indices)                                 order, all of them) | [2, ebHash] NoEb
// Requests carry the EB's slot so the server serves freshest-first: it queues requests and always
// answers the one with the highest slot next (ties: arrival order), sending with
// `{ priority: priorityFor(slot), slot }` so the mux orders replies by freshness too. Replies may
// therefore come in any order; they are matched by ebHash and kind. The client keeps at most one
// request per ebHash on the wire (a second one for the same hash waits), so matching is exact.
//
// API
//   LEIOS_NOTIFY = 16, LEIOS_FETCH = 17, LEIOS_PROTOCOLS: ProtocolSpec[], EB_HASH_BYTES = 32,
//   MAX_TXS_PER_REQUEST = 16384
//   type PriorityFor = (slot: number) => PriorityClass          (default: always 'leios-fresh')
//
//   new LeiosNotify(peer, { onOffer(hash, slot, size), onVotes(votes) },
//                   { priorityFor?, maxVotesPerMessage? (1000), maxVoteBytes? (4096), maxEbBytes? (16 MiB) })
//     offer(hash, slot, size): boolean      false if the connection is closed
//     sendVotes(votes, slot): boolean       split into messages of ≤ maxVotesPerMessage (and < 1 MiB)
//   Handlers run on arrival; dedupe and validation of offers/votes is the core's job. A handler
//   throwing ProtocolError (e.g. an invalid vote) drops the peer; so does a malformed message.
//
//   new LeiosFetchClient(peer, { priorityFor?, requestTimeoutMs? (30 s), maxInFlight? (32),
//                                maxEbBytes? (16 MiB) })
//     fetchEb(hash, slot): Promise<Uint8Array | undefined>                 undefined = NoEb
//     fetchTxs(hash, slot, indices): Promise<Uint8Array[] | undefined>     txs in `indices` order
//     pending: number                                                      queued + in flight
//   The client only requests (serving is LeiosFetchServer's job). A bad hash, slot or index list
//   throws RangeError synchronously (a caller bug; nothing is sent).
//   Several requests may be outstanding (≤ maxInFlight on the wire, the rest queued locally and
//   sent freshest-first). A request not answered within requestTimeoutMs (counted from the call)
//   rejects without dropping the peer — retry elsewhere; its late reply is discarded (until it
//   arrives, it keeps its place on the wire and a new request for that hash waits). All
//   pending requests reject when the connection closes. Unsolicited or mismatched replies drop
//   the peer.
//
//   interface LeiosFetchProvider { getEb(hash): {bytes, slot} | undefined | Promise<...>;
//                                  getEbTxs(hash, indices): Uint8Array[] | undefined | Promise<...> }
//   new LeiosFetchServer(peer, provider, { priorityFor?, maxQueuedRequests? (64),
//                                          maxTxsPerRequest? (16384), maxQueuedBytes? (256 KiB) })
//     pending: number                       requests received and not yet being served
//   Replies go out with the slot of the request (an Eb reply: the slot `getEb` returns).
//   More than maxQueuedRequests waiting → ProtocolError (the client's maxInFlight stays below).
//   The server waits for its send queue to drain below maxQueuedBytes before serving the next
//   request, so a fresher request arriving meanwhile overtakes older queued ones. A reply that
//   would exceed the protocol's max message size is answered NoEb.

import { toHex } from '../crypto/hash.ts';
import { muxOf, type Mux, type MuxCarrier } from '../network/mux.ts';
import { expectArray, expectBytes, expectUint, messageTag, PROTOCOL, ProtocolError, type PriorityClass, type ProtocolSpec } from '../network/types.ts';

export const LEIOS_NOTIFY = PROTOCOL.leiosBase;
export const LEIOS_FETCH = PROTOCOL.leiosBase + 1;

const NOTIFY_MAX_BYTES = 1024 * 1024;
const FETCH_MAX_BYTES = 16 * 1024 * 1024;

export const LEIOS_PROTOCOLS: ProtocolSpec[] = [
  { id: LEIOS_NOTIFY, name: 'leios-notify', priority: 'leios-fresh', maxMessageBytes: NOTIFY_MAX_BYTES, minVersion: 2 },
  { id: LEIOS_FETCH, name: 'leios-fetch', priority: 'leios-fresh', maxMessageBytes: FETCH_MAX_BYTES, minVersion: 2 },
];

export type PriorityFor = (slot: number) => PriorityClass;
const ALWAYS_FRESH: PriorityFor = () => 'leios-fresh';

export const EB_HASH_BYTES = 32;
/** Most tx indices in one RequestEbTxs: 512 kB of EB references / 32-byte hashes. */
export const MAX_TXS_PER_REQUEST = 16384;

const NOTIFY = { offerEb: 0, votes: 1 } as const;
const FETCH = { requestEb: 0, eb: 1, noEb: 2, requestEbTxs: 3, ebTxs: 4 } as const;

function expectHash(v: unknown, what: string): Uint8Array {
  const h = expectBytes(v, what, EB_HASH_BYTES);
  if (h.length !== EB_HASH_BYTES) throw new ProtocolError(`${what}: expected ${EB_HASH_BYTES} bytes, got ${h.length}`);
  return h;
}

function checkHash(h: Uint8Array): void {
  if (!(h instanceof Uint8Array) || h.length !== EB_HASH_BYTES) throw new RangeError(`EB hash must be ${EB_HASH_BYTES} bytes`);
}

function checkSlot(slot: number): void {
  if (!Number.isSafeInteger(slot) || slot < 0) throw new RangeError(`bad slot ${slot}`);
}

function muxFor(peer: MuxCarrier, id: number, name: string): Mux {
  const mux = muxOf(peer);
  if (!mux.isRegistered(id)) throw new Error(`${name} is not carried by this connection (needs node-to-node version 2)`);
  return mux;
}

// ---------------------------------------------------------------- LeiosNotify

export interface LeiosNotifyHandlers {
  /** The peer has EB `hash` (announced at `slot`, `size` bytes) and its full closure. */
  onOffer(hash: Uint8Array, slot: number, size: number): void;
  /** Vote encodings from the peer, for the core to decode and validate. */
  onVotes(votes: Uint8Array[]): void;
}

export interface LeiosNotifyOptions {
  priorityFor?: PriorityFor;
  /** Most votes in one message, sent or accepted (default 1000). */
  maxVotesPerMessage?: number;
  /** Largest single vote encoding accepted (default 4096). */
  maxVoteBytes?: number;
  /** Largest EB size an offer may announce (default 16 MiB). */
  maxEbBytes?: number;
}

export class LeiosNotify {
  private readonly mux: Mux;
  private readonly handlers: LeiosNotifyHandlers;
  private readonly priorityFor: PriorityFor;
  private readonly maxVotes: number;
  private readonly maxVoteBytes: number;
  private readonly maxEbBytes: number;

  constructor(peer: MuxCarrier, handlers: LeiosNotifyHandlers, opts: LeiosNotifyOptions = {}) {
    this.mux = muxFor(peer, LEIOS_NOTIFY, 'leios-notify');
    this.handlers = handlers;
    this.priorityFor = opts.priorityFor ?? ALWAYS_FRESH;
    this.maxVotes = Math.max(1, opts.maxVotesPerMessage ?? 1000);
    this.maxVoteBytes = opts.maxVoteBytes ?? 4096;
    this.maxEbBytes = opts.maxEbBytes ?? FETCH_MAX_BYTES;
    this.mux.handle(LEIOS_NOTIFY, 'responder', (m) => this.onMessage(m));
  }

  /** Tell the peer we have EB `hash` and its closure. False if the connection is closed. */
  offer(hash: Uint8Array, slot: number, size: number): boolean {
    checkHash(hash);
    checkSlot(slot);
    return this.send([NOTIFY.offerEb, hash, slot, size], slot);
  }

  /** Send vote encodings (for the EB of `slot`, which sets their priority). False if closed. */
  sendVotes(votes: Uint8Array[], slot: number): boolean {
    checkSlot(slot);
    const budget = NOTIFY_MAX_BYTES - 64;
    let batch: Uint8Array[] = [];
    let bytes = 0;
    let ok = true;
    for (const v of votes) {
      if (v.length > this.maxVoteBytes) throw new RangeError(`vote of ${v.length} bytes exceeds ${this.maxVoteBytes}`);
      if (batch.length === this.maxVotes || bytes + v.length + 9 > budget) {
        ok = this.send([NOTIFY.votes, batch], slot) && ok;
        batch = [];
        bytes = 0;
      }
      batch.push(v);
      bytes += v.length + 9;
    }
    if (batch.length > 0) ok = this.send([NOTIFY.votes, batch], slot) && ok;
    return ok;
  }

  private send(msg: unknown[], slot: number): boolean {
    return this.mux.send(LEIOS_NOTIFY, 'initiator', msg, { priority: this.priorityFor(slot), slot });
  }

  private onMessage(msg: unknown): void {
    const [tag, a] = messageTag(msg, 'leios-notify');
    if (tag === NOTIFY.offerEb) {
      if (a.length !== 4) throw new ProtocolError('leios-notify: malformed OfferEb');
      const hash = expectHash(a[1], 'leios-notify OfferEb hash');
      const slot = expectUint(a[2], 'leios-notify OfferEb slot');
      const size = expectUint(a[3], 'leios-notify OfferEb size', this.maxEbBytes);
      this.handlers.onOffer(hash, slot, size);
    } else if (tag === NOTIFY.votes) {
      if (a.length !== 2) throw new ProtocolError('leios-notify: malformed Votes');
      const list = expectArray(a[1], 'leios-notify votes', 1, this.maxVotes);
      const votes = list.map((v) => expectBytes(v, 'leios-notify vote', this.maxVoteBytes));
      this.handlers.onVotes(votes);
    } else throw new ProtocolError(`leios-notify: unexpected message tag ${tag}`);
  }
}

// ---------------------------------------------------------------- LeiosFetch client

export interface LeiosFetchClientOptions {
  priorityFor?: PriorityFor;
  /** Time from the call until the reply must have arrived (default 30 s). */
  requestTimeoutMs?: number;
  /** Requests on the wire at once (default 32; the server refuses more than its queue bound). */
  maxInFlight?: number;
  /** Largest EB accepted (default 16 MiB, the protocol's max message). */
  maxEbBytes?: number;
}

type Kind = 'eb' | 'txs';

interface FetchRequest {
  kind: Kind;
  hash: Uint8Array;
  key: string;
  slot: number;
  indices: number[];
  seq: number;
  /** 'timedOut': rejected while on the wire; its reply is still expected and is discarded. */
  state: 'queued' | 'sent' | 'timedOut' | 'settled';
  timer: NodeJS.Timeout | undefined;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** Fetches EBs and EB transactions from one peer. */
export class LeiosFetchClient {
  private readonly mux: Mux;
  private readonly priorityFor: PriorityFor;
  private readonly timeoutMs: number;
  private readonly maxInFlight: number;
  private readonly maxEbBytes: number;
  private readonly queue: FetchRequest[] = [];
  /** On the wire, by ebHash hex (at most one per hash). */
  private readonly inFlight = new Map<string, FetchRequest>();
  private seq = 0;

  constructor(peer: MuxCarrier, opts: LeiosFetchClientOptions = {}) {
    this.mux = muxFor(peer, LEIOS_FETCH, 'leios-fetch');
    this.priorityFor = opts.priorityFor ?? ALWAYS_FRESH;
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 32);
    this.maxEbBytes = opts.maxEbBytes ?? FETCH_MAX_BYTES;
    this.mux.handle(LEIOS_FETCH, 'initiator', (m) => this.onMessage(m));
    this.mux.onClose((reason) => {
      const err = new Error(`connection closed: ${reason}`);
      for (const r of [...this.queue.splice(0), ...this.inFlight.values()]) this.settle(r, undefined, err);
      this.inFlight.clear();
    });
  }

  /** The EB's bytes, or undefined if the peer does not have it. */
  fetchEb(hash: Uint8Array, slot: number): Promise<Uint8Array | undefined> {
    return this.request('eb', hash, slot, []) as Promise<Uint8Array | undefined>;
  }

  /** The EB's transactions at `indices` (distinct), in that order; undefined if the peer cannot
   *  serve all of them. */
  fetchTxs(hash: Uint8Array, slot: number, indices: number[]): Promise<Uint8Array[] | undefined> {
    if (indices.length === 0) return Promise.resolve([]);
    if (indices.length > MAX_TXS_PER_REQUEST) throw new RangeError(`more than ${MAX_TXS_PER_REQUEST} tx indices in one request`);
    for (const i of indices) if (!Number.isSafeInteger(i) || i < 0) throw new RangeError(`bad tx index ${i}`);
    if (new Set(indices).size !== indices.length) throw new RangeError('tx indices must be distinct');
    return this.request('txs', hash, slot, indices) as Promise<Uint8Array[] | undefined>;
  }

  /** Requests queued locally or awaiting a reply. */
  get pending(): number {
    let n = this.queue.length;
    for (const r of this.inFlight.values()) if (r.state === 'sent') n++;
    return n;
  }

  private request(kind: Kind, hash: Uint8Array, slot: number, indices: number[]): Promise<unknown> {
    checkHash(hash);
    checkSlot(slot);
    if (this.mux.closed) return Promise.reject(new Error(`connection closed: ${this.mux.closeReason}`));
    return new Promise((resolve, reject) => {
      const r: FetchRequest = { kind, hash, key: toHex(hash), slot, indices, seq: this.seq++, state: 'queued', timer: undefined, resolve, reject };
      r.timer = setTimeout(() => this.onTimeout(r), this.timeoutMs);
      this.queue.push(r);
      this.pump();
    });
  }

  /** Put queued requests on the wire, freshest first, one per ebHash. */
  private pump(): void {
    while (this.inFlight.size < this.maxInFlight && !this.mux.closed) {
      let best = -1;
      for (let i = 0; i < this.queue.length; i++) {
        const r = this.queue[i];
        if (this.inFlight.has(r.key)) continue;
        if (best < 0 || r.slot > this.queue[best].slot || (r.slot === this.queue[best].slot && r.seq < this.queue[best].seq)) best = i;
      }
      if (best < 0) return;
      const r = this.queue.splice(best, 1)[0];
      r.state = 'sent';
      this.inFlight.set(r.key, r);
      const msg = r.kind === 'eb' ? [FETCH.requestEb, r.hash, r.slot] : [FETCH.requestEbTxs, r.hash, r.slot, r.indices];
      this.mux.send(LEIOS_FETCH, 'initiator', msg, { priority: this.priorityFor(r.slot), slot: r.slot });
    }
  }

  private onTimeout(r: FetchRequest): void {
    r.timer = undefined;
    const err = new Error(`leios-fetch: no reply from peer within ${this.timeoutMs} ms`);
    if (r.state === 'queued') {
      const i = this.queue.indexOf(r);
      if (i >= 0) this.queue.splice(i, 1);
      this.settle(r, undefined, err);
    } else if (r.state === 'sent') {
      this.settle(r, undefined, err);
      r.state = 'timedOut'; // stays in flight until its reply arrives
    }
  }

  private settle(r: FetchRequest, value: unknown, err?: Error): void {
    if (r.timer) clearTimeout(r.timer);
    r.timer = undefined;
    if (r.state === 'queued' || r.state === 'sent') {
      if (err) r.reject(err);
      else r.resolve(value);
    }
    r.state = 'settled';
  }

  private onMessage(msg: unknown): void {
    const [tag, a] = messageTag(msg, 'leios-fetch');
    let value: unknown;
    let kind: Kind | undefined;
    let hash: Uint8Array;
    if (tag === FETCH.eb) {
      if (a.length !== 3) throw new ProtocolError('leios-fetch: malformed Eb');
      hash = expectHash(a[1], 'leios-fetch Eb hash');
      value = expectBytes(a[2], 'leios-fetch Eb bytes', this.maxEbBytes);
      kind = 'eb';
    } else if (tag === FETCH.ebTxs) {
      if (a.length !== 3) throw new ProtocolError('leios-fetch: malformed EbTxs');
      hash = expectHash(a[1], 'leios-fetch EbTxs hash');
      value = expectArray(a[2], 'leios-fetch EbTxs txs').map((t) => expectBytes(t, 'leios-fetch tx'));
      kind = 'txs';
    } else if (tag === FETCH.noEb) {
      if (a.length !== 2) throw new ProtocolError('leios-fetch: malformed NoEb');
      hash = expectHash(a[1], 'leios-fetch NoEb hash');
      value = undefined;
    } else throw new ProtocolError(`leios-fetch: unexpected message tag ${tag} from server`);
    const key = toHex(hash);
    const r = this.inFlight.get(key);
    if (!r) throw new ProtocolError(`leios-fetch: reply for EB ${key.slice(0, 16)} that was not requested`);
    if (kind !== undefined && kind !== r.kind) throw new ProtocolError(`leios-fetch: ${kind === 'eb' ? 'Eb' : 'EbTxs'} reply to a ${r.kind === 'eb' ? 'RequestEb' : 'RequestEbTxs'}`);
    if (kind === 'txs' && (value as Uint8Array[]).length !== r.indices.length) {
      throw new ProtocolError(`leios-fetch: ${(value as Uint8Array[]).length} txs for ${r.indices.length} requested`);
    }
    this.inFlight.delete(key);
    this.settle(r, value);
    this.pump();
  }
}

// ---------------------------------------------------------------- LeiosFetch server

/** Implemented by the core: EBs (and their txs) we hold with their full closure. */
export interface LeiosFetchProvider {
  getEb(hash: Uint8Array): { bytes: Uint8Array; slot: number } | undefined | Promise<{ bytes: Uint8Array; slot: number } | undefined>;
  /** The txs at `indices`, in that order; undefined if any is unavailable. */
  getEbTxs(hash: Uint8Array, indices: number[]): Uint8Array[] | undefined | Promise<Uint8Array[] | undefined>;
}

export interface LeiosFetchServerOptions {
  priorityFor?: PriorityFor;
  /** Most requests waiting to be served (default 64); more drops the peer. */
  maxQueuedRequests?: number;
  /** Most tx indices in one RequestEbTxs (default 16384: 512 kB of 32-byte references). */
  maxTxsPerRequest?: number;
  /** Send-queue bound before the next request is served (default 256 KiB). */
  maxQueuedBytes?: number;
}

interface ServerRequest {
  kind: Kind;
  hash: Uint8Array;
  slot: number;
  indices: number[];
  seq: number;
}

/** Serves EBs and EB transactions to one peer, freshest (highest slot) first. */
export class LeiosFetchServer {
  private readonly mux: Mux;
  private readonly provider: LeiosFetchProvider;
  private readonly priorityFor: PriorityFor;
  private readonly maxQueued: number;
  private readonly maxTxs: number;
  private readonly maxQueuedBytes: number;
  private readonly queue: ServerRequest[] = [];
  private busy = false;
  private seq = 0;

  constructor(peer: MuxCarrier, provider: LeiosFetchProvider, opts: LeiosFetchServerOptions = {}) {
    this.mux = muxFor(peer, LEIOS_FETCH, 'leios-fetch');
    this.provider = provider;
    this.priorityFor = opts.priorityFor ?? ALWAYS_FRESH;
    this.maxQueued = opts.maxQueuedRequests ?? 64;
    this.maxTxs = opts.maxTxsPerRequest ?? MAX_TXS_PER_REQUEST;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 256 * 1024;
    this.mux.handle(LEIOS_FETCH, 'responder', (m) => this.onMessage(m));
  }

  /** Requests received and not yet being served. */
  get pending(): number {
    return this.queue.length;
  }

  private onMessage(msg: unknown): void {
    const [tag, a] = messageTag(msg, 'leios-fetch');
    let req: ServerRequest;
    if (tag === FETCH.requestEb) {
      if (a.length !== 3) throw new ProtocolError('leios-fetch: malformed RequestEb');
      req = { kind: 'eb', hash: expectHash(a[1], 'leios-fetch RequestEb hash'), slot: expectUint(a[2], 'leios-fetch RequestEb slot'), indices: [], seq: this.seq++ };
    } else if (tag === FETCH.requestEbTxs) {
      if (a.length !== 4) throw new ProtocolError('leios-fetch: malformed RequestEbTxs');
      const hash = expectHash(a[1], 'leios-fetch RequestEbTxs hash');
      const slot = expectUint(a[2], 'leios-fetch RequestEbTxs slot');
      const indices = expectArray(a[3], 'leios-fetch RequestEbTxs indices', 1, this.maxTxs).map((i) => expectUint(i, 'leios-fetch tx index'));
      if (new Set(indices).size !== indices.length) throw new ProtocolError('leios-fetch: duplicate tx indices');
      req = { kind: 'txs', hash, slot, indices, seq: this.seq++ };
    } else throw new ProtocolError(`leios-fetch: unexpected message tag ${tag} from client`);
    if (this.queue.length >= this.maxQueued) throw new ProtocolError(`leios-fetch: more than ${this.maxQueued} queued requests`);
    this.queue.push(req);
    if (!this.busy) {
      this.busy = true;
      // start on the next turn so that requests arriving together are ordered before any is served
      setImmediate(() => this.mux.guard(this.serve(), 'leios-fetch'));
    }
  }

  private take(): ServerRequest {
    let best = 0;
    for (let i = 1; i < this.queue.length; i++) {
      const r = this.queue[i];
      const b = this.queue[best];
      if (r.slot > b.slot || (r.slot === b.slot && r.seq < b.seq)) best = i;
    }
    return this.queue.splice(best, 1)[0];
  }

  private async serve(): Promise<void> {
    try {
      const limit = (this.mux.protocol(LEIOS_FETCH)?.maxMessageBytes ?? FETCH_MAX_BYTES) - 64;
      while (this.queue.length > 0 && !this.mux.closed) {
        const r = this.take();
        let reply: unknown[] = [FETCH.noEb, r.hash];
        let slot = r.slot;
        if (r.kind === 'eb') {
          const eb = await this.provider.getEb(r.hash);
          if (eb !== undefined && eb.bytes.length <= limit) {
            reply = [FETCH.eb, r.hash, eb.bytes];
            slot = eb.slot; // the EB's own slot, not the client's claim, sets the reply's priority
          }
        } else {
          const txs = await this.provider.getEbTxs(r.hash, r.indices);
          if (txs !== undefined && txs.length === r.indices.length) {
            let size = 0;
            for (const t of txs) size += t.length + 9;
            if (size <= limit) reply = [FETCH.ebTxs, r.hash, txs];
          }
        }
        if (this.mux.closed) return;
        this.mux.send(LEIOS_FETCH, 'responder', reply, { priority: this.priorityFor(slot), slot });
        await this.mux.waitForSpace(LEIOS_FETCH, 'responder', this.maxQueuedBytes);
      }
    } finally {
      this.busy = false;
    }
  }
}
