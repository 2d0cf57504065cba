/**
 * The node's admin/metrics HTTP API (fastify). Same API on every runtime.
 *
 * Open:
 *   GET  /metrics                 Prometheus text from the node's registry
 *   GET  /health                  {ok, name, runId, slot, following, ...}; 200 (or 503 when !ok and ?strict=1)
 *   GET  /tip                     {slot, hash, blockNo, era, protocolVersion}
 *   GET  /peers                   [{name, host, port, connected, link}]
 *   GET  /adversary               {behaviours: [{name, summary}], active: [{behaviour, params}]} (node/adversary/)
 * Token (`Authorization: Bearer <token>`, else 401):
 *   PUT  /peers/:name/link        {latencyMs?, bandwidthBps? (null = unlimited), loss?, down?} → the new shape
 *   PUT  /clock                   {offsetMs}
 *   PUT  /adversary/:behaviour    {enabled, params?}: unknown behaviour 404 naming the known ones, bad params 400
 *   POST /shutdown                202, then hooks.shutdown()
 *   POST /tx                      body: hex (text/plain), raw bytes (application/octet-stream) or
 *                                 JSON {"tx": "<hex>"} → 202 {accepted, id} | 422 {accepted: false, reason}
 *   GET  /tx/:id                  {id, status: mempool | included {slot, blockHash} | unknown}
 *
 * Bad input → 400 `{statusCode, error, message, field}`, the message naming the field
 * (e.g. "body.loss must be <= 1", "body.offsetMs is required", "body.foo is not allowed").
 *
 * Hardening: binds loopback unless `host` says otherwise; the token is checked (SHA-256 digests
 * compared with timingSafeEqual, so neither content nor length leaks through timing) before any
 * body is read; JSON control bodies are capped at CONTROL_BODY_LIMIT (413 past it), /tx at
 * `bodyLimit`; non-finite numbers (JSON `1e999`) are refused as the wrong type; adversary
 * `params` are bounded in depth, keys and string length; `__proto__`/`constructor` keys are
 * refused by fastify's JSON parser.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from 'pino';
import { AdminError, type AdminHooks, type LinkPatch } from './hooks.ts';
import { BEHAVIOURS } from '../adversary/index.ts';

export interface AdminServerOptions {
  /** default 127.0.0.1: reachable from this machine only */
  host?: string;
  /** 0 = any free port (see the returned `port`) */
  port: number;
  /** bearer token for mutating routes; at least 8 characters */
  token: string;
  hooks: AdminHooks;
  registry: Registry;
  /** request errors are logged here; requests themselves are not (Prometheus scrapes often) */
  logger?: Logger;
  /** add routes before the server starts listening */
  extraRoutes?: (app: FastifyInstance) => void;
  /** max request body of POST /tx; default 1 MiB (JSON control routes: CONTROL_BODY_LIMIT) */
  bodyLimit?: number;
}

/** Largest JSON body a control route (link, clock, adversary, shutdown) accepts. */
export const CONTROL_BODY_LIMIT = 16 * 1024;
/** Longest Authorization header looked at (a token is far shorter). */
const MAX_AUTH_HEADER = 1024;
/** Adversary params: how deep, how many keys in all, how long a string. */
export const PARAMS_LIMITS = { depth: 8, keys: 256, stringLength: 4096 } as const;

/** Why free-form `params` are unacceptable, or undefined. */
export function paramsProblem(v: unknown, path = 'body.params', depth = 0, budget = { keys: PARAMS_LIMITS.keys }): FieldError | undefined {
  if (typeof v === 'number' && !Number.isFinite(v)) return new FieldError(path, `${path} must be a finite number`);
  if (typeof v === 'string' && v.length > PARAMS_LIMITS.stringLength) return new FieldError(path, `${path} must be at most ${PARAMS_LIMITS.stringLength} characters`);
  if (typeof v !== 'object' || v === null) return undefined;
  if (depth >= PARAMS_LIMITS.depth) return new FieldError(path, `${path} is nested too deeply (at most ${PARAMS_LIMITS.depth} levels)`);
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
  budget.keys -= entries.length;
  if (budget.keys < 0) return new FieldError('body.params', `body.params has too many fields (at most ${PARAMS_LIMITS.keys})`);
  for (const [k, x] of entries) {
    const e = paramsProblem(x, Array.isArray(v) ? `${path}[${k}]` : `${path}.${k}`, depth + 1, budget);
    if (e) return e;
  }
  return undefined;
}

