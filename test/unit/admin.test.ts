import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hash256, toHex } from '../../node/crypto/hash.ts';
import { AdminError, type AdminHooks, type LinkShapeView, type PeerInfo, type TxStatus } from '../../node/admin/hooks.ts';
import { startAdminServer, type AdminServer } from '../../node/admin/server.ts';
import { createNodeMetrics } from '../../node/obs/metrics.ts';

const TOKEN = 'test-token-0123456789';

/** A small in-test node state behind the hooks. */
class TestNode implements AdminHooks {
  ok = true;
  clockOffsetMs = 0;
  adversary = new Map<string, { enabled: boolean; params?: Record<string, unknown> }>();
  links = new Map<string, LinkShapeView>([
    ['pool-2', { latencyMs: 10, loss: 0, down: false }],
    ['relay-1', { latencyMs: 0, bandwidthBps: 1e6, loss: 0, down: false }],
  ]);
  mempool = new Set<string>();
  included = new Map<string, { slot: number; blockHash: string }>();
  shutdowns = 0;
  calls: string[] = [];

  getHealth() {
    return { ok: this.ok, name: 'pool-1', slot: 1234, following: true };
  }
  async getTip() {
    return { slot: 1230, hash: 'ab'.repeat(32), blockNo: 61, era: 'leios', protocolVersion: 11 };
  }
  getPeers(): PeerInfo[] {
    return [...this.links].map(([name, link]) => ({ name, host: '127.0.0.2', port: 3001, connected: !link.down, link }));
  }
  setLink(peer: string, patch: { latencyMs?: number; bandwidthBps?: number | null; loss?: number; down?: boolean }) {
    this.calls.push(`setLink ${peer}`);
    const cur = this.links.get(peer);
    if (!cur) throw new AdminError(404, `unknown peer "${peer}"`);
    const next: LinkShapeView = { ...cur };
    if (patch.latencyMs !== undefined) next.latencyMs = patch.latencyMs;
    if (patch.loss !== undefined) next.loss = patch.loss;
    if (patch.down !== undefined) next.down = patch.down;
    if (patch.bandwidthBps === null) delete next.bandwidthBps;
    else if (patch.bandwidthBps !== undefined) next.bandwidthBps = patch.bandwidthBps;
    this.links.set(peer, next);
    return next;
  }
  setClockOffset(offsetMs: number) {
    this.calls.push('setClockOffset');
    this.clockOffsetMs = offsetMs;
  }
  async setAdversary(behaviour: string, enabled: boolean, params?: Record<string, unknown>) {
    this.calls.push('setAdversary');
    if (!['eb-withholding', 'late-eb'].includes(behaviour)) throw new AdminError(404, `unknown adversary behaviour "${behaviour}"`);
    this.adversary.set(behaviour, { enabled, params });
  }
  submitTx(tx: Uint8Array) {
    this.calls.push('submitTx');
    const id = toHex(hash256(tx));
    if (tx[0] === 0xff) return { accepted: false as const, id, reason: 'bad-signature' };
    this.mempool.add(id);
    return { accepted: true as const, id };
  }
  txStatus(id: string): TxStatus {
    this.calls.push('txStatus');
    const inc = this.included.get(id);
    if (inc) return { status: 'included', ...inc };
    return this.mempool.has(id) ? { status: 'mempool' } : { status: 'unknown' };
  }
  shutdown() {
    this.shutdowns++;
  }
}

let node: TestNode;
let server: AdminServer;
const metrics = createNodeMetrics('pool-1', { version: '1.0.0', maxProtocolVersion: 11 });

beforeAll(async () => {
  node = new TestNode();
  server = await startAdminServer({ host: '127.0.0.1', port: 0, token: TOKEN, hooks: node, registry: metrics.registry });
});
afterAll(async () => {
  await server.close();
});

type Opts = { method?: string; body?: unknown; token?: string | null; auth?: string; contentType?: string };
async function call(path: string, o: Opts = {}): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (o.auth !== undefined) headers.authorization = o.auth;
  else if (o.token !== null && o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
  let body: string | Uint8Array | undefined;
  if (o.body !== undefined) {
    if (o.contentType) {
      headers['content-type'] = o.contentType;
      body = o.body as string | Uint8Array;
    } else {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.body);
    }
  }
  const res = await fetch(server.url + path, { method: o.method ?? 'GET', headers, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}
const auth = { token: TOKEN };

describe('admin API: open routes', () => {
  it('serves Prometheus text from the node registry', async () => {
    metrics.slot.set(1234);
    metrics.rbAdopted.inc();
    const r = await call('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.text).toContain('leios_slot{node="pool-1"} 1234');
    expect(r.text).toContain('leios_rb_adopted_total{node="pool-1"} 1');
    expect(r.text).toContain('# TYPE leios_eb_arrival_delay_seconds histogram');
  });

  it('health, tip and peers as JSON', async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await call('/health')).json).toEqual({ ok: true, name: 'pool-1', slot: 1234, following: true });
    expect((await call('/tip')).json).toEqual({ slot: 1230, hash: 'ab'.repeat(32), blockNo: 61, era: 'leios', protocolVersion: 11 });
    const peers = (await call('/peers')).json;
    expect(peers.map((p: PeerInfo) => p.name)).toEqual(['pool-2', 'relay-1']);
    node.ok = false;
    expect((await call('/health')).status).toBe(200);
    const strict = await call('/health?strict=1');
    expect(strict.status).toBe(503);
    expect(strict.json.ok).toBe(false);
    node.ok = true;
    expect((await call('/health?strict=1')).status).toBe(200);
    expect((await call('/nope')).status).toBe(404);
  });
});

