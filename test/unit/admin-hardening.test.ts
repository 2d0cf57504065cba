// The admin API against hostile clients, on the real fastify server: wrong or missing tokens of
// every length, oversized bodies (declared and chunked), wrong types (JSON 1e999 is Infinity),
// prototype keys, deep params, path tricks. Each gets a 4xx, the hooks are never reached, and
// the server keeps serving.

import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hash256, toHex } from '../../node/crypto/hash.ts';
import { AdminError, type AdminHooks, type LinkShapeView } from '../../node/admin/hooks.ts';
import { CONTROL_BODY_LIMIT, PARAMS_LIMITS, startAdminServer, type AdminServer } from '../../node/admin/server.ts';
import { createNodeMetrics } from '../../node/obs/metrics.ts';

const TOKEN = 'hardening-token-5f1c9a0e';

/** The node side of the hooks: records every call (none may happen for refused requests). */
class RecordingNode implements AdminHooks {
  calls: string[] = [];
  shutdowns = 0;
  link: LinkShapeView = { latencyMs: 0, loss: 0, down: false };
  getHealth() {
    return { ok: true, name: 'pool-1', slot: 1, following: true };
  }
  getTip() {
    return { slot: 1, hash: null, blockNo: 0, era: 'praos', protocolVersion: 1 };
  }
  getPeers() {
    return [{ name: 'pool-2', connected: true, link: this.link }];
  }
  setLink(peer: string, patch: Partial<LinkShapeView>) {
    this.calls.push(`setLink ${peer}`);
    if (peer !== 'pool-2') throw new AdminError(404, `unknown peer "${peer}"`);
    this.link = { ...this.link, ...(patch as LinkShapeView) };
    return this.link;
  }
  setClockOffset(ms: number) {
    this.calls.push(`clock ${ms}`);
  }
  setAdversary(b: string, enabled: boolean) {
    this.calls.push(`adversary ${b} ${enabled}`);
    if (b !== 'late-eb') throw new AdminError(404, `unknown adversary behaviour "${b}"`);
  }
  submitTx(tx: Uint8Array) {
    this.calls.push(`tx ${tx.length}`);
    return { accepted: true as const, id: toHex(hash256(tx)) };
  }
  txStatus() {
    return { status: 'unknown' as const };
  }
  shutdown() {
    this.shutdowns++;
  }
}

let node: RecordingNode;
let server: AdminServer;
const metrics = createNodeMetrics('pool-1', { version: '1.0.0', maxProtocolVersion: 2 });

beforeAll(async () => {
  node = new RecordingNode();
  // no host: loopback by default
  server = await startAdminServer({ port: 0, token: TOKEN, hooks: node, registry: metrics.registry });
});
afterAll(async () => {
  await server.close();
});

/** A raw HTTP request (so bodies can be malformed, oversized, chunked, and paths unnormalised). */
function raw(method: string, path: string, o: { headers?: Record<string, string>; body?: string | Buffer; chunks?: Buffer[] } = {}): Promise<{ status: number; body: string }> {
  const u = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers: o.headers ?? {} }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    // the server may answer (401, 413) and close before the whole body is written
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve({ status: -1, body: e.code }) : reject(e)));
    if (o.chunks) {
      for (const c of o.chunks) req.write(c);
      req.end();
    } else req.end(o.body);
  });
}
const json = (token: string | null, body: string) => ({ headers: { 'content-type': 'application/json', ...(token !== null ? { authorization: `Bearer ${token}` } : {}) }, body });

