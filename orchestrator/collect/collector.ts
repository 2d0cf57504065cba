// The collector: while a run lasts, scrape every node's /metrics at an interval into
// metrics/samples.jsonl and sample each node's CPU/RSS (NodeHandle.stats) into
// metrics/resources.jsonl; at the end record every node's /tip (metrics/tips.json) and gather logs.
// Samples keep every series an endpoint exposes (no name filter) and carry the target's labels
// (run, node, role, release, region), like a Prometheus scrape. When the run has a Prometheus,
// its samples are exported from there (promql.ts) and this scraper's go to metrics/scraper/.

import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readPlanNodes, type PlanNodeInfo } from '../observe/targets.ts';
import type { Deployment, Endpoints, NodeHandle } from '../runtime/runtime.ts';
import { adminText, getTip, type Tip } from './admin.ts';
import { RESOURCES_FILE, SAMPLES_FILE, TIPS_FILE, type MetricsSample, type ResourceSample, type TipsFile } from './files.ts';
import { parsePrometheus, toRecord } from './prometheus.ts';

/**
 * Scrape one /metrics endpoint into flattened series (every series `keep` passes; default all).
 * A `node` label equal to `node` is left out of the keys: the sample carries it (`labels.node`).
 */
export async function scrapeMetrics(
  ep: Pick<Endpoints, 'adminUrl' | 'adminToken'>,
  timeoutMs = 1_500,
  opts: { node?: string; keep?: (name: string) => boolean } = {},
): Promise<Record<string, number> | undefined> {
  try {
    const text = await adminText(ep as Endpoints, '/metrics', { timeoutMs });
    const samples = parsePrometheus(text);
    for (const s of samples) if (opts.node === undefined || s.labels.node === opts.node) delete s.labels.node;
    return toRecord(samples, opts.keep);
  } catch {
    return undefined;
  }
}

export interface CollectorOptions {
  intervalMs?: number;
  /** Extra endpoints to scrape, e.g. the generator's metrics (name → base URL). */
  extra?: Record<string, string>;
  /** Where samples go, relative to the run dir (default metrics/samples.jsonl). */
  samplesFile?: string;
  /** Series to keep, by metric name (default: all). */
  keep?: (name: string) => boolean;
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
  private readonly samplesFile: string;
  private readonly keep: ((name: string) => boolean) | undefined;
  private readonly planNodes: Map<string, PlanNodeInfo>;
  private runId: string | undefined;
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
    this.samplesFile = opts.samplesFile ?? SAMPLES_FILE;
    this.keep = opts.keep;
    this.planNodes = new Map(readPlanNodes(runDir).map((n) => [n.name, n]));
    this.runId = dep.runId;
    mkdirSync(dirname(join(runDir, this.samplesFile)), { recursive: true });
    mkdirSync(join(runDir, 'metrics'), { recursive: true });
  }

  /** The target labels of a sample (as Prometheus attaches them: see observe/targets.ts). */
  labelsOf(name: string): Record<string, string> {
    const p = this.planNodes.get(name);
    const role = p?.role ?? (name === 'generator' ? 'generator' : 'pool');
    return { run: this.runId ?? '', node: name, role, release: p?.release ?? '', region: p?.region ?? '' };
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
        const [values, stats] = await Promise.all([scrapeMetrics(ep, 1_500, { node: name, keep: this.keep }), h ? h.stats().catch(() => undefined) : undefined]);
        return { name, values, stats };
      }),
    );
    let samples = '';
    let resources = '';
    for (const r of results) {
      if (r.values) {
        this.latest.set(r.name, { t, values: r.values });
        const line: MetricsSample = { t, round, node: r.name, labels: this.labelsOf(r.name), values: r.values };
        samples += JSON.stringify(line) + '\n';
      }
      if (r.stats) {
        const line: ResourceSample = { t, node: r.name, cpuPct: Math.round(r.stats.cpuPct * 10) / 10, rssMb: Math.round(r.stats.rssMb * 10) / 10 };
        if (r.stats.pssMb !== undefined) line.pssMb = Math.round(r.stats.pssMb * 10) / 10;
        resources += JSON.stringify(line) + '\n';
      }
    }
    if (samples) appendFileSync(join(this.runDir, this.samplesFile), samples);
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
