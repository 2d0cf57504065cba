// The kubernetes runtime asks the cluster what it may do (#14), and the CLI refuses up front, with
// exit 2 and the field named, what the cluster cannot run — before any cluster object exists (and,
// since the pipeline calls Runtime.admit right after the capability check, before the run dir):
//   - the cluster's answer (server version, SelfSubjectAccessReviews, nodes' allocatable);
//   - a profile whose node requests more CPU than any node has (admin credentials);
//   - restricted credentials (a ServiceAccount of a real RBAC role): may not patch pods → an upgrade
//     profile is refused by the capability check; may do nothing → `run` is refused naming the
//     permissions.
// No testnet is started (every refusal comes before one): seconds, not minutes.
// One SKIPPED line without a cluster; LEIOSNET_E2E_K8S=1 makes a missing cluster a failure.

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type KubernetesRuntime } from '../../orchestrator/runtime/kubernetes.ts';
import { runSelector } from '../../orchestrator/runtime/kubernetes/names.ts';
import { kubeGate } from '../../orchestrator/runtime/kubernetes/testing.ts';

const gate = await kubeGate('kubernetes-capabilities');
const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/leiosnet.js');
const NODE22 = join(REPO, 'node_modules/node/bin/node');

describe.skipIf(gate.skip)('kubernetes capabilities asked of the cluster (real cluster)', () => {
  let rt: KubernetesRuntime;
  const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-k8s-caps-'));
  const tag = `caps-${process.pid}-${Date.now().toString(36)}`;
  const saNs = `leiosnet-${tag}`;
  const kubeconfigs: Record<'nopatch' | 'nothing', string> = { nopatch: '', nothing: '' };

  function leiosnet(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((res) => {
      const p = spawn(NODE22, [BIN, ...args], {
        cwd: REPO,
        env: { ...process.env, LEIOSNET_HOME: join(tmp, 'home'), LEIOSNET_K8S_BUILD: 'never', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('exit', (code) => res({ code, out, err }));
    });
  }

  /** A ServiceAccount bound to a ClusterRole of exactly these rules, and a kubeconfig with its token. */
  async function credentials(name: string, rules: { apiGroups: string[]; resources: string[]; verbs: string[] }[]): Promise<string> {
    const labels = { 'leiosnet.io/test': tag };
    await rt.core.createNamespacedServiceAccount({ namespace: saNs, body: { metadata: { name, labels } } });
    await rt.rbac.createClusterRole({ body: { metadata: { name: `${tag}-${name}`, labels }, rules } });
    await rt.rbac.createClusterRoleBinding({
      body: {
        metadata: { name: `${tag}-${name}`, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${tag}-${name}` },
        subjects: [{ kind: 'ServiceAccount', name, namespace: saNs }],
      },
    });
    let token = '';
    for (let i = 0; i < 60 && !token; i++) {
      const sa = await rt.core.readNamespacedServiceAccount({ name, namespace: saNs });
      const secret = sa.secrets?.[0]?.name;
      if (secret) token = Buffer.from((await rt.core.readNamespacedSecret({ name: secret, namespace: saNs })).data?.token ?? '', 'base64').toString('utf8');
      if (!token) await new Promise((r) => setTimeout(r, 250));
    }
    expect(token, `token of ServiceAccount ${name}`).not.toBe('');
    const c = rt.kc.getCurrentCluster()!;
    const file = join(tmp, `${name}.kubeconfig`);
    writeFileSync(
      file,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: c.server, ...(c.caFile ? { 'certificate-authority': c.caFile } : {}), ...(c.caData ? { 'certificate-authority-data': c.caData } : {}) } }],
        users: [{ name, user: { token } }],
        contexts: [{ name, context: { cluster: 'c', user: name } }],
        'current-context': name,
      }),
    );
    return file;
  }

  beforeAll(async () => {
    gate.assert();
    rt = await createRuntime({ build: 'never', onProgress: () => {} });
    await rt.core.createNamespace({ body: { metadata: { name: saNs, labels: { 'leiosnet.io/test': tag } } } });
    const all = (apiGroups: string[], resources: string[]) => ({ apiGroups, resources, verbs: ['*'] });
    // everything a run needs except patching pods (restartWith)
    kubeconfigs.nopatch = await credentials('nopatch', [
      all([''], ['namespaces', 'secrets', 'configmaps', 'services', 'serviceaccounts', 'pods/exec', 'pods/log', 'pods/portforward']),
      { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch', 'create', 'delete'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['list'] },
      all(['rbac.authorization.k8s.io'], ['clusterroles', 'clusterrolebindings']),
    ]);
    kubeconfigs.nothing = await credentials('nothing', [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }]);
  }, 120_000);

  afterAll(async () => {
    if (gate.ok && rt) {
      const sel = `leiosnet.io/test=${tag}`;
      for (const b of (await rt.rbac.listClusterRoleBinding({ labelSelector: sel })).items) await rt.rbac.deleteClusterRoleBinding({ name: b.metadata!.name! }).catch(() => {});
      for (const r of (await rt.rbac.listClusterRole({ labelSelector: sel })).items) await rt.rbac.deleteClusterRole({ name: r.metadata!.name! }).catch(() => {});
      await rt.core.deleteNamespace({ name: saNs }).catch(() => {});
    }
    rmSync(tmp, { recursive: true, force: true });
  }, 60_000);

  /** No object of the run (from its run dir's meta.json) on the cluster. */
  async function nothingCreated(out: string): Promise<void> {
    const runId = existsSync(join(out, 'meta.json')) ? (JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')) as { runId: string }).runId : undefined;
    if (!runId) return; // refused before a run id existed
    expect((await rt.core.listNamespace({ labelSelector: runSelector(runId) })).items).toEqual([]);
  }

  it("the cluster's answer: version, permissions, nodes; the capabilities follow it", async () => {
    const f = await rt.probe();
    expect(f.version).toMatch(/^v1\.\d+/);
    expect(Object.values(f.access).every(Boolean)).toBe(true); // the test cluster's admin
    expect(f.nodes!.length).toBeGreaterThanOrEqual(1);
    expect(f.nodes![0]!.cpus).toBeGreaterThan(0);
    expect(f.nodes![0]!.memoryMb).toBeGreaterThan(100);
    expect(rt.capabilities).toMatchObject({ pause: true, restartWith: true, partition: false });
    // the same runtime with credentials that may not patch pods: no restartWith
    const limited = await createRuntime({ kubeconfig: kubeconfigs.nopatch, build: 'never', onProgress: () => {} });
    const lf = await limited.probe();
    expect(lf.access['patch pods']).toBe(false);
    expect(lf.access['create pods/exec']).toBe(true);
    expect(limited.capabilities).toMatchObject({ pause: true, restartWith: false });
  }, 60_000);

  it('a node asking for more CPU than any cluster node has: exit 2 naming node.resources.cpus, nothing created', async () => {
    const f = await rt.probe();
    const cpus = Math.ceil(Math.max(...f.nodes!.map((n) => n.cpus)) * 8) + 4; // × 0.25 (requests) still above every node
    const out = join(tmp, 'big');
    const r = await leiosnet(['run', 'ci-praos', '--runtime', 'kubernetes', '--set', `node.resources.cpus=${cpus}`, '--out', out]);
    expect(r.code, `${r.err}\n${r.out}`).toBe(2);
    expect(r.err + r.out).toMatch(/node\.resources\.cpus: .* more than any node of kubernetes .*largest allocatable/);
    // Runtime.admit runs right after the capability check: before the image check, genesis and the run dir
    expect(existsSync(out), 'run dir').toBe(false);
    await nothingCreated(out);
  }, 120_000);

  it('credentials that may not patch pods: an upgrade profile is refused up front (exit 2), nothing created', async () => {
    const profile = join(tmp, 'upgrade.yaml');
    writeFileSync(profile, ['name: k8s-caps-upgrade', 'extends: ci-praos', 'scenario:', '  steps:', '    - { upgrade: { nodes: [pool-1], release: leios-2.0 } }', ''].join('\n'));
    const out = join(tmp, 'upgrade');
    const r = await leiosnet(['run', profile, '--runtime', 'kubernetes', '--out', out], { KUBECONFIG: kubeconfigs.nopatch });
    expect(r.code, `${r.err}\n${r.out}`).toBe(2);
    expect(r.err + r.out).toMatch(/scenario\.steps\[\d+\]\.upgrade: runtime kubernetes cannot swap releases/);
    await nothingCreated(out);
  }, 120_000);

  it('credentials that may do nothing: `run` is refused (exit 2) naming the permissions a testnet needs, nothing created', async () => {
    const out = join(tmp, 'nothing');
    const r = await leiosnet(['run', 'ci-praos', '--runtime', 'kubernetes', '--out', out], { KUBECONFIG: kubeconfigs.nothing });
    expect(r.code, `${r.err}\n${r.out}`).toBe(2);
    expect(r.err + r.out).toMatch(/may not create namespaces \(a namespace per run\), .*create pods\/exec .*\(RBAC\)/);
    expect(existsSync(out), 'run dir').toBe(false);
    await nothingCreated(out);
  }, 120_000);
});