describe('admin API: authentication', () => {
  const mutating: Array<[string, string, unknown]> = [
    ['PUT', '/peers/pool-2/link', { down: true }],
    ['PUT', '/clock', { offsetMs: 500 }],
    ['PUT', '/adversary/late-eb', { enabled: true }],
    ['POST', '/shutdown', undefined],
    ['POST', '/tx', { tx: '0102' }],
    ['GET', `/tx/${'00'.repeat(32)}`, undefined],
  ];

  it('refuses every token route without the right bearer token, before validating', async () => {
    const before = node.calls.length;
    for (const [method, path, body] of mutating) {
      for (const o of [{ token: null }, { token: 'wrong-token-xyz' }, { auth: `Basic ${TOKEN}` }, { auth: `Bearer` }, { auth: `Bearer ${TOKEN}x` }]) {
        const r = await call(path, { method, body, ...o });
        expect(r.status, `${method} ${path} ${JSON.stringify(o)}`).toBe(401);
        expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
      }
      // a bad body without a token is still 401, not 400
      if (body !== undefined) expect((await call(path, { method, body: { bogus: 1 } })).status).toBe(401);
    }
    expect(node.calls.length).toBe(before);
    expect(node.shutdowns).toBe(0);
    expect(node.links.get('pool-2')!.down).toBe(false);
    expect(node.clockOffsetMs).toBe(0);
  });

  it('accepts the token case-insensitively on the scheme', async () => {
    const r = await call('/clock', { method: 'PUT', body: { offsetMs: 5 }, auth: `bearer ${TOKEN}` });
    expect(r.status).toBe(200);
    expect(node.clockOffsetMs).toBe(5);
  });

  it('refuses to start with a short token', async () => {
    await expect(startAdminServer({ host: '127.0.0.1', port: 0, token: 'short', hooks: node, registry: metrics.registry })).rejects.toThrow(/token/);
  });
});

describe('admin API: validation names the field', () => {
  const cases: Array<[string, string, unknown, RegExp, string]> = [
    ['PUT', '/peers/pool-2/link', { loss: 2 }, /^body\.loss must be <= 1$/, 'body.loss'],
    ['PUT', '/peers/pool-2/link', { latencyMs: -1 }, /^body\.latencyMs must be >= 0$/, 'body.latencyMs'],
    ['PUT', '/peers/pool-2/link', { down: 'yes' }, /^body\.down must be boolean$/, 'body.down'],
    ['PUT', '/peers/pool-2/link', { bandwidthBps: 0 }, /^body\.bandwidthBps must be > 0$/, 'body.bandwidthBps'],
    ['PUT', '/peers/pool-2/link', { latency: 5 }, /^body\.latency is not allowed$/, 'body.latency'],
    ['PUT', '/peers/pool-2/link', {}, /^body must set at least one field$/, 'body'],
    ['PUT', '/clock', {}, /^body\.offsetMs is required$/, 'body.offsetMs'],
    ['PUT', '/clock', { offsetMs: '100' }, /^body\.offsetMs must be number$/, 'body.offsetMs'],
    ['PUT', '/adversary/late-eb', { enabled: 1 }, /^body\.enabled must be boolean$/, 'body.enabled'],
    ['PUT', '/adversary/late-eb', { enabled: true, params: 3 }, /^body\.params must be object$/, 'body.params'],
    ['PUT', '/adversary/bad%20name', { enabled: true }, /^params\.behaviour must match pattern/, 'params.behaviour'],
    ['GET', '/tx/xyz', undefined, /^params\.id must match pattern/, 'params.id'],
    ['POST', '/tx', { tx: 5 }, /^body\.tx must be a hex string$/, 'body.tx'],
    ['POST', '/tx', { hex: 'aa' }, /^body\.hex is not allowed$/, 'body.hex'],
    ['POST', '/tx', {}, /^body\.tx is required$/, 'body.tx'],
  ];
  for (const [method, path, body, message, field] of cases) {
    it(`${method} ${path} ${JSON.stringify(body)} → 400 ${field}`, async () => {
      const r = await call(path, { method, body, ...auth });
      expect(r.status).toBe(400);
      expect(r.json.message).toMatch(message);
      expect(r.json.field).toBe(field);
    });
  }

  it('rejects non-hex and odd-length tx text, and empty raw bodies', async () => {
    for (const t of ['zz', 'abc', '']) {
      const r = await call('/tx', { method: 'POST', body: t, contentType: 'text/plain', ...auth });
      expect(r.status, JSON.stringify(t)).toBe(400);
      expect(r.json.message).toMatch(/^body /);
    }
    const r = await call('/tx', { method: 'POST', body: new Uint8Array(0), contentType: 'application/octet-stream', ...auth });
    expect(r.status).toBe(400);
  });
});

