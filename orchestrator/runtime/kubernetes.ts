// The kubernetes runtime (@kubernetes/client-node 2.x, Kubernetes ≥ 1.20 APIs: v1, rbac/v1).
//
// One namespace per run (labelled leiosnet.io/run, annotated with the run dir and a heartbeat);
// genesis in a ConfigMap, keys in one Secret per owner; one Pod per node (leiosnet.io/node) and one
// headless Service over them; the generator as a Pod; a safeguard Pod that deletes the namespace
// when the orchestrator's heartbeat stops. Everything is found again by label: `down`, `ls` and
// `attach` work from another orchestrator after this one died.
//
// Addresses (KubernetesResolver): pods get their IPs only once scheduled and there is no cluster
// DNS, so node configs are rendered when every pod has its IP (peers = pod IPs) and put in force by
// exec into the pod; a tiny supervisor (kubernetes/scripts.ts) is PID 1 and starts the node once
// the config is there. The orchestrator reaches pods directly at their IPs when routable, else
// through port-forwards (client-node PortForward, no kubectl).
//
// Chain DB: an emptyDir volume at /data. emptyDir lives as long as the Pod, so it survives a
// container kill/restart and an in-place image swap (restartWith patches the Pod's image: same
// Pod, same IP, same volume), and is removed with the Pod by `down` — no data is left on cluster
// nodes (hostPath would outlive the run and tie it to one machine; a PVC needs a storage class,
// which a bare test cluster does not have).
//
// Faults: kill = SIGKILL of the node process; the supervisor then exits with 137, so the
// CONTAINER dies and the kubelet restarts it (restartCount + 1), and the new container waits for
// `start`. stop = SIGTERM (container stays, node down); start = release. pause/resume = SIGSTOP /
// SIGCONT of the node process by exec (Kubernetes has no pause). Partition and link shaping are the
// node admin API's (as on the process runtime).
//
// Safeguard: heartbeat every LEIOSNET_K8S_HEARTBEAT_S (10 s); the safeguard checks every 5 s and
// deletes the namespace once the heartbeat has not changed for LEIOSNET_K8S_HEARTBEAT_TTL_S (90 s):
// a testnet of a killed orchestrator is gone ≤ ttl + 5 s after its last heartbeat (plus pod
// termination, ~5 s). `leiosnet up` (release()) raises the ttl to LEIOSNET_K8S_UP_TTL_S (6 h).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import type { NodeConfig } from '../../node/config/schema.ts';
import { healthy } from '../collect/admin.ts';
import { scrapeMetrics } from '../collect/collector.ts';
import { InfraError, UserError } from '../errors.ts';
import { renderGeneratorConfig } from '../genesis/generator-config.ts';
import { podMonitor, PODMONITOR_API, PODMONITOR_CRD, scrapeAnnotations } from '../observe/kubernetes.ts';
import { renderNodeConfig, type NodePaths } from '../genesis/run-files.ts';
import { ensureImages, imageTag } from '../image/build.ts';
import { RunDir } from '../rundir/index.ts';
import { apiMessage, execIn, execToFile, ignoring, loadKubeConfig, mergePatch, PortForwarder, routable, statusOf, strategicMergePatch, type KubeOptions } from './kubernetes/client.ts';
import {
  ADMIN_PORT,
  ANNOTATION,
  CONTROL_DIR,
  DATA_DIR,
  GENERATOR_METRICS_PORT,
  GENESIS_CONFIGMAP,
  GENESIS_DIR,
  generatorPodName,
  KEYS_DIR,
  keySecretName,
  LABEL,
  N2N_PORT,
  namespaceName,
  nodePodName,
  runLabels,
  runSelector,
  SAFEGUARD,
  safeguardClusterName,
  TEMPLATE_KEY,
  templateSecretName,
} from './kubernetes/names.ts';
import { CAT_FILE_JS, LIST_DIR_JS, nodeExec, SAFEGUARD_JS, SIGNAL_CHILD_JS, SUPERVISOR_JS, WAIT_CHILD_GONE_JS, WRITE_STDIN_JS } from './kubernetes/scripts.ts';
import { releaseInfo } from './process/release.ts';
import type {
  AdmitNode,
  Deployment,
  Endpoint,
  Endpoints,
  GeneratorSpec,
  MetricsTarget,
  NodeAddress,
  NodeHandle,
  NodeSpec,
  NodeStats,
  NodeTemplate,
  Resolver,
  RunInfo,
  Runtime,
  RuntimeCapabilities,
} from './runtime.ts';

export interface KubernetesRuntimeOptions extends KubeOptions {
  /** namespace = <prefix><run-id> (default "leiosnet-"; env LEIOSNET_K8S_NAMESPACE_PREFIX) */
  namespacePrefix?: string;
  /** image of a release (default leiosnet/node:<release>, from the local Docker engine) */
  imageFor?: (release: string) => string;
  /** Never (default: images from the local engine, `leiosnet image build`) | IfNotPresent | Always */
  imagePullPolicy?: 'Never' | 'IfNotPresent' | 'Always';
  /** build missing or stale leiosnet/node images in the local Docker engine first (default auto when one answers; env LEIOSNET_K8S_BUILD=never: use the images as they are) */
  build?: 'auto' | 'never';
  /** 'auto' (default): pod IPs when routable from here, else port-forward */
  access?: 'auto' | 'pod-ip' | 'port-forward';
  heartbeatS?: number;
  heartbeatTtlS?: number;
  healthTimeoutMs?: number;
  stopGraceMs?: number;
  /** requests = limits × this (default 0.25), so a profile's limits fit a small cluster */
  requestFraction?: number;
  onProgress?: (line: string) => void;
}

/**
 * What the runtime can do on a cluster that allows everything it asks. The runtime's own
 * `capabilities` are the cluster's answer (probe(): what these credentials may do there), these
 * only until the cluster answered (or when it does not).
 */
export const KUBERNETES_CAPABILITIES: RuntimeCapabilities = {
  pause: true, // SIGSTOP/SIGCONT of the node process by exec
  restartWith: true, // in-place image patch: same Pod, same emptyDir chain DB
  partition: false, // no runtime-level network cut without a CNI that enforces NetworkPolicy: the admin API does it
  resourceLimits: true,
  requiresImage: true,
};

/** An API request these credentials may or may not make (SelfSubjectAccessReview). */
interface Access {
  verb: string;
  resource: string;
  subresource?: string;
  group?: string;
  /** what needs it, for the refusal's message */
  for: string;
}

/** Without these a run cannot come up at all. */
const ESSENTIAL_ACCESS: Access[] = [
  { verb: 'create', resource: 'namespaces', for: 'a namespace per run' },
  { verb: 'delete', resource: 'namespaces', for: '`down`' },
  { verb: 'create', resource: 'pods', for: 'a pod per node' },
  { verb: 'create', resource: 'pods', subresource: 'exec', for: 'putting configs in force, kill/stop/start' },
  { verb: 'create', resource: 'secrets', for: 'keys and node templates' },
  { verb: 'create', resource: 'configmaps', for: 'genesis' },
  { verb: 'create', resource: 'services', for: 'the headless Service' },
  { verb: 'create', resource: 'clusterroles', group: 'rbac.authorization.k8s.io', for: 'the dead-orchestrator safeguard' },
  { verb: 'create', resource: 'clusterrolebindings', group: 'rbac.authorization.k8s.io', for: 'the dead-orchestrator safeguard' },
];
/** Capabilities that hang on one permission each. */
const CAPABILITY_ACCESS: { capability: keyof RuntimeCapabilities; access: Access }[] = [
  { capability: 'pause', access: { verb: 'create', resource: 'pods', subresource: 'exec', for: 'pause/resume (SIGSTOP/SIGCONT by exec)' } },
  { capability: 'restartWith', access: { verb: 'patch', resource: 'pods', for: 'upgrades (restartWith patches the pod image)' } },
];
const accessName = (a: Access) => `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.group ? `.${a.group}` : ''}`;

/** What the cluster said about itself (KubernetesRuntime.probe()). */
export interface ClusterFacts {
  server: string;
  /** e.g. v1.20.15 */
  version?: string;
  /** the Go the API server was built with, e.g. go1.19.8 */
  goVersion?: string;
  /** false when the API server is known to crash on custom resources (crashesOnCustomResources) */
  customResources: boolean;
  /** accessName → allowed, for every permission asked */
  access: Record<string, boolean>;
  /** ready, schedulable nodes (allocatable); undefined when these credentials may not list nodes */
  nodes?: { name: string; cpus: number; memoryMb: number; pods: number }[];
  /** the Prometheus Operator's PodMonitor CRD is served */
  podMonitor: boolean;
  /** capabilities as the cluster allows them */
  capabilities: RuntimeCapabilities;
}

