// The process runtime: every node is a detached child process (own process group) on its own
// loopback address 127.0.0.x, stdout/stderr to nodes/<name>/node.log. Pids, start times and argv
// are recorded in <runDir>/pids.json and in $LEIOSNET_HOME/runs/<run-id>.json, so `down` works
// after the orchestrator was killed: it finds the processes there, checks /proc that each pid is
// still the process we started, signals its group and waits for it to go.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { NodeConfig } from '../../node/config/schema.ts';
import { InfraError } from '../errors.ts';
import { GENERATOR_RUN_DIR_PATHS, renderGeneratorConfig } from '../genesis/generator-config.ts';
import { renderNodeConfig, RUN_DIR_PATHS } from '../genesis/run-files.ts';
import { RunDir } from '../rundir/index.ts';
import {
  readRunRecord,
  removeRunRecord,
  listRunRecords,
  writeJsonAtomic,
  writeRunRecord,
  type AddressRecord,
  type ProcRecord,
  type RunRecord,
} from '../state.ts';
import { allocateAddresses, canBind, recheckAddresses } from './process/addresses.ts';
import { identityProblem, readHealth } from './identity.ts';
import { REPO_ROOT, node22Path, tsCacheArgs } from './process/node22.ts';
import {
  cpuPct,
  isAlive,
  killStrays,
  readProcStat,
  recordedAlive,
  rssBytes,
  signalRecorded,
  terminate,
  waitGone,
} from './process/procfs.ts';
import { releaseInfo } from './process/release.ts';
import { memoryRollup } from './process/pss.ts';
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

const PSS_EVERY_MS = 30_000;

export interface ProcessRuntimeOptions {
  /** Node entry point, relative to the repo root. */
  nodeEntry?: string;
  generatorEntry?: string;
  /** How long `up`/`start` wait for /health. */
  healthTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace. */
  stopGraceMs?: number;
}

export type AddressOf = (name: string) => NodeAddress;

/**
 * The process runtime's resolver: every node (and the generator) on its own loopback address,
 * reserved in the state dir; the same address from a node, from the orchestrator, and to bind.
 */
export class ProcessResolver implements Resolver {
  private readonly byName: Map<string, AddressRecord>;
  constructor(addrs: AddressRecord[]) {
    this.byName = new Map(addrs.map((a) => [a.name, a]));
  }
  private rec(name: string): AddressRecord {
    const a = this.byName.get(name);
    if (!a) throw new Error(`no address reserved for node ${JSON.stringify(name)}`);
    return a;
  }
  bind(name: string): NodeAddress {
    const a = this.rec(name);
    return { host: a.host, port: a.n2nPort, adminHost: a.host, adminPort: a.adminPort };
  }
  fromNode(name: string): Endpoint {
    const a = this.rec(name);
    return { host: a.host, port: a.n2nPort };
  }
  fromOrchestrator(name: string): NodeAddress | undefined {
    return this.byName.has(name) ? this.bind(name) : undefined;
  }
}

/** <runDir>/pids.json */
export interface PidsFile {
  runId: string;
  runtime: 'process';
  nodes: { name: string; dir: string; release: string; template?: NodeTemplate; region?: string }[];
  generator?: { name: string; dir: string; configFile: string };
  processes: ProcRecord[];
  downAt?: string;
}

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}

function readConfig(file: string): NodeConfig {
  return JSON.parse(readFileSync(file, 'utf8')) as NodeConfig;
}

class ProcessDeployment implements Deployment {
  readonly runId: string;
  readonly runDir: string;
  readonly rt: ProcessRuntime;
  readonly handles = new Map<string, ProcessNode>();
  readonly rd: RunDir;
  generator: { name: string; dir: string; configFile: string; proc?: ProcRecord } | undefined;
  profile: string | undefined;
  resolver: ProcessResolver | undefined;

  constructor(rt: ProcessRuntime, runId: string, runDir: string, profile?: string) {
    this.rt = rt;
    this.runId = runId;
    this.runDir = runDir;
    this.rd = new RunDir(runDir);
    this.profile = profile;
  }

