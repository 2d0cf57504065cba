// `leiosnet serve`: REST + WebSocket over the state directory and live runs, and the web page.
//
//   GET  /                              the page (orchestrator/serve/web/)
//   GET  /api/health                    {ok, version}
//   GET  /api/profiles                  profile names and descriptions (for the start form)
//   GET  /api/runs                      {live, finished, problems}
//   GET  /api/runs/:id                  meta.json + live status
//   GET  /api/runs/:id/plan             profile.resolved.json
//   GET  /api/runs/:id/nodes            plan nodes and edges, with live running/endpoint
//   GET  /api/runs/:id/tips             each node's /tip (live runs)
//   GET  /api/runs/:id/summary          summary.json (finished runs)
//   GET  /api/runs/:id/events?since=N   events.jsonl from line N
//   GET  /api/runs/:id/report           report.html
//   POST /api/runs                      start a run: {profile, mode: "up"|"run", runtime?, sets?}   (token)
//   POST /api/runs/:id/stop             stop a run started here, or `down` a live testnet            (token)
//   POST /api/runs/:id/faults           inject a fault: the body is a scenario fault                 (token)
//   POST /api/auth                      204 if the token is right (lets the page check it)           (token)
//   GET  /ws                            WebSocket: {"subscribe": "<run-id>"} → snapshot, then
//                                       tips, metrics, chain (blocks, EBs, votes, certs), events, links
//
// Safety: every request other than GET/HEAD needs the token (Authorization: Bearer, or
// X-Leiosnet-Token), compared in constant time; the listener binds 127.0.0.1 unless --host says
// otherwise; while bound to loopback, requests must name a loopback Host (no DNS rebinding) and
// WebSocket upgrades from another origin are refused.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { getTip } from '../collect/admin.ts';
import { attachRun, downRun, runtimeOf } from '../cli/runs.ts';
import { LeiosnetError, UserError } from '../errors.ts';
import { EventLog } from '../pipeline/events.ts';
import { Progress } from '../pipeline/progress.ts';
import { runPipeline, type RunResult } from '../pipeline/run.ts';
import { knownProfiles, loadProfile } from '../profile/load.ts';
import { FaultSchema, type Fault } from '../profile/schema.ts';
import { validate } from '../profile/validate.ts';
import { RUNTIME_NAMES } from '../runtime/registry.ts';
import type { Deployment } from '../runtime/runtime.ts';
import { applyFault, describeFault } from '../scenario/faults.ts';
import { issueToken, presentedToken, tokenFile as defaultTokenFile, tokenMatches } from './auth.ts';
import { RunWatcher, type LiveMessage, type WatcherOptions } from './live.ts';
import { listRuns, readEvents, readMeta, readPlan, readSummaryFile, runDirOf, topologyOf } from './runs.ts';

export interface ServeOptions {
  /** Interface to bind; default 127.0.0.1 (loopback only). */
  host?: string;
  /** Port; default 8080; 0 picks a free one. */
  port?: number;
  /** Token for mutations; default a fresh random one. Written to `tokenFile` (0600) either way. */
  token?: string;
  tokenFile?: string;
  /** Where finished runs are looked for (runs/ under it) and new runs are created. */
  cwd?: string;
  watcher?: WatcherOptions;
  /** Stop watching a run this long after its last WebSocket client left. */
  idleWatcherMs?: number;
}

export interface ServeHandle {
  url: string;
  host: string;
  port: number;
  token: string;
  tokenFile: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

const WEB_DIR = new URL('./web/', import.meta.url);
const RUN_ID = /^[A-Za-z0-9._-]{1,200}$/;
const MUTATING_FREE = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1';
  return false;
}

/** The host part of a Host header ("127.0.0.1:8080", "[::1]:8080", "localhost"). */
function hostOfHeader(h: string | undefined): string | undefined {
  if (!h) return undefined;
  const m = /^(\[[^\]]+\]|[^:]+)(?::\d+)?$/.exec(h.trim());
  return m?.[1];
}