/**
 * API servers that crash on any custom resource: Kubernetes before 1.23 vendors
 * modern-go/reflect2 1.0.1, whose map iteration faults under Go ≥ 1.18 (SIGSEGV in json-iterator
 * while decoding a custom resource's metadata; modern-go/reflect2#21, fixed in 1.0.2). Official
 * 1.20–1.22 builds use older Go; Debian's 1.20 is built with Go 1.19. On such a server the
 * runtime makes no custom resource (PodMonitor) and does not list them.
 *
 * A build that swapped in a fixed reflect2 says so in its version's semver build metadata
 * (`v1.20.2+reflect2.1.0.2`, as .ci/k8s-setup.sh builds our test cluster): reflect2 ≥ 1.0.2 is safe.
 */
export function crashesOnCustomResources(v: { gitVersion?: string; goVersion?: string }): boolean {
  const k = /^v?(\d+)\.(\d+)/.exec(v.gitVersion ?? '');
  const g = /^go(\d+)\.(\d+)/.exec(v.goVersion ?? '');
  if (!k || !g) return false;
  const affected = Number(k[1]) === 1 && Number(k[2]) < 23 && (Number(g[1]) > 1 || Number(g[2]) >= 18);
  return affected && !fixedReflect2(v.gitVersion ?? '');
}

/** Build metadata (after `+`) naming reflect2 ≥ 1.0.2, e.g. `+reflect2.1.0.2` or `+debian.reflect2.1.0.3`. */
function fixedReflect2(gitVersion: string): boolean {
  const plus = gitVersion.indexOf('+');
  if (plus < 0) return false;
  const m = /(?:^|\.)reflect2\.(\d+)\.(\d+)\.(\d+)(?:\.|$)/.exec(gitVersion.slice(plus + 1));
  if (!m) return false;
  const [maj, min, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return maj > 1 || (maj === 1 && (min > 0 || patch >= 2));
}

/** Kubernetes quantities: cpu "2" | "1500m"; memory "8026512Ki" | "2Gi" | "512Mi" | bytes. */
export function parseCpu(q: string | undefined): number {
  if (!q) return 0;
  return q.endsWith('m') ? Number(q.slice(0, -1)) / 1000 : Number(q);
}
export function parseMemoryMb(q: string | undefined): number {
  if (!q) return 0;
  const m = /^([0-9.]+)([A-Za-z]*)$/.exec(q);
  if (!m) return 0;
  const f: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  return (Number(m[1]) * (f[m[2]!] ?? 1)) / 1024 / 1024;
}

const CONTAINER = 'main';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const envNum = (name: string): number | undefined => (process.env[name] !== undefined && process.env[name] !== '' ? Number(process.env[name]) : undefined);

function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/** Where a rendered node config points inside its pod. */
export function podPaths(): NodePaths {
  return {
    genesisFile: `${GENESIS_DIR}/genesis.json`,
    keyFile: (pool, kind) => `${KEYS_DIR}/${pool}.${kind}.skey`,
    dbPath: `${DATA_DIR}/db`,
    traceFile: `${DATA_DIR}/trace.jsonl`,
    logFile: `${DATA_DIR}/node.log`,
  };
}

/**
 * The kubernetes runtime's resolver: pods bind 0.0.0.0 at fixed ports, dial each other by pod IP
 * (no cluster DNS needed), and the orchestrator reaches them at the pod IP or a port-forward.
 */
export class KubernetesResolver implements Resolver {
  private readonly podIp: (name: string) => string | undefined;
  private readonly orchestrator: (name: string) => NodeAddress | undefined;
  constructor(podIp: (name: string) => string | undefined, orchestrator: (name: string) => NodeAddress | undefined) {
    this.podIp = podIp;
    this.orchestrator = orchestrator;
  }
  bind(_name: string): NodeAddress {
    return { host: '0.0.0.0', port: N2N_PORT, adminHost: '0.0.0.0', adminPort: ADMIN_PORT };
  }
  fromNode(name: string): Endpoint {
    const ip = this.podIp(name);
    if (!ip) throw new InfraError(`node ${name} has no pod IP yet`);
    return { host: ip, port: N2N_PORT };
  }
  fromOrchestrator(name: string): NodeAddress | undefined {
    return this.orchestrator(name);
  }
}

function quantityCpu(cpus: number): string {
  return `${Math.max(1, Math.round(cpus * 1000))}m`;
}

function resourcesOf(res: NodeSpec['resources'], fraction: number): k8s.V1ResourceRequirements | undefined {
  if (!res || (res.cpus === undefined && res.memoryMb === undefined)) return undefined;
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  if (res.cpus !== undefined) {
    limits.cpu = quantityCpu(res.cpus);
    requests.cpu = quantityCpu(res.cpus * fraction);
  }
  if (res.memoryMb !== undefined) {
    limits.memory = `${res.memoryMb}Mi`;
    requests.memory = `${Math.max(16, Math.round(res.memoryMb * fraction))}Mi`;
  }
  return { limits, requests };
}

/** The Pod of a node or generator: the supervisor as PID 1, chain DB and control on emptyDirs. */
export function supervisedPod(o: {
  name: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  image: string;
  pullPolicy: string;
  child: string[];
  /** Secret with the pod's key files (none for relays) */
  keySecret?: string;
  ports: { name: string; port: number }[];
  readinessPort?: number;
  resources?: k8s.V1ResourceRequirements;
}): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: o.name, labels: o.labels, annotations: o.annotations },
    spec: {
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 10,
      enableServiceLinks: false,
      automountServiceAccountToken: false,
      // uid 1000 = the image's `node` user; fsGroup makes the key Secret and emptyDirs readable
      securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
      containers: [
        {
          name: CONTAINER,
          image: o.image,
          imagePullPolicy: o.pullPolicy,
          command: ['node', '-e', SUPERVISOR_JS],
          env: [{ name: 'LEIOSNET_CHILD', value: JSON.stringify(o.child) }],
          ports: o.ports.map((p) => ({ name: p.name, containerPort: p.port })),
          ...(o.readinessPort !== undefined
            ? { readinessProbe: { httpGet: { path: '/health', port: o.readinessPort }, periodSeconds: 2, timeoutSeconds: 2, failureThreshold: 2 } }
            : {}),
          ...(o.resources ? { resources: o.resources } : {}),
          volumeMounts: [
            { name: 'data', mountPath: DATA_DIR },
            { name: 'control', mountPath: CONTROL_DIR },
            { name: 'genesis', mountPath: GENESIS_DIR, readOnly: true },
            ...(o.keySecret ? [{ name: 'keys', mountPath: KEYS_DIR, readOnly: true }] : []),
          ],
        },
      ],
      volumes: [
        { name: 'data', emptyDir: {} },
        { name: 'control', emptyDir: {} },
        { name: 'genesis', configMap: { name: GENESIS_CONFIGMAP } },
        ...(o.keySecret ? [{ name: 'keys', secret: { secretName: o.keySecret, defaultMode: 0o440 } }] : []),
      ],
    },
  };
}

interface PodMeta {
  name: string;
  dir: string;
  release: string;
  template?: NodeTemplate;
  region?: string;
}

class KubeNode implements NodeHandle {
  readonly name: string;
  readonly dir: string;
  readonly pod: string;
  readonly template: NodeTemplate | undefined;
  readonly region: string | undefined;
  release: string;
  ip: string | undefined;
  paused = false;
  private ep: Endpoints | undefined;
  private readonly dep: KubeDeployment;
  private cpuSample: { cpuS: number; ms: number } | undefined;

  constructor(dep: KubeDeployment, meta: PodMeta) {
    this.dep = dep;
    this.name = meta.name;
    this.dir = meta.dir;
    this.pod = nodePodName(meta.name);
    this.release = meta.release;
    this.template = meta.template;
    this.region = meta.region;
  }

  get role(): 'pool' | 'relay' {
    if (this.template) return this.template.role;
    try {
      return this.dep.rd.currentNodeConfig(this.name)?.config.pool ? 'pool' : 'relay';
    } catch {
      return 'pool';
    }
  }

