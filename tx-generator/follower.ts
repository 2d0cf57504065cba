import { decodeBlock } from '../node/chain/block.ts';
import { decodeHeader } from '../node/chain/block.ts';
import { hash256, toHex } from '../node/crypto/hash.ts';
import { tryDecodeTx } from '../node/ledger/index.ts';
import { decodeEb } from '../node/leios/eb.ts';
import { LEIOS_FETCH, LeiosFetchClient } from '../node/leios/diffusion.ts';
import { toChainTx, type ChainTx } from './chain-tx.ts';
import { BlockFetchClient, ChainSyncClient, pointEqual, type Peer, type Point, type Tip } from '../node/network/index.ts';

// Follows one node's adopted chain over ChainSync (headers) + BlockFetch (bodies) on the
// generator's own connection, and reports every block in chain order with its decoded txs,
// and every rollback (newest block first). Survives reconnects: `attach(peer)` again with a
// new connection and it re-intersects with the blocks it already has.
//
// Leios: a certified RB puts the txs of the EB its parent announced on the chain. On a
// node-to-node version 2 connection the follower fetches that EB and its txs over LeiosFetch
// and reports them as the certified block's txs. If the node does not serve them, the block is
// reported without them (`ebUnresolved`) and counted.
//
// Every tx is reduced to a ChainTx (id, input keys, outputs to `address`) as soon as it is
// decoded, and an EB's txs are fetched EB_TX_SLICE at a time: the follower never holds a whole
// certified EB's tx bytes, so its memory does not step up with the largest EB of a run.

/** EB txs asked for per LeiosFetch request (a 12 MB EB is ~12k txs; 256 is ~250 kB at a time). */
export const EB_TX_SLICE = 256;

export interface FollowedBlock {
  key: string;
  hash: Uint8Array;
  slot: number;
  blockNo: number;
  /** when it was processed (ms since epoch) */
  timeMs: number;
  txs: ChainTx[];
  /** txs in the body that did not decode (never ours) */
  undecodable: number;
  /** the EB this RB announces (Leios) */
  ebAnnounce: { hash: Uint8Array; slot: number } | null;
  /** carries a certificate: `txs` are the txs of the EB the parent announced */
  certified: boolean;
  /** certified, but the EB's txs could not be fetched: `txs` is incomplete */
  ebUnresolved: boolean;
}

export interface FollowerHandlers {
  onBlock(b: FollowedBlock): void;
  onRollback(b: FollowedBlock): void;
}

export interface FollowerOptions {
  /** whose outputs each ChainTx keeps (the generator's address) */
  address: Uint8Array;
  /** blocks kept for rollbacks and re-intersection (default 4096) */
  keep?: number;
  /** LeiosFetch request timeout (default 10 s); after one timeout the connection is not asked again */
  ebTimeoutMs?: number;
  /** EB txs per LeiosFetch request (default EB_TX_SLICE) */
  ebSlice?: number;
  now?: () => number;
  log?: (level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>) => void;
}

export class ChainFollower {
  private readonly handlers: FollowerHandlers;
  private readonly keep: number;
  private readonly now: () => number;
  private readonly log: NonNullable<FollowerOptions['log']>;
  /** our copy of the followed chain's recent blocks, oldest first */
  private readonly chain: FollowedBlock[] = [];
  /** blockNo of chain[0] minus 1 when blocks were trimmed (0 = we have the chain from origin) */
  private client: ChainSyncClient | undefined;
  private fetcher: BlockFetchClient | undefined;
  private ebFetcher: LeiosFetchClient | undefined;
  private readonly ebTimeoutMs: number;
  private readonly address: Uint8Array;
  private readonly ebSlice: number;
  /** EB txs already resolved, by EB hash (an EB may be certified on two forks) */
  private readonly ebCache = new Map<string, ChainTx[]>();
  unresolvedEbs = 0;
  resolvedEbs = 0;
  private probe: Promise<void> = Promise.resolve();
  private peerTip: Tip | undefined;
  private syncWaiters: (() => void)[] = [];
  private changeWaiters: (() => void)[] = [];
  private caughtUp = false;
  blocksSeen = 0;
  rollbacks = 0;

  constructor(handlers: FollowerHandlers, opts: FollowerOptions) {
    this.handlers = handlers;
    this.address = opts.address;
    this.ebSlice = opts.ebSlice ?? EB_TX_SLICE;
    this.keep = opts.keep ?? 4096;
    this.ebTimeoutMs = opts.ebTimeoutMs ?? 10_000;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
  }

  /** Our tip (the latest processed block). */
  get tip(): FollowedBlock | undefined {
    return this.chain[this.chain.length - 1];
  }