  /** The resolver from the run's address reservation in the state dir. */
  addresses(): ProcessResolver {
    if (this.resolver) return this.resolver;
    const rec = readRunRecord(this.runId);
    this.resolver = new ProcessResolver(rec?.addresses ?? addressesFromHandles(this));
    return this.resolver;
  }

  async targets(): Promise<MetricsTarget[]> {
    const out: MetricsTarget[] = [];
    for (const h of this.handles.values()) {
      let ep: Endpoints;
      try {
        ep = h.endpoints();
      } catch {
        continue;
      }
      out.push({
        address: ep.adminUrl.replace(/^https?:\/\//, ''),
        metricsPath: '/metrics',
        labels: { run: this.runId, node: h.name, role: h.role, release: h.release, region: h.region ?? '', runtime: 'process' },
      });
    }
    const url = await this.generatorUrl();
    if (url && this.generator?.proc && recordedAlive(this.generator.proc, this.runDir)) {
      const release = [...this.handles.values()][0]?.release ?? '';
      out.push({ address: url.replace(/^https?:\/\//, ''), metricsPath: '/metrics', labels: { run: this.runId, node: this.generator.name, role: 'generator', release, region: '', runtime: 'process' } });
    }
    return out;
  }

  async generatorUrl(): Promise<string | undefined> {
    if (!this.generator) {
      // not started yet: where it will serve (its address is reserved with the nodes')
      const g = this.addresses().fromOrchestrator('generator');
      return g ? `http://${g.host}:${g.adminPort}` : undefined;
    }
    try {
      const m = this.rd.readGeneratorConfig(this.generator.configFile).metrics;
      return m ? `http://${m.host}:${m.port}` : undefined;
    } catch {
      return undefined;
    }
  }

  nodes(): NodeHandle[] {
    return [...this.handles.values()];
  }

  node(name: string): NodeHandle {
    const h = this.handles.get(name);
    if (!h) throw new Error(`run ${this.runId} has no node ${JSON.stringify(name)} (nodes: ${[...this.handles.keys()].join(', ')})`);
    return h;
  }

  processes(): ProcRecord[] {
    const out: ProcRecord[] = [];
    for (const h of this.handles.values()) if (h.proc) out.push(h.proc);
    if (this.generator?.proc) out.push(this.generator.proc);
    return out;
  }

  /** Write pids.json and the state record (synchronously: one writer per run, no interleaving). */
  persist(): void {
    const file: PidsFile = {
      runId: this.runId,
      runtime: 'process',
      nodes: [...this.handles.values()].map((h) => ({ name: h.name, dir: h.dir, release: h.release, template: h.template, region: h.region })),
      generator: this.generator ? { name: this.generator.name, dir: this.generator.dir, configFile: this.generator.configFile } : undefined,
      processes: this.processes(),
    };
    writeJsonAtomic(join(this.runDir, 'pids.json'), file);
    const prev = readRunRecord(this.runId);
    writeRunRecord({
      runId: this.runId,
      runtime: 'process',
      runDir: this.runDir,
      profile: this.profile ?? prev?.profile,
      createdAt: prev?.createdAt ?? new Date().toISOString(),
      pids: this.processes(),
      addresses: prev?.addresses ?? addressesFromHandles(this),
      ...(prev?.owner ? { owner: prev.owner } : {}),
    });
  }

  spawnRecorded(name: string, args: string[], logFile: string): ProcRecord {
    const cmd = node22Path();
    const fd = openSync(logFile, 'a');
    try {
      const argv = [...tsCacheArgs(), ...args];
      const child = spawn(cmd, argv, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', fd, fd], env: process.env });
      child.unref();
      child.on('error', () => {}); // reported through the health wait (the process is not there)
      if (child.pid === undefined) throw new InfraError(`could not spawn ${cmd} ${args.join(' ')}`);
      const st = readProcStat(child.pid);
      return {
        name,
        pid: child.pid,
        pgid: child.pid,
        startTicks: st?.startTicks ?? 0,
        cmdline: [cmd, ...argv],
        startedAt: new Date().toISOString(),
      };
    } finally {
      closeSync(fd);
    }
  }

  async startGenerator(spec: GeneratorSpec): Promise<void> {
    if (this.generator?.proc && recordedAlive(this.generator.proc, this.runDir)) return;
    const dir = resolve(spec.dir);
    mkdirSync(dir, { recursive: true });
    // render the config with this runtime's addresses (targets by name → 127.0.0.x), written once
    const r = this.addresses();
    const g = r.fromOrchestrator(spec.name);
    const cfg = renderGeneratorConfig(spec.template, {
      target: (n) => r.fromNode(n),
      ...(g ? { metrics: { host: g.host, port: g.adminPort } } : {}),
      paths: GENERATOR_RUN_DIR_PATHS,
    });
    const configFile = this.rd.writeGeneratorConfig(cfg);
    const args = [resolve(REPO_ROOT, this.rt.generatorEntry), '--config', configFile];
    this.generator = { name: spec.name, dir, configFile, proc: undefined };
    const proc = this.spawnRecorded(spec.name, args, join(dir, 'generator.log'));
    this.generator.proc = proc;
    this.persist();
    // up = its /metrics answers (when it serves them), else still alive after a moment
    const metricsUrl = cfg.metrics ? `http://${cfg.metrics.host}:${cfg.metrics.port}/metrics` : undefined;
    const deadline = Date.now() + (metricsUrl ? this.rt.healthTimeoutMs : 1_500);
    for (;;) {
      if (!isAlive(proc.pid)) throw new InfraError(`generator exited at start; ${join(dir, 'generator.log')}:\n${tail(join(dir, 'generator.log'))}`);
      if (metricsUrl && (await fetch(metricsUrl, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok, () => false))) return;
      if (Date.now() >= deadline) {
        if (!metricsUrl) return;
        throw new InfraError(`generator did not serve ${metricsUrl} within ${this.rt.healthTimeoutMs} ms`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stopGenerator(): Promise<void> {
    const g = this.generator?.proc;
    if (!g) return;
    // generous grace: the generator writes generator/summary.json on SIGTERM
    await terminate(g, Math.max(this.rt.stopGraceMs, 15_000), this.runDir);
    this.persist();
  }

  async down(): Promise<void> {
    await this.stopGenerator().catch(() => {});
    await Promise.all(this.processes().map((p) => terminate(p, this.rt.stopGraceMs, this.runDir)));
    killStrays(this.runDir);
    const pidsFile = join(this.runDir, 'pids.json');
    if (existsSync(pidsFile)) {
      try {
        const f = JSON.parse(readFileSync(pidsFile, 'utf8')) as PidsFile;
        writeJsonAtomic(pidsFile, { ...f, downAt: new Date().toISOString() });
      } catch {
        /* leave it */
      }
    }
    removeRunRecord(this.runId);
  }
}

function addressesFromHandles(d: ProcessDeployment): AddressRecord[] {
  return [...d.handles.values()].flatMap((h) => {
    try {
      const c = h.config();
      return [{ name: h.name, host: c.listen.host, n2nPort: c.listen.port, adminPort: c.admin.port }];
    } catch {
      return [];
    }
  });
}

class ProcessNode implements NodeHandle {
  readonly name: string;
  readonly dir: string;
  readonly template: NodeTemplate | undefined;
  readonly region: string | undefined;
  release: string;
  proc: ProcRecord | undefined;
  private readonly dep: ProcessDeployment;
  private cpuSample: { ticks: number; ms: number; pid: number } | undefined;
  /** The last PSS reading: smaps_rollup walks the process's page tables in the kernel (~1 % of
   *  both cores for 52 nodes read every scrape), and PSS moves slowly, so it is read every 30 s. */
  private pssSample: { mb: number; ms: number; pid: number } | undefined;
  private cached: { file: string; config: NodeConfig } | undefined;

  constructor(dep: ProcessDeployment, name: string, dir: string, release: string, template?: NodeTemplate, region?: string, proc?: ProcRecord) {
    this.dep = dep;
    this.name = name;
    this.dir = dir;
    this.release = release;
    this.template = template;
    this.region = region;
    this.proc = proc;
  }

  get role(): 'pool' | 'relay' {
    return this.template?.role ?? (this.name.startsWith('relay') ? 'relay' : 'pool');
  }

  /** The config in force: the newest generation in the run dir. */
  get configFile(): string {
    const f = this.dep.rd.nodeConfigFiles(this.name).at(-1);
    if (!f) throw new Error(`node ${this.name} has no config in ${this.dir}`);
    return f;
  }

  config(): NodeConfig {
    const file = this.configFile;
    if (this.cached?.file !== file) this.cached = { file, config: readConfig(file) };
    return this.cached.config;
  }

  /** Render this node's config with the run's resolver (for `release`) and write it (once). */
  render(release = this.release): void {
    if (!this.template) throw new InfraError(`node ${this.name}: no template recorded (run started by an older leiosnet)`);
    const r = this.dep.addresses();
    const cfg = renderNodeConfig(this.template, { bind: r.bind(this.name), peer: (n) => r.fromNode(n), paths: RUN_DIR_PATHS, release, runId: this.dep.runId });
    this.dep.rd.writeNodeConfig(this.name, cfg);
  }

  async fetchArtifacts(): Promise<void> {
    /* node.log and trace.jsonl are written in place */
  }

  get logFile(): string {
    return join(this.dir, 'node.log');
  }

  endpoints(): Endpoints {
    const c = this.config();
    const adminHost = c.admin.host === '0.0.0.0' ? c.listen.host : c.admin.host;
    return {
      adminUrl: `http://${adminHost}:${c.admin.port}`,
      adminToken: c.admin.token,
      n2n: { host: c.listen.host, port: c.listen.port },
    };
  }

  async stats(): Promise<NodeStats | undefined> {
    const p = this.proc;
    if (!p || !(await this.running())) return undefined;
    let prev = this.cpuSample;
    if (!prev || prev.pid !== p.pid) {
      const st0 = readProcStat(p.pid);
      if (!st0) return undefined;
      prev = { ticks: st0.cpuTicks, ms: Date.now(), pid: p.pid };
      await new Promise((r) => setTimeout(r, 250));
    }
    const st = readProcStat(p.pid);
    const rss = rssBytes(p.pid);
    if (!st || rss === undefined) return undefined;
    const now = Date.now();
    this.cpuSample = { ticks: st.cpuTicks, ms: now, pid: p.pid };
    if (!this.pssSample || this.pssSample.pid !== p.pid || now - this.pssSample.ms >= PSS_EVERY_MS) {
      const mem = memoryRollup(p.pid);
      this.pssSample = mem && mem.pssBytes > 0 ? { mb: mem.pssBytes / 1024 / 1024, ms: now, pid: p.pid } : undefined;
    }
    return {
      cpuPct: cpuPct(prev.ticks, prev.ms, st.cpuTicks, now),
      rssMb: rss / 1024 / 1024,
      ...(this.pssSample ? { pssMb: this.pssSample.mb } : {}),
    };
  }

  async logs(): Promise<string> {
    try {
      return readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  async running(): Promise<boolean> {
    return this.proc !== undefined && recordedAlive(this.proc, this.dep.runDir);
  }

  async stop(): Promise<void> {
    if (this.proc) await terminate(this.proc, this.dep.rt.stopGraceMs, this.dep.runDir);
  }

  async kill(): Promise<void> {
    const p = this.proc;
    if (!p) return;
    if (!signalRecorded(p, 'SIGKILL', this.dep.runDir)) return;
    await waitGone(p, 5_000);
  }

  /** Spawn without waiting for health. */
  spawn(): void {
    const cfg = this.config();
    mkdirSync(isAbsolute(cfg.dbPath) ? cfg.dbPath : resolve(this.dir, cfg.dbPath), { recursive: true });
    const args = [resolve(REPO_ROOT, this.dep.rt.nodeEntry), '--config', this.configFile];
    this.proc = this.dep.spawnRecorded(this.name, args, this.logFile);
    this.cpuSample = undefined;
    this.dep.persist();
  }

  /**
   * Ready = /health answers *as this node of this run* (name and run id): on a shared machine
   * another run's node may answer on an address we meant to use (it took it first, ours failed
   * with EADDRINUSE), and that must never count as ours being up.
   */
  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ep = this.endpoints();
    const want = { name: this.name, runId: this.config().runId };
    let impostor: string | undefined;
    for (;;) {
      const h = await readHealth(ep, 1_000);
      if (h) {
        impostor = identityProblem(h, want);
        if (!impostor) return;
      }
      if (!this.proc || !isAlive(this.proc.pid)) {
        const why = impostor ? `; ${ep.adminUrl} is answered by another node (${impostor})` : '';
        throw new InfraError(`node ${this.name} exited before answering /health${why}; ${this.logFile}:\n${tail(this.logFile)}`);
      }
      if (Date.now() > deadline) {
        const why = impostor ? ` as itself (${impostor})` : '';
        throw new InfraError(`node ${this.name} did not answer ${ep.adminUrl}/health${why} within ${timeoutMs} ms; ${this.logFile}:\n${tail(this.logFile)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async start(): Promise<void> {
    if (await this.running()) return;
    await freeOwnPorts(this);
    this.spawn();
    await this.waitHealthy(this.dep.rt.healthTimeoutMs);
  }

  async pause(): Promise<void> {
    if (this.proc) signalRecorded(this.proc, 'SIGSTOP', this.dep.runDir);
  }

  async resume(): Promise<void> {
    if (this.proc) signalRecorded(this.proc, 'SIGCONT', this.dep.runDir);
  }

  async restartWith(release: string): Promise<void> {
    releaseInfo(release); // unknown release: refuse before stopping anything
    await this.stop();
    if (this.template) {
      this.render(release); // a new config generation; the old one stays as written
    } else {
      const cfg = { ...this.config(), release: releaseInfo(release) };
      this.dep.rd.writeNodeConfig(this.name, cfg);
    }
    this.release = release;
    this.dep.persist();
    await this.start();
  }
}

/** Wait briefly for a just-stopped node's ports to be bindable again (TIME_WAIT does not block listen). */
async function freeOwnPorts(h: ProcessNode): Promise<void> {
  const c = h.config();
  for (let i = 0; i < 50; i++) {
    if ((await canBind(c.listen.host, c.listen.port)) && (await canBind(c.admin.host, c.admin.port))) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export class ProcessRuntime implements Runtime {
  readonly name = 'process' as const;
  readonly capabilities: RuntimeCapabilities = {
    pause: true,
    restartWith: true,
    partition: false, // done through the node admin API (link down) instead
    resourceLimits: false,
    requiresImage: false,
  };
  readonly nodeEntry: string;
  readonly generatorEntry: string;
  readonly healthTimeoutMs: number;
  readonly stopGraceMs: number;
  private readonly live = new Map<string, ProcessDeployment>();

  constructor(opts: ProcessRuntimeOptions = {}) {
    this.nodeEntry = opts.nodeEntry ?? 'node/main.ts';
    this.generatorEntry = opts.generatorEntry ?? 'tx-generator/main.ts';
    this.healthTimeoutMs = opts.healthTimeoutMs ?? 60_000;
    this.stopGraceMs = opts.stopGraceMs ?? 10_000;
  }

  /** Reserve a loopback address for each name (recorded in the state dir): the run's resolver. */
  async resolver(runId: string, runDir: string, names: string[], profile?: string): Promise<ProcessResolver> {
    return new ProcessResolver(await allocateAddresses(runId, resolve(runDir), names, profile));
  }

  async up(runId: string, runDir: string, nodes: NodeSpec[]): Promise<Deployment> {
    runDir = resolve(runDir);
    mkdirSync(runDir, { recursive: true });
    const rd = new RunDir(runDir);
    const profile = readRunRecord(runId)?.profile ?? rd.profileName();
    const dep = this.live.get(runId) ?? new ProcessDeployment(this, runId, runDir, profile);
    this.live.set(runId, dep);
    for (const s of nodes) {
      const dir = resolve(s.dir);
      mkdirSync(dir, { recursive: true });
      if (!dep.handles.has(s.name)) dep.handles.set(s.name, new ProcessNode(dep, s.name, dir, s.release, s.template, s.region));
    }
    const toStart: ProcessNode[] = [];
    for (const s of nodes) {
      const h = dep.handles.get(s.name)!;
      if (!(await h.running())) toStart.push(h);
    }
    // addresses: reserved once per run (nodes + the generator), free ports checked before rendering
    const addrs = await allocateAddresses(runId, runDir, [...dep.handles.keys(), 'generator'], profile);
    const fresh = new Set(toStart.filter((h) => rd.nodeConfigFiles(h.name).length === 0).map((h) => h.name));
    const skip = new Set(addrs.map((a) => a.name).filter((n) => n !== 'generator' && !fresh.has(n)));
    dep.resolver = new ProcessResolver((await recheckAddresses(runId, skip)) ?? addrs);
    for (const h of toStart) if (rd.nodeConfigFiles(h.name).length === 0) h.render();
    for (const h of toStart) h.spawn();
    dep.persist();
    // many nodes starting at once on few cores take longer: allow 1.5 s more per node
    const timeoutMs = Math.max(this.healthTimeoutMs, 30_000 + 1_500 * toStart.length);
    try {
      await Promise.all(dep.nodes().map((h) => (h as ProcessNode).waitHealthy(timeoutMs)));
    } catch (e) {
      await dep.down().catch(() => {});
      this.live.delete(runId);
      throw e;
    }
    return dep;
  }

  async attach(runId: string): Promise<Deployment | undefined> {
    const live = this.live.get(runId);
    if (live) return live;
    const rec = readRunRecord(runId);
    if (!rec || rec.runtime !== 'process') return undefined;
    let pf: PidsFile;
    try {
      pf = JSON.parse(readFileSync(join(rec.runDir, 'pids.json'), 'utf8')) as PidsFile;
    } catch {
      return undefined;
    }
    const dep = new ProcessDeployment(this, runId, rec.runDir, rec.profile);
    const procs = new Map(pf.processes.map((p) => [p.name, p]));
    for (const n of pf.nodes) dep.handles.set(n.name, new ProcessNode(dep, n.name, n.dir, n.release, n.template, n.region, procs.get(n.name)));
    if (pf.generator) dep.generator = { ...pf.generator, proc: procs.get(pf.generator.name) };
    this.live.set(runId, dep);
    return dep;
  }

  async list(): Promise<RunInfo[]> {
    return listRunRecords()
      .filter((r) => r.runtime === 'process')
      .map((r) => ({
        runId: r.runId,
        runtime: 'process',
        profile: r.profile,
        runDir: r.runDir,
        nodes: r.addresses ? r.addresses.filter((a) => a.name !== 'generator').length : r.pids.filter((p) => p.name !== 'generator').length,
        running: r.pids.filter((p) => p.name !== 'generator' && recordedAlive(p, r.runDir)).length,
      }));
  }

  async down(runId: string): Promise<void> {
    const dep = this.live.get(runId) ?? ((await this.attach(runId)) as ProcessDeployment | undefined);
    if (dep) {
      await dep.down();
      this.live.delete(runId);
      return;
    }
    // a record without a readable pids.json: signal what the record names
    const rec: RunRecord | undefined = readRunRecord(runId);
    if (!rec) return;
    await Promise.all(rec.pids.map((p) => terminate(p, this.stopGraceMs, rec.runDir)));
    killStrays(rec.runDir);
    removeRunRecord(runId);
  }
}

export function createProcessRuntime(opts?: ProcessRuntimeOptions): ProcessRuntime {
  return new ProcessRuntime(opts);
}
