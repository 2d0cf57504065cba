// `leiosnet serve` API: a real fastify server on loopback over a temporary state dir and a
// recorded run dir. Every mutating route refuses a request without the token and with a wrong
// one; reads work without it; the listener binds 127.0.0.1 by default; the token file is 0600;
// a non-loopback Host header and a cross-origin WebSocket are refused.

import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { tokenMatches } from '../../orchestrator/serve/auth.ts';
import { startServe, type ServeHandle } from '../../orchestrator/serve/server.ts';

const ROOT = join(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-serve-'));
const home = join(tmp, 'home');
const work = join(tmp, 'work');
const savedHome = process.env.LEIOSNET_HOME;
let srv: ServeHandle;

beforeAll(async () => {
  process.env.LEIOSNET_HOME = home;
  mkdirSync(join(work, 'runs'), { recursive: true });
  cpSync(join(ROOT, 'test/fixtures/traces/small'), join(work, 'runs', 'fixture-small'), { recursive: true });
  srv = await startServe({ port: 0, cwd: work, idleWatcherMs: 100 });
});

afterAll(async () => {
  await srv?.close();
  if (savedHome === undefined) delete process.env.LEIOSNET_HOME;
  else process.env.LEIOSNET_HOME = savedHome;
  rmSync(tmp, { recursive: true, force: true });
});

async function call(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(srv.url + path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json: json as Record<string, unknown> };
}

// Every route that changes something, with a body that would otherwise be acted upon.
const MUTATIONS: [string, string, unknown][] = [
  ['POST', '/api/runs', { profile: 'ci-praos', mode: 'up' }],
  ['POST', '/api/runs/fixture-small/stop', {}],
  ['POST', '/api/runs/fixture-small/faults', { kind: 'stop', node: 'n1' }],
  ['POST', '/api/auth', {}],
  // methods no route serves are refused before routing, too
  ['DELETE', '/api/runs/fixture-small', undefined],
  ['PUT', '/api/runs/fixture-small/faults', { kind: 'stop', node: 'n1' }],
];

describe('leiosnet serve API', () => {
  it('binds 127.0.0.1 by default and writes the token 0600', () => {
    const addr = srv.app.server.address();
    expect(typeof addr === 'object' && addr?.address).toBe('127.0.0.1');
    expect(srv.host).toBe('127.0.0.1');
    expect(srv.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(srv.tokenFile).toBe(join(home, 'serve.token'));
    expect(statSync(srv.tokenFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(srv.tokenFile, 'utf8').trim()).toBe(srv.token);
    expect(srv.token.length).toBeGreaterThanOrEqual(40);
  });

  it('refuses every mutation without a token and with a wrong one (401)', async () => {
    const wrong = [srv.token.slice(0, -1) + (srv.token.endsWith('A') ? 'B' : 'A'), srv.token + 'x', 'x', srv.token.slice(0, 20)];
    for (const [method, path, body] of MUTATIONS) {
      const none = await call(method, path, { body });
      expect(none.status, `${method} ${path} without token`).toBe(401);
      expect(String(none.json?.error)).toContain('token required');
      for (const w of wrong) {
        const r = await call(method, path, { body, token: w });
        expect(r.status, `${method} ${path} with a wrong token`).toBe(401);
      }
      const other = await call(method, path, { body, headers: { 'x-leiosnet-token': 'nope' } });
      expect(other.status).toBe(401);
    }
    // nothing was started: no run dir besides the fixture
    const runs = await call('GET', '/api/runs');
    expect((runs.json.finished as { runId: string }[]).map((r) => r.runId)).toEqual(['fixture-small']);
    // (container runtimes list every run on the engine, other people's too: only ours count)
    expect((runs.json.live as { runtime: string }[]).filter((r) => r.runtime === 'process')).toEqual([]);
    expect(readdirSync(join(work, 'runs'))).toEqual(['fixture-small']);
  });

  it('accepts the right token (then validates the request itself)', async () => {
    expect((await call('POST', '/api/auth', { token: srv.token })).status).toBe(204);
    expect((await call('POST', '/api/auth', { headers: { 'x-leiosnet-token': srv.token } })).status).toBe(204);
    // a finished run cannot be faulted or stopped: 404, not 401
    expect((await call('POST', '/api/runs/fixture-small/faults', { token: srv.token, body: { kind: 'stop', node: 'n1' } })).status).toBe(404);
    expect((await call('POST', '/api/runs/fixture-small/stop', { token: srv.token, body: {} })).status).toBe(404);
    // a bad fault or profile is a 400 naming the field
    const badFault = await call('POST', '/api/runs/fixture-small/faults', { token: srv.token, body: { kind: 'explode', node: 'n1' } });
    expect(badFault.status).toBe(400);
    expect(String(badFault.json.error)).toContain('fault');
    const badProfile = await call('POST', '/api/runs', { token: srv.token, body: { profile: 'no-such-profile' } });
    expect(badProfile.status).toBe(400);
    const badMode = await call('POST', '/api/runs', { token: srv.token, body: { profile: 'ci-praos', mode: 'sideways' } });
    expect(badMode.status).toBe(400);
    expect(String(badMode.json.error)).toContain('mode');
    expect(tokenMatches(srv.token, srv.token)).toBe(true);
    expect(tokenMatches(undefined, srv.token)).toBe(false);
    expect(tokenMatches('', srv.token)).toBe(false);
  });

  it('serves reads without a token: runs, run, plan, nodes, summary, events, report, profiles', async () => {
    const runs = await call('GET', '/api/runs');
    expect(runs.status).toBe(200);
    const run = await call('GET', '/api/runs/fixture-small');
    expect(run.json).toMatchObject({ runId: 'fixture-small', live: false, hasSummary: expect.any(Boolean) });
    const plan = await call('GET', '/api/runs/fixture-small/plan');
    expect(plan.status).toBe(200);
    expect(plan.json.name).toBe('fixture');
    const nodes = await call('GET', '/api/runs/fixture-small/nodes');
    expect((nodes.json.nodes as { name: string }[]).map((n) => n.name)).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(nodes.json.live).toBe(false);
    const ev = await call('GET', '/api/runs/fixture-small/events?since=1');
    expect(ev.status).toBe(200);
    expect((ev.json.events as { type: string }[])[0]!.type).toBe('assertion');
    const profiles = await call('GET', '/api/profiles');
    expect((profiles.json as unknown as { name: string }[]).some((p) => p.name === 'ci-praos')).toBe(true);
    // summary/report exist only once analysed: 404 with a reason, then 200 after `report`
    const sum = await call('GET', '/api/runs/fixture-small/summary');
    expect([200, 404]).toContain(sum.status);
    expect((await call('GET', '/api/runs/no-such-run/plan')).status).toBe(404);
    expect((await call('GET', '/api/runs/..%2F..%2Fetc/plan')).status).toBe(400);
    const page = await call('GET', '/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<script src="/app.js">');
    expect((await call('GET', '/vendor/uplot.js')).text.length).toBeGreaterThan(10_000);
    expect((await call('GET', '/app.js')).status).toBe(200);
  });

  it('refuses a non-loopback Host header (DNS rebinding) while bound to loopback', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: srv.port, path: '/api/runs', headers: { host: 'evil.example:80' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(421);
  });

  it('WebSocket: a snapshot of a run on subscribe; another origin is refused', async () => {
    const ws = new WebSocket(srv.url.replace('http', 'ws') + '/ws');
    const msgs: Record<string, unknown>[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on('open', () => ws.send(JSON.stringify({ subscribe: 'fixture-small' })));
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as Record<string, unknown>;
        msgs.push(m);
        if (m.type === 'snapshot') resolve();
      });
      ws.on('error', reject);
    });
    ws.close();
    const snap = msgs.find((m) => m.type === 'snapshot')!;
    expect(snap.runId).toBe('fixture-small');
    expect(snap.live).toBe(false);
    expect((snap.events as { type: string }[]).length).toBeGreaterThan(0);

    const bad = new WebSocket(srv.url.replace('http', 'ws') + '/ws', { headers: { origin: 'http://evil.example' } });
    const outcome = await new Promise<string>((resolve) => {
      bad.on('open', () => resolve('open'));
      bad.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      bad.on('error', () => resolve('error'));
    });
    bad.terminate();
    expect(outcome).toBe('403');
  });

  it('binds another interface only when told (--host)', async () => {
    const other = await startServe({ host: '127.0.0.2', port: 0, cwd: work, tokenFile: join(tmp, 'other.token') });
    try {
      const addr = other.app.server.address();
      expect(typeof addr === 'object' && addr?.address).toBe('127.0.0.2');
      expect(other.token).not.toBe(srv.token);
      // the first server's token does not open the second
      const r = await fetch(other.url + '/api/auth', { method: 'POST', headers: { authorization: `Bearer ${srv.token}` } });
      expect(r.status).toBe(401);
    } finally {
      await other.close();
    }
  });
});
