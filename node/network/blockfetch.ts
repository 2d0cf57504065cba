// BlockFetch, mini-protocol 3.
//
//   client                               server
//   [0, [points]] RequestBlocks      →   ← [3, block] Block ... [4] BatchDone   (blocks it has, in order)
//                                        ← [1] NoBlocks                         (it has none of them)
//   [5] ClientDone
// The client serialises its requests per peer; the server streams under back-pressure (it
// waits for the channel's send queue to drain below a bound between blocks).

import { muxOf, type Mux, type MuxCarrier } from './mux.ts';
import { decodePoint, encodePoint, expectArray, expectBytes, messageTag, PROTOCOL, ProtocolError, type Point } from './types.ts';

const MSG = { requestBlocks: 0, noBlocks: 1, block: 3, batchDone: 4, clientDone: 5 } as const;

export interface BlockFetchProvider {
  getBlock(point: Point): Uint8Array | undefined | Promise<Uint8Array | undefined>;
}

export interface BlockFetchServerOptions {
  /** Most points in one request (default 1000). */
  maxPointsPerRequest?: number;
  /** Most requests queued while one is being served (default 8). */
  maxQueuedRequests?: number;
  /** Send-queue bound between blocks (default 1 MiB). */
  maxQueuedBytes?: number;
}

export class BlockFetchServer {
  private readonly mux: Mux;
  private readonly provider: BlockFetchProvider;
  private readonly maxPoints: number;
  private readonly maxQueuedRequests: number;
  private readonly maxQueuedBytes: number;
  private readonly requests: Point[][] = [];
  private busy = false;
  private done = false;

  constructor(peer: MuxCarrier, provider: BlockFetchProvider, opts: BlockFetchServerOptions = {}) {
    this.mux = muxOf(peer);
    this.provider = provider;
    this.maxPoints = opts.maxPointsPerRequest ?? 1000;
    this.maxQueuedRequests = opts.maxQueuedRequests ?? 8;
    this.maxQueuedBytes = opts.maxQueuedBytes ?? 1024 * 1024;
    this.mux.handle(PROTOCOL.blockFetch, 'responder', (m) => this.onMessage(m));
  }

  private onMessage(msg: unknown): void {
    if (this.done) throw new ProtocolError('blockfetch: message after ClientDone');
    const [tag, a] = messageTag(msg, 'blockfetch');
    if (tag === MSG.clientDone) {
      if (a.length !== 1) throw new ProtocolError('blockfetch: malformed ClientDone');
      this.done = true;
      return;
    }
    if (tag !== MSG.requestBlocks || a.length !== 2) throw new ProtocolError(`blockfetch: unexpected message tag ${tag} from client`);
    const points = expectArray(a[1], 'blockfetch points', 1, this.maxPoints).map((p) => decodePoint(p));
    if (this.requests.length >= this.maxQueuedRequests) throw new ProtocolError('blockfetch: too many outstanding requests');
    this.requests.push(points);
    if (!this.busy) this.mux.guard(this.serve(), 'blockfetch');
  }

  private async serve(): Promise<void> {
    this.busy = true;
    try {
      while (this.requests.length > 0 && !this.mux.closed) {
        const points = this.requests.shift()!;
        let sent = 0;
        for (const p of points) {
          const block = await this.provider.getBlock(p);
          if (this.mux.closed) return;
          if (block === undefined) continue;
          this.mux.send(PROTOCOL.blockFetch, 'responder', [MSG.block, block]);
          sent++;
          await this.mux.waitForSpace(PROTOCOL.blockFetch, 'responder', this.maxQueuedBytes);
        }
        this.mux.send(PROTOCOL.blockFetch, 'responder', sent === 0 ? [MSG.noBlocks] : [MSG.batchDone]);
      }
    } finally {
      this.busy = false;
    }
  }
}

export interface BlockFetchClientOptions {
  /** Time for the peer to start answering, and between two blocks (default 30 s). */
  requestTimeoutMs?: number;
  /** Largest block accepted (default: the protocol's max message size). */
  maxBlockBytes?: number;
}

interface Request {
  points: Point[];
  blocks: Uint8Array[];
  resolve: (b: Uint8Array[]) => void;
  reject: (e: Error) => void;
}

export class BlockFetchClient {
  private readonly mux: Mux;
  private readonly timeoutMs: number;
  private readonly maxBlockBytes: number;
  private readonly queue: Request[] = [];
  private current: Request | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(peer: MuxCarrier, opts: BlockFetchClientOptions = {}) {
    this.mux = muxOf(peer);
    this.timeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.maxBlockBytes = opts.maxBlockBytes ?? Infinity;
    this.mux.handle(PROTOCOL.blockFetch, 'initiator', (m) => this.onMessage(m));
    this.mux.onClose((reason) => {
      if (this.timer) clearTimeout(this.timer);
      const err = new Error(`connection closed: ${reason}`);
      for (const r of [this.current, ...this.queue.splice(0)]) r?.reject(err);
      this.current = undefined;
    });
  }

  /** Fetch blocks by point. Resolves with the blocks the peer had, in request order (blocks it
   *  lacks are omitted: match them by hash). Requests are serialised per peer. */
  fetch(points: Point[]): Promise<Uint8Array[]> {
    if (points.length === 0) return Promise.resolve([]);
    if (this.mux.closed) return Promise.reject(new Error(`connection closed: ${this.mux.closeReason}`));
    return new Promise((resolve, reject) => {
      this.queue.push({ points, blocks: [], resolve, reject });
      this.next();
    });
  }

  /** Requests queued or in flight. */
  get pending(): number {
    return this.queue.length + (this.current ? 1 : 0);
  }

  private next(): void {
    if (this.current || this.queue.length === 0 || this.mux.closed) return;
    this.current = this.queue.shift()!;
    this.mux.send(PROTOCOL.blockFetch, 'initiator', [MSG.requestBlocks, this.current.points.map(encodePoint)]);
    this.arm();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.mux.close(`blockfetch: no response within ${this.timeoutMs} ms`), this.timeoutMs);
  }

  private finish(blocks: Uint8Array[]): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const r = this.current!;
    this.current = undefined;
    r.resolve(blocks);
    this.next();
  }

  private onMessage(msg: unknown): void {
    const [tag, a] = messageTag(msg, 'blockfetch');
    const cur = this.current;
    if (!cur) throw new ProtocolError(`blockfetch: message tag ${tag} without a request`);
    if (tag === MSG.block) {
      if (a.length !== 2) throw new ProtocolError('blockfetch: malformed Block');
      cur.blocks.push(expectBytes(a[1], 'blockfetch block', this.maxBlockBytes));
      if (cur.blocks.length > cur.points.length) throw new ProtocolError('blockfetch: more blocks than requested');
      this.arm();
    } else if (tag === MSG.batchDone) {
      if (a.length !== 1 || cur.blocks.length === 0) throw new ProtocolError('blockfetch: unexpected BatchDone');
      this.finish(cur.blocks);
    } else if (tag === MSG.noBlocks) {
      if (a.length !== 1 || cur.blocks.length > 0) throw new ProtocolError('blockfetch: unexpected NoBlocks');
      this.finish([]);
    } else throw new ProtocolError(`blockfetch: unexpected message tag ${tag} from server`);
  }
}
