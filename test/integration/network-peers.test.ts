import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeFrame } from '../../node/network/frame.ts';
import { connectPeer, HandshakeError, PeerManager, type PeerManagerOptions } from '../../node/network/index.ts';
import { encodeCbor, type ProtocolSpec } from '../../node/network/types.ts';

const MAGIC = 42;
const ECHO: ProtocolSpec = { id: 16, name: 'echo', priority: 'leios-fresh', maxMessageBytes: 1 << 20, minVersion: 1 };
const LEIOS_ONLY: ProtocolSpec = { id: 17, name: 'leios-x', priority: 'leios-fresh', maxMessageBytes: 1 << 20, minVersion: 2 };

const managers: PeerManager[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

function manager(name: string, extra: Partial<PeerManagerOptions> = {}): PeerManager {
  const m = new PeerManager({
    name,
    networkMagic: MAGIC,
    versions: [1, 2],
    listen: { host: '127.0.0.1', port: 0 },
    backoff: { minMs: 30, maxMs: 200 },
    handshakeTimeoutMs: 1000,
    extraProtocols: [ECHO, LEIOS_ONLY],
    ...extra,
  });
  managers.push(m);
  return m;
}

function cfg(name: string, m: PeerManager) {
  const a = m.address()!;
  return { name, host: a.host, port: a.port };
}

async function until(cond: () => boolean, ms = 8000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not reached`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function events(m: PeerManager) {
  const log: string[] = [];
  m.on('peer-up', (p) => log.push(`up:${p.name}`));
  m.on('peer-down', (p, why) => log.push(`down:${p.name}:${why}`));
  return log;
}

describe('handshake', () => {
  it('a Praos-only release [1] and a Leios release [1,2] agree on 1; two Leios releases on 2', async () => {
    const leios = manager('leios');
    const praos = manager('praos', { versions: [1] });
    const leios2 = manager('leios2');
    await Promise.all([leios.start(), praos.start(), leios2.start()]);
    praos.addPeer(cfg('leios', leios));
    leios2.addPeer(cfg('leios', leios));
    await until(() => leios.connectedPeers().length === 2 && praos.peer('leios') !== undefined && leios2.peer('leios') !== undefined);
    expect(leios.peer('praos')!.version).toBe(1);
    expect(praos.peer('leios')!.version).toBe(1);
    expect(leios.peer('leios2')!.version).toBe(2);
    expect(leios2.peer('leios')!.version).toBe(2);
    // Leios-only mini-protocols exist only on version 2 connections
    expect(leios.peer('praos')!.hasProtocol(LEIOS_ONLY.id)).toBe(false);
    expect(leios.peer('leios2')!.hasProtocol(LEIOS_ONLY.id)).toBe(true);
  });

  it('refuses a network magic mismatch and a version mismatch with a reason', async () => {
    const n = manager('n1');
    await n.start();
    const a = n.address()!;
    await expect(connectPeer(a, { name: 'x', networkMagic: 7, versions: [1] })).rejects.toThrow(/refused by peer: network magic mismatch/);
    await expect(connectPeer(a, { name: 'x', networkMagic: MAGIC, versions: [3] })).rejects.toThrow(/no common version/);
    await expect(connectPeer(a, { name: 'n1', networkMagic: MAGIC, versions: [1] })).rejects.toThrow(HandshakeError);
    expect(n.connectedPeers()).toHaveLength(0);
  });

  it('accepts an unconfigured client (tx-generator) with the default shape', async () => {
    const n = manager('n1', { defaultShape: { latencyMs: 5, loss: 0, down: false } });
    const ev = events(n);
    await n.start();
    const client = await connectPeer(n.address()!, { name: 'txgen-1', networkMagic: MAGIC, versions: [1, 2] });
    expect(client.name).toBe('n1');
    expect(client.version).toBe(2);
    await until(() => ev.includes('up:txgen-1'));
    const info = n.peers().find((p) => p.name === 'txgen-1')!;
    expect(info).toMatchObject({ connected: true, direction: 'inbound', version: 2, configured: false });
    expect(info.shape.latencyMs).toBe(5);
    client.close('done');
    await until(() => ev.some((e) => e.startsWith('down:txgen-1')));
  });

  it('times out a silent connection', async () => {
    const n = manager('n1', { handshakeTimeoutMs: 200 });
    await n.start();
    const s = net.connect(n.address()!.port, '127.0.0.1');
    sockets.push(s);
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    await closed; // the node hung up on us
    expect(n.connectedPeers()).toHaveLength(0);
  });
});

describe('peer manager', () => {
  it('keeps exactly one connection per pair under simultaneous dial (dialled by the smaller name)', async () => {
    for (let round = 0; round < 4; round++) {
      const a = manager(`a${round}`);
      const b = manager(`b${round}`);
      const evA = events(a);
      const evB = events(b);
      await Promise.all([a.start(), b.start()]);
      // both dial in the same tick
      a.addPeer(cfg(`b${round}`, b));
      b.addPeer(cfg(`a${round}`, a));
      await until(() => a.peer(`b${round}`) !== undefined && b.peer(`a${round}`) !== undefined);
      await sleep(300); // let any duplicate be resolved and any retry happen
      const pa = a.peer(`b${round}`)!;
      const pb = b.peer(`a${round}`)!;
      expect(a.connectedPeers()).toHaveLength(1);
      expect(b.connectedPeers()).toHaveLength(1);
      expect(pa.direction).toBe('outbound');
      expect(pb.direction).toBe('inbound');
      // both ends hold the same TCP connection
      expect(pa.mux.socket.localPort).toBe(pb.remotePort);
      expect(pa.closed || pb.closed).toBe(false);
      // the surviving connection carries traffic
      const got: unknown[] = [];
      pb.mux.handle(ECHO.id, 'responder', (m) => void got.push(m));
      pa.mux.send(ECHO.id, 'initiator', 'hello');
      await until(() => got.length === 1);
      expect(evA.filter((e) => e.startsWith('up')).length - evA.filter((e) => e.startsWith('down')).length).toBe(1);
      expect(evB.filter((e) => e.startsWith('up')).length - evB.filter((e) => e.startsWith('down')).length).toBe(1);
    }
  });

  it('reconnects with back-off after the peer restarts', async () => {
    const a = manager('a');
    await a.start();
    let b = manager('b');
    await b.start();
    const port = b.address()!.port;
    a.addPeer({ name: 'b', host: '127.0.0.1', port });
    await until(() => a.peer('b') !== undefined);
    await b.close();
    await until(() => a.peer('b') === undefined);
    expect(a.peers().find((p) => p.name === 'b')).toMatchObject({ connected: false, address: `127.0.0.1:${port}` });
    await sleep(200); // a few failed dials
    b = manager('b', { listen: { host: '127.0.0.1', port } });
    await b.start();
    await until(() => a.peer('b') !== undefined && b.peer('a') !== undefined);
  });

  it('link down: closes, refuses both directions, restores when up', async () => {
    const refusals: string[] = [];
    const a = manager('a');
    // b dials a too, and logs why it fails
    const b = manager('b', { log: (_l, msg, f) => void (msg === 'dial failed' && refusals.push(String(f?.reason))) });
    await Promise.all([a.start(), b.start()]);
    a.addPeer(cfg('b', b));
    b.addPeer(cfg('a', a));
    await until(() => a.peer('b') !== undefined && b.peer('a') !== undefined);

    const evA = events(a);
    a.setShape('b', { latencyMs: 0, loss: 0, down: true });
    await until(() => a.peer('b') === undefined && b.peer('a') === undefined);
    expect(evA[0]).toBe('down:b:link down');
    // b keeps redialling and is refused; nothing comes up while down
    await until(() => refusals.some((r) => /peer is down/.test(r)), 3000, 'refusal');
    await sleep(300);
    expect(a.peer('b')).toBeUndefined();
    expect(b.peer('a')).toBeUndefined();
    expect(a.peers().find((p) => p.name === 'b')).toMatchObject({ connected: false, shape: { down: true } });
    // a client named like the downed peer is refused too
    await expect(connectPeer(a.address()!, { name: 'b', networkMagic: MAGIC, versions: [1] })).rejects.toThrow(/peer is down/);

    a.setShape('b', { latencyMs: 0, loss: 0, down: false });
    await until(() => a.peer('b') !== undefined && b.peer('a') !== undefined);
    expect(evA.filter((e) => e === 'up:b')).toHaveLength(1);
  });

  it('does not adopt a dialled node that answers with another name', async () => {
    const reasons: string[] = [];
    const a = manager('a', { log: (_l, msg, f) => void (msg === 'dial failed' && reasons.push(String(f?.reason))) });
    const b = manager('b');
    await Promise.all([a.start(), b.start()]);
    a.addPeer({ name: 'not-b', ...b.address()! });
    await until(() => reasons.length >= 2);
    expect(reasons[0]).toMatch(/dialled not-b but the node is called b/);
    expect(a.connectedPeers()).toHaveLength(0);
  });

  it('setShape latency applies to the live connection and peers() reports it', async () => {
    const a = manager('a');
    const b = manager('b');
    await Promise.all([a.start(), b.start()]);
    a.addPeer(cfg('b', b));
    await until(() => a.peer('b') !== undefined && b.peer('a') !== undefined);
    a.setShape('b', { latencyMs: 150, loss: 0, down: false });
    const got: number[] = [];
    b.peer('a')!.mux.handle(ECHO.id, 'responder', () => void got.push(performance.now()));
    const t0 = performance.now();
    a.peer('b')!.mux.send(ECHO.id, 'initiator', 'x');
    await until(() => got.length === 1);
    expect(got[0] - t0).toBeGreaterThanOrEqual(145);
    const info = a.peers().find((p) => p.name === 'b')!;
    expect(info).toMatchObject({ connected: true, direction: 'outbound', version: 2, configured: true, shape: { latencyMs: 150 } });
    expect(info.bytesSent).toBeGreaterThan(0);
    expect(typeof info.connectedSince).toBe('string');
  });

  it('drops a peer that stops answering keepalive', async () => {
    const n = manager('n1', { keepAlive: { intervalMs: 30, timeoutMs: 150 } });
    const ev = events(n);
    await n.start();
    // raw client: handshake correctly, then never answer anything
    const s = net.connect(n.address()!.port, '127.0.0.1');
    sockets.push(s);
    await new Promise((r) => s.once('connect', r));
    s.write(encodeFrame({ protocol: 0, fromResponder: false, last: true, payload: encodeCbor([0, MAGIC, [1], 'mute']) }));
    await until(() => ev.includes('up:mute'));
    await until(() => ev.some((e) => e.startsWith('down:mute')), 3000);
    expect(ev.find((e) => e.startsWith('down:mute'))).toMatch(/keepalive: no response within 150 ms/);
  });

  it('measures keepalive RTT and a Leios protocol on a version-1 connection is a violation', async () => {
    const n = manager('n1', { keepAlive: { intervalMs: 20, timeoutMs: 1000 } });
    const ev = events(n);
    await n.start();
    const client = await connectPeer(n.address()!, { name: 'c', networkMagic: MAGIC, versions: [1], keepAlive: { intervalMs: 20 } });
    await until(() => client.rttMs !== undefined && n.peer('c')?.rttMs !== undefined);
    // raw frame of a version-2 protocol over the version-1 connection
    client.mux.socket.write(encodeFrame({ protocol: LEIOS_ONLY.id, fromResponder: false, last: true, payload: encodeCbor([0]) }));
    await until(() => ev.some((e) => e.startsWith('down:c')));
    expect(ev.find((e) => e.startsWith('down:c'))).toMatch(/unknown mini-protocol 17/);
  });

  it('peer-up listener throwing drops that peer, not the process', async () => {
    const n = manager('n1');
    n.on('peer-up', () => {
      throw new Error('core bug');
    });
    await n.start();
    const c = await connectPeer(n.address()!, { name: 'c', networkMagic: MAGIC, versions: [1] });
    const reason = await new Promise<string>((r) => c.onClose(r));
    expect(reason).toMatch(/connection closed/);
  });
});
