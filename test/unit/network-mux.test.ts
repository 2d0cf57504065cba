import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame, SEGMENT_SIZE } from '../../node/network/frame.ts';
import { Mux, type MuxOptions } from '../../node/network/mux.ts';
import { encodeCbor, ProtocolError, type ProtocolSpec } from '../../node/network/types.ts';

const PRAOS: ProtocolSpec = { id: 2, name: 'praos', priority: 'praos', maxMessageBytes: 64 * 1024 };
const BULK: ProtocolSpec = { id: 3, name: 'bulk', priority: 'praos', maxMessageBytes: 4 * 1024 * 1024 };
const TX: ProtocolSpec = { id: 4, name: 'tx', priority: 'txsub', maxMessageBytes: 4 * 1024 * 1024 };
const LEIOS_A: ProtocolSpec = { id: 16, name: 'leiosA', priority: 'leios-fresh', maxMessageBytes: 4 * 1024 * 1024 };
const LEIOS_B: ProtocolSpec = { id: 17, name: 'leiosB', priority: 'leios-fresh', maxMessageBytes: 4 * 1024 * 1024 };
const STALE: ProtocolSpec = { id: 18, name: 'stale', priority: 'leios-stale', maxMessageBytes: 4 * 1024 * 1024 };
const ALL = [PRAOS, BULK, TX, LEIOS_A, LEIOS_B, STALE];

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

async function socketPair(): Promise<[net.Socket, net.Socket]> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => client.once('connect', r));
  const s = await accepted;
  server.close();
  cleanup.push(() => {
    client.destroy();
    s.destroy();
  });
  return [client, s];
}

async function muxPair(a: MuxOptions = {}, b: MuxOptions = {}): Promise<[Mux, Mux]> {
  const [x, y] = await socketPair();
  const ma = new Mux(x, a);
  const mb = new Mux(y, b);
  for (const p of ALL) {
    ma.register(p);
    mb.register(p);
  }
  cleanup.push(() => {
    ma.close('test end');
    mb.close('test end');
  });
  return [ma, mb];
}

/** A mux on one end, a raw socket on the other. */
async function muxAndRaw(opts: MuxOptions = {}): Promise<[Mux, net.Socket]> {
  const [x, y] = await socketPair();
  const m = new Mux(y, opts);
  for (const p of ALL) m.register(p);
  cleanup.push(() => m.close('test end'));
  return [m, x];
}

function closed(m: Mux): Promise<string> {
  return new Promise((r) => m.onClose(r));
}

