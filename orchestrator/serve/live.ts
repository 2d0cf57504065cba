// A live view of one run, shared by every WebSocket client watching it: polls each node's /tip
// (fast) and /metrics (slower), the generator's /metrics, each node's /peers (link shapes), and
// tails events.jsonl and the nodes' trace.jsonl files (only the lines that matter: blocks, EBs,
// vote bundles, certificates, hard forks, rollbacks). Pushes what changed; keeps a short history
// so a page that connects late starts with charts and a timeline.
//
// Cost: one HTTP GET per node per tip interval (500 ms up to 20 nodes, then scaled so the whole
// round stays under ~40 requests/s), /metrics and /peers every few seconds, and file reads of
// only the bytes appended since the last tick (a trace that grows faster than 2 MB per tick is
// skipped ahead, and the skip is reported).

import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { adminText, getPeers, getTip } from '../collect/admin.ts';
import { parsePrometheus } from '../collect/prometheus.ts';
import type { Deployment, NodeHandle } from '../runtime/runtime.ts';
import { readRunRecord } from '../state.ts';
import { fileSize, readJsonFile, systemStartMs } from './runs.ts';

export interface NodeTip {
  running: boolean;
  reachable: boolean;
  slot?: number;
  blockNo?: number;
  hash?: string | null;
  era?: string;
  protocolVersion?: number;
  following?: boolean;
  /** ms since epoch when this node's tip last changed */
  changedAt?: number;
}

export interface MetricsPoint {
  /** seconds since epoch */
  t: number;
  /** generator offered rate (tx/s), when a generator runs */
  offeredTps: number | null;
  /** transactions applied to the ledger per second (best node) */
  appliedTps: number | null;
  /** ledger bytes applied per second, kB */
  appliedKBps: number | null;
  /** mean RB adoption delay over the interval (from slot start), ms */
  rbDelayMs: number | null;
  /** mean EB arrival delay over the interval (from slot start), ms */
  ebDelayMs: number | null;
  mempoolTxs: number | null;
  height: number | null;
  /** network totals */
  rbForged: number | null;
  ebForged: number | null;
  ebCertified: number | null;
  votesCast: number | null;
  certsIncluded: number | null;
}

export interface ChainEvent {
  kind: 'block' | 'eb' | 'votes' | 'cert' | 'cert-included' | 'hardfork' | 'rollback' | 'stopped-following' | 'trace-gap';
  node: string;
  /** ms since epoch */
  t: number;
  id?: string;
  slot?: number;
  blockNo?: number;
  detail?: Record<string, unknown>;
}

export interface LinkView {
  from: string;
  to: string;
  connected: boolean;
  latencyMs: number;
  bandwidthBps?: number;
  loss: number;
  down: boolean;
}

export type LiveMessage =
  | { type: 'tips'; runId: string; t: number; tips: Record<string, NodeTip> }
  | { type: 'metrics'; runId: string; point: MetricsPoint }
  | { type: 'chain'; runId: string; events: ChainEvent[] }
  | { type: 'event'; runId: string; events: Record<string, unknown>[] }
  | { type: 'links'; runId: string; links: LinkView[] }
  | { type: 'status'; runId: string; live: boolean };

export interface LiveSnapshot {
  runId: string;
  live: boolean;
  tips: Record<string, NodeTip>;
  metrics: MetricsPoint[];
  chain: ChainEvent[];
  events: Record<string, unknown>[];
  links: LinkView[];
}

export interface WatcherOptions {
  tipIntervalMs?: number;
  metricsIntervalMs?: number;
  fileIntervalMs?: number;
  peersIntervalMs?: number;
  /** history kept for late joiners */
  keepMetrics?: number;
  keepChain?: number;
  keepEvents?: number;
  /** per file per tick */
  maxReadBytes?: number;
}

const TRACE_TYPES = /"type":"(RBGenerated|EBGenerated|VTBundleGenerated|CertCreated|CertIncluded|HardFork|Rollback|StoppedFollowing|TraceDropped)"/;

