// The docker runtime (dockerode): one internal bridge network per run, one container per node
// from leiosnet/node:<release>, the chain DB on a named volume per node, everything labelled with
// the run id (names.ts) so `down` and `list` work from the engine alone, after the orchestrator
// died.
//
// Addresses (DockerResolver): a node binds 0.0.0.0:3001 (n2n) and :12798 (admin) in its container;
// other nodes dial it by container name on the run network (Docker's embedded DNS); the
// orchestrator by container IP (or published port). Configs are rendered from the node's
// runtime-neutral template when the container is created and written through orchestrator/rundir
// (nodes/<name>/config.json, a new generation per release swap), never rewritten.
//
// Containers run with a read-only root filesystem (a tmpfs on /tmp for scratch): a node writes
// only its chain DB volume and its node dir; the generator only its dir. The admin token reaches
// a node in its config file (bind-mounted read-only, mode 0600 on the host), never in Env or Cmd,
// so `docker inspect` does not show it.
//
// Mounts (same for every container of a run):
//   <runDir>           → <runDir>            read-only   genesis, keys (absolute paths in configs)
//   <nodeDir>          → <nodeDir>           read-write  node.log / trace.jsonl land in the run dir
//   <config in force>  → /config/config.json read-only
//   volume leiosnet-<run>-<node>-db → /data  chain DB (survives container replacement)
//
// Reaching the nodes: by default (Linux engines) the orchestrator talks to each container's IP on
// the run network directly — the host is on every bridge, even an internal one — so no host port
// is taken. With access 'published' (Docker Desktop, remote engines; env LEIOSNET_DOCKER_ACCESS)
// the network is a normal bridge and the admin and n2n ports are published on 127.0.0.1 at
// engine-chosen ports.
//
// Faults through the engine: kill (SIGKILL), stop/start, pause/unpause, restartWith(release)
// (new container from leiosnet/node:<release> on the same volume), partition (network
// disconnect/connect); link shaping is the node admin API's (no netem here).

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type Dockerode from 'dockerode';
import type { NodeConfig } from '../../node/config/schema.ts';
import { InfraError } from '../errors.ts';
import { ensureImages, imageTag } from '../image/build.ts';
import { renderGeneratorConfig } from '../genesis/generator-config.ts';
import { renderNodeConfig, type NodePaths } from '../genesis/run-files.ts';
import { RunDir } from '../rundir/index.ts';
import { connectDocker, containerOutput, idempotent, requireEngine, statusOf, type Docker } from './docker/engine.ts';
import {
  ADMIN_PORT,
  CONFIG_PATH,
  containerName,
  DATA_DIR,
  LABEL,
  N2N_PORT,
  networkName,
  runFilter,
  runLabels,
  volumeName,
} from './docker/names.ts';
import { identityProblem, readHealth } from './identity.ts';
import { releaseInfo } from './process/release.ts';
import type {
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

export type DockerAccess = 'container-ip' | 'published';

export interface DockerRuntimeOptions {
  docker?: Docker;
  /** How the orchestrator reaches containers (default: container-ip on Linux, else published). */
  access?: DockerAccess;
  /** Build missing or stale leiosnet/node:<release> images before starting (default 'auto'). */
  build?: 'auto' | 'never';
  /** Image for a release (default leiosnet/node:<release>). */
  imageFor?: (release: string) => string;
  healthTimeoutMs?: number;
  stopGraceMs?: number;
  onProgress?: (line: string) => void;
}

/** Scratch space of a container whose root filesystem is read-only. */
const TMPFS_OPTS = 'rw,nosuid,nodev,noexec,size=64m';

/**
 * The engine's health check of a node container. The image's HEALTHCHECK (every 5 s) starts a Node
 * process per check, ~0.15 s of CPU: across 100 containers that is more CPU than 2 cores have, and
 * scale-100 did not come up on Docker. The orchestrator polls /health itself; the engine's check
 * only keeps `docker ps` informative, so a run's checks together come about once a second. Only
 * the timings are set: the engine keeps the image's test command.
 */
export function nodeHealthcheck(nodesInRun: number): { Interval: number; StartPeriod: number } {
  const s = 1e9; // the engine counts in nanoseconds
  return { Interval: Math.max(5, nodesInRun) * s, StartPeriod: 20 * s };
}

/** The generator's /metrics port inside its container. */
export const GENERATOR_METRICS_PORT = 12799;

/** Where a node's config points inside its container (run dir mounted at the same path). */
export function containerPaths(rd: RunDir, node: string): NodePaths {
  return {
    genesisFile: rd.genesisFile,
    keyFile: (pool, kind) => rd.keyFile(pool, kind),
    dbPath: `${DATA_DIR}/db`,
    traceFile: rd.nodeTrace(node),
    logFile: rd.nodeLog(node),
  };
}

/**
 * The docker runtime's resolver: fixed ports in every container, peers by container name on the
 * run network, the orchestrator by container IP or published port (known once a container runs).
 */
export class DockerResolver implements Resolver {
  readonly runId: string;
  private readonly orchestrator: (name: string) => NodeAddress | undefined;
  constructor(runId: string, orchestrator: (name: string) => NodeAddress | undefined = () => undefined) {
    this.runId = runId;
    this.orchestrator = orchestrator;
  }
  bind(_name: string): NodeAddress {
    return { host: '0.0.0.0', port: N2N_PORT, adminHost: '0.0.0.0', adminPort: ADMIN_PORT };
  }
  fromNode(name: string): Endpoint {
    return { host: containerName(this.runId, name), port: N2N_PORT };
  }
  fromOrchestrator(name: string): NodeAddress | undefined {
    return this.orchestrator(name);
  }
}

/** A node handle that can be cut off its run network at the runtime level. */
export interface PartitionableNode extends NodeHandle {
  /** true: disconnect from the run network; false: reconnect. */
  partition(isolated: boolean): Promise<void>;
}

export function canPartition(h: NodeHandle): h is PartitionableNode {
  return typeof (h as Partial<PartitionableNode>).partition === 'function';
}

export const DOCKER_CAPABILITIES: RuntimeCapabilities = {
  pause: true,
  restartWith: true,
  partition: true,
  resourceLimits: true,
  requiresImage: true,
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

function profileOf(runDir: string): string | undefined {
  for (const f of ['meta.json', 'profile.resolved.json']) {
    try {
      // meta.json: { profile: "<name>" }; profile.resolved.json (the Plan): { profile: { name } }
      const j = readJson<{ profile?: string | { name?: unknown } }>(join(runDir, f));
      const p = typeof j.profile === 'string' ? j.profile : typeof j.profile?.name === 'string' ? j.profile.name : undefined;
      if (p) return p;
    } catch {
      /* not there */
    }
  }
  return undefined;
}

/**
 * Containers run as the orchestrator's own uid:gid, exactly like the process runtime's nodes: they
 * read the run dir (keys are 0600) and write node.log/trace.jsonl into it with the permissions the
 * user already has, wherever the run dir lives. (The image's default user, for `docker run` by
 * hand, is the non-root `node`.) /data is world-writable in the image, so any uid can use the volume.
 */
function containerUser(): string | undefined {
  const uid = process.getuid?.();
  const gid = process.getgid?.();
  return uid === undefined || gid === undefined ? undefined : `${uid}:${gid}`;
}

async function inBatches<T>(items: T[], width: number, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

interface NodeMeta {
  name: string;
  dir: string;
  release: string;
  template?: NodeTemplate;
  region?: string;
}

class DockerNode implements PartitionableNode {
  readonly name: string;
  readonly dir: string;
  readonly template: NodeTemplate | undefined;
  readonly region: string | undefined;
  release: string;
  private readonly dep: DockerDeployment;
  private ep: Endpoints | undefined;

  constructor(dep: DockerDeployment, meta: NodeMeta) {
    this.dep = dep;
    this.name = meta.name;
    this.dir = meta.dir;
    this.release = meta.release;
    this.template = meta.template;
    this.region = meta.region;
  }

  get role(): 'pool' | 'relay' {
    return this.template?.role ?? (this.config().pool ? 'pool' : 'relay');
  }

  /** The orchestrator-side address last seen (undefined while not running). */
  address(): NodeAddress | undefined {
    if (!this.ep) return undefined;
    const a = new URL(this.ep.adminUrl);
    return { host: this.ep.n2n.host, port: this.ep.n2n.port, adminHost: a.hostname, adminPort: Number(a.port) };
  }

  async fetchArtifacts(): Promise<void> {
    /* node.log and trace.jsonl are written into the run dir through the bind mount */
  }

  /** Render the container config for `release` and write it (a new generation if it differs). */
  render(release: string): string {
    const rd = this.dep.rd;
    if (!this.template) {
      // attached to a run started elsewhere: the config in force, with the release swapped
      const cur = rd.currentNodeConfig(this.name);
      if (!cur) throw new InfraError(`node ${this.name}: no config in ${this.dir}`);
      return rd.writeNodeConfig(this.name, { ...cur.config, release: releaseInfo(release) });
    }
    const r = this.dep.resolver;
    return rd.writeNodeConfig(
      this.name,
      renderNodeConfig(this.template, { bind: r.bind(this.name), peer: (n) => r.fromNode(n), paths: containerPaths(rd, this.name), release, runId: this.dep.runId }),
    );
  }

  get containerName(): string {
    return containerName(this.dep.runId, this.name);
  }

  get volume(): string {
    return volumeName(this.dep.runId, this.name);
  }

  private get docker(): Docker {
    return this.dep.rt.docker;
  }

  private container(): Dockerode.Container {
    return this.docker.getContainer(this.containerName);
  }

  /** The config in force (the newest generation). */
  config(): NodeConfig {
    const cur = this.dep.rd.currentNodeConfig(this.name);
    if (!cur) throw new Error(`node ${this.name} has no config in ${this.dir}`);
    return cur.config;
  }

  inspect(): Promise<Dockerode.ContainerInspectInfo | undefined> {
    return idempotent(this.container().inspect(), [404]);
  }

  /** Re-read the container's address (it may change on start or reconnect). */
  async refresh(known?: Dockerode.ContainerInspectInfo): Promise<Endpoints | undefined> {
    const info = known ?? (await this.inspect());
    if (!info) return (this.ep = undefined);
    const token = this.config().admin.token;
    if (this.dep.rt.access === 'published') {
      const port = (p: number) => info.NetworkSettings.Ports?.[`${p}/tcp`]?.[0]?.HostPort;
      const a = port(ADMIN_PORT);
      const n = port(N2N_PORT);
      if (!a || !n) return this.ep; // not running: keep the last known
      this.ep = { adminUrl: `http://127.0.0.1:${a}`, adminToken: token, n2n: { host: '127.0.0.1', port: Number(n) } };
    } else {
      const ip = info.NetworkSettings.Networks?.[this.dep.network]?.IPAddress;
      if (!ip) return this.ep;
      this.ep = { adminUrl: `http://${ip}:${ADMIN_PORT}`, adminToken: token, n2n: { host: ip, port: N2N_PORT } };
    }
    return this.ep;
  }

  endpoints(): Endpoints {
    if (!this.ep) throw new Error(`node ${this.name} (${this.containerName}) has no address: it is not running`);
    return this.ep;
  }

  /** Render the config (once per release) and create the container (not started). */
  async create(): Promise<void> {
    const rt = this.dep.rt;
    const cur = this.dep.rd.currentNodeConfig(this.name);
    const want = releaseInfo(this.release);
    const cfgFile = cur && cur.config.release.version === want.version ? cur.file : this.render(this.release);
    const res = this.dep.resources.get(this.name);
    const labels = runLabels(this.dep.runId, {
      [LABEL.node]: this.name,
      [LABEL.role]: 'node',
      [LABEL.profile]: this.dep.profile,
      [LABEL.runDir]: this.dep.runDir,
      [LABEL.nodeDir]: this.dir,
      [LABEL.release]: this.release,
    });
    await idempotent(
      this.docker.createVolume({ Name: this.volume, Labels: runLabels(this.dep.runId, { [LABEL.node]: this.name, [LABEL.runDir]: this.dep.runDir }) }),
      [409],
    );
    const published = rt.access === 'published';
    await this.docker.createContainer({
      name: this.containerName,
      Image: rt.imageFor(this.release),
      Hostname: this.name.replace(/[^A-Za-z0-9-]/g, '-').slice(0, 63),
      User: containerUser(),
      Env: [`LEIOSNET_ADMIN_PORT=${ADMIN_PORT}`, `LEIOSNET_NODE=${this.name}`],
      Labels: labels,
      Healthcheck: nodeHealthcheck(this.dep.handles.size),
      ExposedPorts: { [`${N2N_PORT}/tcp`]: {}, [`${ADMIN_PORT}/tcp`]: {} },
      HostConfig: {
        NetworkMode: this.dep.network,
        Init: true, // tini as PID 1: signals reach node, zombies reaped
        // nothing is written outside the mounts below (node dir, /data) but scratch in /tmp
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': TMPFS_OPTS },
        Mounts: [
          { Type: 'bind', Source: this.dep.runDir, Target: this.dep.runDir, ReadOnly: true },
          { Type: 'bind', Source: this.dir, Target: this.dir, ReadOnly: false },
          { Type: 'bind', Source: cfgFile, Target: CONFIG_PATH, ReadOnly: true },
          { Type: 'volume', Source: this.volume, Target: DATA_DIR },
        ],
        PortBindings: published
          ? { [`${N2N_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }], [`${ADMIN_PORT}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] }
          : undefined,
        NanoCpus: res?.cpus ? Math.round(res.cpus * 1e9) : undefined,
        Memory: res?.memoryMb ? Math.round(res.memoryMb * 1024 * 1024) : undefined,
        MemorySwap: res?.memoryMb ? Math.round(res.memoryMb * 1024 * 1024) : undefined,
        RestartPolicy: { Name: 'no' },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '20m', 'max-file': '2' } },
      },
      NetworkingConfig: { EndpointsConfig: { [this.dep.network]: { Aliases: [this.name] } } },
    });
  }

  /** Start the container (creating it if needed) without waiting for health. */
  async launch(): Promise<void> {
    if (!(await this.inspect())) await this.create();
    await idempotent(this.container().start());
    this.ep = undefined; // a new start may mean a new address
    await this.refresh();
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let inspected = 0;
    for (;;) {
      // the engine is asked about the container once a second (10 nodes polled every 200 ms would
      // keep dockerd busy while the nodes need the CPU to boot); /health is cheap
      if (!this.ep || Date.now() - inspected > 1_000) {
        const info = await this.inspect();
        inspected = Date.now();
        if (!info || !info.State.Running) {
          const why = info ? `exited with code ${info.State.ExitCode}` : 'vanished';
          throw new InfraError(`node ${this.name} (${this.containerName}) ${why} before answering /health:\n${tail(await this.logs())}`);
        }
        await this.refresh(info);
      }
      const ep = this.ep;
      // ours = it answers as this node of this run (config `runId`), not merely answers
      const h = ep ? await readHealth(ep, 1_000) : undefined;
      if (h && !identityProblem(h, { name: this.name, runId: this.config().runId })) return;
      if (Date.now() > deadline) {
        throw new InfraError(
          `node ${this.name} did not answer ${ep?.adminUrl ?? '(no address)'}/health within ${timeoutMs} ms` +
            (this.dep.rt.access === 'container-ip' ? ' (container IPs not reachable from here? try LEIOSNET_DOCKER_ACCESS=published)' : '') +
            `:\n${tail(await this.logs())}`,
        );
      }
      await sleep(200);
    }
  }

  async stats(): Promise<NodeStats | undefined> {
    if (!(await this.running())) return undefined;
    // stream=false: the engine samples twice (~1 s apart), so precpu_stats is meaningful
    const s = await idempotent(this.container().stats({ stream: false }) as Promise<Dockerode.ContainerStats>, [404, 409]);
    return s && statsFromEngine(s);
  }

  async logs(): Promise<string> {
    const parts: string[] = [];
    let logFile: string | undefined;
    try {
      const c = this.config();
      if (c.logFile) logFile = resolve(this.dir, c.logFile);
    } catch {
      /* no config */
    }
    if (logFile && existsSync(logFile)) parts.push(readFileSync(logFile, 'utf8'));
    const out = await containerOutput(this.container());
    const text = out ? out.stdout + out.stderr : '';
    if (text.trim()) parts.push(logFile ? `--- container output (${this.containerName}) ---\n${text}` : text);
    return parts.join(parts.length > 1 && !parts[0]!.endsWith('\n') ? '\n' : '');
  }

  async running(): Promise<boolean> {
    return (await this.inspect())?.State.Running === true;
  }

  async stop(): Promise<void> {
    await idempotent(this.container().stop({ t: Math.ceil(this.dep.rt.stopGraceMs / 1000) }));
  }

  async kill(): Promise<void> {
    const info = await this.inspect();
    if (!info?.State.Running) return;
    if (info.State.Paused) await idempotent(this.container().unpause(), [404, 409]);
    await idempotent(this.container().kill({ signal: 'SIGKILL' }), [404, 409]);
    await idempotent(this.container().wait({ condition: 'not-running' }), [404]);
  }

  async start(): Promise<void> {
    if (await this.running()) return;
    await this.launch();
    await this.waitHealthy(this.dep.rt.healthTimeoutMs);
  }

  async pause(): Promise<void> {
    await idempotent(this.container().pause(), [404, 409]);
  }

  async resume(): Promise<void> {
    await idempotent(this.container().unpause(), [404, 409]);
  }

  async restartWith(release: string): Promise<void> {
    releaseInfo(release); // unknown release: refuse before stopping anything
    await this.dep.rt.ensureImage(release);
    await this.stop();
    await idempotent(this.container().remove({ force: true, v: false }));
    // the run dir says which release runs (a new config generation), as with the process runtime
    this.release = release;
    this.render(release);
    await this.create(); // same name, same volume, new image
    await this.start();
  }

  async partition(isolated: boolean): Promise<void> {
    const net = this.docker.getNetwork(this.dep.network);
    if (isolated) {
      await idempotent(net.disconnect({ Container: this.containerName, Force: true }), [404, 409]);
    } else {
      const info = await this.inspect();
      if (info && !info.NetworkSettings.Networks?.[this.dep.network]) {
        await net.connect({ Container: this.containerName, EndpointConfig: { Aliases: [this.name] } });
      }
      await this.refresh();
    }
  }
}

/** CPU % (of one core, like `docker stats`) and RSS in MB from one engine stats answer. */
export function statsFromEngine(s: Dockerode.ContainerStats): NodeStats {
  const cpuDelta = s.cpu_stats.cpu_usage.total_usage - (s.precpu_stats?.cpu_usage?.total_usage ?? 0);
  const sysDelta = (s.cpu_stats.system_cpu_usage ?? 0) - (s.precpu_stats?.system_cpu_usage ?? 0);
  const cpus = s.cpu_stats.online_cpus || s.cpu_stats.cpu_usage.percpu_usage?.length || 1;
  const cpuPct = sysDelta > 0 && cpuDelta > 0 ? (cpuDelta / sysDelta) * cpus * 100 : 0;
  const m = (s.memory_stats?.stats ?? {}) as Record<string, number>;
  // resident = anonymous + mapped file pages (the node binary), as /proc's VmRSS counts them:
  // cgroup v1 rss + mapped_file, v2 anon + file_mapped; else usage minus page cache
  const anon = m.rss ?? m.total_rss ?? m.anon;
  const mapped = m.mapped_file ?? m.total_mapped_file ?? m.file_mapped ?? 0;
  const rss = anon !== undefined ? anon + mapped : Math.max(0, (s.memory_stats?.usage ?? 0) - (m.cache ?? m.inactive_file ?? 0));
  return { cpuPct, rssMb: rss / 1024 / 1024 };
}

function generatorMetricsPort(cfg: unknown): number | undefined {
  const m = (cfg as { metrics?: { port?: unknown } } | undefined)?.metrics;
  return typeof m?.port === 'number' && m.port > 0 ? m.port : undefined;
}

class DockerDeployment implements Deployment {
  readonly runId: string;
  readonly runDir: string;
  readonly rt: DockerRuntime;
  readonly network: string;
  readonly handles = new Map<string, DockerNode>();
  readonly resources = new Map<string, NodeSpec['resources']>();
  readonly rd: RunDir;
  readonly resolver: DockerResolver;
  profile: string | undefined;
  generator: { name: string; dir: string; configFile: string } | undefined;

  constructor(rt: DockerRuntime, runId: string, runDir: string, profile?: string) {
    this.rt = rt;
    this.runId = runId;
    this.runDir = runDir;
    this.rd = new RunDir(runDir);
    this.network = networkName(runId);
    this.profile = profile;
    this.resolver = new DockerResolver(runId, (n) => this.handles.get(n)?.address());
  }

  async targets(): Promise<MetricsTarget[]> {
    const out: MetricsTarget[] = [];
    for (const h of this.handles.values()) {
      const a = h.address();
      if (!a) continue;
      out.push({
        address: `${a.adminHost}:${a.adminPort}`,
        metricsPath: '/metrics',
        labels: { run: this.runId, node: h.name, role: h.role, release: h.release, region: h.region ?? '', runtime: 'docker' },
      });
    }
    const url = await this.generatorUrl().catch(() => undefined);
    if (url && this.generator) {
      const release = [...this.handles.values()][0]?.release ?? '';
      out.push({ address: url.replace(/^https?:\/\//, ''), metricsPath: '/metrics', labels: { run: this.runId, node: this.generator.name, role: 'generator', release, region: '', runtime: 'docker' } });
    }
    return out;
  }

  nodes(): NodeHandle[] {
    return [...this.handles.values()];
  }

  node(name: string): NodeHandle {
    const h = this.handles.get(name);
    if (!h) throw new Error(`run ${this.runId} has no node ${JSON.stringify(name)} (nodes: ${[...this.handles.keys()].join(', ')})`);
    return h;
  }

  async ensureNetwork(): Promise<void> {
    const docker = this.rt.docker;
    if (await idempotent(docker.getNetwork(this.network).inspect(), [404])) return;
    await idempotent(
      docker.createNetwork({
        Name: this.network,
        Driver: 'bridge',
        Internal: this.rt.access === 'container-ip',
        CheckDuplicate: true,
        Labels: runLabels(this.runId, { [LABEL.profile]: this.profile, [LABEL.runDir]: this.runDir }),
      }),
      [409],
    );
  }

  /** <runDir>/docker.json: what was created, for humans and reports (cleanup uses labels). */
  persist(): void {
    const doc = {
      runId: this.runId,
      runtime: 'docker',
      access: this.rt.access,
      network: this.network,
      nodes: [...this.handles.values()].map((h) => ({
        name: h.name,
        container: h.containerName,
        volume: h.volume,
        image: this.rt.imageFor(h.release),
        release: h.release,
      })),
      generator: this.generator ? { name: this.generator.name, container: containerName(this.runId, this.generator.name) } : undefined,
    };
    try {
      writeFileSync(join(this.runDir, 'docker.json'), JSON.stringify(doc, null, 2) + '\n');
    } catch {
      /* read-only run dir: labels are what matters */
    }
  }

  async startGenerator(spec: GeneratorSpec): Promise<void> {
    const docker = this.rt.docker;
    const name = containerName(this.runId, spec.name);
    const existing = await idempotent(docker.getContainer(name).inspect());
    if (existing?.State.Running) return;
    if (existing) await idempotent(docker.getContainer(name).remove({ force: true }));
    const dir = resolve(spec.dir);
    mkdirSync(dir, { recursive: true });
    // targets by container name on the run network, /metrics on the container's interface
    const cfg = renderGeneratorConfig(spec.template, {
      target: (n) => this.resolver.fromNode(n),
      metrics: { host: '0.0.0.0', port: GENERATOR_METRICS_PORT },
      paths: { genesisFile: this.rd.genesisFile, paymentSkeyFile: this.rd.generatorKeyFile, outDir: dir, summaryFile: join(dir, 'summary.json'), logFile: join(dir, 'generator.log') },
    });
    const cfgFile = this.rd.writeGeneratorConfig(cfg);
    const configFile = cfgFile;
    const release = [...this.handles.values()][0]?.release;
    if (!release) throw new InfraError(`run ${this.runId}: no node to take the generator image from`);
    const metricsPort = generatorMetricsPort(cfg);
    const published = this.rt.access === 'published' && metricsPort !== undefined;
    const mounts: Dockerode.MountSettings[] = [{ Type: 'bind', Source: this.runDir, Target: this.runDir, ReadOnly: true }];
    if (dir !== this.runDir) mounts.push({ Type: 'bind', Source: dir, Target: dir, ReadOnly: false });
    await docker.createContainer({
      name,
      Image: this.rt.imageFor(release),
      Cmd: ['tx-generator/main.ts', '--config', cfgFile],
      User: containerUser(),
      Labels: runLabels(this.runId, {
        [LABEL.node]: spec.name,
        [LABEL.role]: 'generator',
        [LABEL.profile]: this.profile,
        [LABEL.runDir]: this.runDir,
        [LABEL.nodeDir]: dir,
        [LABEL.configFile]: configFile,
        [LABEL.release]: release,
        [LABEL.metricsPort]: metricsPort !== undefined ? String(metricsPort) : undefined,
      }),
      Healthcheck: { Test: ['NONE'] },
      ExposedPorts: metricsPort !== undefined ? { [`${metricsPort}/tcp`]: {} } : undefined,
      HostConfig: {
        NetworkMode: this.network,
        Init: true,
        ReadonlyRootfs: true, // it writes only into its dir (bind mount)
        Tmpfs: { '/tmp': TMPFS_OPTS },
        Mounts: mounts,
        PortBindings: published ? { [`${metricsPort}/tcp`]: [{ HostIp: '127.0.0.1', HostPort: '' }] } : undefined,
        RestartPolicy: { Name: 'no' },
        LogConfig: { Type: 'json-file', Config: { 'max-size': '20m', 'max-file': '2' } },
      },
    });
    await docker.getContainer(name).start();
    this.generator = { name: spec.name, dir, configFile };
    this.persist();
    // a bad config makes it exit within a second or two (Node start-up included)
    for (let i = 0; i < 10; i++) {
      await sleep(300);
      const info = await docker.getContainer(name).inspect();
      if (info.State.Running) continue;
      if (info.State.ExitCode === 0) break;
      const out = await containerOutput(docker.getContainer(name));
      throw new InfraError(`generator exited at start (code ${info.State.ExitCode}):\n${tail((out?.stdout ?? '') + (out?.stderr ?? ''))}`);
    }
  }

  /** Base URL of the generator's /metrics as reachable from here (if its config serves one). */
  async generatorUrl(): Promise<string | undefined> {
    if (!this.generator) return undefined;
    const info = await idempotent(this.rt.docker.getContainer(containerName(this.runId, this.generator.name)).inspect());
    const port = Number(info?.Config.Labels?.[LABEL.metricsPort] ?? 0);
    if (!info || !port) return undefined;
    if (this.rt.access === 'published') {
      const hp = info.NetworkSettings.Ports?.[`${port}/tcp`]?.[0]?.HostPort;
      return hp ? `http://127.0.0.1:${hp}` : undefined;
    }
    const ip = info.NetworkSettings.Networks?.[this.network]?.IPAddress;
    return ip ? `http://${ip}:${port}` : undefined;
  }

  async stopGenerator(): Promise<void> {
    if (!this.generator) return;
    const c = this.rt.docker.getContainer(containerName(this.runId, this.generator.name));
    // generous grace: the generator writes generator/summary.json on SIGTERM
    await idempotent(c.stop({ t: Math.max(15, Math.ceil(this.rt.stopGraceMs / 1000)) }));
    // keep its output next to its config, like the process runtime's generator.log
    const out = await containerOutput(c).catch(() => undefined);
    if (out) writeFileSync(join(this.generator.dir, 'generator.log'), out.stdout + out.stderr);
  }

  async down(): Promise<void> {
    await this.stopGenerator().catch(() => {});
    await this.rt.down(this.runId);
  }
}

export class DockerRuntime implements Runtime {
  readonly name = 'docker' as const;
  readonly capabilities: RuntimeCapabilities = DOCKER_CAPABILITIES;
  readonly docker: Docker;
  readonly access: DockerAccess;
  readonly build: 'auto' | 'never';
  readonly imageFor: (release: string) => string;
  readonly healthTimeoutMs: number;
  readonly stopGraceMs: number;
  readonly onProgress: (line: string) => void;
  private readonly live = new Map<string, DockerDeployment>();
  private readonly ready = new Map<string, Promise<unknown>>();

  constructor(opts: DockerRuntimeOptions = {}) {
    this.docker = opts.docker ?? connectDocker();
    const envAccess = process.env.LEIOSNET_DOCKER_ACCESS as DockerAccess | undefined;
    this.access = opts.access ?? envAccess ?? (process.platform === 'linux' ? 'container-ip' : 'published');
    this.build = opts.build ?? 'auto';
    this.imageFor = opts.imageFor ?? imageTag;
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 60_000;
    this.stopGraceMs = opts.stopGraceMs ?? 10_000;
    this.onProgress = opts.onProgress ?? (() => {});
  }

  /** Make sure the image of a release exists (built if allowed). */
  async ensureImage(release: string): Promise<void> {
    let p = this.ready.get(release);
    if (!p) {
      p = (async () => {
        const tag = this.imageFor(release);
        if (this.build === 'auto' && tag === imageTag(release)) {
          await ensureImages([release], { docker: this.docker, onProgress: this.onProgress });
        } else if (!(await idempotent(this.docker.getImage(tag).inspect()))) {
          throw new InfraError(`image ${tag} for release ${release} is missing; build it with: leiosnet image build --release ${release}`);
        }
      })();
      this.ready.set(release, p);
      p.catch(() => this.ready.delete(release));
    }
    await p;
  }

  async prepare(releases: string[]): Promise<void> {
    try {
      await requireEngine(this.docker);
    } catch (e) {
      throw new InfraError(`docker runtime: ${(e as Error).message}`);
    }
    for (const r of new Set(releases)) await this.ensureImage(r);
  }

  async up(runId: string, runDir: string, nodes: NodeSpec[]): Promise<Deployment> {
    runDir = resolve(runDir);
    try {
      await requireEngine(this.docker);
    } catch (e) {
      throw new InfraError(`docker runtime: ${(e as Error).message}`);
    }
    for (const r of new Set(nodes.map((n) => n.release))) await this.ensureImage(r);
    const dep = this.live.get(runId) ?? new DockerDeployment(this, runId, runDir, profileOf(runDir));
    this.live.set(runId, dep);
    for (const s of nodes) {
      const dir = resolve(s.dir);
      mkdirSync(dir, { recursive: true });
      if (!dep.handles.has(s.name)) dep.handles.set(s.name, new DockerNode(dep, { name: s.name, dir, release: s.release, template: s.template, region: s.region }));
      dep.resources.set(s.name, s.resources);
    }
    try {
      await dep.ensureNetwork();
      dep.persist();
      const handles = [...dep.handles.values()];
      await inBatches(handles, 4, (h) => h.launch()); // a few at a time: the engine serialises network setup
      await Promise.all(handles.map((h) => h.waitHealthy(this.healthTimeoutMs)));
    } catch (e) {
      await this.down(runId).catch(() => {});
      this.live.delete(runId);
      throw e instanceof InfraError ? e : new InfraError(`docker runtime: ${(e as Error).message}`, { cause: e });
    }
    return dep;
  }

  async attach(runId: string): Promise<Deployment | undefined> {
    const live = this.live.get(runId);
    if (live) return live;
    const cs = await this.docker.listContainers({ all: true, filters: runFilter(runId) });
    if (cs.length === 0) return undefined;
    const l0 = cs[0]!.Labels;
    const dep = new DockerDeployment(this, runId, l0[LABEL.runDir] ?? '', l0[LABEL.profile]);
    for (const c of cs) {
      const l = c.Labels;
      if (l[LABEL.role] === 'generator') {
        dep.generator = { name: l[LABEL.node]!, dir: l[LABEL.nodeDir]!, configFile: l[LABEL.configFile]! };
      } else if (l[LABEL.node] && l[LABEL.nodeDir]) {
        dep.handles.set(l[LABEL.node]!, new DockerNode(dep, { name: l[LABEL.node]!, dir: l[LABEL.nodeDir]!, release: l[LABEL.release] ?? '' }));
      }
    }
    await Promise.all([...dep.handles.values()].map((h) => h.refresh()));
    this.live.set(runId, dep);
    return dep;
  }

  async list(): Promise<RunInfo[]> {
    const filters = runFilter();
    const [cs, nets, vols] = await Promise.all([
      this.docker.listContainers({ all: true, filters }),
      this.docker.listNetworks({ filters }),
      this.docker.listVolumes({ filters }),
    ]);
    const runs = new Map<string, RunInfo>();
    const get = (labels: Record<string, string> | undefined) => {
      const id = labels?.[LABEL.run];
      if (!id) return undefined;
      let r = runs.get(id);
      if (!r) runs.set(id, (r = { runId: id, runtime: 'docker', nodes: 0, running: 0 }));
      r.profile ??= labels[LABEL.profile];
      r.runDir ??= labels[LABEL.runDir];
      return r;
    };
    for (const c of cs) {
      const r = get(c.Labels);
      if (!r || c.Labels[LABEL.role] === 'generator') continue;
      r.nodes++;
      if (c.State === 'running' || c.State === 'paused') r.running++;
    }
    for (const n of nets) get(n.Labels);
    for (const v of vols.Volumes ?? []) get(v.Labels ?? undefined);
    return [...runs.values()].sort((a, b) => a.runId.localeCompare(b.runId));
  }

  /**
   * Remove every container, network and volume labelled with the run id. Idempotent. Sweeps until
   * one finds nothing: requests of a just-killed orchestrator may still be completing in the engine.
   */
  async down(runId: string): Promise<void> {
    this.live.delete(runId);
    for (let round = 0; round < 6; round++) {
      if ((await this.sweep(runId)) === 0) return;
      await sleep(300);
    }
    const left = await this.sweep(runId);
    if (left) throw new InfraError(`docker runtime: ${left} resources of run ${runId} keep reappearing`);
  }

  private async sweep(runId: string): Promise<number> {
    const filters = runFilter(runId);
    let n = 0;
    const cs = await this.docker.listContainers({ all: true, filters });
    await Promise.all(cs.map((c) => idempotent(this.docker.getContainer(c.Id).remove({ force: true, v: true }), [404, 409])));
    n += cs.length;
    const nets = await this.docker.listNetworks({ filters });
    for (const net of nets) {
      // a container attached by hand would block removal: detach whatever is left
      const info = await idempotent(this.docker.getNetwork(net.Id).inspect());
      for (const id of Object.keys((info as { Containers?: Record<string, unknown> } | undefined)?.Containers ?? {})) {
        await idempotent(this.docker.getNetwork(net.Id).disconnect({ Container: id, Force: true }));
      }
      await idempotent(this.docker.getNetwork(net.Id).remove());
    }
    n += nets.length;
    const vols = (await this.docker.listVolumes({ filters })).Volumes ?? [];
    for (const v of vols) {
      // a container being removed can hold its volume a moment longer
      for (let i = 0; ; i++) {
        try {
          await idempotent(this.docker.getVolume(v.Name).remove());
          break;
        } catch (e) {
          if (statusOf(e) !== 409 || i >= 20) throw e;
          await sleep(250);
        }
      }
    }
    return n + vols.length;
  }
}

export function createDockerRuntime(opts?: DockerRuntimeOptions): DockerRuntime {
  return new DockerRuntime(opts);
}
