// Submitting and locating transactions through the node admin API:
// POST /tx → 202 {accepted, id} | 422 {accepted: false, reason}; GET /tx/:id → mempool | included | unknown.

import type { SubmitResult, TxStatus } from '../../../node/admin/hooks.ts';
import type { Endpoints } from '../../runtime/runtime.ts';

async function call(ep: Endpoints, path: string, init: RequestInit): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(ep.adminUrl.replace(/\/$/, '') + path, {
    ...init,
    headers: { authorization: `Bearer ${ep.adminToken}`, ...(init.body ? { 'content-type': 'application/json' } : {}) },
    signal: AbortSignal.timeout(5_000),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    json = { message: text.slice(0, 200) };
  }
  return { status: res.status, json };
}

/** Submit one serialised tx. A refusal is a result (422 with its reason), not an exception. */
export async function submitTx(ep: Endpoints, bytes: Uint8Array): Promise<SubmitResult & { httpStatus: number }> {
  const r = await call(ep, '/tx', { method: 'POST', body: JSON.stringify({ tx: Buffer.from(bytes).toString('hex') }) });
  if (r.status === 202) return { accepted: true, id: String(r.json.id), httpStatus: r.status };
  if (r.status === 422) return { accepted: false, id: r.json.id as string | undefined, reason: String(r.json.reason), httpStatus: r.status };
  throw new Error(`POST /tx: HTTP ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
}

export async function txStatus(ep: Endpoints, idHex: string): Promise<TxStatus> {
  const r = await call(ep, `/tx/${idHex}`, { method: 'GET' });
  if (r.status !== 200) throw new Error(`GET /tx/${idHex.slice(0, 16)}: HTTP ${r.status}`);
  return r.json as unknown as TxStatus;
}

/** POST /update (pool governance): propose or endorse; 202 {accepted, tx, proposalId} | 422 {reason}. */
export async function postUpdate(ep: Endpoints, body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  return call(ep, '/update', { method: 'POST', body: JSON.stringify(body) });
}