  private token(): string {
    if (this.template) return this.template.adminToken;
    try {
      return this.dep.rd.currentNodeConfig(this.name)?.config.admin.token ?? '';
    } catch {
      return '';
    }
  }

  address(): NodeAddress | undefined {
    if (!this.ep) return undefined;
    const a = new URL(this.ep.adminUrl);
    return { host: this.ep.n2n.host, port: this.ep.n2n.port, adminHost: a.hostname, adminPort: Number(a.port) };
  }

  /** Read the pod (its IP) and set the orchestrator-side endpoints. */
  async refresh(known?: k8s.V1Pod): Promise<k8s.V1Pod | undefined> {
    const pod = known ?? (await this.dep.readPod(this.pod));
    const ip = pod?.status?.podIP;
    if (!pod || !ip) return pod;
    this.ip = ip;
    if (!this.ep || !this.ep.adminUrl.includes(ip) || this.dep.forwarding) {
      const admin = await this.dep.reach(this.pod, ip, ADMIN_PORT);
      const n2n = await this.dep.reach(this.pod, ip, N2N_PORT);
      this.ep = { adminUrl: `http://${admin.host}:${admin.port}`, adminToken: this.token(), n2n };
    }
    return pod;
  }

  endpoints(): Endpoints {
    if (!this.ep) throw new Error(`node ${this.name} (pod ${this.pod}) has no address yet`);
    return this.ep;
  }

  private exec(js: string, ...args: string[]) {
    return execIn(this.dep.rt.kc, this.dep.namespace, this.pod, CONTAINER, nodeExec(js, ...args), { timeoutMs: 60_000 });
  }

  private execStdin(stdin: Buffer, js: string, ...args: string[]) {
    return execIn(this.dep.rt.kc, this.dep.namespace, this.pod, CONTAINER, nodeExec(js, ...args), { timeoutMs: 60_000, stdin });
  }

  /** Wait until the container runs (after a kill the kubelet restarts it, maybe after a back-off). */
  async waitContainer(timeoutMs = 90_000): Promise<k8s.V1Pod> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pod = await this.dep.readPod(this.pod);
      if (!pod) throw new InfraError(`node ${this.name}: pod ${this.dep.namespace}/${this.pod} is gone`);
      const cs = pod.status?.containerStatuses?.[0];
      if (cs?.state?.running && pod.status?.podIP) return pod;
      const waiting = cs?.state?.waiting?.reason;
      if (waiting && /ErrImage|ImagePull|InvalidImageName|CreateContainerConfigError/.test(waiting)) {
        throw new InfraError(`node ${this.name}: ${waiting}: ${cs?.state?.waiting?.message ?? ''} (images come from the local engine: leiosnet image build --release ${this.release})`);
      }
      const unsched = pod.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
      if (Date.now() > deadline) {
        throw new InfraError(`node ${this.name}: container not running within ${timeoutMs} ms (${unsched ? `unschedulable: ${unsched.message}` : (waiting ?? pod.status?.phase)})`);
      }
      await sleep(300);
    }
  }

  /**
   * Put a config in force in the pod (the supervisor starts the node once it is there). It goes
   * through the exec's stdin: the admin token is in no argv (ps, the exec URL, engine records).
   */
  async install(cfg: NodeConfig): Promise<void> {
    const text = Buffer.from(`${JSON.stringify(cfg, null, 2)}\n`);
    const r = await this.execStdin(text, WRITE_STDIN_JS, String(text.length), `${CONTROL_DIR}/config.json`);
    if (r.code !== 0) throw new InfraError(`node ${this.name}: writing its config in the pod failed (${r.code}): ${r.stderr}`);
  }

  /** Render (for `release`) and write the config generation to the run dir; return it. */
  render(release: string): NodeConfig {
    const rd = this.dep.rd;
    let cfg: NodeConfig;
    if (this.template) {
      const r = this.dep.resolver;
      cfg = renderNodeConfig(this.template, { bind: r.bind(this.name), peer: (n) => r.fromNode(n), paths: podPaths(), release, runId: this.dep.runId });
    } else {
      const cur = rd.currentNodeConfig(this.name);
      if (!cur) throw new InfraError(`node ${this.name}: no config in ${this.dir} and no template to render one`);
      cfg = { ...cur.config, release: releaseInfo(release) };
    }
    rd.writeNodeConfig(this.name, cfg);
    return cfg;
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let checked = 0;
    for (;;) {
      if (!this.ep || Date.now() - checked > 2_000) {
        checked = Date.now();
        const pod = await this.refresh();
        const cs = pod?.status?.containerStatuses?.[0];
        const waiting = cs?.state?.waiting?.reason;
        if (waiting && /ErrImage|ImagePull|InvalidImageName|CreateContainerConfigError/.test(waiting)) {
          throw new InfraError(`node ${this.name}: ${waiting}: ${cs?.state?.waiting?.message ?? ''}`);
        }
      }
      if (this.ep && (await healthy(this.ep, 1_000))) return;
      if (Date.now() > deadline) {
        throw new InfraError(`node ${this.name} (pod ${this.dep.namespace}/${this.pod}) did not answer /health within ${timeoutMs} ms:\n${tail(await this.logs().catch(() => ''))}`);
      }
      await sleep(300);
    }
  }

  async stats(): Promise<NodeStats | undefined> {
    if (!this.ep) return undefined;
    // the node's own prom-client process metrics: no metrics-server needed, same on every cluster
    const read = async () => {
      const m = await scrapeMetrics(this.ep!, 1_500);
      if (!m || m.process_cpu_seconds_total === undefined || m.process_resident_memory_bytes === undefined) return undefined;
      return { cpuS: m.process_cpu_seconds_total, rss: m.process_resident_memory_bytes, ms: Date.now() };
    };
    let prev = this.cpuSample;
    if (!prev) {
      const a = await read();
      if (!a) return undefined;
      prev = a;
      await sleep(1_000);
    }
    const b = await read();
    if (!b) return undefined;
    this.cpuSample = { cpuS: b.cpuS, ms: b.ms };
    const dt = (b.ms - prev.ms) / 1000;
    return { cpuPct: dt > 0 ? Math.max(0, ((b.cpuS - prev.cpuS) / dt) * 100) : 0, rssMb: b.rss / 1024 / 1024 };
  }

  async logs(): Promise<string> {
    try {
      const r = await this.exec(CAT_FILE_JS, `${DATA_DIR}/node.log`);
      if (r.code === 0) return r.stdout;
    } catch {
      /* pod gone or container down: the fetched copy, else the container output */
    }
    const local = join(this.dir, 'node.log');
    if (existsSync(local)) return readFileSync(local, 'utf8');
    return (await ignoring(this.dep.core.readNamespacedPodLog({ name: this.pod, namespace: this.dep.namespace, container: CONTAINER }))) ?? '';
  }

  async fetchArtifacts(): Promise<void> {
    mkdirSync(this.dir, { recursive: true });
    for (const f of ['node.log', 'trace.jsonl']) {
      const r = await execToFile(this.dep.rt.kc, this.dep.namespace, this.pod, CONTAINER, nodeExec(CAT_FILE_JS, `${DATA_DIR}/${f}`), join(this.dir, f)).catch((e: Error) => ({ code: -1, stderr: e.message }));
      if (r.code !== 0 && r.code !== 3) throw new InfraError(`node ${this.name}: fetching ${f} failed: ${r.stderr}`);
    }
    const out = await ignoring(this.dep.core.readNamespacedPodLog({ name: this.pod, namespace: this.dep.namespace, container: CONTAINER }));
    if (out) writeFileSync(join(this.dir, 'container.log'), out);
  }

  async running(): Promise<boolean> {
    if (this.paused) return true;
    return this.ep !== undefined && (await healthy(this.ep, 1_000));
  }

  async stop(): Promise<void> {
    await this.waitContainer();
    await this.exec(SIGNAL_CHILD_JS, 'SIGTERM', 'hold');
    const r = await this.exec(WAIT_CHILD_GONE_JS, String(this.dep.rt.stopGraceMs));
    if (r.code !== 0) await this.exec(SIGNAL_CHILD_JS, 'SIGKILL', 'none');
    this.paused = false;
  }

  /** SIGKILL of the node: the container dies with it (the kubelet restarts it, held until start). */
  async kill(): Promise<void> {
    const before = (await this.dep.readPod(this.pod))?.status?.containerStatuses?.[0]?.restartCount ?? 0;
    if (this.paused) await this.exec(SIGNAL_CHILD_JS, 'SIGCONT', 'none').catch(() => undefined);
    this.paused = false;
    const r = await this.exec(SIGNAL_CHILD_JS, 'SIGKILL', 'hold').catch(() => undefined);
    if (!r?.stdout) return; // nothing ran
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const cs = (await this.dep.readPod(this.pod))?.status?.containerStatuses?.[0];
      if ((cs?.restartCount ?? 0) > before || cs?.state?.terminated || cs?.state?.waiting) return;
      await sleep(250);
    }
  }

  async start(): Promise<void> {
    await this.waitContainer();
    const r = await this.exec(SIGNAL_CHILD_JS, 'none', 'release');
    if (r.code !== 0) throw new InfraError(`node ${this.name}: start failed: ${r.stderr}`);
    this.paused = false;
    await this.waitHealthy(this.dep.rt.healthTimeoutMs);
  }

  async pause(): Promise<void> {
    await this.exec(SIGNAL_CHILD_JS, 'SIGSTOP', 'none');
    this.paused = true;
  }

  async resume(): Promise<void> {
    await this.exec(SIGNAL_CHILD_JS, 'SIGCONT', 'none');
    this.paused = false;
  }

  /** Same Pod, same emptyDir (chain DB), new image: the pod's image is patched in place. */
  async restartWith(release: string): Promise<void> {
    releaseInfo(release);
    await this.dep.rt.ensureImage(release);
    await this.waitContainer();
    const before = (await this.dep.readPod(this.pod))?.status?.containerStatuses?.[0];
    const cfg = this.render(release);
    await this.install(cfg); // read by the next container (the running node already has its config)
    const image = this.dep.rt.imageFor(release);
    await this.dep.core.patchNamespacedPod(
      { name: this.pod, namespace: this.dep.namespace, body: { metadata: { labels: { [LABEL.release]: release } }, spec: { containers: [{ name: CONTAINER, image }] } } },
      strategicMergePatch,
    );
    this.release = release;
    // the kubelet stops the old container (SIGTERM → the node stops) and starts one from the new image
    const deadline = Date.now() + 120_000;
    for (;;) {
      const cs = (await this.dep.readPod(this.pod))?.status?.containerStatuses?.[0];
      if (cs?.state?.running && cs.containerID !== before?.containerID && cs.image?.includes(image.split(':').at(-1)!)) break;
      if (Date.now() > deadline) throw new InfraError(`node ${this.name}: no container from ${image} within 120 s`);
      await sleep(500);
    }
    await this.waitHealthy(this.dep.rt.healthTimeoutMs);
  }
}