let uplotDist: string | undefined;
function uplotFile(name: string): string {
  if (!uplotDist) uplotDist = join(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'), '..');
  return readFileSync(join(uplotDist, name), 'utf8');
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

interface StartedRun {
  runId?: string;
  runDir: string;
  profile: string;
  mode: 'up' | 'run';
  abort: AbortController;
  done: Promise<RunResult | undefined>;
  result?: RunResult;
  error?: string;
}

class HttpError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export async function startServe(opts: ServeOptions = {}): Promise<ServeHandle> {
  const host = opts.host ?? '127.0.0.1';
  const loopbackOnly = isLoopbackHost(host);
  const cwd = opts.cwd ?? process.cwd();
  const { token, file: tokenPath } = issueToken(opts.token, opts.tokenFile ?? defaultTokenFile());
  const idleMs = opts.idleWatcherMs ?? 30_000;
  const version = packageVersion();

  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  const started = new Map<string, StartedRun>(); // by run id (or run dir until the id is known)
  const watchers = new Map<string, { w: RunWatcher; idle?: NodeJS.Timeout }>();
  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });

  // --- guards ------------------------------------------------------------------------------------
  app.addHook('onRequest', async (req, reply) => {
    if (loopbackOnly) {
      const h = hostOfHeader(req.headers.host);
      if (!h || !isLoopbackHost(h)) return reply.code(421).send({ error: 'this server answers only to a loopback Host (start it with --host to serve other names)' });
    }
    if (!MUTATING_FREE.has(req.method)) {
      if (!tokenMatches(presentedToken(req.headers), token)) {
        return reply
          .code(401)
          .header('www-authenticate', 'Bearer realm="leiosnet"')
          .send({ error: 'token required: send Authorization: Bearer <token> (printed by `leiosnet serve`, also in ' + tokenPath + ')' });
      }
    }
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    if (err instanceof HttpError) return reply.code(err.status).send({ error: err.message });
    if (err instanceof LeiosnetError) return reply.code(err.exitCode === 2 ? 400 : 500).send({ error: err.message });
    if (typeof err.statusCode === 'number' && err.statusCode < 500) return reply.code(err.statusCode).send({ error: err.message });
    return reply.code(500).send({ error: err.message });
  });

  const runIdParam = (id: string): string => {
    if (!RUN_ID.test(id)) throw new HttpError(400, `run-id: ${JSON.stringify(id)} is not a run id`);
    return id;
  };
  const needRunDir = (id: string): string => {
    const dir = runDirOf(runIdParam(id), cwd);
    if (!dir) throw new HttpError(404, `run-id: no run ${JSON.stringify(id)} (live, or under ${join(cwd, 'runs')})`);
    return dir;
  };
  const tryAttach = async (id: string): Promise<Deployment | undefined> => {
    try {
      return (await attachRun(id)).dep;
    } catch {
      return undefined;
    }
  };

  // --- the page ----------------------------------------------------------------------------------
  const sendWeb = (reply: FastifyReply, file: string, type: string) => {
    const path = new URL(file, WEB_DIR);
    if (!existsSync(path)) throw new HttpError(404, `no ${file}`);
    return reply.type(type).header('cache-control', 'no-cache').send(readFileSync(path, 'utf8'));
  };
  app.get('/', (_req, reply) => sendWeb(reply, 'index.html', 'text/html; charset=utf-8'));
  app.get('/app.js', (_req, reply) => sendWeb(reply, 'app.js', 'text/javascript; charset=utf-8'));
  app.get('/style.css', (_req, reply) => sendWeb(reply, 'style.css', 'text/css; charset=utf-8'));
  app.get('/vendor/uplot.js', (_req, reply) => reply.type('text/javascript; charset=utf-8').header('cache-control', 'max-age=3600').send(uplotFile('uPlot.iife.min.js')));
  app.get('/vendor/uplot.css', (_req, reply) => reply.type('text/css; charset=utf-8').header('cache-control', 'max-age=3600').send(uplotFile('uPlot.min.css')));

  // --- reads -------------------------------------------------------------------------------------
  app.get('/api/health', async () => ({ ok: true, version, loopbackOnly }));

  app.get('/api/profiles', async () =>
    knownProfiles().map((name) => {
      try {
        const p = loadProfile(name, { cwd }).profile;
        return { name, description: p.description, pools: p.composition.pools };
      } catch (e) {
        return { name, description: `(invalid: ${(e as Error).message.split('\n')[0]})` };
      }
    }),
  );

  // listing asks every runtime (a container engine, a cluster): share one answer for a moment
  let listing: { at: number; value: Promise<Awaited<ReturnType<typeof listRuns>>> } | undefined;
  const cachedRuns = () => {
    if (!listing || Date.now() - listing.at > 2_000) listing = { at: Date.now(), value: listRuns(cwd) };
    return listing.value;
  };
  app.get('/api/runs', async () => {
    const l = await cachedRuns();
    const starting = [...started.values()].filter((s) => !s.runId && !s.result).map((s) => ({ runDir: s.runDir, profile: s.profile, mode: s.mode }));
    const mine = Object.fromEntries([...started.values()].filter((s) => s.runId).map((s) => [s.runId!, { mode: s.mode, status: s.result?.status ?? (s.error ? 'error' : 'running'), error: s.error ?? s.result?.error }]));
    return { ...l, starting, startedHere: mine };
  });

  app.get<{ Params: { id: string } }>('/api/runs/:id', async (req) => {
    const dir = needRunDir(req.params.id);
    const live = (await runtimeOf(req.params.id)) !== undefined;
    const s = started.get(req.params.id);
    return {
      runId: req.params.id,
      runDir: dir,
      live,
      meta: readMeta(dir) ?? null,
      hasSummary: existsSync(join(dir, 'summary.json')),
      hasReport: existsSync(join(dir, 'report.html')),
      ...(s ? { startedHere: { mode: s.mode, status: s.result?.status ?? 'running', error: s.error ?? s.result?.error } } : {}),
    };
  });

  app.get<{ Params: { id: string } }>('/api/runs/:id/plan', async (req) => {
    const plan = readPlan(needRunDir(req.params.id));
    if (!plan) throw new HttpError(404, 'plan: this run has no profile.resolved.json yet');
    return plan;
  });

  app.get<{ Params: { id: string } }>('/api/runs/:id/nodes', async (req) => {
    const dir = needRunDir(req.params.id);
    const topo = topologyOf(readPlan(dir), dir);
    const dep = await tryAttach(req.params.id);
    const handles = new Map((dep?.nodes() ?? []).map((h) => [h.name, h]));
    const nodes = await Promise.all(
      topo.nodes.map(async (n) => {
        const h = handles.get(n.name);
        return { ...n, live: Boolean(h), running: h ? await h.running().catch(() => false) : false, adminUrl: h?.endpoints().adminUrl };
      }),
    );
    return { runId: req.params.id, live: Boolean(dep), nodes, edges: topo.edges };
  });

  app.get<{ Params: { id: string } }>('/api/runs/:id/tips', async (req) => {
    needRunDir(req.params.id);
    const dep = await tryAttach(req.params.id);
    if (!dep) {
      const dir = needRunDir(req.params.id);
      // a finished run: the tips the collector recorded at the end
      const f = join(dir, 'metrics', 'tips.json');
      return { runId: req.params.id, live: false, tips: existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')) : {} };
    }
    const tips = Object.fromEntries(await Promise.all(dep.nodes().map(async (h) => [h.name, (await getTip(h.endpoints())) ?? null] as const)));
    return { runId: req.params.id, live: true, tips };
  });

  app.get<{ Params: { id: string } }>('/api/runs/:id/summary', async (req) => {
    const s = readSummaryFile(needRunDir(req.params.id));
    if (!s) throw new HttpError(404, 'summary: this run has no summary.json (still running, or started with `up`)');
    return s;
  });

  app.get<{ Params: { id: string }; Querystring: { since?: string; limit?: string } }>('/api/runs/:id/events', async (req) => {
    const since = Math.max(0, Math.floor(Number(req.query.since ?? 0)) || 0);
    const limit = Math.min(20_000, Math.max(1, Math.floor(Number(req.query.limit ?? 5_000)) || 5_000));
    return { runId: req.params.id, since, ...readEvents(needRunDir(req.params.id), since, limit) };
  });

  app.get<{ Params: { id: string } }>('/api/runs/:id/report', async (req, reply) => {
    const f = join(needRunDir(req.params.id), 'report.html');
    if (!existsSync(f)) throw new HttpError(404, 'report: this run has no report.html yet');
    // the report is self-contained (inlined uPlot); it runs no code of ours, so sandbox it
    return reply.type('text/html; charset=utf-8').header('content-security-policy', "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:").send(readFileSync(f, 'utf8'));
  });

  // --- mutations (token checked in onRequest) ----------------------------------------------------
  app.post('/api/auth', async (_req, reply) => reply.code(204).send());

  app.post<{ Body: { profile?: unknown; mode?: unknown; runtime?: unknown; sets?: unknown } }>('/api/runs', async (req, reply) => {
    const b = (req.body ?? {}) as Record<string, unknown>;
    if (typeof b.profile !== 'string' || b.profile.trim() === '') throw new HttpError(400, 'profile: give a profile name (see GET /api/profiles)');
    const mode = b.mode === undefined ? 'up' : b.mode;
    if (mode !== 'up' && mode !== 'run') throw new HttpError(400, 'mode: "up" (long-lived testnet) or "run" (scenario, analysis, report, down)');
    const runtime = b.runtime === undefined ? 'process' : b.runtime;
    if (typeof runtime !== 'string' || !(RUNTIME_NAMES as readonly string[]).includes(runtime)) throw new HttpError(400, `runtime: one of ${RUNTIME_NAMES.join(', ')}`);
    const sets = b.sets === undefined ? [] : b.sets;
    if (!Array.isArray(sets) || !sets.every((s) => typeof s === 'string')) throw new HttpError(400, 'sets: a list of "path=value" strings');
    // validate up front (bad input is a 400, not a failed background run)
    loadProfile(b.profile, { sets: sets as string[], cwd });

    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
    const runDir = join(cwd, 'runs', `serve-${stamp}-${randomBytes(3).toString('hex')}`);
    const abort = new AbortController();
    const entry: StartedRun = { runDir, profile: b.profile, mode, abort, done: Promise.resolve(undefined) };
    entry.done = runPipeline({
      profile: b.profile,
      sets: sets as string[],
      runtime,
      out: runDir,
      cwd,
      keepUp: mode === 'up',
      progress: new Progress({ quiet: true }),
      signal: abort.signal,
      handleSignals: false,
    }).then(
      (r) => {
        entry.result = r;
        entry.runId ??= r.runId;
        return r;
      },
      (e: Error) => {
        entry.error = e.message;
        return undefined;
      },
    );
    started.set(runDir, entry);
    // the run id appears in meta.json as soon as the plan is made
    const deadline = Date.now() + 30_000;
    while (!entry.runId && !entry.error && !entry.result && Date.now() < deadline) {
      const meta = readMeta(runDir);
      if (typeof meta?.runId === 'string') entry.runId = meta.runId;
      else await new Promise((r) => setTimeout(r, 100));
    }
    if (entry.error && !entry.runId) {
      started.delete(runDir);
      throw new HttpError(400, entry.error);
    }
    if (entry.runId) {
      started.delete(runDir);
      started.set(entry.runId, entry);
    }
    return reply.code(202).send({ runId: entry.runId ?? null, runDir, mode, profile: b.profile });
  });

  app.post<{ Params: { id: string }; Querystring: { wait?: string } }>('/api/runs/:id/stop', async (req) => {
    const id = runIdParam(req.params.id);
    const s = started.get(id);
    if (s && s.mode === 'run' && !s.result && !s.error) {
      s.abort.abort(); // the pipeline tears down, analyses and writes its report
      if (req.query.wait === '1') await s.done;
      return { runId: id, stopping: true, via: 'abort' };
    }
    if (s && !s.result && !s.error) await s.done; // `up` still starting: let it finish, then remove it
    const rt = await runtimeOf(id);
    if (!rt) throw new HttpError(404, `run-id: no running testnet ${JSON.stringify(id)}`);
    await downRun(rt, id);
    const w = watchers.get(id);
    if (w) void w.w.pollTips();
    return { runId: id, stopping: false, removed: true, via: 'down' };
  });

  app.post<{ Params: { id: string } }>('/api/runs/:id/faults', async (req) => {
    const id = runIdParam(req.params.id);
    const f = (req.body ?? {}) as Record<string, unknown>;
    const issues = validate(FaultSchema, f, () => undefined);
    if (issues.length) throw new HttpError(400, issues.map((i) => `fault${i.path ? '.' + i.path : ''}: ${i.message}`).join('; '));
    const fault = f as Fault;
    const dep = await tryAttach(id);
    if (!dep) throw new HttpError(404, `run-id: no running testnet ${JSON.stringify(id)}`);
    const events = new EventLog(join(dep.runDir, 'events.jsonl'));
    const label = describeFault(fault);
    let undo: () => Promise<void>;
    try {
      undo = await applyFault(dep, fault);
    } catch (e) {
      if (e instanceof UserError) throw new HttpError(400, e.message);
      throw new HttpError(502, `fault ${label}: ${(e as Error).message}`);
    }
    events.emit('fault', { fault, description: label, source: 'serve' });
    const forS = (fault as { forS?: number }).forS;
    if (typeof forS === 'number') {
      const t = setTimeout(() => {
        void undo()
          .then(() => events.emit('fault-undone', { fault: label, source: 'serve' }))
          .catch((e: Error) => events.emit('error', { phase: 'fault undo', message: e.message, source: 'serve' }));
      }, forS * 1000);
      t.unref();
    }
    const w = watchers.get(id)?.w;
    if (w) {
      void w.pollTips();
      if (fault.kind === 'link' || fault.kind === 'partition') void w.refreshLinks();
    }
    return { runId: id, applied: label, undoAfterS: forS ?? null };
  });

  // --- WebSocket ---------------------------------------------------------------------------------
  const watcherFor = async (id: string): Promise<RunWatcher | undefined> => {
    const have = watchers.get(id);
    if (have) {
      if (have.idle) clearTimeout(have.idle);
      have.idle = undefined;
      return have.w;
    }
    const dir = runDirOf(id, cwd);
    if (!dir) return undefined;
    const dep = await tryAttach(id);
    const again = watchers.get(id); // another client raced us here
    if (again) return again.w;
    const w = new RunWatcher(id, dir, dep, opts.watcher);
    watchers.set(id, { w });
    w.start();
    return w;
  };
  const release = (id: string, w: RunWatcher) => {
    const e = watchers.get(id);
    if (!e || e.w !== w || w.subscribers > 0) return;
    e.idle = setTimeout(() => {
      if (w.subscribers === 0 && watchers.get(id)?.w === w) {
        w.stop();
        watchers.delete(id);
      }
    }, idleMs);
    e.idle.unref();
  };

  wss.on('connection', (ws: WebSocket) => {
    let current: { id: string; w: RunWatcher; off: () => void } | undefined;
    let asked = 0;
    const send = (m: unknown) => {
      if (ws.readyState === ws.OPEN && ws.bufferedAmount < 4 * 1024 * 1024) ws.send(JSON.stringify(m));
    };
    const leave = () => {
      if (!current) return;
      current.off();
      release(current.id, current.w);
      current = undefined;
    };
    send({ type: 'hello', version });
    ws.on('message', (data) => {
      let msg: { subscribe?: unknown; unsubscribe?: unknown };
      try {
        msg = JSON.parse(String(data)) as typeof msg;
      } catch {
        return send({ type: 'error', error: 'not JSON' });
      }
      if (msg.unsubscribe) {
        asked++;
        return leave();
      }
      if (typeof msg.subscribe !== 'string' || !RUN_ID.test(msg.subscribe)) return send({ type: 'error', error: 'send {"subscribe": "<run-id>"}' });
      const id = msg.subscribe;
      const mine = ++asked; // only the latest subscribe counts
      leave();
      void watcherFor(id).then((w) => {
        if (!w) return send({ type: 'error', runId: id, error: `no run ${id}` });
        if (ws.readyState !== ws.OPEN || mine !== asked) return release(id, w);
        leave();
        const off = w.subscribe((m: LiveMessage) => send(m));
        current = { id, w, off };
        send({ type: 'snapshot', ...w.snapshot() });
      });
    });
    ws.on('close', leave);
    ws.on('error', leave);
  });

  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const refuse = (code: number, text: string) => {
      socket.end(`HTTP/1.1 ${code} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== '/ws') return refuse(404, 'Not Found');
    const h = hostOfHeader(req.headers.host);
    if (loopbackOnly && (!h || !isLoopbackHost(h))) return refuse(421, 'Misdirected Request');
    const origin = req.headers.origin;
    if (origin) {
      let oh: string | undefined;
      try {
        oh = new URL(origin).host;
      } catch {
        oh = undefined;
      }
      if (oh !== req.headers.host) return refuse(403, 'Forbidden');
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });

  await app.listen({ host, port: opts.port ?? 8080 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 8080);
  const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    token,
    tokenFile: tokenPath,
    app,
    async close() {
      for (const { w, idle } of watchers.values()) {
        if (idle) clearTimeout(idle);
        w.stop();
      }
      watchers.clear();
      for (const c of wss.clients) c.terminate();
      wss.close();
      await app.close();
    },
  };
}
