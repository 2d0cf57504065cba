// A real Prometheus server for one run: Debian's `prometheus` binary (or $LEIOSNET_PROMETHEUS),
// listening on a free loopback port, storage and config in <runDir>/prometheus/, targets as
// file_sd (targets/leiosnet.json, rewritten when they change; Prometheus re-reads it itself).
//
//   <runDir>/prometheus/prometheus.yml   config
//   <runDir>/prometheus/targets/*.json   file_sd target groups (labels run/node/role/release/region)
//   <runDir>/prometheus/data/            TSDB
//   <runDir>/prometheus/prometheus.log   its log
//   <runDir>/prometheus/server.json      pid, url, started (read by `observe`, tests, cleanup)

import { spawn, execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { InfraError, UserError } from '../errors.ts';
import { fileSd, type MetricsTarget } from './targets.ts';

export const PROMETHEUS_DIR = 'prometheus';

/**
 * exec "$@" (prometheus keeps the shell's pid and group) with a watcher in the background that
 * ends it when the orchestrator is gone; stopping the group ends both.
 */
const WATCHDOG = [
  'o="$LEIOSNET_ORCHESTRATOR_PID"; self=$$',
  '( while kill -0 "$o" 2>/dev/null && kill -0 "$self" 2>/dev/null; do sleep 2; done; kill -TERM "$self" 2>/dev/null ) </dev/null >/dev/null 2>&1 &',
  'exec "$@"',
].join('\n');

export interface PrometheusServerInfo {
  pid: number;
  url: string;
  startedAt: string;
  scrapeIntervalS: number;
  version?: string;
}

/** The prometheus binary: $LEIOSNET_PROMETHEUS, else `prometheus` on PATH (or /usr/bin). */
export function findPrometheus(): string | undefined {
  const env = process.env.LEIOSNET_PROMETHEUS;
  if (env) return existsSync(env) ? env : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin'];
  for (const d of dirs) if (d && existsSync(join(d, 'prometheus'))) return join(d, 'prometheus');
  return undefined;
}

/**
 * The prometheus binary, or exit 2: a missing binary is a prerequisite of the user's environment
 * (like a bad option), not an infrastructure failure during the run — nothing has started yet.
 */
export function requirePrometheus(): string {
  const bin = findPrometheus();
  if (!bin) {
    const env = process.env.LEIOSNET_PROMETHEUS;
    throw new UserError(
      `prometheus: no prometheus binary${env ? ` (LEIOSNET_PROMETHEUS=${env} does not exist)` : ''} (set LEIOSNET_PROMETHEUS, or install it: \`apt-get install prometheus\`, or \`bash .ci/prometheus-setup.sh\`)`,
    );
  }
  return bin;
}

export function prometheusVersion(bin = findPrometheus()): string | undefined {
  if (!bin) return undefined;
  try {
    const out = execFileSync(bin, ['--version'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
    return /version (\S+)/.exec(out)?.[1];
  } catch {
    return undefined;
  }
}

/** A free TCP port on host, chosen by the system. */
export function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

export function prometheusConfig(opts: { runId: string; scrapeIntervalS: number; targetsDir: string; extraScrapeConfigs?: unknown[] }): string {
  const iv = `${opts.scrapeIntervalS}s`;
  // honor_labels: a node's own `node` label wins (it equals the target's); file_sd groups set
  // __metrics_path__ and __scheme__ per target.
  const cfg = [
    '# written by leiosnet (orchestrator/observe/prometheus.ts)',
    'global:',
    `  scrape_interval: ${iv}`,
    `  scrape_timeout: ${Math.max(1, Math.min(opts.scrapeIntervalS, 10))}s`,
    `  evaluation_interval: ${iv}`,
    '  external_labels:',
    `    leiosnet_run: ${JSON.stringify(opts.runId)}`,
    'scrape_configs:',
    '  - job_name: leiosnet',
    '    honor_labels: true',
    '    file_sd_configs:',
    `      - files: [${JSON.stringify(join(opts.targetsDir, '*.json'))}]`,
    '        refresh_interval: 5s',
  ];
  let text = cfg.join('\n') + '\n';
  for (const extra of opts.extraScrapeConfigs ?? []) text += `  - ${JSON.stringify(extra)}\n`;
  return text;
}

export interface PrometheusServerOptions {
  runId: string;
  runDir: string;
  scrapeIntervalS?: number;
  /** listen port (default: a free loopback port) */
  port?: number;
  host?: string;
  retention?: string;
}

export class PrometheusServer {
  readonly dir: string;
  readonly targetsDir: string;
  readonly url: string;
  readonly pid: number;
  readonly scrapeIntervalS: number;
  private lastTargets = '';
  private exited = false;
  private readonly onExit: () => void;

  private constructor(dir: string, url: string, pid: number, scrapeIntervalS: number, child: import('node:child_process').ChildProcess) {
    this.dir = dir;
    this.targetsDir = join(dir, 'targets');
    this.url = url;
    this.pid = pid;
    this.scrapeIntervalS = scrapeIntervalS;
    child.on('exit', () => (this.exited = true));
    // the orchestrator going away (normally or by an uncaught error) takes its Prometheus along
    this.onExit = () => {
      try {
        if (!this.exited) process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    process.on('exit', this.onExit);
  }

  static async start(opts: PrometheusServerOptions): Promise<PrometheusServer> {
    const bin = requirePrometheus();
    const dir = join(opts.runDir, PROMETHEUS_DIR);
    const targetsDir = join(dir, 'targets');
    mkdirSync(join(dir, 'data'), { recursive: true });
    mkdirSync(targetsDir, { recursive: true });
    const scrapeIntervalS = opts.scrapeIntervalS ?? 2;
    writeFileSync(join(dir, 'prometheus.yml'), prometheusConfig({ runId: opts.runId, scrapeIntervalS, targetsDir }));
    if (!existsSync(join(targetsDir, 'leiosnet.json'))) writeFileSync(join(targetsDir, 'leiosnet.json'), '[]\n');
    const host = opts.host ?? '127.0.0.1';
    let lastErr = '';
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = opts.port ?? (await freeLoopbackPort(host));
      const url = `http://${host}:${port}`;
      const logFile = join(dir, 'prometheus.log');
      const fd = openSync(logFile, 'a');
      const args = [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--storage.tsdb.retention.time=${opts.retention ?? '90d'}`,
        `--web.listen-address=${host}:${port}`,
        '--web.enable-lifecycle',
        '--log.level=warn',
      ];
      // own process group: Ctrl-C on the terminal reaches the orchestrator, which exports the
      // samples before it stops Prometheus itself. A watchdog shell (the group leader) ends
      // Prometheus when the orchestrator dies, even by SIGKILL: no orphaned server.
      const child = spawn('sh', ['-c', WATCHDOG, 'leiosnet-prometheus', bin, ...args], {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { ...process.env, LEIOSNET_ORCHESTRATOR_PID: String(process.pid) },
      });
      closeSync(fd);
      child.on('error', () => {});
      child.unref();
      if (child.pid === undefined) throw new InfraError(`prometheus: could not spawn ${bin}`);
      const server = new PrometheusServer(dir, url, child.pid, scrapeIntervalS, child);
      const ok = await server.waitReady(30_000);
      if (ok) {
        const info: PrometheusServerInfo = { pid: child.pid, url, startedAt: new Date().toISOString(), scrapeIntervalS, version: prometheusVersion(bin) };
        writeFileSync(join(dir, 'server.json'), JSON.stringify(info, null, 2) + '\n');
        return server;
      }
      await server.stop();
      lastErr = tailFile(logFile);
      if (opts.port !== undefined || !/address already in use/i.test(lastErr)) break;
    }
    throw new InfraError(`prometheus did not become ready; ${join(dir, 'prometheus.log')}:\n${lastErr}`);
  }

  get running(): boolean {
    return !this.exited;
  }

  async waitReady(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) return false;
      try {
        const r = await fetch(`${this.url}/-/ready`, { signal: AbortSignal.timeout(1_000) });
        if (r.ok) return true;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    return false;
  }

  /** Write the file_sd targets (atomically; only when they changed). Returns true if written. */
  writeTargets(targets: MetricsTarget[]): boolean {
    const text = JSON.stringify(fileSd(targets), null, 2) + '\n';
    if (text === this.lastTargets) return false;
    const file = join(this.targetsDir, 'leiosnet.json');
    writeFileSync(file + '.tmp', text);
    renameSync(file + '.tmp', file);
    this.lastTargets = text;
    return true;
  }

  async stop(graceMs = 5_000): Promise<void> {
    process.off('exit', this.onExit);
    if (this.exited) return;
    try {
      process.kill(-this.pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + graceMs;
    while (!this.exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    if (!this.exited) {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

function tailFile(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines - 1).join('\n');
  } catch {
    return '(no log)';
  }
}