class KubeDeployment implements Deployment {
  readonly runId: string;
  readonly runDir: string;
  readonly namespace: string;
  readonly rt: KubernetesRuntime;
  readonly rd: RunDir;
  readonly handles = new Map<string, KubeNode>();
  readonly resolver: KubernetesResolver;
  forwarding = false;
  private accessDecided = false;
  private forwarder: PortForwarder | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  generator: { name: string; pod: string; dir: string; ep?: string } | undefined;

  constructor(rt: KubernetesRuntime, runId: string, runDir: string, namespace: string) {
    this.rt = rt;
    this.runId = runId;
    this.runDir = runDir;
    this.namespace = namespace;
    this.rd = new RunDir(runDir);
    this.resolver = new KubernetesResolver(
      (n) => this.handles.get(n)?.ip,
      (n) => this.handles.get(n)?.address(),
    );
  }

  get core(): k8s.CoreV1Api {
    return this.rt.core;
  }

  readPod(name: string): Promise<k8s.V1Pod | undefined> {
    return ignoring(this.core.readNamespacedPod({ name, namespace: this.namespace }));
  }

  /** How the orchestrator reaches pod:port (decided once per deployment: pod IP if routable). */
  async reach(pod: string, ip: string, port: number): Promise<Endpoint> {
    if (!this.accessDecided) {
      this.forwarding = this.rt.access === 'port-forward' || (this.rt.access === 'auto' && !(await routable(ip, port)));
      this.accessDecided = true;
      if (this.forwarding) this.rt.onProgress(`kubernetes: pod IPs are not routable from here; using port-forwards`);
    }
    if (!this.forwarding) return { host: ip, port };
    this.forwarder ??= new PortForwarder(this.rt.kc);
    return { host: '127.0.0.1', port: await this.forwarder.forward(this.namespace, pod, port) };
  }

  nodes(): NodeHandle[] {
    return [...this.handles.values()];
  }

  node(name: string): NodeHandle {
    const h = this.handles.get(name);
    if (!h) throw new Error(`run ${this.runId} has no node ${JSON.stringify(name)} (nodes: ${[...this.handles.keys()].join(', ')})`);
    return h;
  }

  startHeartbeat(): void {
    if (this.heartbeat) return;
    const beat = () =>
      this.core
        .patchNamespace({ name: this.namespace, body: { metadata: { annotations: { [ANNOTATION.heartbeat]: new Date().toISOString() } } } }, mergePatch)
        .catch(() => undefined);
    this.heartbeat = setInterval(beat, this.rt.heartbeatS * 1000);
    this.heartbeat.unref();
  }

  stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  async release(): Promise<void> {
    this.stopHeartbeat();
    await this.core.patchNamespace(
      { name: this.namespace, body: { metadata: { annotations: { [ANNOTATION.heartbeat]: new Date().toISOString(), [ANNOTATION.heartbeatTtlS]: String(this.rt.upTtlS) } } } },
      mergePatch,
    );
    this.forwarder?.close();
  }

