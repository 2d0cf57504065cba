// `leiosnet observe <run-id>`: a Prometheus server for a running testnet (file_sd targets from
// the runtime: nodes, generator, the orchestrator's own /metrics), until Ctrl-C, `--for` seconds,
// or the testnet goes away. Storage in <run-dir>/prometheus/ (kept: a later observe continues it).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors.ts';
import { defaultScrapeIntervalMs } from '../../collect/collector.ts';
import { Observation } from '../../observe/observation.ts';
import { PROMETHEUS_DIR } from '../../observe/prometheus.ts';
import type { CliIO } from '../program.ts';
import { attachRun } from '../runs.ts';

const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0) throw new UserError(`${name}: expected a non-negative number, got ${JSON.stringify(v)}`);
  return n;
};

/** The generator's metrics URL from its config (runtimes that cannot tell). */
export function generatorUrlFromConfig(runDir: string): string | undefined {
  const file = join(runDir, 'generator', 'config.json');
  if (!existsSync(file)) return undefined;
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as { metrics?: { host?: string; port?: number } };
    return c.metrics?.host && c.metrics.port ? `http://${c.metrics.host}:${c.metrics.port}` : undefined;
  } catch {
    return undefined;
  }
}

export function registerObserve(program: Command, io: CliIO, exit: (code: number) => void): void {
  program
    .command('observe')
    .description('a Prometheus server (file_sd targets: nodes, generator, orchestrator) for a running testnet, until Ctrl-C')
    .argument('<run-id>', 'a live testnet (see `leiosnet ls`)')
    .option('--port <port>', 'Prometheus listen port on 127.0.0.1 (default: a free one)', num('--port'))
    .option('--scrape-interval <ms>', 'scrape interval (default: 2 s, 100 ms per node beyond 20)', num('--scrape-interval'))
    .option('--for <s>', 'stop after this many seconds', num('--for'))
    .option('--json', 'print the servers and targets as JSON once Prometheus is up')
    .action(async (runId: string, o: { port?: number; scrapeInterval?: number; for?: number; json?: boolean }) => {
      const { rt, dep } = await attachRun(runId);
      const obs = await Observation.start({ dep, scrapeIntervalMs: o.scrapeInterval ?? defaultScrapeIntervalMs(dep.nodes().length), port: o.port, generatorUrl: generatorUrlFromConfig(dep.runDir) });
      const info = {
        runId,
        runtime: rt.name,
        prometheus: obs.url,
        orchestratorMetrics: `${obs.orchestratorUrl}/metrics`,
        dir: join(dep.runDir, PROMETHEUS_DIR),
        targets: obs.targets.map((t) => ({ address: t.address, ...t.labels })),
      };
      if (o.json) io.out(JSON.stringify(info, null, 2) + '\n');
      else {
        io.err(`prometheus for ${runId} (${rt.name}): ${obs.url}  (${obs.targets.length} targets, data in ${info.dir})\n`);
        io.err(`  targets: ${obs.url}/targets   orchestrator metrics: ${info.orchestratorMetrics}\n`);
        io.err(`  Grafana: see README "Observing a testnet" (dashboards/provisioning); Ctrl-C to stop\n`);
        io.out(obs.url + '\n');
      }
      const keep = setInterval(() => {}, 60_000); // the process stays while we watch
      let watch: NodeJS.Timeout | undefined;
      const why = await new Promise<string>((resolve) => {
        const onSig = (s: NodeJS.Signals) => resolve(s);
        process.once('SIGINT', onSig);
        process.once('SIGTERM', onSig);
        if (o.for !== undefined) setTimeout(() => resolve('time'), o.for * 1000).unref();
        // the testnet went away (down, or every node stopped for good): nothing left to watch
        watch = setInterval(async () => {
          const again = await rt.attach(runId).catch(() => undefined);
          if (!again) resolve('testnet gone');
          else if (!obs.prometheus.running) resolve('prometheus exited');
        }, 5_000);
      });
      clearInterval(keep);
      clearInterval(watch);
      await obs.stop();
      io.err(`prometheus stopped (${why}); data kept in ${info.dir}\n`);
      exit(0);
    });
}
