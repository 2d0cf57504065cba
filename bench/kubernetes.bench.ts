// The kubernetes runtime next to the process (and docker) runtime: 10 pools from the same plan
// (same seed, so the same leader schedule), time from `up()` until every node answers /health and
// until every node has adopted the first block, then per-pod RSS / CPU (from each node's own
// process metrics; /proc for processes, engine stats for docker). Prints figures.
//
//   npm run bench:kubernetes -- [--nodes 10] [--settle 15] [--runtimes process,docker,kubernetes]
// Needs a cluster (bash .ci/k8s-setup.sh; kubeconfig from $KUBECONFIG or /tmp/leiosnet-k8s/kubeconfig).

import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { adminJson, type Tip } from '../orchestrator/collect/admin.ts';
import { writeRunFiles } from '../orchestrator/genesis/index.ts';
import { ensureImages } from '../orchestrator/image/build.ts';
import { profileFromObject } from '../orchestrator/profile/load.ts';
import { resolvePlan } from '../orchestrator/profile/resolve.ts';
import { kubeGate } from '../orchestrator/runtime/kubernetes/testing.ts';
import type { NodeStats, Runtime } from '../orchestrator/runtime/runtime.ts';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '10' },
    settle: { type: 'string', default: '15' },
    runtimes: { type: 'string', default: 'process,docker,kubernetes' },
  },
});
const N = Number(values.nodes);
const SETTLE_S = Number(values.settle);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const ownHome = process.env.LEIOSNET_HOME ? undefined : mkdtempSync(join(tmpdir(), 'leiosnet-bench-home-'));
if (ownHome) process.env.LEIOSNET_HOME = ownHome;
process.on('exit', () => ownHome && rmSync(ownHome, { recursive: true, force: true }));

const profile = {
  name: 'k8s-bench',
  seed: 7,
  composition: { pools: N, topology: { kind: 'random-regular', degree: 4 } },
  genesis: { slotLengthS: 0.2, f: 0.1, k: 20, startDelayS: 2, eras: [{ era: 'praos', startEpoch: 0, protocolVersion: 1 }] },
  node: { release: 'praos-1.0' },
  generator: { enabled: false },
};

interface Row {
  runtime: string;
  upS: number;
  firstBlockAllS: number;
  stats: NodeStats[];
}

async function runtimeFor(name: string): Promise<Runtime> {
  if (name === 'process') return new (await import('../orchestrator/runtime/process.ts')).ProcessRuntime();
  if (name === 'docker') return new (await import('../orchestrator/runtime/docker.ts')).DockerRuntime();
  return new (await import('../orchestrator/runtime/kubernetes.ts')).KubernetesRuntime();
}

async function measure(name: string): Promise<Row> {
  const rt = await runtimeFor(name);
  const plan = resolvePlan(profileFromObject(profile));
  const runDir = mkdtempSync(join(tmpdir(), `leiosnet-bench-${name}-`));
  const runId = `bench-${name}-${Date.now().toString(36)}`;
  try {
    const t0 = performance.now();
    const specs = writeRunFiles(plan, runDir, { now: new Date() });
    const dep = await rt.up(runId, runDir, specs);
    const upS = (performance.now() - t0) / 1000;
    let firstBlockAllS = NaN;
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const tips = await Promise.all(dep.nodes().map((h) => adminJson<Tip>(h.endpoints(), '/tip').catch(() => undefined)));
      if (tips.every((t) => Number(t?.blockNo ?? 0) >= 1)) {
        firstBlockAllS = (performance.now() - t0) / 1000;
        break;
      }
      await sleep(200);
    }
    await sleep(SETTLE_S * 1000);
    const stats = (await Promise.all(dep.nodes().map((h) => h.stats()))).filter((s): s is NodeStats => s !== undefined);
    await dep.down();
    return { runtime: name, upS, firstBlockAllS, stats };
  } finally {
    await rt.down(runId).catch(() => {});
    rmSync(runDir, { recursive: true, force: true });
  }
}

const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

const rows: Row[] = [];
for (const name of String(values.runtimes).split(',')) {
  if (name === 'kubernetes') {
    const gate = await kubeGate('bench:kubernetes');
    if (!gate.ok) {
      console.log(`kubernetes: skipped (${gate.detail})`);
      continue;
    }
  }
  if (name !== 'process' && process.env.LEIOSNET_K8S_BUILD !== 'never') await ensureImages(['praos-1.0'], { onProgress: () => {} });
  console.log(`${name}: up ${N} nodes ...`);
  rows.push(await measure(name));
}

console.log(`\n${N} pools, slot 0.2 s, f 0.1; timed from planning (genesis start 2 s later); stats after ${SETTLE_S} s of running`);
console.log(`machine: ${cpus().length} cores, load average now ${loadavg().map((l) => l.toFixed(1)).join(' ')} (shared machine: figures vary with it)`);
console.log('runtime      up→healthy s  run→block#1 on all s  RSS MB mean/max   CPU % mean/max (of one core)');
for (const r of rows) {
  const rss = r.stats.map((s) => s.rssMb);
  const cpu = r.stats.map((s) => s.cpuPct);
  console.log(
    `${r.runtime.padEnd(12)} ${fmt(r.upS, 2).padStart(12)}  ${fmt(r.firstBlockAllS, 2).padStart(20)}  ${`${fmt(mean(rss))}/${fmt(Math.max(...rss))}`.padStart(15)}   ${`${fmt(mean(cpu))}/${fmt(Math.max(...cpu))}`.padStart(13)}`,
  );
}
for (const r of rows) console.log(`${r.runtime} per node RSS MB: ${r.stats.map((s) => fmt(s.rssMb, 0)).join(' ')}; CPU %: ${r.stats.map((s) => fmt(s.cpuPct, 0)).join(' ')}`);
