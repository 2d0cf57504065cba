import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ChainSyncClient, ChainSyncServer, HeaderRelay, MAX_HEADERS_PER_SLOT_ISSUER, type ChainSyncProvider } from '../../node/network/chainsync.ts';
import { Mux } from '../../node/network/mux.ts';
import { protocolsForVersion } from '../../node/network/peers.ts';

const h = (n: number) => new Uint8Array([n, n, n]);

describe('two-header relay rule', () => {
  it('accepts at most two distinct headers per (slot, issuer); the second is equivocation evidence', () => {
    const r = new HeaderRelay();
    expect(MAX_HEADERS_PER_SLOT_ISSUER).toBe(2);
    expect(r.offer(10, 'A', 'h1', h(1))).toEqual({ kind: 'first' });
    expect(r.equivocated(10, 'A')).toBe(false);
    expect(r.offer(10, 'A', 'h1', h(1))).toEqual({ kind: 'duplicate' });
    expect(r.offer(10, 'B', 'h2', h(2))).toEqual({ kind: 'first' }); // another issuer
    expect(r.offer(11, 'A', 'h3', h(3))).toEqual({ kind: 'first' }); // another slot
    expect(r.admit(10, 'A', 'h4')).toBe(true);
    expect(r.offer(10, 'A', 'h4', h(4))).toEqual({ kind: 'equivocation', pair: [h(1), h(4)] });
    expect(r.equivocated(10, 'A')).toBe(true);
    // A third header: not admitted (no validation spent on it), not relayed.
    expect(r.admit(10, 'A', 'h5')).toBe(false);
    expect(r.admit(10, 'A', 'h4')).toBe(true); // a known one is (it is a duplicate)
    expect(r.offer(10, 'A', 'h5', h(5))).toEqual({ kind: 'over-limit' });
    expect(r.offer(10, 'A', 'h4', h(4))).toEqual({ kind: 'duplicate' });
    expect(r.headers(10, 'A')).toEqual([h(1), h(4)]);
  });

  it('forgets slots older than keepSlots behind the newest', () => {
    const r = new HeaderRelay({ keepSlots: 5 });
    r.offer(1, 'A', 'x', h(1));
    r.offer(1, 'A', 'y', h(2));
    expect(r.equivocated(1, 'A')).toBe(true);
    r.offer(7, 'B', 'z', h(3));
    expect(r.equivocated(1, 'A')).toBe(false);
    expect(r.headers(1, 'A')).toEqual([]);
  });
});

describe('ChainSync RelayHeader', () => {
  const cleanup: (() => void)[] = [];
  afterEach(() => {
    for (const c of cleanup.splice(0)) c();
  });

  it('delivers relayed headers to a client at the tip without moving its read pointer', async () => {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => sock.once('connect', () => r()));
    const sMux = new Mux(await accepted);
    const cMux = new Mux(sock);
    for (const spec of protocolsForVersion(2)) (sMux.register(spec), cMux.register(spec));
    cleanup.push(() => (sMux.close('end'), cMux.close('end'), server.close()));

    const relayListeners = new Set<(h: Uint8Array) => void>();
    const provider: ChainSyncProvider = {
      tip: () => ({ point: null, blockNo: 0 }),
      intersect: () => null,
      next: () => undefined, // an empty chain: the client sits at the tip
      onTipChange: () => () => {},
      onRelay: (cb) => (relayListeners.add(cb), () => relayListeners.delete(cb)),
    };
    new ChainSyncServer(sMux, provider);
    const relayed: Uint8Array[] = [];
    let forwards = 0;
    let backwards = 0;
    const client = new ChainSyncClient(cMux, {
      rollForward: () => void forwards++,
      rollBackward: () => void backwards++,
      relayHeader: (x) => void relayed.push(x),
    });
    await client.start([null]);
    await new Promise((r) => setTimeout(r, 50)); // RollBackward to origin, then AwaitReply
    for (const l of relayListeners) (l(h(1)), l(h(2)));
    const t0 = Date.now();
    while (relayed.length < 2 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
    expect(relayed.map((x) => [...x])).toEqual([[1, 1, 1], [2, 2, 2]]);
    expect(forwards).toBe(0);
    expect(backwards).toBe(1); // only the intersection's
    // Still following: one more relay after the burst.
    for (const l of relayListeners) l(h(3));
    while (relayed.length < 3 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 10));
    expect(relayed.length).toBe(3);
    expect(cMux.closed).toBe(false);
  });
});

describe('header-first diffusion (PraosNode.relayFresh)', async () => {
  const { PraosNode } = await import('../../node/consensus/praos-node.ts');
  const { Registry } = await import('prom-client');
  const make = () => {
    const registry = new Registry();
    const p = new PraosNode({ registry, rules: {} as never, emit: () => {}, log: { warn: () => {}, info: () => {} }, poolIdOf: () => 'pool-1' });
    const sent: Uint8Array[] = [];
    p.onRelay((b) => void sent.push(b));
    return { p, sent, registry };
  };
  const hdr = (slot: number) => ({ slot, issuerVkey: new Uint8Array(32).fill(slot & 255) }) as never;

  it('relays the first valid header of a (slot, issuer) at once, never a duplicate nor an old one', async () => {
    const { p, sent, registry } = make();
    const v1 = p.noteValidated(hdr(100), 'aa', h(1), 'peer-a');
    p.relayFresh(hdr(100), h(1), v1, 101, 7);
    expect(sent).toEqual([h(1)]);
    // the same header again (from another peer): no second relay
    const v2 = p.noteValidated(hdr(100), 'aa', h(1), 'peer-b');
    p.relayFresh(hdr(100), h(1), v2, 101, 7);
    expect(sent).toHaveLength(1);
    // a header older than the fresh window (catch-up): validated, not relayed
    const v3 = p.noteValidated(hdr(50), 'bb', h(2), 'peer-a');
    p.relayFresh(hdr(50), h(2), v3, 101, 7);
    expect(sent).toHaveLength(1);
    const m = (await registry.getSingleMetric('leios_rb_headers_pipelined_total')!.get()).values[0].value;
    expect(m).toBe(1);
  });
});