  async targets(): Promise<MetricsTarget[]> {
    const out: MetricsTarget[] = [];
    for (const h of this.handles.values()) {
      const a = h.address();
      if (!a) continue;
      out.push({
        address: `${a.adminHost}:${a.adminPort}`,
        metricsPath: '/metrics',
        labels: { run: this.runId, node: h.name, role: h.role, release: h.release, region: h.region ?? '', runtime: 'kubernetes' },
      });
    }
    const url = await this.generatorUrl().catch(() => undefined);
    if (url && this.generator) {
      const release = [...this.handles.values()][0]?.release ?? '';
      out.push({ address: url.replace(/^https?:\/\//, ''), metricsPath: '/metrics', labels: { run: this.runId, node: this.generator.name, role: 'generator', release, region: '', runtime: 'kubernetes' } });
    }
    return out;
  }

  private genExec(js: string, ...args: string[]) {
    return execIn(this.rt.kc, this.namespace, this.generator!.pod, CONTAINER, nodeExec(js, ...args), { timeoutMs: 60_000 });
  }

  private genExecStdin(stdin: Buffer, js: string, ...args: string[]) {
    return execIn(this.rt.kc, this.namespace, this.generator!.pod, CONTAINER, nodeExec(js, ...args), { timeoutMs: 60_000, stdin });
  }

  async startGenerator(spec: GeneratorSpec): Promise<void> {
    const dir = resolve(spec.dir);
    mkdirSync(dir, { recursive: true });
    const pod = generatorPodName(spec.name);
    const release = [...this.handles.values()][0]?.release;
    if (!release) throw new InfraError(`run ${this.runId}: no node to take the generator image from`);
    this.generator = { name: spec.name, pod, dir };
    if (!(await this.readPod(pod))) {
      await this.core.createNamespacedPod({
        namespace: this.namespace,
        body: supervisedPod({
          name: pod,
          labels: runLabels(this.runId, { [LABEL.node]: spec.name, [LABEL.role]: 'generator', [LABEL.metricsRole]: 'generator', [LABEL.release]: release }),
          // Prometheus' kubernetes_sd (annotation convention) finds it without the operator
          annotations: { [ANNOTATION.nodeDir]: dir, ...scrapeAnnotations({ port: GENERATOR_METRICS_PORT }) },
          image: this.rt.imageFor(release),
          pullPolicy: this.rt.imagePullPolicy,
          child: ['tx-generator/main.ts', '--config', `${CONTROL_DIR}/config.json`],
          keySecret: keySecretName('generator'),
          ports: [{ name: 'metrics', port: GENERATOR_METRICS_PORT }],
        }),
      });
    }
    const podInfo = await waitPodRunning(this, pod, 90_000);
    const cfg = renderGeneratorConfig(spec.template, {
      target: (n) => this.resolver.fromNode(n),
      metrics: { host: '0.0.0.0', port: GENERATOR_METRICS_PORT },
      paths: { genesisFile: `${GENESIS_DIR}/genesis.json`, paymentSkeyFile: `${KEYS_DIR}/generator.skey`, outDir: `${DATA_DIR}/gen`, summaryFile: `${DATA_DIR}/gen/summary.json` },
    });
    const file = this.rd.writeGeneratorConfig(cfg);
    const text = readFileSync(file);
    const w = await this.genExecStdin(text, WRITE_STDIN_JS, String(text.length), `${CONTROL_DIR}/config.json`);
    if (w.code !== 0) throw new InfraError(`generator: writing its config in the pod failed: ${w.stderr}`);
    await this.genExec(SIGNAL_CHILD_JS, 'none', 'release');
    const ep = await this.reach(pod, podInfo.status!.podIP!, GENERATOR_METRICS_PORT);
    this.generator.ep = `http://${ep.host}:${ep.port}`;
    const deadline = Date.now() + this.rt.healthTimeoutMs;
    for (;;) {
      if (await fetch(`${this.generator.ep}/metrics`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false)) return;
      const cs = (await this.readPod(pod))?.status?.containerStatuses?.[0];
      if ((cs?.restartCount ?? 0) > 0 && !cs?.state?.running) {
        const log = (await ignoring(this.core.readNamespacedPodLog({ name: pod, namespace: this.namespace, container: CONTAINER }))) ?? '';
        throw new InfraError(`generator exited at start:\n${tail(log)}`);
      }
      if (Date.now() > deadline) throw new InfraError(`generator did not serve ${this.generator.ep}/metrics within ${this.rt.healthTimeoutMs} ms`);
      await sleep(300);
    }
  }

  async generatorUrl(): Promise<string | undefined> {
    return this.generator?.ep;
  }

  async stopGenerator(): Promise<void> {
    const g = this.generator;
    if (!g || !(await this.readPod(g.pod))) return;
    // SIGTERM: the generator writes summary.json and exits; the container stays for the fetch
    await this.genExec(SIGNAL_CHILD_JS, 'SIGTERM', 'hold').catch(() => undefined);
    await this.genExec(WAIT_CHILD_GONE_JS, String(Math.max(30_000, this.rt.stopGraceMs))).catch(() => undefined);
    await this.fetchGeneratorFiles();
  }

  async fetchGeneratorFiles(): Promise<void> {
    const g = this.generator;
    if (!g) return;
    const ls = await this.genExec(LIST_DIR_JS, `${DATA_DIR}/gen`).catch(() => undefined);
    const files = ls?.code === 0 ? (JSON.parse(ls.stdout || '[]') as { name: string }[]) : [];
    for (const f of files) {
      await execToFile(this.rt.kc, this.namespace, g.pod, CONTAINER, nodeExec(CAT_FILE_JS, `${DATA_DIR}/gen/${f.name}`), join(g.dir, f.name));
    }
    const log = await ignoring(this.core.readNamespacedPodLog({ name: g.pod, namespace: this.namespace, container: CONTAINER }));
    if (log !== undefined) writeFileSync(join(g.dir, 'generator.log'), log);
  }

  async down(): Promise<void> {
    this.stopHeartbeat();
    await this.stopGenerator().catch(() => {});
    this.forwarder?.close();
    await this.rt.down(this.runId);
  }
}

async function waitPodRunning(dep: KubeDeployment, name: string, timeoutMs: number): Promise<k8s.V1Pod> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pod = await dep.readPod(name);
    const cs = pod?.status?.containerStatuses?.[0];
    if (pod?.status?.podIP && cs?.state?.running) return pod;
    const waiting = cs?.state?.waiting?.reason;
    if (waiting && /ErrImage|ImagePull|InvalidImageName|CreateContainerConfigError/.test(waiting)) {
      throw new InfraError(`pod ${dep.namespace}/${name}: ${waiting}: ${cs?.state?.waiting?.message ?? ''} (images come from the local engine: leiosnet image build)`);
    }
    if (Date.now() > deadline) {
      const unsched = pod?.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
      throw new InfraError(`pod ${dep.namespace}/${name} not running within ${timeoutMs} ms (${unsched ? `unschedulable: ${unsched.message}` : (waiting ?? pod?.status?.phase ?? 'absent')})`);
    }
    await sleep(400);
  }
}

async function inBatches<T>(items: T[], width: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

export class KubernetesRuntime implements Runtime {
  readonly name = 'kubernetes' as const;
  /** KUBERNETES_CAPABILITIES until probe() asked the cluster; then what the cluster allows */
  capabilities: RuntimeCapabilities = { ...KUBERNETES_CAPABILITIES };
  readonly kc: k8s.KubeConfig;
  readonly core: k8s.CoreV1Api;
  readonly rbac: k8s.RbacAuthorizationV1Api;
  readonly custom: k8s.CustomObjectsApi;
  readonly apiext: k8s.ApiextensionsV1Api;
  readonly authz: k8s.AuthorizationV1Api;
  private facts: Promise<ClusterFacts> | undefined;
  readonly namespacePrefix: string;
  readonly imageFor: (release: string) => string;
  readonly imagePullPolicy: 'Never' | 'IfNotPresent' | 'Always';
  readonly build: 'auto' | 'never';
  readonly access: 'auto' | 'pod-ip' | 'port-forward';
  readonly heartbeatS: number;
  readonly heartbeatTtlS: number;
  readonly upTtlS: number;
  readonly healthTimeoutMs: number;
  readonly stopGraceMs: number;
  readonly requestFraction: number;
  readonly onProgress: (line: string) => void;
  private readonly live = new Map<string, KubeDeployment>();
  private readonly ready = new Map<string, Promise<unknown>>();

  constructor(opts: KubernetesRuntimeOptions = {}) {
    try {
      this.kc = loadKubeConfig(opts);
    } catch (e) {
      throw new UserError(`runtime kubernetes: ${(e as Error).message}`);
    }
    this.core = this.kc.makeApiClient(k8s.CoreV1Api);
    this.rbac = this.kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    this.custom = this.kc.makeApiClient(k8s.CustomObjectsApi);
    this.apiext = this.kc.makeApiClient(k8s.ApiextensionsV1Api);
    this.authz = this.kc.makeApiClient(k8s.AuthorizationV1Api);
    this.namespacePrefix = opts.namespacePrefix ?? process.env.LEIOSNET_K8S_NAMESPACE_PREFIX ?? 'leiosnet-';
    this.imageFor = opts.imageFor ?? imageTag;
    this.imagePullPolicy = opts.imagePullPolicy ?? ((process.env.LEIOSNET_K8S_IMAGE_PULL_POLICY as 'Never' | undefined) || 'Never');
    this.build = opts.build ?? (process.env.LEIOSNET_K8S_BUILD === 'never' ? 'never' : 'auto');
    this.access = opts.access ?? ((process.env.LEIOSNET_K8S_ACCESS as 'auto' | undefined) || 'auto');
    this.heartbeatS = opts.heartbeatS ?? envNum('LEIOSNET_K8S_HEARTBEAT_S') ?? 10;
    this.heartbeatTtlS = opts.heartbeatTtlS ?? envNum('LEIOSNET_K8S_HEARTBEAT_TTL_S') ?? 90;
    this.upTtlS = envNum('LEIOSNET_K8S_UP_TTL_S') ?? 6 * 3600;
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 90_000;
    this.stopGraceMs = opts.stopGraceMs ?? 10_000;
    this.requestFraction = opts.requestFraction ?? 0.25;
    this.onProgress = opts.onProgress ?? (() => {});
  }

  /** Namespace, safeguard, pods, IPs, config installs: ~15 s + 3 s per node on a small cluster. */
  startupAllowanceS(nodes: number): number {
    return envNum('LEIOSNET_K8S_STARTUP_S') ?? 15 + 3 * nodes;
  }

  /** The cluster answers (for gates and a clear error before anything is created). */
  async check(): Promise<void> {
    const server = this.kc.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)';
    try {
      // /version: any authenticated user may read it (what these credentials may do is admit()'s question)
      await this.kc.makeApiClient(k8s.VersionApi).getCode();
    } catch (e) {
      throw new InfraError(`kubernetes runtime: the cluster at ${server} does not answer: ${apiMessage(e)}`);
    }
  }

  /** May these credentials make this request (in `namespace`, or cluster-wide)? */
  private async may(a: Access, namespace?: string): Promise<boolean> {
    const r = await this.authz.createSelfSubjectAccessReview({
      body: { spec: { resourceAttributes: { verb: a.verb, resource: a.resource, subresource: a.subresource, group: a.group ?? '', namespace } } },
    });
    return r.status?.allowed === true;
  }

  /**
   * Is the Prometheus Operator's PodMonitor CRD there (and served at v1)? Asked each time: a CRD
   * can be installed while the runtime lives. CRD read (apiextensions), else API discovery.
   */
  async podMonitorCrd(): Promise<boolean> {
    try {
      const crd = await this.apiext.readCustomResourceDefinition({ name: PODMONITOR_CRD });
      const served = crd.spec.versions.some((v) => v.name === PODMONITOR_API.version && v.served);
      const established = crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
      return served && established;
    } catch (e) {
      if (statusOf(e) === 404) return false;
      if (statusOf(e) !== 403) throw e;
    }
    // may not read CRDs: API discovery says whether the group/version is served
    const groups = await this.kc.makeApiClient(k8s.ApisApi).getAPIVersions();
    return groups.groups.some((g) => g.name === PODMONITOR_API.group && g.versions.some((v) => v.version === PODMONITOR_API.version));
  }

  /**
   * Ask the cluster what it allows (cached; `fresh` asks again): server version, the permissions a
   * run needs (SelfSubjectAccessReview), the ready nodes' allocatable resources, the PodMonitor
   * CRD. Sets `capabilities` from the answers, so a profile needing what these credentials may
   * not do is refused before anything is created (checkCapabilities, admit()).
   */
  probe(fresh = false): Promise<ClusterFacts> {
    if (this.facts && !fresh) return this.facts;
    const p = (async (): Promise<ClusterFacts> => {
      const server = this.kc.getCurrentCluster()?.server ?? '(no cluster in the kubeconfig)';
      const info = await this.kc
        .makeApiClient(k8s.VersionApi)
        .getCode()
        .catch((e: unknown) => {
          throw new InfraError(`kubernetes runtime: the cluster at ${server} does not answer: ${apiMessage(e)}`);
        });
      const asks = [...ESSENTIAL_ACCESS, ...CAPABILITY_ACCESS.map((c) => c.access), { verb: 'list', resource: 'nodes', for: 'resource admission' }];
      const access: Record<string, boolean> = {};
      await Promise.all(asks.map(async (a) => (access[accessName(a)] = await this.may(a))));
      let nodes: ClusterFacts['nodes'];
      if (access['list nodes']) {
        nodes = (await this.core.listNode()).items
          .filter((n) => !n.spec?.unschedulable && n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))
          .map((n) => ({
            name: n.metadata?.name ?? '',
            cpus: parseCpu(n.status?.allocatable?.cpu),
            memoryMb: Math.floor(parseMemoryMb(n.status?.allocatable?.memory)),
            pods: Number(n.status?.allocatable?.pods ?? 110),
          }));
      }
      const capabilities = { ...KUBERNETES_CAPABILITIES };
      for (const c of CAPABILITY_ACCESS) capabilities[c.capability] = capabilities[c.capability] && access[accessName(c.access)] === true;
      const podMonitor = await this.podMonitorCrd().catch(() => false);
      const customResources = !crashesOnCustomResources(info);
      return { server, version: info.gitVersion, goVersion: info.goVersion, customResources, access, nodes, podMonitor, capabilities };
    })();
    this.facts = p;
    p.then(
      (f) => (this.capabilities = f.capabilities),
      () => (this.facts = undefined),
    );
    return p;
  }

