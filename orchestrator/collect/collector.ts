// The collector: while a run lasts, scrape every node's /metrics at an interval into
// metrics/samples.jsonl and sample each node's CPU/RSS (NodeHandle.stats) into
// metrics/resources.jsonl; at the end record every node's /tip (metrics/tips.json) and gather logs.
// Samples keep every series an endpoint exposes (no name filter) and carry the target's labels
// (run, node, role, release, region), like a Prometheus scrape. When the run has a Prometheus,
// its samples are exported from there (promql.ts) and this scraper's go to metrics/scraper/.
//
// Bounded: samples.jsonl stays under `maxSamplesBytes` (default 64 MiB; a ci-bench soak writes
// ~220 MB/h at the 2 s interval). Each time the file reaches it, every other round written so far
// is dropped from the file and from then on only every 2nd (4th, 8th, …) round is written: the
// whole run stays in the file at an even, coarser resolution, which is what the analysis needs
// (per-round aggregates, each node's last sample). The last round is always written at stop().

import { appendFileSync, closeSync, createReadStream, existsSync, mkdirSync, openSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
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
  /** Size bound of the samples file (bytes, default 64 MiB): reaching it halves the file's round rate. */
  maxSamplesBytes?: number;
}

export const DEFAULT_MAX_SAMPLES_BYTES = 64 << 20;

/**
 * The scrape interval when none is given: 2 s, and 100 ms per node beyond 20. Answering a scrape
 * (prom-client rendering the registry and its default collectors) was ~6 % of a lightly loaded
 * node's CPU at 2 s; 52 nodes scraped every 2 s cost a seventh of a core, plus the orchestrator's
 * parsing, on a machine that a large testnet already fills.
 */
export function defaultScrapeIntervalMs(nodes: number): number {
  return Math.max(2_000, Math.round(nodes) * 100);
}

/** The round number of a samples line (the collector writes `{"t":…,"round":N,…`). */
function roundOf(line: string): number | undefined {
  const m = /"round":(\d+)/.exec(line.slice(0, 80));
  return m ? Number(m[1]) : undefined;
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
  private readonly maxSamplesBytes: number;
  /** Bytes in the samples file; rounds written: those with round % stride === 0 (and the last). */
  private samplesBytes = 0;
  /** Current stride of rounds written to the samples file (1, 2, 4, …). */
  samplesStride = 1;
  /** The newest round's lines when the stride skipped them (written at stop()). */
  private unwritten: string | undefined;
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
    this.intervalMs = opts.intervalMs ?? defaultScrapeIntervalMs(dep.nodes().length);
    this.extra = opts.extra ?? {};
    this.samplesFile = opts.samplesFile ?? SAMPLES_FILE;
    this.keep = opts.keep;
    this.maxSamplesBytes = opts.maxSamplesBytes ?? DEFAULT_MAX_SAMPLES_BYTES;
    this.planNodes = new Map(readPlanNodes(runDir).map((n) => [n.name, n]));
    this.runId = dep.runId;
    mkdirSync(dirname(join(runDir, this.samplesFile)), { recursive: true });
    mkdirSync(join(runDir, 'metrics'), { recursive: true });
    const f = join(runDir, this.samplesFile);
    if (existsSync(f)) this.samplesBytes = statSync(f).size;
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
    // the run's last round is in the file whatever the stride (final counters, last samples)
    if (this.unwritten) {
      appendFileSync(join(this.runDir, this.samplesFile), this.unwritten);
      this.samplesBytes += Buffer.byteLength(this.unwritten);
      this.unwritten = undefined;
    }
  }

  /** Bytes of the samples file as this collector knows them. */
  get samplesFileBytes(): number {
    return this.samplesBytes;
  }

  /**
   * Halve the samples file: keep the rounds that are multiples of the doubled stride (and the
   * newest round in the file), streamed through a temporary file and renamed over it.
   */
  private async thinSamples(): Promise<void> {
    const file = join(this.runDir, this.samplesFile);
    this.samplesStride *= 2;
    const stride = this.samplesStride;
    let newest = -1;
    {
      const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
      for await (const line of rl) newest = Math.max(newest, roundOf(line) ?? -1);
    }
    const tmp = `${file}.thin`;
    const fd = openSync(tmp, 'w', 0o644);
    let bytes = 0;
    try {
      let buf = '';
      const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
      for await (const line of rl) {
        if (!line) continue;
        const r = roundOf(line);
        if (r !== undefined && r % stride !== 0 && r !== newest) continue;
        buf += line + '\n';
        if (buf.length > 1 << 20) {
          bytes += writeSync(fd, buf);
          buf = '';
        }
      }
      if (buf) bytes += writeSync(fd, buf);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    this.samplesBytes = bytes;
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
    if (samples) {
      if (round % this.samplesStride === 0) {
        appendFileSync(join(this.runDir, this.samplesFile), samples);
        this.samplesBytes += Buffer.byteLength(samples);
        this.unwritten = undefined;
        // halve until there is room again (a single round larger than the bound stays: it is the newest)
        while (this.samplesBytes > this.maxSamplesBytes && this.samplesStride < 1 << 20) {
          const before = this.samplesBytes;
          await this.thinSamples();
          if (this.samplesBytes >= before) break;
        }
      } else this.unwritten = samples;
    }
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
