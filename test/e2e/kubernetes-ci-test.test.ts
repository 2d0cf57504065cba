// `leiosnet run ci-test --runtime kubernetes` — the Praos → Leios hard fork under light load — on a
// real cluster: it passes, the run dir has every file the other runtimes write (node logs and traces
// fetched from the pods), and summary.json has the keys of DESIGN.md's contract (the same shape as
// on processes and Docker); with no Prometheus Operator on the cluster (kubernetes-runtime removes
// the CRD it installs), the run says it made no PodMonitor and why (#9). One SKIPPED line without a
// cluster (LEIOSNET_E2E_K8S=1: a failure).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubernetesRuntime } from '../../orchestrator/runtime/kubernetes.ts';
import { kubeGate } from '../../orchestrator/runtime/kubernetes/testing.ts';

const gate = await kubeGate('kubernetes ci-test');
const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/leiosnet.js');
const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-k8s-citest-'));
const env = { ...process.env, LEIOSNET_HOME: join(tmp, 'home') };

function leiosnet(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => res({ code, out, err }));
  });
}

/** Every key path of an object (objects only; per-node maps are run-specific). */
function shape(o: unknown, prefix = ''): string[] {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return [];
  return Object.entries(o).flatMap(([k, v]) => (k === 'perNode' ? [prefix + k] : [prefix + k, ...shape(v, `${prefix}${k}.`)]));
}

// DESIGN.md "summary.json (keys that tools rely on)"
const CONTRACT = [
  'run.id', 'run.profile', 'run.runtime', 'run.seed', 'run.nodes', 'run.durationS', 'run.slotLengthS',
  'chain.blocks', 'chain.finalSlot', 'chain.tipAgreement', 'chain.maxForkDepth', 'chain.density',
  'leios.ebsAnnounced', 'leios.ebsCertified', 'leios.certRate', 'leios.votesCast', 'leios.certsIncluded', 'leios.hardForkSlot',
  'throughput.txSubmitted', 'throughput.txIncluded', 'throughput.txRejected', 'throughput.txPending', 'throughput.txkbPerS', 'throughput.tps',
  'latency.inclusionP50S', 'latency.inclusionP95S',
  'diffusion.rb.p50Ms', 'diffusion.rb.p95Ms', 'diffusion.rb.p99Ms', 'diffusion.eb.p50Ms', 'diffusion.eb.p95Ms', 'diffusion.eb.p99Ms',
  'resources.cpuPctPerNode', 'resources.rssMbPerNode',
  'assertions', 'passed',
];

describe.skipIf(gate.skip)('leiosnet run ci-test --runtime kubernetes', () => {
  const out = join(tmp, 'kubernetes');
  beforeAll(async () => {
    gate.assert();
    // the image first (rebuilt only if this tree changed; in CI the Docker suites built it), so the
    // run's own time is the runtime's
    if (process.env.LEIOSNET_K8S_BUILD === 'never') return; // use the images as they are
    const { ensureImages } = await import('../../orchestrator/image/build.ts');
    await ensureImages(['praos-1.0', 'leios-2.0']);
  }, 300_000);
  afterAll(async () => {
    // `run` tears down itself; this only matters if it died half-way
    if (existsSync(join(out, 'meta.json'))) await leiosnet(['down', JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')).runId]);
    rmSync(tmp, { recursive: true, force: true });
  }, 120_000);

  it('passes on a real cluster with a summary.json of the contract shape', { timeout: 420_000 }, async () => {
    const operator = await new KubernetesRuntime({ build: 'never' }).podMonitorCrd();
    const r = await leiosnet(['run', 'ci-test', '--runtime', 'kubernetes', '--out', out, '--json']);
    expect(r.code, `${r.err}\n${r.out}`).toBe(0);
    // monitoring without the operator: the pods' prometheus.io annotations, and the run says so
    if (!operator) expect(r.err).toMatch(/kubernetes: no PodMonitor for run ci-test-\S+: the Prometheus Operator's CRD \(podmonitors\.monitoring\.coreos\.com\) is not on this cluster; the pods carry prometheus\.io\/\* annotations/);
    else console.warn('[kubernetes ci-test] a PodMonitor CRD is on this cluster: the no-operator message is not checked');
    for (const f of ['meta.json', 'profile.resolved.json', 'genesis/genesis.json', 'events.jsonl', 'summary.json', 'report.md', 'report.html', 'generator/summary.json', 'generator/config.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    for (const n of ['pool-1', 'pool-5']) {
      for (const f of ['config.json', 'node.log', 'trace.jsonl']) expect(statSync(join(out, 'nodes', n, f)).size, `${n}/${f}`).toBeGreaterThan(0);
    }
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(s.passed).toBe(true);
    expect(s.run).toMatchObject({ profile: 'ci-test', runtime: 'kubernetes', nodes: 5 });
    expect(s.leios.ebsCertified).toBeGreaterThanOrEqual(1);
    expect(s.leios.hardForkSlot).toBeGreaterThanOrEqual(60);
    expect(s.throughput.txSubmitted).toBe(s.throughput.txIncluded + s.throughput.txRejected + s.throughput.txPending);
    const keys = new Set(shape(s));
    expect(CONTRACT.filter((k) => !keys.has(k))).toEqual([]);
  });
});