export interface AdminServer {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  port: number;
  app: FastifyInstance;
  close(): Promise<void>;
}

interface AjvErrorLike {
  keyword: string;
  instancePath: string;
  params: Record<string, unknown>;
  message?: string;
}

class FieldError extends Error {
  readonly field: string;
  readonly statusCode = 400;
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

/** One ajv error as "<dataVar>.<path> <what is wrong>", naming the offending field. */
export function describeValidationError(e: AjvErrorLike, dataVar: string): FieldError {
  const base = dataVar + e.instancePath.replace(/\//g, '.').replace(/~1/g, '/').replace(/~0/g, '~');
  if (e.keyword === 'required') {
    const f = `${base}.${String(e.params.missingProperty)}`;
    return new FieldError(f, `${f} is required`);
  }
  if (e.keyword === 'additionalProperties') {
    const f = `${base}.${String(e.params.additionalProperty)}`;
    return new FieldError(f, `${f} is not allowed`);
  }
  if (e.keyword === 'minProperties') return new FieldError(base, `${base} must set at least one field`);
  return new FieldError(base, `${base} ${e.message ?? 'is invalid'}`);
}

const linkBody = {
  type: 'object',
  additionalProperties: false,
  minProperties: 1,
  properties: {
    latencyMs: { type: 'number', minimum: 0, maximum: 600_000 },
    bandwidthBps: { type: ['number', 'null'], exclusiveMinimum: 0 },
    loss: { type: 'number', minimum: 0, maximum: 1 },
    down: { type: 'boolean' },
  },
} as const;

const nameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;

const clockBody = {
  type: 'object',
  additionalProperties: false,
  required: ['offsetMs'],
  properties: { offsetMs: { type: 'number', minimum: -86_400_000, maximum: 86_400_000 } },
} as const;

const adversaryParams = {
  type: 'object',
  required: ['behaviour'],
  properties: { behaviour: { type: 'string', pattern: '^[A-Za-z0-9_.-]{1,64}$' } },
} as const;

const adversaryBody = {
  type: 'object',
  additionalProperties: false,
  required: ['enabled'],
  properties: { enabled: { type: 'boolean' }, params: { type: 'object', maxProperties: 64 } },
} as const;

const txIdParams = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' } },
} as const;

const HEX_RE = /^(?:[0-9a-fA-F]{2})+$/;

function txBytes(body: unknown): Uint8Array {
  if (Buffer.isBuffer(body)) {
    if (body.length === 0) throw new FieldError('body', 'body is empty');
    return new Uint8Array(body);
  }
  let hex: unknown = body;
  let field = 'body';
  if (body !== null && typeof body === 'object') {
    const keys = Object.keys(body);
    const extra = keys.find((k) => k !== 'tx');
    if (extra !== undefined) throw new FieldError(`body.${extra}`, `body.${extra} is not allowed`);
    hex = (body as { tx?: unknown }).tx;
    field = 'body.tx';
    if (hex === undefined) throw new FieldError(field, `${field} is required`);
  }
  if (typeof hex !== 'string') throw new FieldError(field, `${field} must be a hex string`);
  const h = hex.trim();
  if (!HEX_RE.test(h)) throw new FieldError(field, `${field} must be a non-empty hex string of whole bytes`);
  return new Uint8Array(Buffer.from(h, 'hex'));
}

export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const { hooks, registry } = opts;
  if (typeof opts.token !== 'string' || opts.token.length < 8) throw new Error('admin token must be at least 8 characters');
  const tokenDigest = createHash('sha256').update(opts.token).digest();
  const host = opts.host ?? '127.0.0.1';

