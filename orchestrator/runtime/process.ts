// The process runtime: every node is a detached child process (own process group) on its own
// loopback address 127.0.0.x, stdout/stderr to nodes/<name>/node.log. Pids, start times and argv
// are recorded in <runDir>/pids.json and in $LEIOSNET_HOME/runs/<run-id>.json, so `down` works
// after the orchestrator was killed: it finds the processes there, checks /proc that each pid is
// still the process we started, signals its group and waits for it to go.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { NodeConfig } from '../../node/config/schema.ts';
import { healthy } from '../collect/admin.ts';
import { InfraError } from '../errors.ts';
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
import { allocateAddresses, canBind } from './process/addresses.ts';
import { REPO_ROOT, node22Path } from './process/node22.ts';
import {
  cpuPct,
  isAlive,
  readProcStat,
  recordedAlive,
  rssBytes,
  signalRecorded,
  terminate,
  waitGone,
} from './process/procfs.ts';
import { releaseInfo } from './process/release.ts';
import type {
  Deployment,
  Endpoints,
  GeneratorSpec,
  NodeHandle,
  NodeSpec,
  NodeStats,
  RunInfo,
  Runtime,
  RuntimeCapabilities,
} from './runtime.ts';

export interface ProcessRuntimeOptions {
  /** Node entry point, relative to the repo root. */
  nodeEntry?: string;
  generatorEntry?: string;
  /** How long `up`/`start` wait for /health. */
  healthTimeoutMs?: number;
  /** SIGTERM → SIGKILL grace. */
  stopGraceMs?: number;
}

/** What genesis needs to write a node's addresses (see `ProcessRuntime.addressPlan`). */
export interface NodeAddress {
  host: string;
  port: number;
  adminHost: string;
  adminPort: number;
}
export type AddressOf = (name: string, index?: number) => NodeAddress;

/** <runDir>/pids.json */
export interface PidsFile {
  runId: string;
  runtime: 'process';
  nodes: { name: string; dir: string; release: string }[];
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
  generator: { spec: GeneratorSpec; proc?: ProcRecord } | undefined;
  profile: string | undefined;

