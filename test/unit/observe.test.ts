// orchestrator/observe without a Prometheus server: targets and their labels from a deployment,
// file_sd and prometheus.yml, the orchestrator's own metrics from run events, Kubernetes objects.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parsePrometheus } from '../../orchestrator/collect/prometheus.ts';
import { kubernetesMonitoring, podMetricLabels } from '../../orchestrator/observe/kubernetes.ts';
import { OrchestratorMetrics, tailJsonl } from '../../orchestrator/observe/orchestrator-metrics.ts';
import { prometheusConfig } from '../../orchestrator/observe/prometheus.ts';
import { fileSd, metricsTargets } from '../../orchestrator/observe/targets.ts';
import type { Deployment, NodeHandle } from '../../orchestrator/runtime/runtime.ts';
import { tempDir } from '../support/tmp.ts';

function fakeDeployment(runDir: string): Deployment {
  const node = (name: string, port: number) => ({ name, endpoints: () => ({ adminUrl: `http://127.0.0.${port % 10}:${port}`, adminToken: 't', n2n: { host: '127.0.0.1', port: 1 } }) }) as unknown as NodeHandle;
  const nodes = [node('pool-1', 12791), node('relay-1', 12792)];
  return { runId: 'r-1', runDir, nodes: () => nodes, node: (n: string) => nodes.find((h) => h.name === n)! } as unknown as Deployment;
}

describe('metrics targets', () => {
  const runDir = tempDir('leiosnet-observe-');
  writeFileSync(
    join(runDir, 'profile.resolved.json'),
    JSON.stringify({ nodes: [{ name: 'pool-1', role: 'pool', release: 'praos-1.0', region: 'eu' }, { name: 'relay-1', role: 'relay', release: 'leios-2.0' }] }),
  );

  it('labels nodes, the generator and the orchestrator with run/node/role/release/region', async () => {
    const ts = await metricsTargets(fakeDeployment(runDir), { generatorUrl: 'http://127.0.0.9:4000', orchestratorUrl: 'http://127.0.0.1:5000', releaseNow: new Map([['pool-1', 'leios-2.0']]) });
    expect(ts.map((t) => [t.address, t.metricsPath, t.labels])).toEqual([
      ['127.0.0.1:12791', '/metrics', { run: 'r-1', node: 'pool-1', role: 'pool', release: 'leios-2.0', region: 'eu' }],
      ['127.0.0.2:12792', '/metrics', { run: 'r-1', node: 'relay-1', role: 'relay', release: 'leios-2.0', region: '' }],
      ['127.0.0.9:4000', '/metrics', { run: 'r-1', node: 'generator', role: 'generator', release: '', region: '' }],
      ['127.0.0.1:5000', '/metrics', { run: 'r-1', node: 'orchestrator', role: 'orchestrator', release: '', region: '' }],
    ]);
    const sd = fileSd(ts);
    expect(sd[0]).toEqual({ targets: ['127.0.0.1:12791'], labels: { run: 'r-1', node: 'pool-1', role: 'pool', release: 'leios-2.0', region: 'eu', __metrics_path__: '/metrics', __scheme__: 'http' } });
  });

  it('uses the runtime’s own targets when the deployment has them', async () => {
    const dep = { ...fakeDeployment(runDir), targets: async () => [{ address: '10.0.0.5:12798', metricsPath: '/metrics', labels: { run: 'r-1', node: 'pool-1', role: 'pool', release: 'praos-1.0', region: 'eu', runtime: 'docker' } }] } as Deployment;
    const ts = await metricsTargets(dep, { orchestratorUrl: 'http://127.0.0.1:5000' });
    expect(ts.map((t) => t.labels.node)).toEqual(['pool-1', 'orchestrator']);
    expect(ts[0]!.labels.runtime).toBe('docker');
  });

  it('prometheus.yml: file_sd over the targets dir, honour_labels, the scrape interval', () => {
    const cfg = parseYaml(prometheusConfig({ runId: 'r-1', scrapeIntervalS: 2, targetsDir: '/x/targets' }));
    expect(cfg.global.scrape_interval).toBe('2s');
    expect(cfg.scrape_configs[0]).toMatchObject({ job_name: 'leiosnet', honor_labels: true, file_sd_configs: [{ files: ['/x/targets/*.json'] }] });
  });
});

