import { afterEach, describe, expect, it } from 'vitest';
import { hash256, toHex } from '../../node/crypto/hash.ts';
import { Outbox } from '../../tx-generator/outbox.ts';
import {
  BlockFetchClient,
  BlockFetchServer,
  ChainSyncClient,
  ChainSyncServer,
  connectPeer,
  decodeCbor,
  encodeCbor,
  PeerManager,
  pointEqual,
  PROTOCOL,
  ProtocolError,
  TxSubmissionClient,
  TxSubmissionServer,
  type BlockFetchProvider,
  type ChainSyncProvider,
  type ChainSyncStep,
  type Peer,
  type PeerManagerOptions,
  type Point,
  type Tip,
  type TxIdAndSize,
  type TxResult,
  type TxSink,
  type TxSource,
} from '../../node/network/index.ts';

const MAGIC = 9;

// ------------------------------------------------------------------ an in-memory chain

interface Blk {
  slot: number;
  hash: Uint8Array;
  prev: string | null;
  blockNo: number;
  header: Uint8Array;
  body: Uint8Array;
}

const pt = (b: Blk): Point => ({ slot: b.slot, hash: b.hash });

class MemChain implements ChainSyncProvider, BlockFetchProvider {
  readonly all = new Map<string, Blk>();
  chain: Blk[] = [];
  private readonly listeners = new Set<() => void>();

  extend(n: number, salt = 'main', bodyBytes = 200): void {
    for (let i = 0; i < n; i++) {
      const prev = this.chain.at(-1);
      const slot = (prev?.slot ?? 0) + 1 + (i % 3);
      const blockNo = (prev?.blockNo ?? -1) + 1;
      const header = encodeCbor([slot, prev ? prev.hash : null, blockNo, salt]);
      const hash = hash256(header);
      const b: Blk = { slot, hash, prev: prev ? toHex(prev.hash) : null, blockNo, header, body: encodeCbor([header, new Uint8Array(bodyBytes).fill(blockNo & 255)]) };
      this.all.set(toHex(hash), b);
      this.chain.push(b);
    }
    this.notify();
  }

  /** Switch to a fork: drop `rollback` blocks, add `n` new ones. */
  fork(rollback: number, n: number, salt: string): void {
    this.chain = this.chain.slice(0, this.chain.length - rollback);
    this.extend(n, salt);
  }