function collect(m: Mux, id: number, role: 'initiator' | 'responder', into: unknown[], tag?: string): void {
  m.handle(id, role, (msg) => {
    into.push(tag === undefined ? msg : [tag, msg]);
  });
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('mux', () => {
  it('carries initiator and responder instances of one protocol on one connection', async () => {
    const [a, b] = await muxPair();
    const bResp: unknown[] = [];
    const bInit: unknown[] = [];
    const aInit: unknown[] = [];
    collect(b, PRAOS.id, 'responder', bResp);
    collect(b, PRAOS.id, 'initiator', bInit);
    collect(a, PRAOS.id, 'initiator', aInit);
    a.send(PRAOS.id, 'initiator', ['a-client', 1]);
    a.send(PRAOS.id, 'responder', ['a-server', 2]);
    b.send(PRAOS.id, 'responder', ['b-server', 3]);
    await until(() => bResp.length === 1 && bInit.length === 1 && aInit.length === 1);
    expect(bResp).toEqual([['a-client', 1]]);
    expect(bInit).toEqual([['a-server', 2]]);
    expect(aInit).toEqual([['b-server', 3]]);
  });

  it('segments and reassembles large messages, counting bytes per protocol', async () => {
    const counts: Record<string, number> = {};
    const [a, b] = await muxPair({ onBytes: (p, d, n) => (counts[`${p}/${d}`] = (counts[`${p}/${d}`] ?? 0) + n) }, {
      onBytes: (p, d, n) => (counts[`B:${p}/${d}`] = (counts[`B:${p}/${d}`] ?? 0) + n),
    });
    const got: unknown[] = [];
    collect(b, BULK.id, 'responder', got);
    const big = new Uint8Array(3 * SEGMENT_SIZE + 123).map((_, i) => i & 255);
    a.send(BULK.id, 'initiator', [7, big]);
    await until(() => got.length === 1);
    const [seven, bytes] = got[0] as [number, Uint8Array];
    expect(seven).toBe(7);
    expect(Buffer.from(bytes).equals(Buffer.from(big))).toBe(true);
    expect(counts['bulk/sent']).toBe(counts['B:bulk/received']);
    expect(counts['bulk/sent']).toBeGreaterThan(big.length);
    expect(a.getStats().sent.bulk).toBe(counts['bulk/sent']);
  });

  it('buffers messages that arrive before a handler is attached, in order', async () => {
    const [a, b] = await muxPair();
    for (let i = 0; i < 5; i++) a.send(PRAOS.id, 'initiator', i);
    await until(() => b.getStats().bytesReceived > 0);
    await new Promise((r) => setTimeout(r, 20));
    const got: unknown[] = [];
    collect(b, PRAOS.id, 'responder', got);
    a.send(PRAOS.id, 'initiator', 5);
    await until(() => got.length === 6);
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('lets a small Praos message pre-empt a large low-priority one between segments', async () => {
    // 2 MB/s: one 64 KiB segment takes ~33 ms of wire time; the 1 MiB message takes ~0.5 s.
    const [a, b] = await muxPair({ shape: { latencyMs: 0, loss: 0, down: false, bandwidthBps: 2_000_000 } });
    const order: string[] = [];
    let staleBytesAtPraos = -1;
    b.handle(STALE.id, 'responder', () => void order.push('stale'));
    b.handle(PRAOS.id, 'responder', () => {
      order.push('praos');
      // low-priority bytes the receiver had taken in before the Praos message
      staleBytesAtPraos = b.getStats().received.stale ?? 0;
    });
    a.send(STALE.id, 'initiator', new Uint8Array(1024 * 1024));
    a.send(PRAOS.id, 'initiator', 'header');
    await until(() => order.length === 2);
    expect(order).toEqual(['praos', 'stale']);
    // at most the one segment that was already on the wire went first
    expect(staleBytesAtPraos).toBeLessThanOrEqual(SEGMENT_SIZE + 7);
  });

  it('orders Leios messages: class, then freshest slot first; tx submission before Leios', async () => {
    const [a, b] = await muxPair({ shape: { latencyMs: 0, loss: 0, down: false, bandwidthBps: 1_000_000 } });
    const order: unknown[] = [];
    for (const p of [LEIOS_A, LEIOS_B, STALE, TX, BULK]) b.handle(p.id, 'responder', (m) => void order.push(m));
    // occupy the wire with one segment so everything after it is queued and scheduled
    a.send(BULK.id, 'initiator', new Uint8Array(SEGMENT_SIZE - 16));
    a.send(STALE.id, 'initiator', 'stale-9', { slot: 9 });
    a.send(LEIOS_A.id, 'initiator', 'fresh-3', { slot: 3 });
    a.send(LEIOS_B.id, 'initiator', 'fresh-7', { slot: 7 });
    a.send(LEIOS_A.id, 'initiator', 'fresh-5', { slot: 5 });
    a.send(LEIOS_A.id, 'initiator', 'demoted-8', { slot: 8, priority: 'leios-stale' });
    a.send(TX.id, 'initiator', 'tx');
    await until(() => order.length === 7);
    expect(order.slice(1)).toEqual(['tx', 'fresh-7', 'fresh-5', 'fresh-3', 'stale-9', 'demoted-8']);
  });

  it('delivers frames after the configured latency, in order', async () => {
    const [a, b] = await muxPair({ shape: { latencyMs: 120, loss: 0, down: false } });
    const got: number[] = [];
    const t0 = performance.now();
    let firstAt = 0;
    b.handle(PRAOS.id, 'responder', (m) => {
      if (got.length === 0) firstAt = performance.now() - t0;
      got.push(m as number);
    });
    for (let i = 0; i < 20; i++) a.send(PRAOS.id, 'initiator', i);
    await until(() => got.length === 20);
    expect(got).toEqual([...Array(20).keys()]);
    expect(firstAt).toBeGreaterThanOrEqual(115); // lower bound only
  });

  it('delays lost segments by a retransmission timeout but loses nothing and keeps order', async () => {
    let n = 0;
    const [a, b] = await muxPair({ shape: { latencyMs: 0, loss: 0.5, down: false }, random: () => (n++ % 2 === 0 ? 0 : 0.99) });
    const got: number[] = [];
    const t0 = performance.now();
    let doneAt = 0;
    b.handle(PRAOS.id, 'responder', (m) => {
      got.push(m as number);
      doneAt = performance.now() - t0;
    });
    for (let i = 0; i < 10; i++) a.send(PRAOS.id, 'initiator', i);
    await until(() => got.length === 10);
    expect(got).toEqual([...Array(10).keys()]);
    expect(doneAt).toBeGreaterThanOrEqual(195); // the first frame was "lost": RTO 200 ms
  });

  it('applies shape changes at run time', async () => {
    const [a, b] = await muxPair();
    const got: number[] = [];
    b.handle(PRAOS.id, 'responder', (m) => void got.push(m as number));
    a.setShape({ latencyMs: 80, loss: 0, down: false });
    expect(a.shape.latencyMs).toBe(80);
    const t0 = performance.now();
    a.send(PRAOS.id, 'initiator', 1);
    await until(() => got.length === 1);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(75);
    a.setShape({ latencyMs: 0, loss: 0, down: false });
    a.send(PRAOS.id, 'initiator', 2);
    await until(() => got.length === 2);
    expect(got).toEqual([1, 2]);
  });

  it('waitForSpace resolves as the channel drains', async () => {
    const [a, b] = await muxPair({ shape: { latencyMs: 0, loss: 0, down: false, bandwidthBps: 4_000_000 } });
    let count = 0;
    b.handle(BULK.id, 'responder', () => void count++);
    for (let i = 0; i < 4; i++) a.send(BULK.id, 'initiator', new Uint8Array(100_000));
    expect(a.queuedBytes(BULK.id, 'initiator')).toBeGreaterThan(200_000);
    await a.waitForSpace(BULK.id, 'initiator', 0);
    expect(a.queuedBytes(BULK.id, 'initiator')).toBe(0);
    await until(() => count === 4);
  });
});

describe('mux violations close only that connection', () => {
  const frame = (protocol: number, payload: Uint8Array, last = true, fromResponder = false) => encodeFrame({ protocol, fromResponder, last, payload });

  it('unknown protocol', async () => {
    const [m, raw] = await muxAndRaw();
    const c = closed(m);
    raw.write(frame(99, encodeCbor([0])));
    expect(await c).toMatch(/unknown mini-protocol 99/);
  });

  it('bad header', async () => {
    const [m, raw] = await muxAndRaw();
    const c = closed(m);
    raw.write(new Uint8Array([0, 2, 0xff, 0, 0, 0, 1, 0]));
    expect(await c).toMatch(/bad frame header/);
  });

  it('oversize message (across segments)', async () => {
    const [m, raw] = await muxAndRaw();
    m.handle(PRAOS.id, 'responder', () => {});
    const c = closed(m);
    raw.write(frame(PRAOS.id, new Uint8Array(40_000), false));
    raw.write(frame(PRAOS.id, new Uint8Array(40_000), true));
    expect(await c).toMatch(/praos: message exceeds 65536 bytes/);
  });

  it('CBOR decode error', async () => {
    const [m, raw] = await muxAndRaw();
    m.handle(PRAOS.id, 'responder', () => {});
    const c = closed(m);
    raw.write(frame(PRAOS.id, new Uint8Array([0x5b, 1, 2])));
    expect(await c).toMatch(/CBOR decode error/);
  });

  it('handler throwing ProtocolError, sync or async', async () => {
    const [m, raw] = await muxAndRaw();
    m.handle(PRAOS.id, 'responder', () => {
      throw new ProtocolError('invalid header from peer');
    });
    const c = closed(m);
    raw.write(frame(PRAOS.id, encodeCbor([1])));
    expect(await c).toBe('praos: invalid header from peer');

    const [m2, raw2] = await muxAndRaw();
    m2.handle(PRAOS.id, 'responder', async () => {
      throw new ProtocolError('later');
    });
    const c2 = closed(m2);
    raw2.write(frame(PRAOS.id, encodeCbor([1])));
    expect(await c2).toBe('praos: later');
  });

  it('partial message not completed in time', async () => {
    const [m, raw] = await muxAndRaw({ partialTimeoutMs: 100 });
    m.handle(PRAOS.id, 'responder', () => {});
    const c = closed(m);
    raw.write(frame(PRAOS.id, new Uint8Array([1, 2, 3]), false));
    expect(await c).toMatch(/not completed within 100 ms/);
  });

  it('too much buffered for a protocol nobody handles', async () => {
    const [m, raw] = await muxAndRaw({ maxUnhandledBytes: 1000 });
    const c = closed(m);
    for (let i = 0; i < 20; i++) raw.write(frame(PRAOS.id, encodeCbor(new Uint8Array(100))));
    expect(await c).toMatch(/too many messages/);
  });

  it('judges a header only after the frames before it were dispatched (handshake registers protocols)', async () => {
    const [x, y] = await socketPair();
    const m = new Mux(y);
    cleanup.push(() => m.close('test end'));
    m.register(PRAOS);
    const late: ProtocolSpec = { id: 40, name: 'late', priority: 'praos', maxMessageBytes: 100 };
    const got: unknown[] = [];
    m.handle(PRAOS.id, 'responder', () => {
      m.register(late); // like a handshake registering the negotiated protocols
      m.handle(late.id, 'responder', (msg) => void got.push(msg));
    });
    x.write(Buffer.concat([frame(PRAOS.id, encodeCbor('hello')), frame(late.id, encodeCbor('after'))]));
    await until(() => got.length === 1);
    expect(got).toEqual(['after']);
    expect(m.closed).toBe(false);
  });

  it('rejects an oversize or unknown frame from its header, before the payload arrives', async () => {
    const [m, raw] = await muxAndRaw();
    const c = closed(m);
    const f = frame(PRAOS.id, new Uint8Array(60_000), false);
    raw.write(f.subarray(0, 10)); // header only
    raw.write(frame(PRAOS.id, new Uint8Array(1)).subarray(0, 0));
    const [m2, raw2] = await muxAndRaw();
    const c2 = closed(m2);
    raw2.write(frame(1234, new Uint8Array(1000)).subarray(0, 7));
    expect(await c2).toMatch(/unknown mini-protocol 1234/);
    m.close('not needed');
    expect(await c).toBe('not needed');
  });

  it('send after close is a no-op', async () => {
    const [m] = await muxAndRaw();
    m.close('bye');
    expect(m.send(PRAOS.id, 'initiator', 1)).toBe(false);
    expect(m.closeReason).toBe('bye');
  });
});