  /**
   * Refuse up front (UserError, exit 2) what this cluster cannot run, before any object exists:
   * permissions a run needs, a pod's requests larger than every node, more requests or pods than
   * the cluster has. Requests are limits × requestFraction (as the pods get them).
   */
  async admit(plan: { nodes: AdmitNode[] }): Promise<ClusterFacts> {
    const nodes = plan.nodes;
    const f = await this.probe();
    const ctx = `kubernetes (context ${this.kc.getCurrentContext()}, ${f.server})`;
    const denied = ESSENTIAL_ACCESS.filter((a) => !f.access[accessName(a)]);
    if (denied.length) {
      throw new UserError(`--runtime kubernetes: these credentials may not ${denied.map((a) => `${accessName(a)} (${a.for})`).join(', ')} on ${ctx}; a testnet needs them (RBAC)`);
    }
    if (!f.nodes) return f; // may not list nodes: the scheduler decides
    if (f.nodes.length === 0) throw new UserError(`--runtime kubernetes: ${ctx} has no ready, schedulable node`);
    const maxCpu = Math.max(...f.nodes.map((n) => n.cpus));
    const maxMem = Math.max(...f.nodes.map((n) => n.memoryMb));
    let cpuSum = 0;
    let memSum = 0;
    for (const s of nodes) {
      const req = resourcesOf(s.resources, this.requestFraction)?.requests;
      const cpu = parseCpu(req?.cpu);
      const mem = parseMemoryMb(req?.memory);
      cpuSum += cpu;
      memSum += mem;
      if (cpu > maxCpu) {
        throw new UserError(`node.resources.cpus: ${s.resources!.cpus} for ${s.name} requests ${cpu} CPUs (limit × ${this.requestFraction}), more than any node of ${ctx} has (largest allocatable: ${maxCpu})`);
      }
      if (mem > maxMem) {
        throw new UserError(`node.resources.memoryMb: ${s.resources!.memoryMb} for ${s.name} requests ${Math.round(mem)} MiB (limit × ${this.requestFraction}), more than any node of ${ctx} has (largest allocatable: ${maxMem} MiB)`);
      }
    }
    const totalCpu = f.nodes.reduce((a, n) => a + n.cpus, 0);
    const totalMem = f.nodes.reduce((a, n) => a + n.memoryMb, 0);
    if (cpuSum > totalCpu) throw new UserError(`node.resources.cpus: ${nodes.length} nodes request ${cpuSum.toFixed(2)} CPUs in all, more than ${ctx} has allocatable (${totalCpu})`);
    if (memSum > totalMem) throw new UserError(`node.resources.memoryMb: ${nodes.length} nodes request ${Math.round(memSum)} MiB in all, more than ${ctx} has allocatable (${totalMem} MiB)`);
    const pods = f.nodes.reduce((a, n) => a + n.pods, 0);
    if (nodes.length + 2 > pods) throw new UserError(`composition: ${nodes.length} nodes need ${nodes.length + 2} pods (with the generator and the safeguard); ${ctx} allows ${pods} pods in all`);
    return f;
  }

  /** A PodMonitor for the run when the operator's CRD is there; else say that the annotations are what there is. */
  private async applyPodMonitor(runId: string, namespace: string): Promise<void> {
    if (!(await this.podMonitorCrd().catch(() => false))) {
      this.onProgress(
        `kubernetes: no PodMonitor for run ${runId}: the Prometheus Operator's CRD (${PODMONITOR_CRD}) is not on this cluster; the pods carry prometheus.io/* annotations for a Prometheus with kubernetes_sd (leiosnet observe / --prometheus scrape them either way)`,
      );
      return;
    }
    const f = await this.probe();
    if (!f.customResources) {
      this.onProgress(
        `kubernetes: no PodMonitor for run ${runId}: the CRD is there, but this API server (${f.version}, built with ${f.goVersion}) crashes on custom resources (Kubernetes < 1.23 built with Go ≥ 1.18: modern-go/reflect2 1.0.1); the pods carry prometheus.io/* annotations instead`,
      );
      return;
    }
    const body = podMonitor(runId, namespace, { port: ADMIN_PORT, portNames: ['admin', 'metrics'], intervalS: 2 }) as { metadata: { name: string; labels: Record<string, string> } };
    body.metadata.labels = { ...body.metadata.labels, ...runLabels(runId) };
    try {
      await this.custom.createNamespacedCustomObject({ ...PODMONITOR_API, namespace, body });
      this.onProgress(`kubernetes: PodMonitor ${namespace}/${body.metadata.name} (the operator's Prometheus scrapes every node and the generator, labels run/node/role/release/region)`);
    } catch (e) {
      if (statusOf(e) !== 403 && statusOf(e) !== 409) throw e;
      this.onProgress(`kubernetes: no PodMonitor for run ${runId}: ${statusOf(e) === 403 ? `these credentials may not create podmonitors (${apiMessage(e)})` : 'one exists already'}`);
    }
  }

