// The collector: while a run lasts, scrape every node's /metrics at an interval into
// metrics/samples.jsonl and sample each node's CPU/RSS (NodeHandle.stats) into
// metrics/resources.jsonl; at the end record every node's /tip (metrics/tips.json) and gather logs.

import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Deployment, Endpoints, NodeHandle } from '../runtime/runtime.ts';
import { adminText, getTip, type Tip } from './admin.ts';
import { RESOURCES_FILE, SAMPLES_FILE, TIPS_FILE, type MetricsSample, type ResourceSample, type TipsFile } from './files.ts';
import { parsePrometheus, toRecord } from './prometheus.ts';

const KEEP = (name: string) =>
  name.startsWith('leios_') || name === 'process_cpu_seconds_total' || name === 'process_resident_memory_bytes' || name.startsWith('nodejs_eventloop_lag');

/** Scrape one /metrics endpoint into flattened series; the `node` label is dropped (the sample names the node). */
export async function scrapeMetrics(ep: Pick<Endpoints, 'adminUrl' | 'adminToken'>, timeoutMs = 1_500): Promise<Record<string, number> | undefined> {
  try {
    const text = await adminText(ep as Endpoints, '/metrics', { timeoutMs });
    const samples = parsePrometheus(text);
    for (const s of samples) delete s.labels.node;
    return toRecord(samples, KEEP);
  } catch {
    return undefined;
  }
}

export interface CollectorOptions {
  intervalMs?: number;
  /** Extra endpoints to scrape, e.g. the generator's metrics (name → base URL). */
  extra?: Record<string, string>;
}

export interface LatestSample {
  t: number;
  values: Record<string, number>;
}

export class Collector {
  readonly runDir: string;
  private readonly dep: Deployment;
  private readonly intervalMs: number;
  private readonly extra: Record<string, string>;
  private round = 0;
  private timer: NodeJS.Timeout | undefined;
  private inflight: Promise<void> | undefined;
  private stopped = true;
  /** Rounds that failed, and why the last one did. */
  errors = 0;
  lastError: string | undefined;
  /** Latest metrics per node (and per extra endpoint). */
  readonly latest = new Map<string, LatestSample>();

  constructor(dep: Deployment, runDir: string, opts: CollectorOptions = {}) {
    this.dep = dep;
    this.runDir = runDir;
    this.intervalMs = opts.intervalMs ?? 2_000;
    this.extra = opts.extra ?? {};
    mkdirSync(join(runDir, 'metrics'), { recursive: true });
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      // a failed round (run dir gone, disk full) must not take the orchestrator down with it
      this.inflight = this.scrapeOnce()
        .catch((e: Error) => {
          this.errors++;
          this.lastError = e.message;
        })
        .finally(() => {
          this.inflight = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.inflight;
  }

  /** One round: every node's /metrics and stats, written as one append per file. */
  async scrapeOnce(): Promise<void> {
    const round = this.round++;
    const t = Date.now() / 1000;
    const nodes = this.dep.nodes();
    const targets: [string, Pick<Endpoints, 'adminUrl' | 'adminToken'>, NodeHandle | undefined][] = [
      ...nodes.flatMap((h) => {
        try {
          return [[h.name, h.endpoints(), h] as [string, Endpoints, NodeHandle]];
        } catch {
          return []; // its config is gone (run dir removed under us)
        }
      }),
      ...Object.entries(this.extra).map(([name, url]) => [name, { adminUrl: url, adminToken: '' }, undefined] as [string, Pick<Endpoints, 'adminUrl' | 'adminToken'>, undefined]),
    ];
    const results = await Promise.all(
      targets.map(async ([name, ep, h]) => {
        const [values, stats] = await Promise.all([scrapeMetrics(ep), h ? h.stats().catch(() => undefined) : undefined]);
        return { name, values, stats };
      }),
    );
    let samples = '';
    let resources = '';
    for (const r of results) {
      if (r.values) {
        this.latest.set(r.name, { t, values: r.values });
        const line: MetricsSample = { t, round, node: r.name, values: r.values };
        samples += JSON.stringify(line) + '\n';
      }
      if (r.stats) {
        const line: ResourceSample = { t, node: r.name, cpuPct: Math.round(r.stats.cpuPct * 10) / 10, rssMb: Math.round(r.stats.rssMb * 10) / 10 };
        resources += JSON.stringify(line) + '\n';
      }
    }
    if (samples) appendFileSync(join(this.runDir, SAMPLES_FILE), samples);
    if (resources) appendFileSync(join(this.runDir, RESOURCES_FILE), resources);
  }

  /** Highest value of a metric over the nodes' latest samples. */
  max(metric: string): number | undefined {
    let best: number | undefined;
    for (const [, s] of this.latest) {
      const v = s.values[metric];
      if (typeof v === 'number') best = Math.max(best ?? v, v);
    }
    return best;
  }

  /**
   * Record each node's /tip in metrics/tips.json. Polls until the running nodes agree or
   * `graceMs` passes (a block may be in flight at the end), and keeps the last answers.
   */
  async finalTips(graceMs: number): Promise<TipsFile> {
    const deadline = Date.now() + graceMs;
    let tips: Record<string, Tip | null> = {};
    for (;;) {
      const nodes = this.dep.nodes();
      const answers = await Promise.all(nodes.map(async (h) => [h.name, (await getTip(h.endpoints())) ?? null] as const));
      tips = Object.fromEntries(answers);
      const live = answers.filter(([, t]) => t !== null).map(([, t]) => t!.hash);
      if ((live.length > 0 && new Set(live).size === 1) || Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const file: TipsFile = {
      collectedAt: new Date().toISOString(),
      tips: Object.fromEntries(
        Object.entries(tips).map(([n, t]) => [
          n,
          t ? { slot: t.slot, blockNo: t.blockNo, hash: t.hash ?? undefined } : null,
        ]),
      ),
    };
    writeFileSync(join(this.runDir, TIPS_FILE), JSON.stringify(file, null, 2) + '\n');
    return file;
  }

  /** Make sure every node's log is in nodes/<name>/node.log (the process runtime writes it there already). */
  async gatherLogs(): Promise<void> {
    for (const h of this.dep.nodes()) {
      const dir = join(this.runDir, 'nodes', h.name);
      // (no node dir: the run dir is gone, and not ours to recreate)
      if (!existsSync(dir) || existsSync(join(dir, 'node.log'))) continue;
      writeFileSync(join(dir, 'node.log'), await h.logs().catch(() => ''));
    }
  }
}
