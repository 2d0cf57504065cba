import { afterEach, describe, expect, it } from 'vitest';
import { hash256, toHex } from '../../node/crypto/hash.ts';
import {
  LEIOS_FETCH,
  LEIOS_NOTIFY,
  LEIOS_PROTOCOLS,
  LeiosFetchClient,
  LeiosFetchServer,
  LeiosNotify,
  type LeiosFetchProvider,
} from '../../node/leios/diffusion.ts';
import { PeerManager, type Peer, type PeerManagerOptions } from '../../node/network/peers.ts';
import { PROTOCOL } from '../../node/network/types.ts';

const MAGIC = 42;
const managers: PeerManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

function manager(name: string, extra: Partial<PeerManagerOptions> = {}): PeerManager {
  const m = new PeerManager({
    name,
    networkMagic: MAGIC,
    versions: [1, 2],
    listen: { host: '127.0.0.1', port: 0 },
    backoff: { minMs: 20, maxMs: 100 },
    handshakeTimeoutMs: 1000,
    keepAlive: false,
    extraProtocols: LEIOS_PROTOCOLS,
    ...extra,
  });
  managers.push(m);
  return m;
}

async function until(cond: () => boolean, what = 'condition', ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not reached`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Two connected nodes; `b` dials `a` (and redials after a drop). */
async function pair(extraA: Partial<PeerManagerOptions> = {}, extraB: Partial<PeerManagerOptions> = {}) {
  const a = manager('a', extraA);
  const b = manager('b', extraB);
  await Promise.all([a.start(), b.start()]);
  const addr = a.address()!;
  b.addPeer({ name: 'a', host: addr.host, port: addr.port });
  await until(() => a.peer('b') !== undefined && b.peer('a') !== undefined, 'connection');
  return { a, b, pa: a.peer('b')!, pb: b.peer('a')! };
}

const ebHash = (n: number) => hash256(new Uint8Array([n, n >> 8]));
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

/** A provider holding `ebs` (hash hex → EB bytes, slot, txs). */
function store(ebs: { hash: Uint8Array; slot: number; bytes: Uint8Array; txs: Uint8Array[] }[]): LeiosFetchProvider {
  const m = new Map(ebs.map((e) => [toHex(e.hash), e]));
  return {
    getEb: (h) => {
      const e = m.get(toHex(h));
      return e && { bytes: e.bytes, slot: e.slot };
    },
    getEbTxs: (h, idx) => {
      const e = m.get(toHex(h));
      if (!e || idx.some((i) => i >= e.txs.length)) return undefined;
      return idx.map((i) => e.txs[i]);
    },
  };
}

describe('protocol registration', () => {
  it('declares leios-notify (16) and leios-fetch (17) for version 2 only', () => {
    expect(LEIOS_NOTIFY).toBe(PROTOCOL.leiosBase);
    expect(LEIOS_FETCH).toBe(PROTOCOL.leiosBase + 1);
    expect(LEIOS_PROTOCOLS).toEqual([
      { id: 16, name: 'leios-notify', priority: 'leios-fresh', maxMessageBytes: 1 << 20, minVersion: 2 },
      { id: 17, name: 'leios-fetch', priority: 'leios-fresh', maxMessageBytes: 16 << 20, minVersion: 2 },
    ]);
  });

  it('a Praos-only (version 1) connection does not carry them', async () => {
    const { pa, pb } = await pair({}, { versions: [1] });
    expect(pa.version).toBe(1);
    for (const p of [pa, pb]) {
      expect(p.hasProtocol(16)).toBe(false);
      expect(p.hasProtocol(17)).toBe(false);
      expect(() => new LeiosNotify(p, { onOffer() {}, onVotes() {} })).toThrow(/version 2/);
      expect(() => new LeiosFetchClient(p)).toThrow(/version 2/);
      expect(() => new LeiosFetchServer(p, store([]))).toThrow(/version 2/);
    }
  });

  it('a version 2 connection carries them', async () => {
    const { pa, pb } = await pair();
    expect(pa.version).toBe(2);
    expect(pa.hasProtocol(16) && pa.hasProtocol(17) && pb.hasProtocol(16) && pb.hasProtocol(17)).toBe(true);
  });
});

describe('LeiosNotify', () => {
  it('carries offers and votes both ways, votes split into bounded messages', async () => {
    const { pa, pb } = await pair();
    const got = { a: [] as unknown[], b: [] as unknown[] };
    const batches: number[] = [];
    const na = new LeiosNotify(pa, { onOffer: (h, s, n) => got.a.push(['offer', toHex(h), s, n]), onVotes: (v) => got.a.push(['votes', v.length]) });
    const nb = new LeiosNotify(pb, {
      onOffer: (h, s, n) => got.b.push(['offer', toHex(h), s, n]),
      onVotes: (v) => {
        batches.push(v.length);
        for (const x of v) got.b.push(x[0] | (x[1] << 8));
      },
    });
    expect(na.offer(ebHash(1), 100, 123_456)).toBe(true);
    expect(nb.offer(ebHash(2), 101, 7)).toBe(true);
    const votes = Array.from({ length: 2500 }, (_, i) => new Uint8Array([i & 255, i >> 8, ...bytes(150, 7)]));
    expect(na.sendVotes(votes, 100)).toBe(true);
    nb.sendVotes([bytes(10, 1)], 101);
    await until(() => got.b.length === 2501 && got.a.length === 2, 'delivery');
    expect(got.b[0]).toEqual(['offer', toHex(ebHash(1)), 100, 123_456]);
    expect(got.b.slice(1)).toEqual(Array.from({ length: 2500 }, (_, i) => i)); // all votes, in order
    expect(batches).toEqual([1000, 1000, 500]);
    expect(got.a).toEqual([['offer', toHex(ebHash(2)), 101, 7], ['votes', 1]]);
  });

  it('refuses to send a bad hash, slot, index list or an oversized vote (caller bug)', async () => {
    const { pa } = await pair();
    const n = new LeiosNotify(pa, { onOffer() {}, onVotes() {} });
    expect(() => n.offer(new Uint8Array(31), 1, 1)).toThrow(RangeError);
    expect(() => n.offer(ebHash(1), -1, 1)).toThrow(RangeError);
    expect(() => n.sendVotes([bytes(5000, 0)], 1)).toThrow(RangeError);
    const c = new LeiosFetchClient(pa);
    expect(() => c.fetchEb(new Uint8Array(33), 1)).toThrow(RangeError);
    expect(() => c.fetchTxs(ebHash(1), 1, [2, 2])).toThrow(/distinct/);
    expect(() => c.fetchTxs(ebHash(1), 1, [-1])).toThrow(RangeError);
    expect(c.pending).toBe(0);
    expect(pa.closed).toBe(false);
  });
});

describe('LeiosFetch', () => {
  const EB1 = { hash: ebHash(1), slot: 10, bytes: bytes(4000, 1), txs: [bytes(300, 0), bytes(301, 1), bytes(302, 2), bytes(303, 3)] };

  it('fetches an EB and a subset of its txs in the requested order; NoEb otherwise', async () => {
    const { pa, pb } = await pair();
    new LeiosFetchServer(pa, store([EB1]));
    const c = new LeiosFetchClient(pb);
    const [eb, txs, missing, missingTxs, badIdx] = await Promise.all([
      c.fetchEb(EB1.hash, 10),
      c.fetchTxs(ebHash(1), 10, [3, 0, 2]),
      c.fetchEb(ebHash(2), 11),
      c.fetchTxs(ebHash(3), 12, [0]),
      c.fetchTxs(ebHash(1), 10, [1, 9]),
    ]);
    expect(eb).toEqual(EB1.bytes);
    expect(txs!.map((t) => t.length)).toEqual([303, 300, 302]);
    expect(txs![0]).toEqual(EB1.txs[3]);
    expect(missing).toBeUndefined();
    expect(missingTxs).toBeUndefined();
    expect(badIdx).toBeUndefined();
    expect(c.pending).toBe(0);
    expect(pa.closed || pb.closed).toBe(false);
  });

  it('carries a 12 MB tx reply (segmented by the mux, within the 16 MiB limit)', async () => {
    const { pa, pb } = await pair();
    const big = { hash: ebHash(9), slot: 5, bytes: bytes(100, 9), txs: Array.from({ length: 8 }, (_, i) => bytes(1_500_000, i)) };
    new LeiosFetchServer(pa, store([big]));
    const c = new LeiosFetchClient(pb);
    const txs = await c.fetchTxs(big.hash, 5, [0, 1, 2, 3, 4, 5, 6, 7]);
    expect(txs!.reduce((s, t) => s + t.length, 0)).toBe(12_000_000);
    expect(txs![7][0]).toBe(7);
    expect(pb.mux.getStats().received['leios-fetch']).toBeGreaterThan(12_000_000);
  });

  it('serves freshest first: requests queued while the server is busy are answered by descending slot', async () => {
    const { pa, pb } = await pair();
    const ebs = [1, 5, 3, 9, 7].map((slot) => ({ hash: ebHash(slot), slot, bytes: bytes(1000, slot), txs: [bytes(50, slot)] }));
    const base = store(ebs);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = false;
    const server = new LeiosFetchServer(pa, {
      getEb: async (h) => {
        if (toHex(h) === toHex(ebHash(1))) {
          started = true;
          await gate; // busy with the oldest EB
        }
        return base.getEb(h);
      },
      getEbTxs: base.getEbTxs,
    });
    const c = new LeiosFetchClient(pb);
    const order: number[] = [];
    const track = (slot: number, p: Promise<unknown>) => p.then((v) => (v !== undefined ? order.push(slot) : undefined));
    const all = [track(1, c.fetchEb(ebHash(1), 1))];
    await until(() => started, 'server busy');
    // mixed kinds, arriving out of slot order
    all.push(track(5, c.fetchEb(ebHash(5), 5)), track(3, c.fetchTxs(ebHash(3), 3, [0])), track(9, c.fetchEb(ebHash(9), 9)), track(7, c.fetchTxs(ebHash(7), 7, [0])));
    await until(() => server.pending === 4, 'requests queued at the server');
    release();
    await Promise.all(all);
    expect(order).toEqual([1, 9, 7, 5, 3]);
  });

  it('the client keeps at most maxInFlight on the wire and sends its local queue freshest first', async () => {
    const { pa, pb } = await pair();
    const ebs = [1, 5, 3, 9].map((slot) => ({ hash: ebHash(slot), slot, bytes: bytes(100, slot), txs: [] }));
    const base = store(ebs);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const server = new LeiosFetchServer(pa, {
      getEb: async (h) => {
        if (toHex(h) === toHex(ebHash(1))) await gate;
        return base.getEb(h);
      },
      getEbTxs: base.getEbTxs,
    });
    const c = new LeiosFetchClient(pb, { maxInFlight: 1 });
    const order: number[] = [];
    const all = [1, 5, 3, 9].map((slot) => c.fetchEb(ebHash(slot), slot).then(() => order.push(slot)));
    expect(c.pending).toBe(4);
    await new Promise((r) => setTimeout(r, 50));
    expect(server.pending).toBe(0); // only the first request reached the server
    release();
    await Promise.all(all);
    expect(order).toEqual([1, 9, 5, 3]);
  });

  it('a request timing out rejects without dropping the peer; its late reply is discarded', async () => {
    const { pa, pb } = await pair();
    const base = store([EB1]);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    new LeiosFetchServer(pa, {
      getEb: async (h) => {
        if (calls++ === 0) await gate;
        return base.getEb(h);
      },
      getEbTxs: base.getEbTxs,
    });
    const c = new LeiosFetchClient(pb, { requestTimeoutMs: 150 });
    await expect(c.fetchEb(EB1.hash, 10)).rejects.toThrow(/no reply/);
    // a retry of the same hash waits for the stale reply to clear the wire, then succeeds
    const retry = c.fetchEb(EB1.hash, 10);
    release();
    expect(await retry).toEqual(EB1.bytes);
    expect(calls).toBe(2);
    expect(pa.closed || pb.closed).toBe(false);
  });

  it('rejects pending requests when the connection closes', async () => {
    const { pa, pb } = await pair();
    new LeiosFetchServer(pa, { getEb: () => new Promise(() => {}), getEbTxs: () => undefined });
    const c = new LeiosFetchClient(pb);
    const p = c.fetchEb(EB1.hash, 10);
    await until(() => c.pending === 1, 'sent');
    pb.close('test');
    await expect(p).rejects.toThrow(/connection closed: test/);
    await expect(c.fetchEb(EB1.hash, 10)).rejects.toThrow(/connection closed/);
  });
});

describe('malformed messages', () => {
  // Each case: who attaches what, then a raw message from the other side; the receiver must
  // drop that one connection with a reason, and the pair reconnects (the process is unharmed).
  type Case = { name: string; proto: number; role: 'initiator' | 'responder'; msg: unknown; reason: RegExp; extra?: (p: Peer) => void };
  const h = () => ebHash(1);
  const cases: Case[] = [
    { name: 'notify: unknown tag', proto: 16, role: 'initiator', msg: [2, [[h(), 1]]], reason: /leios-notify: unexpected message tag 2/ },
    { name: 'notify: short hash', proto: 16, role: 'initiator', msg: [0, new Uint8Array(31), 1, 1], reason: /OfferEb hash: expected 32 bytes/ },
    { name: 'notify: offer with an absurd size', proto: 16, role: 'initiator', msg: [0, h(), 1, 1 << 30], reason: /OfferEb size/ },
    { name: 'notify: not an array', proto: 16, role: 'initiator', msg: 'hello', reason: /leios-notify: expected an array/ },
    { name: 'notify: too many votes', proto: 16, role: 'initiator', msg: [1, Array.from({ length: 1001 }, () => new Uint8Array(1))], reason: /votes: array length 1001/ },
    { name: 'notify: empty votes', proto: 16, role: 'initiator', msg: [1, []], reason: /votes: array length 0/ },
    { name: 'notify: oversized vote', proto: 16, role: 'initiator', msg: [1, [new Uint8Array(5000)]], reason: /vote: byte string of 5000 bytes/ },
    { name: 'notify: vote not bytes', proto: 16, role: 'initiator', msg: [1, [7]], reason: /vote: expected a byte string/ },
    { name: 'fetch server: bad slot', proto: 17, role: 'initiator', msg: [0, h(), -1], reason: /RequestEb slot/ },
    { name: 'fetch server: reply tag from a client', proto: 17, role: 'initiator', msg: [1, h(), new Uint8Array(1)], reason: /unexpected message tag 1 from client/ },
    { name: 'fetch server: duplicate indices', proto: 17, role: 'initiator', msg: [3, h(), 1, [0, 0]], reason: /duplicate tx indices/ },
    { name: 'fetch server: no indices', proto: 17, role: 'initiator', msg: [3, h(), 1, []], reason: /indices: array length 0/ },
    { name: 'fetch client: unsolicited Eb', proto: 17, role: 'responder', msg: [1, h(), new Uint8Array(10)], reason: /not requested/ },
    { name: 'fetch client: request tag from a server', proto: 17, role: 'responder', msg: [0, h(), 1], reason: /unexpected message tag 0 from server/ },
  ];

  it('drop the peer with a reason, and the nodes reconnect', async () => {
    const a = manager('a');
    const b = manager('b');
    // a runs the real protocol instances on every connection; b is the misbehaving side
    const downA: string[] = [];
    a.on('peer-up', (p) => {
      new LeiosNotify(p, { onOffer() {}, onVotes() {} });
      new LeiosFetchServer(p, store([]));
      new LeiosFetchClient(p);
    });
    a.on('peer-down', (_p, why) => downA.push(why));
    await Promise.all([a.start(), b.start()]);
    const addr = a.address()!;
    b.addPeer({ name: 'a', host: addr.host, port: addr.port });
    for (const c of cases) {
      await until(() => a.peer('b') !== undefined && b.peer('a') !== undefined, `connection before ${c.name}`);
      const pb = b.peer('a')!;
      const before = downA.length;
      pb.mux.send(c.proto, c.role, c.msg);
      await until(() => downA.length > before, `drop on ${c.name}`);
      expect(downA[downA.length - 1], c.name).toMatch(c.reason);
    }
    await until(() => a.peer('b') !== undefined, 'final reconnection');
  });

  it('the server drops a client exceeding its request queue bound', async () => {
    const { pa, pb } = await pair();
    const reasons: string[] = [];
    pa.onClose((r) => reasons.push(r));
    new LeiosFetchServer(pa, { getEb: () => new Promise(() => {}), getEbTxs: () => undefined }, { maxQueuedRequests: 4 });
    // bypass the client's in-flight limit: 1 being served + 4 queued + 1 too many
    for (let i = 0; i < 6; i++) pb.mux.send(17, 'initiator', [0, ebHash(i), i]);
    await until(() => reasons.length > 0, 'drop');
    expect(reasons[0]).toMatch(/more than 4 queued requests/);
  });

  it('a reply of the wrong kind or size drops the serving peer', async () => {
    const { pa, pb } = await pair();
    const reasons: string[] = [];
    pb.onClose((r) => reasons.push(r));
    const c = new LeiosFetchClient(pb);
    const p = c.fetchTxs(ebHash(1), 1, [0, 1]);
    // a hand-written server answering with one tx for two indices
    pa.mux.handle(17, 'responder', () => void pa.mux.send(17, 'responder', [4, ebHash(1), [new Uint8Array(3)]]));
    await expect(p).rejects.toThrow(/1 txs for 2 requested/);
    expect(reasons[0]).toMatch(/1 txs for 2 requested/);
  });
});
