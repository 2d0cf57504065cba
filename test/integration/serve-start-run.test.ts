// `leiosnet serve`: the success path of POST /api/runs. A real short run (quickstart, process
// runtime, a few slots) started through the API with the token, seen in the run list while it
// runs (started here, live on the runtime, its nodes answering), then stopped through the API:
// the pipeline tears it down, and the list shows it finished, no longer live. Cleanup by this
// run's id only.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, type ServeHandle } from '../../orchestrator/serve/server.ts';

const ROOT = join(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-serve-run-'));
const home = join(tmp, 'home');
const work = join(tmp, 'work');
const savedHome = process.env.LEIOSNET_HOME;
let srv: ServeHandle;
let runId: string | undefined;

beforeAll(async () => {
  process.env.LEIOSNET_HOME = home;
  mkdirSync(join(work, 'runs'), { recursive: true });
  srv = await startServe({ port: 0, cwd: work, idleWatcherMs: 100 });
});

afterAll(async () => {
  await srv?.close();
  // whatever happened above: this run, by its id, is gone
  if (runId) spawnSync(process.execPath, [join(ROOT, 'bin/leiosnet.js'), 'down', runId], { cwd: work, env: { ...process.env, LEIOSNET_HOME: home }, stdio: 'ignore', timeout: 60_000 });
  if (savedHome === undefined) delete process.env.LEIOSNET_HOME;
  else process.env.LEIOSNET_HOME = savedHome;
  rmSync(tmp, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${srv.token}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(srv.url + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, text, json };
}

interface RunList {
  live: { runId: string; runtime: string; nodes: number; running: number }[];
  finished: { runId: string }[];
  startedHere: Record<string, { mode: string; status: string; error?: string }>;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('serve: POST /api/runs starts a real run', () => {
  it('quickstart through the API: listed while it runs, nodes answer, stopped through the API, then finished and not live', { timeout: 150_000 }, async () => {
    const start = await call('POST', '/api/runs', { profile: 'quickstart', mode: 'run', runtime: 'process', sets: ['scenario.duration.slots=1500', 'generator.tps=2'] });
    expect(start.status, start.text).toBe(202);
    expect(start.json).toMatchObject({ mode: 'run', profile: 'quickstart' });
    runId = start.json.runId as string;
    expect(runId).toMatch(/^quickstart-/);
    const runDir = start.json.runDir as string;
    expect(runDir.startsWith(join(work, 'runs'))).toBe(true);

    // in the list: started here and running; live on the process runtime with every node up
    const live = await until(
      'run live with 4 nodes running',
      async () => {
        const l = (await call('GET', '/api/runs')).json as unknown as RunList;
        expect(l.startedHere[runId!], JSON.stringify(l.startedHere)).toMatchObject({ mode: 'run' });
        expect(l.startedHere[runId!]!.status, l.startedHere[runId!]!.error).toBe('running');
        const r = l.live.find((x) => x.runId === runId);
        return r && r.running === 4 ? r : undefined;
      },
      90_000,
    );
    expect(live).toMatchObject({ runtime: 'process', nodes: 4, running: 4 });
    const one = await call('GET', `/api/runs/${runId}`);
    expect(one.json).toMatchObject({ runId, live: true, startedHere: { mode: 'run', status: 'running' } });
    expect((one.json.meta as { profile?: string }).profile).toBe('quickstart');
    const tips = await until(
      'every node answers /tip',
      async () => {
        const t = await call('GET', `/api/runs/${runId}/tips`);
        const byNode = (t.json.tips ?? {}) as Record<string, { slot: number } | null>;
        return t.status === 200 && t.json.live === true && Object.keys(byNode).length === 4 && Object.values(byNode).every((x) => x !== null) ? Object.keys(byNode) : undefined;
      },
      30_000,
    );
    expect(tips.sort()).toEqual(['pool-1', 'pool-2', 'pool-3', 'pool-4']);

    // stop through the API: the pipeline aborts, tears down and writes what it has
    const stop = await call('POST', `/api/runs/${runId}/stop?wait=1`, {});
    expect(stop.status, stop.text).toBe(200);
    expect(stop.json).toMatchObject({ runId, stopping: true, via: 'abort' });
    const after = await until(
      'run finished and no longer live',
      async () => {
        const l = (await call('GET', '/api/runs')).json as unknown as RunList;
        return !l.live.some((x) => x.runId === runId) && l.finished.some((x) => x.runId === runId) ? l : undefined;
      },
      30_000,
    );
    expect(after.startedHere[runId]!.status).not.toBe('running');
    const events = readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; phase?: string });
    expect(events.filter((e) => e.type === 'phase').map((e) => e.phase)).toEqual(expect.arrayContaining(['genesis', 'down']));
    expect(existsSync(join(runDir, 'meta.json'))).toBe(true);
  });
});