describe('admin hardening: defaults', () => {
  it('binds loopback when no host is given', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe('admin hardening: tokens', () => {
  const wrong = ['', 'x', TOKEN.slice(0, -1), TOKEN + 'x', TOKEN.toUpperCase(), 'a'.repeat(TOKEN.length), 'a'.repeat(900), ` ${TOKEN}x`, '\u00e9'.repeat(8)];
  it('every wrong token, whatever its length, is a 401 (never a 500 from a length mismatch), and nothing runs', async () => {
    for (const t of wrong) {
      for (const [m, p, b] of [['PUT', '/clock', '{"offsetMs":1}'], ['POST', '/shutdown', ''], ['PUT', '/adversary/late-eb', '{"enabled":true}']] as const) {
        const r = await raw(m, p, json(t, b));
        expect(r.status, `${m} ${p} token ${JSON.stringify(t.slice(0, 20))}`).toBe(401);
      }
    }
    for (const auth of [`Bearer ${TOKEN} extra`, `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}`, `Bearer ${'b'.repeat(5000)}`, `Token ${TOKEN}`, TOKEN]) {
      const r = await raw('PUT', '/clock', { headers: { 'content-type': 'application/json', authorization: auth }, body: '{"offsetMs":1}' });
      expect(r.status, auth.slice(0, 30)).toBe(401);
    }
    // a token in the query string is not a token
    expect((await raw('PUT', `/clock?token=${TOKEN}`, json(null, '{"offsetMs":1}'))).status).toBe(401);
    expect(node.calls).toEqual([]);
    expect(node.shutdowns).toBe(0);
  });

  it('the right token works', async () => {
    const r = await raw('PUT', '/clock', json(TOKEN, '{"offsetMs":7}'));
    expect(r.status).toBe(200);
    expect(node.calls.pop()).toBe('clock 7');
  });
});

describe('admin hardening: bodies', () => {
  it('oversized control bodies are 413 (declared length or chunked), unauthenticated ones 401 before reading', async () => {
    const big = JSON.stringify({ offsetMs: 1, pad: 'x'.repeat(CONTROL_BODY_LIMIT) });
    expect((await raw('PUT', '/clock', json(TOKEN, big))).status).toBe(413);
    const chunks = Array.from({ length: 40 }, () => Buffer.from(' '.repeat(1024)));
    const chunked = await raw('PUT', '/clock', { headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, 'transfer-encoding': 'chunked' }, chunks: [Buffer.from('{"offsetMs":1'), ...chunks, Buffer.from('}')] });
    expect([413, -1]).toContain(chunked.status);
    const unauth = await raw('PUT', '/clock', json(null, big));
    expect([401, -1]).toContain(unauth.status);
    // POST /tx takes its own, larger limit, not unlimited
    const hugeTx = await raw('POST', '/tx', { headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${TOKEN}` }, body: Buffer.alloc(2 * 1024 * 1024, 1) });
    expect([413, -1]).toContain(hugeTx.status);
    expect(node.calls).toEqual([]);
  });

  const bad: [string, string, string, RegExp][] = [
    ['PUT', '/clock', '{"offsetMs":1e999}', /body\.offsetMs must be number/],
    ['PUT', '/clock', '{"offsetMs":-1e999}', /body\.offsetMs must be number/],
    ['PUT', '/peers/pool-2/link', '{"bandwidthBps":1e999}', /body\.bandwidthBps/],
    ['PUT', '/peers/pool-2/link', '{"latencyMs":1e999}', /body\.latencyMs/],
    ['PUT', '/clock', '[1]', /body must be object/],
    ['PUT', '/clock', '"offsetMs"', /body must be object/],
    ['PUT', '/clock', 'null', /body/],
    ['PUT', '/clock', '{"offsetMs":1', /JSON|body/i],
    ['PUT', '/clock', '{"offsetMs":1,"offsetMs":2,"__proto__":{"x":1}}', /proto|body/i],
    ['PUT', '/adversary/late-eb', '{"enabled":true,"params":{"constructor":{"prototype":{"polluted":1}}}}', /constructor|body/i],
    ['PUT', '/adversary/late-eb', `{"enabled":true,"params":${'{"a":'.repeat(PARAMS_LIMITS.depth + 2)}1${'}'.repeat(PARAMS_LIMITS.depth + 2)}}`, /nested too deeply/],
    ['PUT', '/adversary/late-eb', `{"enabled":true,"params":{"a":[${Array(PARAMS_LIMITS.keys + 1).fill(0).join(',')}]}}`, /too many fields/],
    ['PUT', '/adversary/late-eb', `{"enabled":true,"params":{"s":"${'y'.repeat(PARAMS_LIMITS.stringLength + 1)}"}}`, /at most 4096 characters/],
    ['PUT', '/adversary/late-eb', `{"enabled":true,"params":{"r":1e999}}`, /body\.params\.r must be a finite number/],
    ['PUT', '/adversary/late-eb', `{"enabled":"true"}`, /body\.enabled must be boolean/],
    ['POST', '/tx', '{"tx":"zz"}', /hex/],
    ['POST', '/tx', '{"tx":["00"]}', /hex/],
  ];
  it.each(bad)('%s %s %s → 4xx naming the problem, no hook ran', async (m, p, b, re) => {
    const r = await raw(m, p, json(TOKEN, b));
    expect(r.status, r.body).toBeGreaterThanOrEqual(400);
    expect(r.status, r.body).toBeLessThan(500);
    expect(JSON.parse(r.body).message).toMatch(re);
    expect(node.calls).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('an unknown content type is 415, not a crash', async () => {
    const r = await raw('PUT', '/clock', { headers: { 'content-type': 'application/x-evil', authorization: `Bearer ${TOKEN}` }, body: 'offsetMs=1' });
    expect(r.status).toBe(415);
  });
});

describe('admin hardening: paths', () => {
  const tricks: [string, string][] = [
    ['POST', '//shutdown'],
    ['POST', '/shutdown/'],
    ['POST', '/SHUTDOWN'],
    ['POST', '/metrics/../shutdown'],
    ['POST', '/health/%2e%2e/shutdown'],
    ['PUT', '/adversary/..%2F..%2Fshutdown'],
    ['PUT', '/adversary/late-eb%00'],
    ['PUT', '/peers/..%2F..%2Fclock/link'],
    ['PUT', '/peers/%2e%2e/link'],
    ['PUT', '/peers/pool-2/link/..'],
    ['GET', '/tx/..%2F..%2Fetc%2Fpasswd'],
  ];
  it.each(tricks)('%s %s without a token: refused, nothing runs', async (m, p) => {
    const r = await raw(m, p, json(null, m === 'PUT' ? '{"enabled":true,"down":true}' : ''));
    expect([400, 401, 404]).toContain(r.status);
    expect(node.shutdowns).toBe(0);
    expect(node.calls).toEqual([]);
  });
  it.each(tricks)('%s %s with the token: no shutdown, no hook but the one the path names', async (m, p) => {
    const r = await raw(m, p, json(TOKEN, m === 'PUT' ? '{"down":true}' : ''));
    expect([400, 404]).toContain(r.status);
    expect(node.shutdowns).toBe(0);
    // a peer name is only ever looked up, as given (the node says it does not know it)
    for (const c of node.calls) expect(c).toMatch(/^setLink (\.\.\/\.\.\/clock|\.\.)$/);
    node.calls.length = 0;
    expect(node.link.down).toBe(false);
  });

  it('still up and answering after all of it', async () => {
    const r = await raw('GET', '/health');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).ok).toBe(true);
  });
});

describe('secrets on disk', () => {
  it('writeSecretFile / writeKeyFile leave 0600 files, also over an existing 0644 one', async () => {
    const { mkdtempSync, writeFileSync, statSync, readFileSync, rmSync, readdirSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { writeKeyFile, writeSecretFile } = await import('../../orchestrator/genesis/keys.ts');
    const d = mkdtempSync(join(tmpdir(), 'leiosnet-secret-'));
    try {
      const f = join(d, 'config.json');
      writeFileSync(f, '{}', { mode: 0o644 });
      writeSecretFile(f, '{"admin":{"token":"t"}}');
      expect(statSync(f).mode & 0o777).toBe(0o600);
      expect(readFileSync(f, 'utf8')).toContain('token');
      const k = join(d, 'pool-1.cold.skey');
      writeKeyFile(k, 'ColdSigningKey', new Uint8Array(32).fill(7));
      expect(statSync(k).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(k, 'utf8'))).toEqual({ type: 'ColdSigningKey', hex: '07'.repeat(32) });
      expect(readdirSync(d).sort()).toEqual(['config.json', 'pool-1.cold.skey']);
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });
});