  // (cast: with a custom loggerInstance fastify types the instance by that logger)
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    disableRequestLogging: true,
    bodyLimit: opts.bodyLimit ?? 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, useDefaults: false, coerceTypes: false, allErrors: false, strictNumbers: true } },
    // a prototype-poisoning key in a JSON body is a 400, never a property
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    schemaErrorFormatter: (errors, dataVar) => describeValidationError(errors[0] as AjvErrorLike, dataVar),
  }) as unknown as FastifyInstance;

  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number; field?: string; validation?: unknown }, req, reply) => {
    let status = err instanceof AdminError ? err.statusCode : (err.statusCode ?? 500);
    if (status < 400 || status > 599) status = 500;
    if (status >= 500) req.log.error({ err, url: req.url }, 'admin request failed');
    const body: Record<string, unknown> = {
      statusCode: status,
      error:
        status === 400 ? 'Bad Request' : status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : status === 413 ? 'Payload Too Large' : status === 415 ? 'Unsupported Media Type' : status >= 500 ? 'Internal Server Error' : 'Error',
      message: err.message,
    };
    if (err.field) body.field = err.field;
    void reply.status(status).send(body);
  });

  const requireToken = async (req: FastifyRequest, reply: FastifyReply) => {
    const h = req.headers.authorization;
    const m = typeof h === 'string' && h.length <= MAX_AUTH_HEADER ? /^Bearer\s+(\S+)\s*$/i.exec(h) : null;
    // digests have one length whatever was sent: timingSafeEqual never throws, leaks nothing
    const ok = m !== null && timingSafeEqual(createHash('sha256').update(m[1]!).digest(), tokenDigest);
    if (!ok) {
      void reply
        .status(401)
        .header('www-authenticate', 'Bearer realm="leios-admin"')
        .send({ statusCode: 401, error: 'Unauthorized', message: 'missing or wrong bearer token' });
      return reply;
    }
  };

  // --- open routes -------------------------------------------------------------------------------

  app.get('/metrics', async (_req, reply) => {
    const text = await registry.metrics();
    return reply.header('content-type', registry.contentType).send(text);
  });

  app.get<{ Querystring: { strict?: string } }>('/health', async (req, reply) => {
    const h = await hooks.getHealth();
    const strict = req.query.strict === '1' || req.query.strict === 'true';
    return reply.status(strict && !h.ok ? 503 : 200).send(h);
  });

  app.get('/tip', async () => hooks.getTip());

  app.get('/peers', async () => hooks.getPeers());

  app.get('/adversary', async () => ({
    behaviours: BEHAVIOURS.map((b) => ({ name: b.name, summary: b.summary })),
    active: (await hooks.getAdversary?.()) ?? [],
  }));

  // --- token routes ------------------------------------------------------------------------------

  app.put<{ Params: { name: string }; Body: LinkPatch }>(
    '/peers/:name/link',
    { onRequest: requireToken, bodyLimit: CONTROL_BODY_LIMIT, schema: { params: nameParams, body: linkBody } },
    async (req) => hooks.setLink(req.params.name, req.body),
  );

  app.put<{ Body: { offsetMs: number } }>('/clock', { onRequest: requireToken, bodyLimit: CONTROL_BODY_LIMIT, schema: { body: clockBody } }, async (req) => {
    await hooks.setClockOffset(req.body.offsetMs);
    return { ok: true, offsetMs: req.body.offsetMs };
  });

  app.put<{ Params: { behaviour: string }; Body: { enabled: boolean; params?: Record<string, unknown> } }>(
    '/adversary/:behaviour',
    {
      onRequest: requireToken,
      bodyLimit: CONTROL_BODY_LIMIT,
      schema: { params: adversaryParams, body: adversaryBody },
      preHandler: async (req) => {
        const e = paramsProblem(req.body.params);
        if (e) throw e;
      },
    },
    async (req) => {
      await hooks.setAdversary(req.params.behaviour, req.body.enabled, req.body.params);
      return { ok: true, behaviour: req.params.behaviour, enabled: req.body.enabled };
    },
  );

  app.post(
    '/shutdown',
    {
      onRequest: requireToken,
      bodyLimit: CONTROL_BODY_LIMIT,
      onResponse: async (_req, reply) => {
        if (reply.statusCode !== 202) return;
        setImmediate(() => {
          Promise.resolve()
            .then(() => hooks.shutdown())
            .catch((e) => app.log.error({ err: e }, 'shutdown hook failed'));
        });
      },
    },
    async (_req, reply) => reply.status(202).send({ ok: true, message: 'shutting down' }),
  );

  app.post('/tx', { onRequest: requireToken }, async (req, reply) => {
    const tx = txBytes(req.body);
    const r = await hooks.submitTx(tx);
    return reply.status(r.accepted ? 202 : 422).send(r);
  });

  app.get<{ Params: { id: string } }>('/tx/:id', { onRequest: requireToken, schema: { params: txIdParams } }, async (req) => {
    const id = req.params.id.toLowerCase();
    return { id, ...(await hooks.txStatus(id)) };
  });

  opts.extraRoutes?.(app);

  await app.listen({ host, port: opts.port });
  const addr = app.server.address();
  const port = addr !== null && typeof addr === 'object' ? addr.port : opts.port;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${hostPart}:${port}`,
    port,
    app,
    close: () => app.close(),
  };
}