describe('admin API: token routes reach the hooks', () => {
  it('patches a link, clears a bandwidth limit, 404s an unknown peer', async () => {
    let r = await call('/peers/pool-2/link', { method: 'PUT', body: { latencyMs: 80, loss: 0.01 }, ...auth });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ latencyMs: 80, loss: 0.01, down: false });
    r = await call('/peers/relay-1/link', { method: 'PUT', body: { bandwidthBps: null, down: true }, ...auth });
    expect(r.json).toEqual({ latencyMs: 0, loss: 0, down: true });
    expect((await call('/peers')).json.find((p: PeerInfo) => p.name === 'relay-1').connected).toBe(false);
    r = await call('/peers/pool-9/link', { method: 'PUT', body: { down: true }, ...auth });
    expect(r.status).toBe(404);
    expect(r.json.message).toBe('unknown peer "pool-9"');
  });

  it('sets the clock offset and toggles adversaries', async () => {
    expect((await call('/clock', { method: 'PUT', body: { offsetMs: -1500 }, ...auth })).json).toEqual({ ok: true, offsetMs: -1500 });
    expect(node.clockOffsetMs).toBe(-1500);
    const r = await call('/adversary/eb-withholding', { method: 'PUT', body: { enabled: true, params: { fraction: 0.5 } }, ...auth });
    expect(r.json).toEqual({ ok: true, behaviour: 'eb-withholding', enabled: true });
    expect(node.adversary.get('eb-withholding')).toEqual({ enabled: true, params: { fraction: 0.5 } });
    expect((await call('/adversary/eclipse', { method: 'PUT', body: { enabled: true }, ...auth })).status).toBe(404);
  });

  it('submits txs as hex text, raw bytes or JSON and reports their status', async () => {
    const a = await call('/tx', { method: 'POST', body: '  0a0b0c\n', contentType: 'text/plain', ...auth });
    expect(a.status).toBe(202);
    expect(a.json).toEqual({ accepted: true, id: toHex(hash256(new Uint8Array([10, 11, 12]))) });
    const b = await call('/tx', { method: 'POST', body: new Uint8Array([1, 2, 3]), contentType: 'application/octet-stream', ...auth });
    expect(b.json.id).toBe(toHex(hash256(new Uint8Array([1, 2, 3]))));
    const c = await call('/tx', { method: 'POST', body: { tx: 'ff01' }, ...auth });
    expect(c.status).toBe(422);
    expect(c.json).toMatchObject({ accepted: false, reason: 'bad-signature' });

    expect((await call(`/tx/${a.json.id.toUpperCase()}`, auth)).json).toEqual({ id: a.json.id, status: 'mempool' });
    node.included.set(b.json.id, { slot: 77, blockHash: 'cd'.repeat(32) });
    expect((await call(`/tx/${b.json.id}`, auth)).json).toEqual({ id: b.json.id, status: 'included', slot: 77, blockHash: 'cd'.repeat(32) });
    expect((await call(`/tx/${'00'.repeat(32)}`, auth)).json).toEqual({ id: '00'.repeat(32), status: 'unknown' });
  });

  it('answers 202 to shutdown, then calls the hook', async () => {
    const r = await call('/shutdown', { method: 'POST', ...auth });
    expect(r.status).toBe(202);
    for (let i = 0; i < 50 && node.shutdowns === 0; i++) await new Promise((res) => setTimeout(res, 10));
    expect(node.shutdowns).toBe(1);
  });

  it('a hook that throws unexpectedly is a 500 with its message', async () => {
    const broken = Object.assign(new TestNode(), {
      getPeers(): PeerInfo[] {
        throw new Error('peer table locked');
      },
    });
    const s = await startAdminServer({ host: '127.0.0.1', port: 0, token: TOKEN, hooks: broken, registry: metrics.registry });
    const r = await fetch(`${s.url}/peers`);
    expect(r.status).toBe(500);
    expect(((await r.json()) as { message: string }).message).toBe('peer table locked');
    await s.close();
    await expect(fetch(`${s.url}/health`)).rejects.toThrow();
  });
});