  points(): Point[] {
    return this.chain.map(pt);
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private index(p: Point): number {
    if (p === null) return -1;
    const b = this.all.get(toHex(p.hash));
    if (!b) return -2;
    return this.chain[b.blockNo] === b ? b.blockNo : -2;
  }

  tip(): Tip {
    const last = this.chain.at(-1);
    return last ? { point: pt(last), blockNo: last.blockNo } : { point: null, blockNo: 0 };
  }

  intersect(points: Point[]): Point | undefined {
    for (const p of points) if (p === null || this.index(p) >= 0) return p;
    return undefined;
  }

  next(after: Point): ChainSyncStep | undefined {
    const i = this.index(after);
    if (i >= -1) {
      const b = this.chain[i + 1];
      return b ? { kind: 'forward', header: b.header, point: pt(b) } : undefined;
    }
    // `after` left our chain: walk back to the fork point
    let b = this.all.get(toHex(after!.hash));
    while (b && this.index(pt(b)) < 0) b = b.prev ? this.all.get(b.prev) : undefined;
    return { kind: 'backward', point: b ? pt(b) : null };
  }

  onTipChange(cb: () => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  getBlock(p: Point): Uint8Array | undefined {
    return p === null ? undefined : this.all.get(toHex(p.hash))?.body;
  }
}

/** What a core would keep per upstream peer: its candidate chain. */
class Follower {
  candidate: Point[] = [];
  backwards: Point[] = [];
  handlers = {
    rollForward: (header: Uint8Array, _tip: Tip, point: Point) => {
      const [slot] = decodeCbor(header) as [number];
      const hash = hash256(header);
      if (!pointEqual(point, { slot, hash })) throw new ProtocolError('header does not match its point');
      this.candidate.push(point);
    },
    rollBackward: (point: Point) => {
      this.backwards.push(point);
      if (point === null) this.candidate = [];
      else {
        const i = this.candidate.findIndex((c) => pointEqual(c, point));
        if (i < 0) throw new ProtocolError('rollback to an unknown point');
        this.candidate = this.candidate.slice(0, i + 1);
      }
    },
  };
}

// ------------------------------------------------------------------ harness

const managers: PeerManager[] = [];
const peers: Peer[] = [];
afterEach(async () => {
  for (const p of peers.splice(0)) p.close('test end');
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

async function until(cond: () => boolean, ms = 8000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not reached`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function manager(name: string, onUp: (p: Peer) => void, extra: Partial<PeerManagerOptions> = {}): PeerManager {
  const m = new PeerManager({ name, networkMagic: MAGIC, versions: [1, 2], listen: { host: '127.0.0.1', port: 0 }, backoff: { minMs: 30, maxMs: 200 }, ...extra });
  m.on('peer-up', onUp);
  managers.push(m);
  return m;
}

/** Two nodes, each serving its own chain and following the other's. */
async function twoNodes(chainA: MemChain, chainB: MemChain, pipeline = 4) {
  const fa = new Follower();
  const fb = new Follower();
  const clients: Record<string, ChainSyncClient> = {};
  const fetchers: Record<string, BlockFetchClient> = {};
  const wire = (self: string, chain: MemChain, f: Follower) => (peer: Peer) => {
    new ChainSyncServer(peer, chain);
    new BlockFetchServer(peer, chain);
    clients[self] = new ChainSyncClient(peer, f.handlers, { pipeline });
    fetchers[self] = new BlockFetchClient(peer);
  };
  const a = manager('a', wire('a', chainA, fa));
  const b = manager('b', wire('b', chainB, fb));
  await Promise.all([a.start(), b.start()]);
  b.addPeer({ name: 'a', ...a.address()! });
  await until(() => clients.a !== undefined && clients.b !== undefined);
  return { a, b, fa, fb, clients, fetchers };
}

// ------------------------------------------------------------------ tests

describe('chain sync', () => {
  it('syncs, follows new blocks, and rolls back on a fork switch (duplex on one connection)', async () => {
    const chainA = new MemChain();
    chainA.extend(30);
    const chainB = new MemChain();
    const { fa, fb, clients } = await twoNodes(chainA, chainB);
    const r = await clients.b.start([null]);
    expect(r.intersect).toBeNull();
    expect(r.tip.blockNo).toBe(29);
    await clients.a.start([null]); // a follows b's empty chain: AwaitReply
    await until(() => fb.candidate.length === 30, 8000, 'initial sync');
    expect(fb.candidate).toEqual(chainA.points());
    expect(fb.backwards).toEqual([null]); // the intersection

    chainA.extend(5);
    await until(() => fb.candidate.length === 35, 8000, 'follow');
    expect(fb.candidate).toEqual(chainA.points());

    const forkPoint = chainA.points()[31];
    chainA.fork(3, 6, 'fork');
    await until(() => fb.candidate.length === 38 && pointEqual(fb.candidate[37], chainA.points()[37]), 8000, 'fork switch');
    expect(fb.candidate).toEqual(chainA.points());
    expect(fb.backwards.at(-1)).toEqual(forkPoint);

    // the other direction of the same connection
    chainB.extend(3);
    await until(() => fa.candidate.length === 3);
    expect(fa.candidate).toEqual(chainB.points());
    expect(clients.b.tip?.blockNo).toBe(37);
  });

  it('intersects at the newest known point and rolls back to it first', async () => {
    const chainA = new MemChain();
    chainA.extend(20);
    const { fb, clients } = await twoNodes(chainA, new MemChain());
    const known = chainA.points().slice(0, 10);
    fb.candidate = [...known];
    const bogus: Point = { slot: 9, hash: new Uint8Array(32).fill(1) };
    const r = await clients.b.start([bogus, ...known.slice().reverse()]);
    expect(r.intersect).toEqual(known[9]);
    await until(() => fb.candidate.length === 20);
    expect(fb.backwards[0]).toEqual(known[9]);
    expect(fb.candidate).toEqual(chainA.points());
  });

  it('reports IntersectNotFound', async () => {
    const chainA = new MemChain();
    chainA.extend(3);
    const { clients } = await twoNodes(chainA, new MemChain());
    const r = await clients.b.start([{ slot: 1, hash: new Uint8Array(32) }]);
    expect(r.intersect).toBeUndefined();
    expect(r.tip.blockNo).toBe(2);
  });

  it('keeps order with pipelining and a slow (async) consumer', async () => {
    const chainA = new MemChain();
    chainA.extend(60);
    const f = new Follower();
    let inHandler = 0;
    let maxConcurrent = 0;
    const slow = {
      rollForward: async (h: Uint8Array, t: Tip, p: Point) => {
        inHandler++;
        maxConcurrent = Math.max(maxConcurrent, inHandler);
        await new Promise((r) => setTimeout(r, 1));
        f.handlers.rollForward(h, t, p);
        inHandler--;
      },
      rollBackward: f.handlers.rollBackward,
    };
    const a = manager('a', (peer) => void new ChainSyncServer(peer, chainA));
    await a.start();
    const peer = await connectPeer(a.address()!, { name: 'client', networkMagic: MAGIC, versions: [1] });
    peers.push(peer);
    const c = new ChainSyncClient(peer, slow, { pipeline: 8 });
    await c.start([null]);
    await until(() => f.candidate.length === 60);
    expect(f.candidate).toEqual(chainA.points());
    expect(maxConcurrent).toBe(1);
  });

  it('drops a client that breaks the protocol, and a server whose header is invalid', async () => {
    const chainA = new MemChain();
    chainA.extend(2);
    const downs: string[] = [];
    const a = manager('a', (peer) => void new ChainSyncServer(peer, chainA));
    a.on('peer-down', (_p, why) => downs.push(why));
    await a.start();
    const peer = await connectPeer(a.address()!, { name: 'bad', networkMagic: MAGIC, versions: [1] });
    peer.mux.send(PROTOCOL.chainSync, 'initiator', [2, new Uint8Array(3), [], [[], 0]]); // RollForward from a client
    await until(() => downs.length === 1);
    expect(downs[0]).toMatch(/chainsync: unexpected message tag 2 from client/);

    // a follower rejecting a header (ProtocolError from the core) drops the serving peer
    const peer2 = await connectPeer(a.address()!, { name: 'picky', networkMagic: MAGIC, versions: [1] });
    const c = new ChainSyncClient(peer2, {
      rollForward: () => {
        throw new ProtocolError('bad header');
      },
      rollBackward: () => {},
    });
    await c.start([]);
    const why = await new Promise<string>((r) => peer2.onClose(r));
    expect(why).toBe('chainsync: bad header');
  });
});

describe('block fetch', () => {
  it('fetches blocks it has, in order, omits missing ones, and streams multi-segment blocks', async () => {
    const chainA = new MemChain();
    chainA.extend(5);
    chainA.extend(1, 'big', 1_500_000);
    const { fetchers } = await twoNodes(chainA, new MemChain());
    const ps = chainA.points();
    const missing: Point = { slot: 3, hash: new Uint8Array(32).fill(9) };
    const got = await fetchers.b.fetch([ps[0], missing, ps[2]]);
    expect(got.map((g) => toHex(g))).toEqual([toHex(chainA.chain[0].body), toHex(chainA.chain[2].body)]);
    expect(await fetchers.b.fetch([missing])).toEqual([]);
    const [big] = await fetchers.b.fetch([ps[5]]);
    expect(big.length).toBe(chainA.chain[5].body.length);
    expect(toHex(hash256(big))).toBe(toHex(hash256(chainA.chain[5].body)));
    // concurrent calls are serialised and resolve with their own blocks
    const all = await Promise.all(ps.map((p) => fetchers.b.fetch([p])));
    expect(all.map((x) => toHex(x[0]))).toEqual(chainA.chain.map((b) => toHex(b.body)));
  });

  it('drops a peer that does not answer in time', async () => {
    const a = manager('a', () => {}); // serves nothing
    await a.start();
    const peer = await connectPeer(a.address()!, { name: 'c', networkMagic: MAGIC, versions: [1] });
    const bf = new BlockFetchClient(peer, { requestTimeoutMs: 150 });
    await expect(bf.fetch([{ slot: 1, hash: new Uint8Array(32) }])).rejects.toThrow(/blockfetch: no response within 150 ms/);
    expect(peer.closed).toBe(true);
  });
});

// ------------------------------------------------------------------ tx submission

function makeTx(i: number): Uint8Array {
  const size = 150 + ((i * 37) % 300);
  const tx = new Uint8Array(size);
  tx[0] = i % 256;
  tx[1] = (i >> 8) & 255;
  for (let k = 2; k < size; k++) tx[k] = (i * 31 + k) & 255;
  return tx;
}

class Generator implements TxSource {
  readonly txs = new Map<string, Uint8Array>();
  private readonly queue: TxIdAndSize[] = [];
  private wake: (() => void) | undefined;
  readonly results: TxResult[] = [];
  maxAsked = 0;

  add(txs: Uint8Array[]): void {
    for (const tx of txs) {
      const id = hash256(tx);
      this.txs.set(toHex(id), tx);
      this.queue.push({ id, size: tx.length });
    }
    this.wake?.();
  }

  async nextTxIds(max: number, blocking: boolean): Promise<TxIdAndSize[]> {
    this.maxAsked = Math.max(this.maxAsked, max);
    while (blocking && this.queue.length === 0) await new Promise<void>((r) => (this.wake = r));
    return this.queue.splice(0, max);
  }

  getTxs(ids: Uint8Array[]): Uint8Array[] {
    return ids.map((id) => this.txs.get(toHex(id))!).filter(Boolean);
  }

  onResults(results: TxResult[]): void {
    this.results.push(...results);
  }
}

class Mempool implements TxSink {
  readonly ids = new Set<string>();
  submitted = 0;
  txId(tx: Uint8Array): Uint8Array {
    return hash256(tx);
  }
  known(id: Uint8Array): boolean {
    return this.ids.has(toHex(id));
  }
  async submit(txs: Uint8Array[]): Promise<(string | null)[]> {
    this.submitted += txs.length;
    return txs.map((tx) => {
      if (tx[0] % 5 === 0) return 'bad tx';
      this.ids.add(toHex(hash256(tx)));
      return null;
    });
  }
}

describe('tx submission', () => {
  it('pulls txs from a tx-generator client, reports verdicts, respects the window, skips known txs', async () => {
    const pool = new Mempool();
    const servers: TxSubmissionServer[] = [];
    const a = manager('node', (peer) => void servers.push(new TxSubmissionServer(peer, pool)));
    await a.start();
    const gen = new Generator();
    const preKnown = [makeTx(1), makeTx(2)];
    for (const tx of preKnown) pool.ids.add(toHex(hash256(tx)));
    gen.add(Array.from({ length: 150 }, (_, i) => makeTx(i)));
    const peer = await connectPeer(a.address()!, { name: 'txgen-1', networkMagic: MAGIC, versions: [1, 2] });
    peers.push(peer);
    new TxSubmissionClient(peer, gen);
    await until(() => gen.results.length === 148, 8000, 'first wave');
    // second wave after the client has been blocking on an empty queue
    await new Promise((r) => setTimeout(r, 50));
    gen.add(Array.from({ length: 100 }, (_, i) => makeTx(150 + i)));
    await until(() => gen.results.length === 248, 8000, 'second wave');

    expect(gen.maxAsked).toBeLessThanOrEqual(100);
    expect(pool.submitted).toBe(248); // the two known txs were never fetched
    const byId = new Map(gen.results.map((r) => [toHex(r.id), r.reason]));
    for (let i = 0; i < 250; i++) {
      const id = toHex(hash256(makeTx(i)));
      if (i === 1 || i === 2) expect(byId.has(id)).toBe(false);
      else expect(byId.get(id)).toBe(i % 5 === 0 ? 'bad tx' : null);
    }
    expect(servers[0].stats).toMatchObject({ announced: 250, fetched: 248, rejected: 50, accepted: 198 });
  });

  it("the tx-generator's outbox lets go of what the node acknowledged without fetching (it knew the tx)", async () => {
    const pool = new Mempool();
    const a = manager('node', (peer) => void new TxSubmissionServer(peer, pool));
    await a.start();
    const txs = Array.from({ length: 120 }, (_, i) => makeTx(1000 + i));
    // a third of them reached the node from elsewhere first: announced, acknowledged, never fetched
    for (const tx of txs.filter((_, i) => i % 3 === 0)) pool.ids.add(toHex(hash256(tx)));
    const results: string[] = [];
    const box = new Outbox('pool-1', { onVerdicts: (r) => results.push(...r.map((x) => x.idHex)) });
    for (const tx of txs) box.push(hash256(tx), tx);
    const peer = await connectPeer(a.address()!, { name: 'txgen-ack', networkMagic: MAGIC, versions: [1, 2] });
    peers.push(peer);
    new TxSubmissionClient(peer, box);
    await until(() => results.length === 80 && box.inFlight === 0, 8000, 'all fetched or acknowledged');
    expect(pool.submitted).toBe(80);
    expect(box.delivered).toBe(80);
    expect(box.backlog).toBe(0);
    // nothing of the 40 known txs is held any more, and a reconnect offers none of them again
    expect(box.requeueOffered()).toBe(0);
  });

  it('node to node: both directions on one connection, without results', async () => {
    const poolA = new Mempool();
    const poolB = new Mempool();
    const genA = new Generator();
    const genB = new Generator();
    // without onResults the client does not ask for verdicts
    const plain = (g: Generator): TxSource => ({ nextTxIds: (m, b) => g.nextTxIds(m, b), getTxs: (ids) => g.getTxs(ids) });
    const a = manager('a', (peer) => {
      new TxSubmissionServer(peer, poolA);
      new TxSubmissionClient(peer, plain(genA));
    });
    const b = manager('b', (peer) => {
      new TxSubmissionServer(peer, poolB);
      new TxSubmissionClient(peer, plain(genB));
    });
    await Promise.all([a.start(), b.start()]);
    a.addPeer({ name: 'b', ...b.address()! });
    genA.add([makeTx(1000), makeTx(1001), makeTx(1003)]);
    genB.add([makeTx(2001), makeTx(2002)]);
    await until(() => poolB.submitted === 3 && poolA.submitted === 2);
    expect(genA.results).toEqual([]);
  });

  it('drops a client that sends a tx that was not requested', async () => {
    const a = manager('node', (peer) => void new TxSubmissionServer(peer, new Mempool()));
    const downs: string[] = [];
    a.on('peer-down', (_p, why) => downs.push(why));
    await a.start();
    const peer = await connectPeer(a.address()!, { name: 'liar', networkMagic: MAGIC, versions: [1] });
    const gen = new Generator();
    gen.add([makeTx(7)]);
    new TxSubmissionClient(peer, { nextTxIds: (m, b) => gen.nextTxIds(m, b), getTxs: () => [makeTx(8)] });
    const why = await new Promise<string>((r) => peer.onClose(r));
    expect(why).toMatch(/connection closed/);
    await until(() => downs.length === 1);
    expect(downs[0]).toMatch(/txsubmission: tx [0-9a-f]+ was not requested/);
  });
});