/** Reads what was appended to a file since the last call, whole lines only. */
class Tail {
  readonly file: string;
  private pos: number;
  private rest = '';
  constructor(file: string, fromEndBytes: number) {
    this.file = file;
    const size = fileSize(file);
    this.pos = size < 0 ? 0 : Math.max(0, size - fromEndBytes);
    this.skipPartial = this.pos > 0;
  }
  private skipPartial: boolean;
  /** New complete lines; `skipped` > 0 when the file grew faster than maxBytes. */
  read(maxBytes: number): { lines: string[]; skipped: number } {
    const size = fileSize(this.file);
    if (size < 0) return { lines: [], skipped: 0 };
    if (size < this.pos) {
      // truncated or rotated: start over
      this.pos = 0;
      this.rest = '';
    }
    let skipped = 0;
    if (size - this.pos > maxBytes) {
      skipped = size - this.pos - maxBytes;
      this.pos = size - maxBytes;
      this.rest = '';
      this.skipPartial = true;
    }
    const len = size - this.pos;
    if (len === 0) return { lines: [], skipped };
    const buf = Buffer.alloc(len);
    const fd = openSync(this.file, 'r');
    try {
      readSync(fd, buf, 0, len, this.pos);
    } finally {
      closeSync(fd);
    }
    this.pos = size;
    const text = this.rest + buf.toString('utf8');
    const parts = text.split('\n');
    this.rest = parts.pop() ?? '';
    if (this.skipPartial) {
      parts.shift();
      this.skipPartial = false;
    }
    return { lines: parts.filter((l) => l !== ''), skipped };
  }
}

type Totals = { t: number; applied: number; bytes: number; rbSum: number; rbCount: number; ebSum: number; ebCount: number };

/** Sum of all series named `name` (any labels). */
function total(samples: { name: string; value: number }[], name: string): number | undefined {
  let out: number | undefined;
  for (const s of samples) if (s.name === name && Number.isFinite(s.value)) out = (out ?? 0) + s.value;
  return out;
}

export class RunWatcher {
  readonly runId: string;
  readonly runDir: string;
  private dep: Deployment | undefined;
  private readonly opts: Required<WatcherOptions>;
  private readonly listeners = new Set<(m: LiveMessage) => void>();
  private timers: NodeJS.Timeout[] = [];
  private busy = new Set<string>();
  private stopped = false;
  private live: boolean;
  private readonly tips: Record<string, NodeTip> = {};
  private readonly metrics: MetricsPoint[] = [];
  private readonly chain: ChainEvent[] = [];
  private readonly events: Record<string, unknown>[] = [];
  private links: LinkView[] = [];
  private readonly eventsTail: Tail;
  private readonly traceTails = new Map<string, Tail>();
  private prev: Totals | undefined;
  private readonly startMs: number | undefined;
  private generatorBase: string | undefined | null = null;

  constructor(runId: string, runDir: string, dep: Deployment | undefined, opts: WatcherOptions = {}) {
    this.runId = runId;
    this.runDir = runDir;
    this.dep = dep;
    this.live = dep !== undefined;
    const n = dep?.nodes().length ?? 0;
    this.opts = {
      tipIntervalMs: opts.tipIntervalMs ?? Math.max(500, n * 25),
      metricsIntervalMs: opts.metricsIntervalMs ?? Math.max(2_000, n * 50),
      fileIntervalMs: opts.fileIntervalMs ?? 1_000,
      peersIntervalMs: opts.peersIntervalMs ?? Math.max(5_000, n * 100),
      keepMetrics: opts.keepMetrics ?? 600,
      keepChain: opts.keepChain ?? 500,
      keepEvents: opts.keepEvents ?? 1_000,
      maxReadBytes: opts.maxReadBytes ?? 2 * 1024 * 1024,
    };
    this.startMs = systemStartMs(runDir);
    // the whole timeline (events.jsonl is small); the traces only from near their end
    this.eventsTail = new Tail(join(runDir, 'events.jsonl'), Number.MAX_SAFE_INTEGER);
    for (const name of dep?.nodes().map((h) => h.name) ?? []) {
      this.traceTails.set(name, new Tail(join(runDir, 'nodes', name, 'trace.jsonl'), 256 * 1024));
    }
  }

