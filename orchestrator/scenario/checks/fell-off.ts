// fell-off: nodes left on a release that cannot follow the chain's protocol version have
// visibly stopped: /tip says following false, the leios_following gauge is 0 and (where the
// run dir holds the node's traces) a StoppedFollowing event names why.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getTip } from '../../collect/admin.ts';
import { isReleaseName, releaseInfo } from '../../profile/releases.ts';
import { METRIC, metricOf, nodeMetrics } from '../live.ts';
import { nodeStates } from '../view.ts';
import { withinS } from './common.ts';
import type { CheckContext, CheckDef } from './types.ts';

function stoppedTrace(ctx: CheckContext, node: string): Record<string, unknown> | null | undefined {
  const f = join(ctx.runDir, 'nodes', node, 'trace.jsonl');
  if (!existsSync(f)) return undefined; // traces live elsewhere on this runtime
  for (const line of readFileSync(f, 'utf8').split('\n')) {
    if (!line.includes('StoppedFollowing')) continue;
    try {
      const e = JSON.parse(line) as { message?: Record<string, unknown> };
      if (e.message?.type === 'StoppedFollowing') return e.message;
    } catch {
      /* a torn last line */
    }
  }
  return null;
}

/** Nodes on a release whose max protocol version is below what the followers are at. */
async function oldReleaseNodes(ctx: CheckContext): Promise<string[]> {
  const states = await nodeStates(ctx.dep);
  const pv = Math.max(0, ...Object.values(states).filter((s) => !s.stoppedFollowing).map((s) => s.protocolVersion ?? 0));
  return Object.entries(ctx.releases)
    .filter(([, r]) => isReleaseName(r) && releaseInfo(r).maxProtocolVersion < pv)
    .map(([n]) => n);
}

export const fellOffCheck: CheckDef = {
  name: 'fell-off',
  async run(ctx, spec) {
    const names = spec.nodes ?? (await oldReleaseNodes(ctx));
    if (names.length === 0) return { passed: false, detail: 'no node is on a release older than the chain', evidence: { releases: ctx.releases } };
    const deadline = Date.now() + withinS(spec) * 1000;
    for (;;) {
      const metrics = await nodeMetrics(ctx.dep, names);
      const evidence: Record<string, unknown> = {};
      const missing: string[] = [];
      for (const n of names) {
        const tip = await getTip(ctx.dep.node(n).endpoints());
        const gauge = metricOf(metrics[n], METRIC.following);
        const trace = stoppedTrace(ctx, n);
        evidence[n] = { release: ctx.releases[n], following: tip?.following ?? null, leios_following: gauge ?? null, tip: tip ? { slot: tip.slot, blockNo: tip.blockNo, protocolVersion: tip.protocolVersion } : null, trace: trace === undefined ? 'not in the run dir' : trace };
        const ok = tip?.following === false && gauge === 0 && trace !== null;
        if (!ok) missing.push(n);
      }
      if (missing.length === 0)
        return { passed: true, detail: `${names.join(', ')} stopped following: /tip following false, leios_following 0, StoppedFollowing traced`, evidence };
      if (Date.now() >= deadline) return { passed: false, detail: `still following or not showing it: ${missing.join(', ')}`, evidence };
      await ctx.sleep(ctx.pollMs);
    }
  },
};