  /** Build a missing leiosnet/node:<release> in the local Docker engine (the cluster's image store). */
  async ensureImage(release: string): Promise<void> {
    if (this.build === 'never' || this.imageFor(release) !== imageTag(release)) return;
    let p = this.ready.get(release);
    if (!p) {
      p = (async () => {
        const { connectDocker, engineStatus } = await import('./docker/engine.ts');
        if (!(await engineStatus()).ok) return; // a remote cluster: the images are the cluster's business
        await ensureImages([release], { docker: connectDocker(), onProgress: this.onProgress });
      })();
      this.ready.set(release, p);
      p.catch(() => this.ready.delete(release));
    }
    await p;
  }

  namespaceOf(runId: string): string {
    return namespaceName(this.namespacePrefix, runId);
  }

  /** API server on the loopback interface (our test cluster): the safeguard uses the host network. */
  private loopbackApi(): { host: string; port: number } | undefined {
    const server = this.kc.getCurrentCluster()?.server;
    if (!server) return undefined;
    const u = new URL(server);
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname)) return undefined;
    return { host: u.hostname === 'localhost' ? '127.0.0.1' : u.hostname, port: Number(u.port || 443) };
  }

  private caPem(): string | undefined {
    const c = this.kc.getCurrentCluster();
    if (c?.caData) return Buffer.from(c.caData, 'base64').toString('utf8');
    if (c?.caFile && existsSync(c.caFile)) return readFileSync(c.caFile, 'utf8');
    return undefined;
  }

  private async createSafeguard(runId: string, ns: k8s.V1Namespace, image: string): Promise<void> {
    const namespace = ns.metadata!.name!;
    const labels = runLabels(runId, { [LABEL.role]: 'safeguard' });
    const owner = [{ apiVersion: 'v1', kind: 'Namespace', name: namespace, uid: ns.metadata!.uid!, blockOwnerDeletion: false }];
    const cluster = safeguardClusterName(namespace);
    await this.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: SAFEGUARD, labels } } });
    await this.rbac.createClusterRole({
      body: {
        metadata: { name: cluster, labels, ownerReferences: owner },
        rules: [{ apiGroups: [''], resources: ['namespaces'], resourceNames: [namespace], verbs: ['get', 'delete'] }],
      },
    });
    await this.rbac.createClusterRoleBinding({
      body: {
        metadata: { name: cluster, labels, ownerReferences: owner },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: cluster },
        subjects: [{ kind: 'ServiceAccount', name: SAFEGUARD, namespace }],
      },
    });
    const api = this.loopbackApi();
    const ca = api ? this.caPem() : undefined;
    if (ca) await this.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'safeguard-ca', labels }, data: { 'ca.crt': ca } } });
    // the ServiceAccount's token Secret is created by the token controller: wait for it (≤ 10 s)
    for (let i = 0; i < 40; i++) {
      const sa = await ignoring(this.core.readNamespacedServiceAccount({ name: SAFEGUARD, namespace }));
      if (sa?.secrets?.length) break;
      await sleep(250);
    }
    await this.core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: SAFEGUARD, labels },
        spec: {
          serviceAccountName: SAFEGUARD,
          restartPolicy: 'Always',
          terminationGracePeriodSeconds: 1,
          enableServiceLinks: false,
          ...(api ? { hostNetwork: true } : {}),
          securityContext: { runAsUser: 1000, runAsGroup: 1000 },
          containers: [
            {
              name: CONTAINER,
              image,
              imagePullPolicy: this.imagePullPolicy,
              command: ['node', '-e', SAFEGUARD_JS],
              env: [
                { name: 'NAMESPACE', value: namespace },
                { name: 'CHECK_S', value: '5' },
                ...(api ? [{ name: 'API_HOST', value: api.host }, { name: 'API_PORT', value: String(api.port) }] : []),
              ],
              resources: { requests: { cpu: '5m', memory: '32Mi' }, limits: { memory: '96Mi' } },
              ...(ca ? { volumeMounts: [{ name: 'ca', mountPath: '/safeguard-ca', readOnly: true }] } : {}),
            },
          ],
          ...(ca ? { volumes: [{ name: 'ca', configMap: { name: 'safeguard-ca' } }] } : {}),
        },
      },
    });
  }

  async prepare(releases: string[]): Promise<void> {
    for (const r of new Set(releases)) await this.ensureImage(r);
  }

  async up(runId: string, runDir: string, nodes: NodeSpec[]): Promise<Deployment> {
    runDir = resolve(runDir);
    await this.check();
    await this.admit({ nodes }); // the pipeline asked already (cached); direct callers of up() too
    const releases = [...new Set(nodes.map((n) => n.release))];
    for (const r of releases) await this.ensureImage(r);
    const namespace = this.namespaceOf(runId);
    const rd = new RunDir(runDir);
    const dep = this.live.get(runId) ?? new KubeDeployment(this, runId, runDir, namespace);
    this.live.set(runId, dep);
    try {
      // 1. the namespace, with its heartbeat and safeguard first: from here on a dead orchestrator is covered
      let ns = await ignoring(this.core.readNamespace({ name: namespace }));
      if (!ns) {
        ns = await this.core.createNamespace({
          body: {
            metadata: {
              name: namespace,
              labels: runLabels(runId),
              annotations: {
                [ANNOTATION.heartbeat]: new Date().toISOString(),
                [ANNOTATION.heartbeatTtlS]: String(this.heartbeatTtlS),
                [ANNOTATION.runDir]: runDir,
                'leiosnet.io/run-id': runId,
                ...(rd.profileName() ? { [ANNOTATION.profile]: rd.profileName()! } : {}),
              },
            },
          },
        });
        dep.startHeartbeat();
        await this.createSafeguard(runId, ns, this.imageFor(releases[0]!));
        // 2. genesis and keys
        const genesis = readFileSync(rd.genesisFile, 'utf8');
        if (Buffer.byteLength(genesis) > 1_000_000) throw new UserError(`genesis: ${rd.genesisFile} is ${Buffer.byteLength(genesis)} bytes, above a ConfigMap's 1 MiB (fewer genesis.utxo.generatorOutputs)`);
        await this.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: GENESIS_CONFIGMAP, labels: runLabels(runId) }, data: { 'genesis.json': genesis } } });
        const owners = new Map<string, Record<string, string>>();
        for (const [file, path] of rd.keyFiles()) {
          const owner = file.replace(/\.(cold|vrf|bls)\.skey$|\.skey$/, '');
          const m = owners.get(owner) ?? {};
          m[file] = readFileSync(path).toString('base64');
          owners.set(owner, m);
        }
        for (const [owner, data] of owners) {
          await this.core.createNamespacedSecret({ namespace, body: { metadata: { name: keySecretName(owner), labels: runLabels(runId) }, type: 'Opaque', data } });
        }
        // 3. one headless Service over the node pods (discovery records; nothing here needs DNS)
        await this.core.createNamespacedService({
          namespace,
          body: {
            metadata: { name: 'nodes', labels: runLabels(runId) },
            spec: {
              clusterIP: 'None',
              selector: { [LABEL.run]: runLabels(runId)[LABEL.run]!, [LABEL.role]: 'node' },
              ports: [
                { name: 'n2n', port: N2N_PORT },
                { name: 'admin', port: ADMIN_PORT },
              ],
            },
          },
        });
        // 3b. Prometheus Operator: a PodMonitor over the run's pods (annotations are there anyway)
        await this.applyPodMonitor(runId, namespace);
      } else {
        dep.startHeartbeat();
      }
      // 4. a Pod per node
      for (const s of nodes) {
        const dir = resolve(s.dir);
        mkdirSync(dir, { recursive: true });
        if (!dep.handles.has(s.name)) dep.handles.set(s.name, new KubeNode(dep, { name: s.name, dir, release: s.release, template: s.template, region: s.region }));
      }
      await inBatches(nodes, 8, async (s) => {
        const h = dep.handles.get(s.name)!;
        if (await dep.readPod(h.pod)) return;
        // the template (with the node's admin token) in a Secret of its own, not in the pod's
        // metadata: an attached orchestrator re-renders configs from it
        const secret = templateSecretName(s.name);
        if (!(await ignoring(this.core.readNamespacedSecret({ name: secret, namespace })))) {
          await this.core.createNamespacedSecret({
            namespace,
            body: {
              metadata: { name: secret, labels: runLabels(runId, { [LABEL.node]: s.name, [LABEL.secret]: 'node-template' }) },
              type: 'Opaque',
              data: { [TEMPLATE_KEY]: Buffer.from(JSON.stringify(s.template)).toString('base64') },
            },
          });
        }
        await this.core.createNamespacedPod({
          namespace,
          body: supervisedPod({
            name: h.pod,
            labels: runLabels(runId, { [LABEL.node]: s.name, [LABEL.role]: 'node', [LABEL.metricsRole]: s.template.role, [LABEL.release]: s.release, [LABEL.region]: s.region }),
            annotations: {
              [ANNOTATION.nodeDir]: h.dir,
              ...scrapeAnnotations({ port: ADMIN_PORT }), // /metrics is an open route of the admin API
              ...(s.region ? { [ANNOTATION.region]: s.region } : {}),
            },
            image: this.imageFor(s.release),
            pullPolicy: this.imagePullPolicy,
            child: ['node/main.ts', '--config', `${CONTROL_DIR}/config.json`],
            ...(s.template.poolId !== undefined ? { keySecret: keySecretName(s.template.poolId) } : {}),
            ports: [
              { name: 'n2n', port: N2N_PORT },
              { name: 'admin', port: ADMIN_PORT },
            ],
            readinessPort: ADMIN_PORT,
            resources: resourcesOf(s.resources, this.requestFraction),
          }),
        });
      });
      // 5. every pod has its IP → render configs (peers by pod IP), put them in force
      const timeoutMs = Math.max(this.healthTimeoutMs, 60_000 + 3_000 * nodes.length);
      const handles = nodes.map((s) => dep.handles.get(s.name)!);
      await Promise.all(handles.map(async (h) => h.refresh(await h.waitContainer(timeoutMs))));
      await inBatches(handles, 8, async (h) => {
        await h.install(h.render(h.release)); // a new generation only if an address changed
      });
      await Promise.all(handles.map((h) => h.waitHealthy(timeoutMs)));
    } catch (e) {
      dep.stopHeartbeat();
      await this.down(runId).catch(() => {});
      this.live.delete(runId);
      if (e instanceof UserError || e instanceof InfraError) throw e;
      throw new InfraError(`kubernetes runtime: ${apiMessage(e)}`, { cause: e });
    }
    return dep;
  }

  private async namespacesOf(runId?: string): Promise<k8s.V1Namespace[]> {
    return (await this.core.listNamespace({ labelSelector: runSelector(runId) })).items;
  }

  async attach(runId: string): Promise<Deployment | undefined> {
    const live = this.live.get(runId);
    if (live) return live;
    const ns = (await this.namespacesOf(runId))[0];
    if (!ns?.metadata?.name) return undefined;
    const a = ns.metadata.annotations ?? {};
    const dep = new KubeDeployment(this, runId, a[ANNOTATION.runDir] ?? '', ns.metadata.name);
    const pods = (await this.core.listNamespacedPod({ namespace: ns.metadata.name, labelSelector: LABEL.node })).items;
    const templates = new Map<string, string>();
    for (const sec of (await this.core.listNamespacedSecret({ namespace: ns.metadata.name, labelSelector: `${LABEL.secret}=node-template` })).items) {
      const t = sec.data?.[TEMPLATE_KEY];
      const node = sec.metadata?.labels?.[LABEL.node];
      if (t && node) templates.set(node, Buffer.from(t, 'base64').toString('utf8'));
    }
    for (const p of pods) {
      const l = p.metadata?.labels ?? {};
      const pa = p.metadata?.annotations ?? {};
      const name = l[LABEL.node]!;
      if (l[LABEL.role] === 'generator') {
        dep.generator = { name, pod: p.metadata!.name!, dir: pa[ANNOTATION.nodeDir] ?? join(dep.runDir, 'generator') };
        continue;
      }
      let template: NodeTemplate | undefined;
      try {
        const text = templates.get(name) ?? pa[ANNOTATION.template]; // the annotation: runs of earlier versions
        template = text ? (JSON.parse(text) as NodeTemplate) : undefined;
      } catch {
        template = undefined;
      }
      const h = new KubeNode(dep, { name, dir: pa[ANNOTATION.nodeDir] ?? join(dep.runDir, 'nodes', name), release: l[LABEL.release] ?? '', template, region: pa[ANNOTATION.region] });
      dep.handles.set(name, h);
    }
    await Promise.all([...dep.handles.values()].map((h) => h.refresh().catch(() => undefined)));
    if (dep.generator) {
      const gp = await dep.readPod(dep.generator.pod);
      if (gp?.status?.podIP) {
        const ep = await dep.reach(dep.generator.pod, gp.status.podIP, GENERATOR_METRICS_PORT);
        dep.generator.ep = `http://${ep.host}:${ep.port}`;
      }
    }
    this.live.set(runId, dep);
    return dep;
  }

  async list(): Promise<RunInfo[]> {
    const out: RunInfo[] = [];
    for (const ns of await this.namespacesOf()) {
      const a = ns.metadata?.annotations ?? {};
      const runId = a['leiosnet.io/run-id'] ?? ns.metadata?.labels?.[LABEL.run] ?? '';
      const pods = (await this.core.listNamespacedPod({ namespace: ns.metadata!.name!, labelSelector: `${LABEL.role}=node` })).items;
      out.push({
        runId,
        runtime: 'kubernetes',
        profile: a[ANNOTATION.profile],
        runDir: a[ANNOTATION.runDir],
        nodes: pods.length,
        running: pods.filter((p) => p.status?.containerStatuses?.[0]?.ready === true).length,
      });
    }
    return out.sort((x, y) => x.runId.localeCompare(y.runId));
  }

  /** Delete the run's namespace(s) and cluster-scoped objects by label; wait until they are gone. */
  async down(runId: string): Promise<void> {
    const live = this.live.get(runId);
    live?.stopHeartbeat();
    this.live.delete(runId);
    const sel = runSelector(runId);
    // PodMonitors of the run, wherever they are (the namespace's go with it; CRD absent: 404).
    // Not asked of an API server that crashes on custom resources (there can be none of ours).
    const crSafe = await this.probe().then((f) => f.customResources, () => true);
    const monitors = !crSafe ? [] : ((await ignoring(this.custom.listClusterCustomObject({ ...PODMONITOR_API, labelSelector: sel }), [403, 404])) as { items?: k8s.KubernetesObject[] } | undefined)?.items ?? [];
    for (const m of monitors) {
      await ignoring(this.custom.deleteNamespacedCustomObject({ ...PODMONITOR_API, namespace: m.metadata!.namespace!, name: m.metadata!.name! }));
    }
    // namespace termination waits for every pod's graceful stop: slow on a loaded small cluster
    const deadline = Date.now() + 300_000;
    for (;;) {
      const nss = await this.namespacesOf(runId);
      const roles = (await this.rbac.listClusterRole({ labelSelector: sel })).items;
      const bindings = (await this.rbac.listClusterRoleBinding({ labelSelector: sel })).items;
      if (nss.length === 0 && roles.length === 0 && bindings.length === 0) return;
      for (const ns of nss) {
        if (ns.status?.phase !== 'Terminating') await ignoring(this.core.deleteNamespace({ name: ns.metadata!.name!, gracePeriodSeconds: 2 }), [404, 409]);
      }
      for (const r of bindings) await ignoring(this.rbac.deleteClusterRoleBinding({ name: r.metadata!.name! }));
      for (const r of roles) await ignoring(this.rbac.deleteClusterRole({ name: r.metadata!.name! }));
      if (Date.now() > deadline) throw new InfraError(`kubernetes runtime: namespace of run ${runId} still there after 300 s (${nss.map((n) => `${n.metadata?.name}: ${n.status?.phase}`).join(', ')})`);
      await sleep(1_000);
    }
  }
}

export function createKubernetesRuntime(opts?: KubernetesRuntimeOptions): KubernetesRuntime {
  return new KubernetesRuntime(opts);
}

/**
 * The CLI's runtime (orchestrator/runtime/registry.ts): progress on stderr, and the capabilities
 * the cluster grants asked before the pipeline checks a profile against them. A cluster that does
 * not answer within 5 s keeps KUBERNETES_CAPABILITIES (`up` then fails with exit 3 as before;
 * `ls`/`down` need no probe).
 */
export async function createRuntime(opts: KubernetesRuntimeOptions = {}): Promise<KubernetesRuntime> {
  const rt = new KubernetesRuntime({ onProgress: (l) => process.stderr.write(`${l}\n`), ...opts });
  await Promise.race([rt.probe().catch(() => undefined), new Promise((r) => setTimeout(r, 5_000).unref())]);
  return rt;
}

export { statusOf };