describe('orchestrator metrics', () => {
  it('counts phases, faults, upgrades, assertions and the generator target from events', async () => {
    const m = new OrchestratorMetrics();
    const t = new Date().toISOString();
    for (const e of [
      { t, type: 'phase', phase: 'up (5 nodes, process)' },
      { t, type: 'generator', phase: 'started' },
      { t, type: 'generator', index: 1, tps: 12 },
      { t, type: 'phase', phase: 'scenario' },
      { t, type: 'fault', fault: { kind: 'kill', node: 'pool-2' }, description: 'kill pool-2' },
      { t, type: 'fault-undone', fault: 'kill pool-2' },
      { t, type: 'upgrade', node: 'pool-1', release: 'leios-2.0', phase: 'done' },
      { t, type: 'assertion', name: 'tip-agreement', passed: true },
      { t, type: 'assertion', name: 'min-blocks', passed: false },
    ])
      m.ingest(e);
    const text = await m.registry.metrics();
    const v = (name: string, labels: Record<string, string> = {}) =>
      parsePrometheus(text).find((s) => s.name === name && Object.entries(labels).every(([k, x]) => s.labels[k] === x))?.value;
    expect(v('leios_orchestrator_phase', { phase: 'scenario' })).toBe(1);
    expect(v('leios_orchestrator_phase', { phase: 'up' })).toBe(0);
    expect(v('leios_orchestrator_faults_total', { kind: 'kill', node: 'pool-2' })).toBe(1);
    expect(v('leios_orchestrator_faults_undone_total', { kind: 'kill', node: 'pool-2' })).toBe(1);
    expect(v('leios_orchestrator_upgrades_total', { node: 'pool-1', release: 'leios-2.0', phase: 'done' })).toBe(1);
    expect(v('leios_orchestrator_assertions_total', { result: 'passed' })).toBe(1);
    expect(v('leios_orchestrator_assertions_total', { result: 'failed' })).toBe(1);
    expect(v('leios_orchestrator_assertion_passed', { name: 'min-blocks' })).toBe(0);
    expect(v('leios_orchestrator_generator_target_tps')).toBe(12);
    expect(m.releaseNow.get('pool-1')).toBe('leios-2.0');
  });

  it('serves /metrics and follows events.jsonl as it grows', async () => {
    const dir = tempDir('leiosnet-observe-');
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, JSON.stringify({ t: new Date().toISOString(), type: 'mark', label: 'a' }) + '\n');
    const m = new OrchestratorMetrics();
    const tail = tailJsonl(file, (e) => m.ingest(e), 60_000);
    appendFileSync(file, JSON.stringify({ t: new Date().toISOString(), type: 'mark', label: 'b' }) + '\n{"type":"mark","la');
    tail.poll();
    tail.stop();
    const server = await m.serve();
    try {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toContain('leios_orchestrator_marks_total{label="a"} 1');
      expect(text).toContain('leios_orchestrator_marks_total{label="b"} 1');
      expect(text).toContain('leios_orchestrator_events_total{type="mark"} 2');
    } finally {
      await server.close();
    }
  });
});

describe('kubernetes monitoring', () => {
  it('a PodMonitor with the operator, annotations and a pod scrape config without', () => {
    const withOp = kubernetesMonitoring('ci-test-20261201-1', 'leiosnet-ci-test', { operator: true, port: 12798, portName: 'admin' });
    const pm = withOp.podMonitor as any;
    expect(pm.kind).toBe('PodMonitor');
    expect(pm.spec.selector.matchLabels['leiosnet.io/run']).toBe('ci-test-20261201-1');
    expect(pm.spec.podMetricsEndpoints[0].relabelings.map((r: any) => r.targetLabel)).toEqual(['run', 'node', 'role', 'release', 'region']);
    const without = kubernetesMonitoring('ci-test-20261201-1', 'leiosnet-ci-test', { operator: false, port: 12798 });
    expect(without.podMonitor).toBeUndefined();
    expect(without.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '12798' });
    expect((without.scrapeConfig as any).kubernetes_sd_configs[0].role).toBe('pod');
    expect(podMetricLabels({ run: 'r', node: 'pool-1', role: 'pool', release: 'leios-2.0' })['leiosnet.io/release']).toBe('leios-2.0');
  });
});

describe('logs --follow', () => {
  it('prints what a file gains (split UTF-8 included), starts over after truncation, stops on the signal', async () => {
    const { followLog } = await import('../../orchestrator/observe/follow.ts');
    const dir = tempDir('leiosnet-follow-');
    const file = join(dir, 'node.log');
    writeFileSync(file, 'old line\n');
    const ac = new AbortController();
    let got = '';
    const done = followLog({ file, from: 9, out: (s) => (got += s), signal: ac.signal, intervalMs: 10 });
    const until = async (cond: () => boolean) => {
      for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
    };
    const euro = Buffer.from('€');
    appendFileSync(file, Buffer.concat([Buffer.from('a '), euro.subarray(0, 1)]));
    await until(() => got.length >= 2);
    appendFileSync(file, Buffer.concat([euro.subarray(1), Buffer.from('\n')]));
    await until(() => got.includes('\n'));
    writeFileSync(file, 'new\n'); // rotated/truncated
    await until(() => got.endsWith('new\n'));
    ac.abort();
    await done;
    expect(got).toBe('a €\nnew\n');
  });

  it('polls a log without a file and prints its new tail', async () => {
    const { followLog } = await import('../../orchestrator/observe/follow.ts');
    let log = 'one\n';
    const ac = new AbortController();
    let got = '';
    const done = followLog({ logs: async () => log, printed: log, out: (s) => (got += s), signal: ac.signal, intervalMs: 10 });
    log += 'two\n';
    for (let i = 0; i < 300 && !got; i++) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    await done;
    expect(got).toBe('two\n');
  });
});