  get tipBlockNo(): number {
    return this.tip?.blockNo ?? 0;
  }

  /** Whether we have caught up with the peer's tip at least once since the last attach. */
  get synced(): boolean {
    return this.caughtUp;
  }

  /** Blocks on top of and including `blockNo` (1 = it is the tip). */
  depth(blockNo: number): number {
    return this.tipBlockNo - blockNo + 1;
  }

  /** The block at `blockNo` on our copy of the chain, if kept. */
  atBlockNo(blockNo: number): FollowedBlock | undefined {
    const first = this.chain[0];
    if (!first) return undefined;
    return this.chain[blockNo - first.blockNo];
  }

  /** Start following over a (new) connection. */
  attach(peer: Peer): Promise<void> {
    this.caughtUp = false;
    this.fetcher = new BlockFetchClient(peer, { maxBlockBytes: 8 << 20, requestTimeoutMs: 30_000 });
    const fetcher = this.fetcher;
    this.ebFetcher = undefined;
    this.probe = peer.hasProtocol(LEIOS_FETCH) ? this.probeLeiosFetch(peer) : Promise.resolve();
    const client = new ChainSyncClient(
      peer,
      {
        rollForward: (header, tip, point) => this.rollForward(fetcher, header, tip, point),
        rollBackward: (point, tip) => this.rollBackward(point, tip),
        awaitReply: () => this.checkSynced(),
      },
      { pipeline: 8, requestTimeoutMs: 24 * 3600_000 },
    );
    this.client = client;
    // newest first, sparse further back, then origin
    const pts: Point[] = [];
    for (let i = this.chain.length - 1, step = 1; i >= 0 && pts.length < 60; i -= step, step = pts.length > 10 ? step * 2 : 1) {
      const b = this.chain[i];
      pts.push({ slot: b.slot, hash: b.hash });
    }
    pts.push(null);
    return client.start(pts).then(({ tip }) => {
      this.peerTip = tip;
    });
  }

  /** Whether certified EBs' txs can be fetched on the current connection (after the probe). */
  async ebSupport(): Promise<boolean> {
    await this.probe;
    return this.ebFetcher !== undefined;
  }

  /** Resolves once we have caught up with the peer's tip (after attach). */
  waitSynced(): Promise<void> {
    if (this.caughtUp) return Promise.resolve();
    return new Promise((r) => this.syncWaiters.push(r));
  }

  /** Resolves at the next block or rollback. */
  waitChange(): Promise<void> {
    return new Promise((r) => this.changeWaiters.push(r));
  }

