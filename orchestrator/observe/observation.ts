// Observing one run: a Prometheus server scraping the run's targets (file_sd, kept current), the
// orchestrator's own /metrics fed by the run's events, and at the end the export of the run's
// samples from Prometheus for the analysis. Used by `leiosnet run --prometheus` (events from the
// live EventLog) and `leiosnet observe <run-id>` (events followed in events.jsonl).

import { join } from 'node:path';
import { exportSamples, awaitScrapesAfter, activeTargets, type ActiveTarget } from '../collect/promql.ts';
import type { EventLog } from '../pipeline/events.ts';
import type { Deployment } from '../runtime/runtime.ts';
import { OrchestratorMetrics, tailJsonl } from './orchestrator-metrics.ts';
import { PrometheusServer } from './prometheus.ts';
import { metricsTargets, type MetricsTarget } from './targets.ts';

export interface ObservationOptions {
  dep: Deployment;
  /** default dep.runDir */
  runDir?: string;
  /** scrape interval (default 2 s, like the collector) */
  scrapeIntervalMs?: number;
  /** the generator's metrics base URL, when the deployment cannot tell */
  generatorUrl?: string;
  /** the run's live event log (`run`); without it events.jsonl is followed (`observe`) */
  events?: EventLog;
  /** Prometheus listen port (default: a free loopback port) */
  port?: number;
  /** how often targets are re-resolved (default 5 s) */
  refreshMs?: number;
}

export interface ExportResult {
  samples: number;
  nodes: number;
  series: number;
  targets: ActiveTarget[];
}

export class Observation {
  readonly prometheus: PrometheusServer;
  readonly metrics: OrchestratorMetrics;
  readonly orchestratorUrl: string;
  readonly startedAtS: number;
  private readonly opts: ObservationOptions;
  private readonly closeMetrics: () => Promise<void>;
  private readonly stopTail: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private stopped = false;
  /** Last targets written, and the last refresh error. */
  targets: MetricsTarget[] = [];
  lastError: string | undefined;

  private constructor(
    opts: ObservationOptions,
    prometheus: PrometheusServer,
    metrics: OrchestratorMetrics,
    server: { url: string; close(): Promise<void> },
    stopTail: (() => void) | undefined,
  ) {
    this.opts = opts;
    this.prometheus = prometheus;
    this.metrics = metrics;
    this.orchestratorUrl = server.url;
    this.closeMetrics = server.close;
    this.stopTail = stopTail;
    this.startedAtS = Date.now() / 1000;
  }

  static async start(opts: ObservationOptions): Promise<Observation> {
    const runDir = opts.runDir ?? opts.dep.runDir;
    const metrics = new OrchestratorMetrics();
    const eventsFile = join(runDir, 'events.jsonl');
    let stopTail: (() => void) | undefined;
    if (opts.events) {
      // replay what happened so far, then follow the live log (emit is synchronous: no gap)
      const t = tailJsonl(eventsFile, (e) => metrics.ingest(e));
      t.stop();
      opts.events.on((e) => metrics.ingest(e));
    } else {
      stopTail = tailJsonl(eventsFile, (e) => metrics.ingest(e)).stop;
    }
    const server = await metrics.serve('127.0.0.1', 0);
    let prometheus: PrometheusServer;
    try {
      prometheus = await PrometheusServer.start({ runId: opts.dep.runId, runDir, scrapeIntervalS: Math.max(1, Math.round((opts.scrapeIntervalMs ?? 2_000) / 1000)), port: opts.port });
    } catch (e) {
      stopTail?.();
      await server.close();
      throw e;
    }
    const obs = new Observation(opts, prometheus, metrics, server, stopTail);
    await obs.refresh();
    const loop = () => {
      if (obs.stopped) return;
      obs.timer = setTimeout(() => void obs.refresh().finally(loop), opts.refreshMs ?? 5_000);
      obs.timer.unref();
    };
    loop();
    return obs;
  }

  get url(): string {
    return this.prometheus.url;
  }

  /** Re-resolve the targets and rewrite file_sd when they changed. */
  refresh(): Promise<void> {
    this.refreshing ??= (async () => {
      try {
        this.targets = await metricsTargets(this.opts.dep, {
          releaseNow: this.metrics.releaseNow,
          generatorUrl: this.opts.generatorUrl,
          orchestratorUrl: this.orchestratorUrl,
        });
        this.prometheus.writeTargets(this.targets);
        this.lastError = undefined;
      } catch (e) {
        this.lastError = (e as Error).message;
      }
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Wait until Prometheus has scraped every current target at least once (or timeout). */
  async waitAllScraped(timeoutMs = 30_000): Promise<ActiveTarget[]> {
    const deadline = Date.now() + timeoutMs;
    let ts: ActiveTarget[] = [];
    while (Date.now() < deadline) {
      ts = await activeTargets(this.url).catch(() => []);
      if (ts.length >= this.targets.length && ts.length > 0 && ts.every((t) => t.health !== 'unknown')) return ts;
      await new Promise((r) => setTimeout(r, 250));
    }
    return ts;
  }

  /**
   * The last scrape after now, then the run's samples from Prometheus into
   * <runDir>/metrics/samples.jsonl. Keeps Prometheus running (stop() ends it).
   */
  async exportSamples(runDir = this.opts.runDir ?? this.opts.dep.runDir): Promise<ExportResult> {
    await this.refresh();
    const after = Date.now() / 1000;
    const iv = this.prometheus.scrapeIntervalS;
    const targets = await awaitScrapesAfter(this.url, after, (3 * iv + 5) * 1000);
    const end = Date.now() / 1000;
    // the step grid ends at `end`, so the last point holds the last scrape
    const start = end - Math.floor((end - this.startedAtS) / iv) * iv;
    const r = await exportSamples(this.url, runDir, { runId: this.opts.dep.runId, start, end, stepS: iv });
    return { ...r, targets };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.refreshing;
    this.stopTail?.();
    await this.prometheus.stop();
    await this.closeMetrics();
  }
}
