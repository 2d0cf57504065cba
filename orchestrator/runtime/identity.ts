// Whose node answers? A runtime's readiness check reads GET /health and compares the node's own
// name and run id (node config `runId`, node/admin.ts) with the node it started: an answer from
// another run's node on the same address is not "up".

import type { Endpoints } from './runtime.ts';

export interface HealthAnswer {
  ok?: boolean;
  name?: unknown;
  runId?: unknown;
  [k: string]: unknown;
}

/**
 * GET /health as JSON, or undefined if it does not answer 2xx with JSON in time. Sent without the
 * admin token (the route is open): an impostor must not learn it.
 */
export async function readHealth(ep: Pick<Endpoints, 'adminUrl'>, timeoutMs = 1_000): Promise<HealthAnswer | undefined> {
  try {
    const res = await fetch(ep.adminUrl.replace(/\/$/, '') + '/health', { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    const h = (await res.json()) as unknown;
    return h !== null && typeof h === 'object' ? (h as HealthAnswer) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why this /health answer is not from the node we want (undefined: it is). The run id is checked
 * when our config names one (configs of older runs do not).
 */
export function identityProblem(h: HealthAnswer, want: { name: string; runId?: string }): string | undefined {
  if (h.name !== want.name) return `it says it is ${JSON.stringify(h.name)}, not ${JSON.stringify(want.name)}`;
  if (want.runId !== undefined && h.runId !== want.runId) return `node ${want.name} of run ${JSON.stringify(h.runId)}, not ${JSON.stringify(want.runId)}`;
  return undefined;
}
