// Client for the node's admin HTTP API (same on every runtime): /health, /tip, /peers, /metrics
// and the token-protected admin routes (link shapes, adversary toggles, clock offset).

import type { Endpoints } from '../runtime/runtime.ts';

export class AdminError extends Error {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'AdminError';
    this.status = status;
  }
}

export interface AdminRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  timeoutMs?: number;
}

async function request(ep: Endpoints, path: string, opts: AdminRequest = {}): Promise<Response> {
  const url = ep.adminUrl.replace(/\/$/, '') + path;
  const headers: Record<string, string> = {
    authorization: `Bearer ${ep.adminToken}`,
    'x-admin-token': ep.adminToken,
  };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(url, {
      method: opts.method ?? 'GET',
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 2_000),
    });
  } catch (e) {
    throw new AdminError(`${opts.method ?? 'GET'} ${url}: ${(e as Error).message}`);
  }
  if (!res.ok) {
    const text = await res.text().catch(() => '');
    throw new AdminError(`${opts.method ?? 'GET'} ${url}: HTTP ${res.status} ${text.slice(0, 200)}`, res.status);
  }
  return res;
}

export async function adminJson<T = unknown>(ep: Endpoints, path: string, opts?: AdminRequest): Promise<T> {
  const res = await request(ep, path, opts);
  const text = await res.text();
  return (text ? JSON.parse(text) : {}) as T;
}

export async function adminText(ep: Endpoints, path: string, opts?: AdminRequest): Promise<string> {
  return (await request(ep, path, opts)).text();
}

/** True if GET /health answers 2xx. */
export async function healthy(ep: Endpoints, timeoutMs = 1_000): Promise<boolean> {
  try {
    await request(ep, '/health', { timeoutMs });
    return true;
  } catch {
    return false;
  }
}

/** What GET /tip is expected to answer; fields are optional because nodes may not have a tip yet. */
export interface Tip {
  slot?: number;
  blockNo?: number;
  height?: number;
  hash?: string;
  [k: string]: unknown;
}

export async function getTip(ep: Endpoints): Promise<Tip | undefined> {
  try {
    return await adminJson<Tip>(ep, '/tip');
  } catch {
    return undefined;
  }
}