  stop(): void {
    this.client?.stop();
    this.wake();
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private wake(): void {
    for (const w of this.changeWaiters.splice(0)) w();
  }

  private checkSynced(): void {
    if (this.caughtUp) return;
    const t = this.peerTip ?? this.client?.tip;
    const ours = this.tip;
    const atTip = !t || t.point === null ? true : !!ours && pointEqual(t.point, { slot: ours.slot, hash: ours.hash });
    if (!atTip) return;
    this.caughtUp = true;
    for (const w of this.syncWaiters.splice(0)) w();
  }

  private async rollForward(fetcher: BlockFetchClient, headerBytes: Uint8Array, tip: Tip, point: Point): Promise<void> {
    this.peerTip = tip;
    const hash = hash256(headerBytes);
    const h = decodeHeader(headerBytes);
    const p = { slot: h.slot, hash };
    if (point && !pointEqual(point, p)) throw new Error('chainsync: RollForward point does not match its header');
    let bytes: Uint8Array | undefined;
    for (let attempt = 0; attempt < 5 && !bytes; attempt++) {
      const got = await fetcher.fetch([p]);
      bytes = got[0];
      if (!bytes) await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
    const key = toHex(hash);
    let txs: ChainTx[] = [];
    let undecodable = 0;
    if (bytes) {
      const b = decodeBlock(bytes);
      if (toHex(b.hash) !== key) throw new Error('blockfetch: block does not match the header');
      for (const t of b.body.txs) {
        const r = tryDecodeTx(t);
        if (r.ok) txs.push(toChainTx(r.tx, this.address));
        else undecodable++;
      }
    } else {
      this.log('warn', 'block body not available from the followed node; counted without txs', { block: key.slice(0, 16), slot: h.slot });
    }
    const tipNow = this.tip;
    if (tipNow && h.blockNo !== tipNow.blockNo + 1) this.log('warn', 'followed chain skipped a block number', { have: tipNow.blockNo, got: h.blockNo });
    let ebUnresolved = false;
    if (h.certified) {
      const ann = tipNow && h.prevHash && toHex(h.prevHash) === tipNow.key ? tipNow.ebAnnounce : null;
      const ebTxs = ann ? await this.resolveEb(ann.hash, ann.slot) : undefined;
      if (ebTxs) txs = [...ebTxs, ...txs];
      else {
        ebUnresolved = true;
        this.unresolvedEbs++;
      }
    }
    const ebAnnounce = h.ebAnnounce ? { hash: h.ebAnnounce.hash, slot: h.slot } : null;
    const fb: FollowedBlock = { key, hash, slot: h.slot, blockNo: h.blockNo, timeMs: this.now(), txs, undecodable, ebAnnounce, certified: h.certified, ebUnresolved };
    this.chain.push(fb);
    if (this.chain.length > this.keep) this.chain.shift();
    this.blocksSeen++;
    this.handlers.onBlock(fb);
    this.wake();
    if (point && tip.point && pointEqual(point, tip.point)) this.checkSynced();
  }

  /**
   * Does the node answer LeiosFetch on this connection? Ask for an EB nobody has: a serving
   * node says NoEb at once; one that does not serve tx generators never answers.
   */
  private async probeLeiosFetch(peer: Peer): Promise<void> {
    const client = new LeiosFetchClient(peer, { requestTimeoutMs: this.ebTimeoutMs, maxInFlight: 4 });
    let timer: NodeJS.Timeout | undefined;
    const answered = client.fetchEb(new Uint8Array(32), 0).then(
      () => true,
      () => false,
    );
    const quick = await Promise.race([answered, new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), 3000)))]);
    clearTimeout(timer);
    if (quick === true && !peer.closed) this.ebFetcher = client;
    if (quick !== 'late') return;
    this.log('info', 'the followed node does not answer LeiosFetch (it may not serve tx generators): txs of certified EBs would not be seen');
    // a slow node may still answer: use it then (without holding up the caller)
    void answered.then((ok) => {
      if (ok && !peer.closed) this.ebFetcher = client;
    });
  }

  /** The txs of an EB, in EB order, over LeiosFetch; undefined when not available. */
  private async resolveEb(hash: Uint8Array, slot: number): Promise<ChainTx[] | undefined> {
    const key = toHex(hash);
    const cached = this.ebCache.get(key);
    if (cached) return cached;
    const f = this.ebFetcher;
    if (!f) {
      if (this.unresolvedEbs === 0) this.log('warn', 'certified EB on the followed chain but the node does not serve LeiosFetch on this connection: its txs are not seen');
      return undefined;
    }
    try {
      const ebBytes = await f.fetchEb(hash, slot);
      if (!ebBytes) return undefined;
      const eb = decodeEb(ebBytes);
      if (toHex(eb.hash) !== key) throw new Error('EB does not match its hash');
      const refs = eb.eb.txs.map((t) => toHex(t.id));
      const out: ChainTx[] = [];
      for (let i = 0; i < refs.length; i += this.ebSlice) {
        const idx = Array.from({ length: Math.min(this.ebSlice, refs.length - i) }, (_, k) => i + k);
        const got = await f.fetchTxs(hash, slot, idx);
        if (!got || got.length !== idx.length) return undefined;
        for (let k = 0; k < got.length; k++) {
          const r = tryDecodeTx(got[k]);
          if (!r.ok || r.tx.idHex !== refs[i + k]) throw new Error(`EB tx ${i + k} does not match its reference`);
          out.push(toChainTx(r.tx, this.address));
        }
      }
      this.ebCache.set(key, out);
      // a few: an EB certified on two forks is resolved once; 64 full closures (~100 MB) were kept before
      if (this.ebCache.size > 4) this.ebCache.delete(this.ebCache.keys().next().value!);
      this.resolvedEbs++;
      return out;
    } catch (e) {
      const msg = (e as Error).message;
      this.log('warn', 'could not fetch a certified EB from the followed node; its txs are not seen', { eb: key.slice(0, 16), error: msg });
      // a node that does not serve LeiosFetch to us would time out every time
      if (/no reply/.test(msg)) this.ebFetcher = undefined;
      return undefined;
    }
  }

  private rollBackward(point: Point, tip: Tip): void {
    this.peerTip = tip;
    let popped = 0;
    for (;;) {
      const top = this.tip;
      if (!top) break;
      if (point && top.slot === point.slot && toHex(point.hash) === top.key) break;
      this.chain.pop();
      popped++;
      this.handlers.onRollback(top);
    }
    if (popped > 0) {
      this.rollbacks++;
      this.log('info', 'rollback', { blocks: popped, to: point ? point.slot : 'origin' });
      this.wake();
    }
    if (tip.point === null || (point && tip.point && pointEqual(point, tip.point))) this.checkSynced();
  }
}