  constructor(rt: ProcessRuntime, runId: string, runDir: string, profile?: string) {
    this.rt = rt;
    this.runId = runId;
    this.runDir = runDir;
    this.profile = profile;
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
      nodes: [...this.handles.values()].map((h) => ({ name: h.name, dir: h.dir, release: h.release })),
      generator: this.generator?.spec,
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
    });
  }

  spawnRecorded(name: string, args: string[], logFile: string): ProcRecord {
    const cmd = node22Path();
    const fd = openSync(logFile, 'a');
    try {
      const child = spawn(cmd, args, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', fd, fd], env: process.env });
      child.unref();
      child.on('error', () => {}); // reported through the health wait (the process is not there)
      if (child.pid === undefined) throw new InfraError(`could not spawn ${cmd} ${args.join(' ')}`);
      const st = readProcStat(child.pid);
      return {
        name,
        pid: child.pid,
        pgid: child.pid,
        startTicks: st?.startTicks ?? 0,
        cmdline: [cmd, ...args],
        startedAt: new Date().toISOString(),
      };
    } finally {
      closeSync(fd);
    }
  }

  async startGenerator(spec: GeneratorSpec): Promise<void> {
    if (this.generator?.proc && recordedAlive(this.generator.proc, this.runDir)) return;
    mkdirSync(spec.dir, { recursive: true });
    const configFile = resolve(spec.configFile);
    const args = [resolve(REPO_ROOT, this.rt.generatorEntry), '--config', configFile];
    this.generator = { spec: { ...spec, configFile }, proc: undefined };
    const proc = this.spawnRecorded(spec.name, args, join(spec.dir, 'generator.log'));
    this.generator.proc = proc;
    this.persist();
    // up = its /metrics answers (when it serves them), else still alive after a moment
    let metricsUrl: string | undefined;
    try {
      const m = (JSON.parse(readFileSync(configFile, 'utf8')) as { metrics?: { host: string; port: number } }).metrics;
      if (m) metricsUrl = `http://${m.host}:${m.port}/metrics`;
    } catch {
      /* the generator reports a bad config itself */
    }
    const deadline = Date.now() + (metricsUrl ? this.rt.healthTimeoutMs : 1_500);
    for (;;) {
      if (!isAlive(proc.pid)) throw new InfraError(`generator exited at start; ${join(spec.dir, 'generator.log')}:\n${tail(join(spec.dir, 'generator.log'))}`);
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
  return [...d.handles.values()].map((h) => {
    const c = h.config();
    return { name: h.name, host: c.listen.host, n2nPort: c.listen.port, adminPort: c.admin.port };
  });
}

class ProcessNode implements NodeHandle {
  readonly name: string;
  readonly dir: string;
  readonly configFile: string;
  release: string;
  proc: ProcRecord | undefined;
  private readonly dep: ProcessDeployment;
  private cpuSample: { ticks: number; ms: number; pid: number } | undefined;

  constructor(dep: ProcessDeployment, name: string, dir: string, release: string, proc?: ProcRecord) {
    this.dep = dep;
    this.name = name;
    this.dir = dir;
    this.configFile = join(dir, 'config.json');
    this.release = release;
    this.proc = proc;
  }

  config(): NodeConfig {
    return readConfig(this.configFile);
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
    return { cpuPct: cpuPct(prev.ticks, prev.ms, st.cpuTicks, now), rssMb: rss / 1024 / 1024 };
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

  async waitHealthy(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const ep = this.endpoints();
    for (;;) {
      if (await healthy(ep, 1_000)) return;
      if (!this.proc || !isAlive(this.proc.pid)) {
        throw new InfraError(`node ${this.name} exited before answering /health; ${this.logFile}:\n${tail(this.logFile)}`);
      }
      if (Date.now() > deadline) {
        throw new InfraError(`node ${this.name} did not answer ${ep.adminUrl}/health within ${timeoutMs} ms; ${this.logFile}:\n${tail(this.logFile)}`);
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
    const info = releaseInfo(release);
    await this.stop();
    const cfg = this.config();
    cfg.release = info;
    writeFileSync(this.configFile, JSON.stringify(cfg, null, 2) + '\n');
    this.release = release;
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

/**
 * Before spawning: every node's listen and admin ports must be free. A port taken since
 * allocation (a foreign program) moves to the next free one on that IP, and every config that
 * names it as a peer is rewritten.
 */
async function ensurePortsFree(specs: NodeSpec[]): Promise<void> {
  const moved = new Map<string, number>(); // "host:port" → new port
  for (const s of specs) {
    const file = join(s.dir, 'config.json');
    const cfg = readConfig(file);
    let changed = false;
    for (const key of ['listen', 'admin'] as const) {
      const a = cfg[key];
      if (a.port === 0 || (await canBind(a.host, a.port))) continue;
      let p = a.port + 1;
      while (p < 65536 && !(await canBind(a.host, p))) p++;
      if (key === 'listen') moved.set(`${a.host}:${a.port}`, p);
      a.port = p;
      changed = true;
    }
    if (changed) writeFileSync(file, JSON.stringify(cfg, null, 2) + '\n');
  }
  if (moved.size === 0) return;
  for (const s of specs) {
    const file = join(s.dir, 'config.json');
    const cfg = readConfig(file);
    let changed = false;
    for (const peer of cfg.peers) {
      const np = moved.get(`${peer.host}:${peer.port}`);
      if (np !== undefined) {
        peer.port = np;
        changed = true;
      }
    }
    if (changed) writeFileSync(file, JSON.stringify(cfg, null, 2) + '\n');
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

  /**
   * Reserve a loopback address for each node (recorded in the state dir) and return the
   * `addressOf` that genesis uses to write node configs. Call before writeRunFiles.
   */
  async addressPlan(runId: string, runDir: string, names: string[], profile?: string): Promise<AddressOf> {
    const addrs = await allocateAddresses(runId, resolve(runDir), names, profile);
    const byName = new Map(addrs.map((a) => [a.name, a]));
    return (name: string) => {
      const a = byName.get(name);
      if (!a) throw new Error(`no address reserved for node ${JSON.stringify(name)}`);
      return { host: a.host, port: a.n2nPort, adminHost: a.host, adminPort: a.adminPort };
    };
  }

  async up(runId: string, runDir: string, nodes: NodeSpec[]): Promise<Deployment> {
    runDir = resolve(runDir);
    mkdirSync(runDir, { recursive: true });
    const dep = this.live.get(runId) ?? new ProcessDeployment(this, runId, runDir, readRunRecord(runId)?.profile);
    this.live.set(runId, dep);
    for (const s of nodes) {
      const dir = resolve(s.dir);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'config.json');
      if (!existsSync(file)) writeFileSync(file, JSON.stringify(s.config, null, 2) + '\n');
      if (!dep.handles.has(s.name)) dep.handles.set(s.name, new ProcessNode(dep, s.name, dir, s.release));
    }
    await ensurePortsFree(nodes.map((s) => ({ ...s, dir: resolve(s.dir) })));
    const toStart: ProcessNode[] = [];
    for (const s of nodes) {
      const h = dep.handles.get(s.name)!;
      if (!(await h.running())) toStart.push(h);
    }
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
    for (const n of pf.nodes) dep.handles.set(n.name, new ProcessNode(dep, n.name, n.dir, n.release, procs.get(n.name)));
    if (pf.generator) dep.generator = { spec: pf.generator, proc: procs.get(pf.generator.name) };
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
    removeRunRecord(runId);
  }
}

export function createProcessRuntime(opts?: ProcessRuntimeOptions): ProcessRuntime {
  return new ProcessRuntime(opts);
}
