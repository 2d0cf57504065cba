// The live view assertions are checked against during a run: each node's /tip (block, hash,
// protocol version, following) and, for figures that only the traces give (diffusion, forks,
// throughput), the analysis of the run dir so far.

import { analyseRun } from '../analysis/analyse.ts';
import type { AssertionView, NodeState } from '../analysis/assertions.ts';
import type { Summary } from '../analysis/summary.ts';
import { getTip } from '../collect/admin.ts';
import type { Assertion } from '../profile/schema.ts';
import type { Deployment } from '../runtime/runtime.ts';

/** Kinds whose figures come from the traces, not from the nodes' tips. */
const FROM_TRACES = new Set<Assertion['kind']>(['certified-ebs', 'max-fork-depth', 'txkb-per-s', 'tps', 'inclusion-p95', 'rb-diffusion-p95']);

export function needsTraces(a: Assertion): boolean {
  return FROM_TRACES.has(a.kind);
}

/** A summary with nothing measured yet (for views that need only node states). */
export function emptySummary(): Summary {
  const p = { p50Ms: null, p95Ms: null, p99Ms: null, samples: 0, blocks: 0, reachedWithinShare: null, withinS: 0 };
  return {
    run: { id: '', profile: '', runtime: '', seed: null, nodes: 0, durationS: null, slotLengthS: null },
    chain: { blocks: 0, finalSlot: null, tipAgreement: false, tipAgreementShare: null, maxForkDepth: 0, rollbacks: 0, density: null },
    leios: { ebsAnnounced: 0, ebsCertified: 0, certRate: null, votesCast: 0, votesSkipped: null, certsIncluded: 0, hardForkSlot: null },
    throughput: { txSubmitted: 0, txIncluded: 0, txRejected: 0, txPending: 0, txkbPerS: null, tps: null, loadWindowS: null },
    latency: { inclusionP50S: null, inclusionP95S: null },
    diffusion: { rb: { ...p }, eb: { ...p } },
    resources: { cpuPctPerNode: null, rssMbPerNode: null, perNode: {} },
    assertions: [],
    passed: true,
  };
}

export async function nodeStates(dep: Deployment): Promise<Record<string, NodeState>> {
  const entries = await Promise.all(
    dep.nodes().map(async (h): Promise<[string, NodeState]> => {
      const running = await h.running().catch(() => false);
      const tip = running ? await getTip(h.endpoints()) : undefined;
      if (!tip) return [h.name, { running }];
      return [
        h.name,
        {
          running,
          blockNo: tip.blockNo,
          slot: tip.slot,
          hash: tip.hash ?? undefined,
          protocolVersion: tip.protocolVersion,
          stoppedFollowing: tip.following === undefined ? undefined : !tip.following,
        },
      ];
    }),
  );
  return Object.fromEntries(entries);
}

export async function liveView(dep: Deployment, runDir: string, withTraces: boolean): Promise<AssertionView> {
  const [nodes, summary] = await Promise.all([
    nodeStates(dep),
    withTraces ? analyseRun(runDir, { assertions: [], scenarioAssertions: [] }).then((a) => a.summary) : emptySummary(),
  ]);
  return { summary, nodes };
}