  get isLive(): boolean {
    return this.live;
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  subscribe(fn: (m: LiveMessage) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  snapshot(): LiveSnapshot {
    return {
      runId: this.runId,
      live: this.live,
      tips: { ...this.tips },
      metrics: [...this.metrics],
      chain: [...this.chain],
      events: [...this.events],
      links: [...this.links],
    };
  }

  private push(m: LiveMessage): void {
    for (const l of this.listeners) {
      try {
        l(m);
      } catch {
        /* a dead socket: its close handler unsubscribes */
      }
    }
  }

  /** Run `fn` every `ms` unless the previous round is still going. */
  private every(key: string, ms: number, fn: () => Promise<void> | void): void {
    const tick = () => {
      if (this.stopped || this.busy.has(key)) return;
      this.busy.add(key);
      Promise.resolve()
        .then(fn)
        .catch(() => {})
        .finally(() => this.busy.delete(key));
    };
    tick();
    const t = setInterval(tick, ms);
    t.unref();
    this.timers.push(t);
  }

  start(): void {
    this.pollFiles(); // the timeline so far, synchronously, for the first snapshot
    this.every('files', this.opts.fileIntervalMs, () => this.pollFiles());
    if (!this.dep) return;
    this.every('tips', this.opts.tipIntervalMs, () => this.pollTips());
    this.every('metrics', this.opts.metricsIntervalMs, () => this.pollMetrics());
    this.every('peers', this.opts.peersIntervalMs, () => this.pollPeers());
    this.every('live', 3_000, () => this.checkLive());
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.listeners.clear();
  }

  private nodes(): NodeHandle[] {
    return this.dep?.nodes() ?? [];
  }

  /** Poll every node's /tip now (also used right after a fault, so the page sees it at once). */
  async pollTips(): Promise<void> {
    if (!this.live) return;
    const changed: Record<string, NodeTip> = {};
    const now = Date.now();
    await Promise.all(
      this.nodes().map(async (h) => {
        const tip = await getTip(h.endpoints());
        const before = this.tips[h.name];
        let next: NodeTip;
        if (tip) {
          next = {
            running: true,
            reachable: true,
            slot: tip.slot,
            blockNo: tip.blockNo,
            hash: tip.hash,
            era: tip.era,
            protocolVersion: tip.protocolVersion,
            ...(tip.following !== undefined ? { following: tip.following } : {}),
            changedAt: before && before.hash === tip.hash && before.blockNo === tip.blockNo ? before.changedAt : now,
          };
        } else {
          const running = await h.running().catch(() => false);
          next = { ...(before ?? {}), running, reachable: false };
        }
        if (!before || before.hash !== next.hash || before.blockNo !== next.blockNo || before.running !== next.running || before.reachable !== next.reachable || before.slot !== next.slot) {
          this.tips[h.name] = next;
          changed[h.name] = next;
        }
      }),
    );
    if (Object.keys(changed).length > 0) this.push({ type: 'tips', runId: this.runId, t: now, tips: changed });
  }

  private async generatorMetricsUrl(): Promise<string | undefined> {
    if (this.generatorBase !== null) return this.generatorBase;
    let base: string | undefined;
    try {
      base = await this.dep?.generatorUrl?.();
    } catch {
      base = undefined;
    }
    if (!base) {
      const rec = readRunRecord(this.runId)?.addresses?.find((a) => a.name === 'generator');
      const cfg = readJsonFile<{ metrics?: { host: string; port: number } }>(join(this.runDir, 'generator', 'config.json'));
      if (cfg?.metrics) base = `http://${cfg.metrics.host}:${cfg.metrics.port}`;
      else if (rec) base = `http://${rec.host}:${rec.adminPort}`;
    }
    this.generatorBase = base;
    return base;
  }

  private async pollMetrics(): Promise<void> {
    if (!this.live) return;
    const per = await Promise.all(
      this.nodes().map(async (h) => {
        try {
          return parsePrometheus(await adminText(h.endpoints(), '/metrics', { timeoutMs: 1_500 }));
        } catch {
          return undefined;
        }
      }),
    );
    let offered: number | null = null;
    const gen = await this.generatorMetricsUrl();
    if (gen) {
      try {
        const res = await fetch(`${gen.replace(/\/$/, '')}/metrics`, { signal: AbortSignal.timeout(1_500) });
        if (res.ok) offered = total(parsePrometheus(await res.text()), 'leios_txgen_rate_tps') ?? null;
      } catch {
        /* generator stopped */
      }
    }
    const ok = per.filter((p): p is NonNullable<typeof p> => p !== undefined);
    if (ok.length === 0) return;
    const max = (name: string) => {
      const vs = ok.map((s) => total(s, name)).filter((v): v is number => v !== undefined);
      return vs.length ? Math.max(...vs) : undefined;
    };
    const sum = (name: string) => {
      const vs = ok.map((s) => total(s, name)).filter((v): v is number => v !== undefined);
      return vs.length ? vs.reduce((a, b) => a + b, 0) : undefined;
    };
    const t = Date.now() / 1000;
    const cur: Totals = {
      t,
      applied: max('leios_ledger_tx_applied_total') ?? 0,
      bytes: max('leios_ledger_tx_bytes_applied_total') ?? 0,
      rbSum: sum('leios_rb_adoption_delay_seconds_sum') ?? 0,
      rbCount: sum('leios_rb_adoption_delay_seconds_count') ?? 0,
      ebSum: sum('leios_eb_arrival_delay_seconds_sum') ?? 0,
      ebCount: sum('leios_eb_arrival_delay_seconds_count') ?? 0,
    };
    const p = this.prev;
    const dt = p ? cur.t - p.t : 0;
    const rate = (a: number, b: number) => (p && dt > 0 && a >= b ? (a - b) / dt : null);
    const meanMs = (s: number, c: number, ps: number, pc: number) => (p && c > pc ? (1000 * (s - ps)) / (c - pc) : null);
    const mempool = ok.map((s) => total(s, 'leios_mempool_txs')).filter((v): v is number => v !== undefined);
    const bytesRate = rate(cur.bytes, p?.bytes ?? 0);
    const round = (v: number | null | undefined, d = 2) => (v === null || v === undefined ? null : Math.round(v * 10 ** d) / 10 ** d);
    const point: MetricsPoint = {
      t: Math.round(t * 1000) / 1000,
      offeredTps: round(offered),
      appliedTps: round(rate(cur.applied, p?.applied ?? 0)),
      appliedKBps: round(bytesRate === null ? null : bytesRate / 1000),
      rbDelayMs: round(p ? meanMs(cur.rbSum, cur.rbCount, p.rbSum, p.rbCount) : null, 1),
      ebDelayMs: round(p ? meanMs(cur.ebSum, cur.ebCount, p.ebSum, p.ebCount) : null, 1),
      mempoolTxs: mempool.length ? round(mempool.reduce((a, b) => a + b, 0) / mempool.length, 1) : null,
      height: max('leios_block_height') ?? null,
      rbForged: sum('leios_rb_forged_total') ?? null,
      ebForged: sum('leios_eb_forged_total') ?? null,
      ebCertified: max('leios_eb_certified_total') ?? null,
      votesCast: sum('leios_votes_cast_total') ?? null,
      certsIncluded: max('leios_certs_included_total') ?? null,
    };
    this.prev = cur;
    this.metrics.push(point);
    if (this.metrics.length > this.opts.keepMetrics) this.metrics.splice(0, this.metrics.length - this.opts.keepMetrics);
    this.push({ type: 'metrics', runId: this.runId, point });
  }

  private async pollPeers(): Promise<void> {
    if (!this.live) return;
    const out: LinkView[] = [];
    await Promise.all(
      this.nodes().map(async (h) => {
        try {
          for (const p of await getPeers(h.endpoints())) {
            out.push({ from: h.name, to: p.name, connected: p.connected, latencyMs: p.link.latencyMs, ...(p.link.bandwidthBps !== undefined ? { bandwidthBps: p.link.bandwidthBps } : {}), loss: p.link.loss, down: p.link.down });
          }
        } catch {
          /* node down: its links show as they were */
          for (const l of this.links) if (l.from === h.name) out.push({ ...l, connected: false });
        }
      }),
    );
    out.sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
    if (JSON.stringify(out) !== JSON.stringify(this.links)) {
      this.links = out;
      this.push({ type: 'links', runId: this.runId, links: out });
    }
  }

  /** Refresh links now (after a link fault). */
  refreshLinks(): Promise<void> {
    return this.pollPeers();
  }

  private async checkLive(): Promise<void> {
    const rec = readRunRecord(this.runId);
    if (rec || this.dep === undefined) return;
    // the run record is gone (down, or a finished `run`) and no node answers: the run is over
    const running = await Promise.all(this.nodes().map((h) => h.running().catch(() => false)));
    if (running.some(Boolean)) return;
    this.live = false;
    this.dep = undefined;
    for (const n of Object.keys(this.tips)) this.tips[n] = { ...this.tips[n]!, running: false, reachable: false };
    this.push({ type: 'status', runId: this.runId, live: false });
  }

  private pollFiles(): void {
    const { lines } = this.eventsTail.read(this.opts.maxReadBytes);
    if (lines.length) {
      const evs: Record<string, unknown>[] = [];
      for (const l of lines) {
        try {
          evs.push(JSON.parse(l) as Record<string, unknown>);
        } catch {
          /* half-written line cannot happen (whole lines only); a corrupt one is skipped */
        }
      }
      this.events.push(...evs);
      if (this.events.length > this.opts.keepEvents) this.events.splice(0, this.events.length - this.opts.keepEvents);
      if (evs.length) this.push({ type: 'event', runId: this.runId, events: evs });
    }
    if (!this.live) return;
    const chain: ChainEvent[] = [];
    for (const [node, tail] of this.traceTails) {
      const { lines: tl, skipped } = tail.read(this.opts.maxReadBytes);
      if (skipped > 0) chain.push({ kind: 'trace-gap', node, t: Date.now(), detail: { skippedBytes: skipped } });
      for (const l of tl) {
        const m = TRACE_TYPES.exec(l);
        if (!m) continue;
        let line: { time_s?: number; message?: Record<string, unknown> };
        try {
          line = JSON.parse(l) as typeof line;
        } catch {
          continue;
        }
        const msg = line.message ?? {};
        const t = this.startMs !== undefined && typeof line.time_s === 'number' ? Math.round(this.startMs + line.time_s * 1000) : Date.now();
        const base = { node, t, ...(typeof msg.id === 'string' ? { id: msg.id } : {}), ...(typeof msg.slot === 'number' ? { slot: msg.slot } : {}) };
        switch (m[1]) {
          case 'RBGenerated':
            chain.push({ kind: 'block', ...base, ...(typeof msg.block_no === 'number' ? { blockNo: msg.block_no } : {}), detail: { size: msg.size_bytes, txBytes: msg.tx_payload_bytes, announcedEb: (msg.announced_eb as { id?: string } | null)?.id ?? null, certifies: (msg.endorsement as { eb?: { id?: string } } | null)?.eb?.id ?? null } });
            break;
          case 'EBGenerated':
            chain.push({ kind: 'eb', ...base, detail: { size: msg.size_bytes, txs: msg.tx_count, txBytes: msg.tx_payload_bytes } });
            break;
          case 'VTBundleGenerated': {
            const votes = (msg.votes ?? {}) as Record<string, number>;
            chain.push({ kind: 'votes', ...base, detail: { ebs: Object.keys(votes).length, votes: Object.values(votes).reduce((a, b) => a + b, 0) } });
            break;
          }
          case 'CertCreated':
            chain.push({ kind: 'cert', ...base, detail: pick(msg, ['eb', 'voters', 'stake', 'sizeBytes']) });
            break;
          case 'CertIncluded':
            chain.push({ kind: 'cert-included', ...base, detail: pick(msg, ['eb', 'rb']) });
            break;
          case 'HardFork':
            chain.push({ kind: 'hardfork', ...base, detail: pick(msg, ['era', 'protocolVersion', 'epoch']) });
            break;
          case 'Rollback':
            chain.push({ kind: 'rollback', ...base, detail: pick(msg, ['depth', 'from', 'to']) });
            break;
          case 'StoppedFollowing':
            chain.push({ kind: 'stopped-following', ...base, detail: pick(msg, ['protocolVersion', 'maxProtocolVersion']) });
            break;
          case 'TraceDropped':
            chain.push({ kind: 'trace-gap', ...base, detail: { droppedEvents: msg.count } });
            break;
        }
      }
    }
    if (chain.length) {
      chain.sort((a, b) => a.t - b.t);
      this.chain.push(...chain);
      if (this.chain.length > this.opts.keepChain) this.chain.splice(0, this.chain.length - this.opts.keepChain);
      this.push({ type: 'chain', runId: this.runId, events: chain });
    }
  }
}

function pick(o: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
