// Run dir → summary.json (and the series the reports plot). Inputs, all optional except traces:
//   nodes/<name>/trace.jsonl   node traces (simulator envelope)
//   genesis/genesis.json       systemStart and slotLengthS (slot start times)
//   meta.json                  run id, profile, runtime, seed, start/end
//   profile.resolved.json      the Plan: analysis.assertions, analysis.diffusionWithinS
//   metrics/*                  collector output (samples, resources, final tips)
//   generator/summary*.json    submitted/accepted/rejected and the load window (one per segment)
//   generator/txs*.jsonl       each tx's submission time and size
//   events.jsonl               scenario assertion results
//
// Times: a trace `time_s` above 1e8 is Unix time; smaller values are seconds since systemStart.
// Diffusion of a block to a node = its first RBReceived/EBReceived there − the start of the
// block's slot; the producer is excluded. Blocks whose slot starts less than `withinS` before the
// end of the run (meta.json endedAt, else the last traced event) are left out: they had no
// chance to spread.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MetricsSample, ResourceSample, TipsFile } from '../collect/files.ts';
import { RESOURCES_FILE, SAMPLES_FILE, TIPS_FILE } from '../collect/files.ts';
import { sumMetric } from '../collect/prometheus.ts';
import { VOTE_REFUSALS } from '../../node/leios/rules.ts';
import type { Assertion } from '../profile/schema.ts';
import { evaluateAssertions, type NodeState } from './assertions.ts';
import { mean, percentile, round, sortNumbers } from './stats.ts';
import type { AssertionResult, Percentiles, Summary } from './summary.ts';
import { forEachLine, forEachLineBytes, indexIn, num, numberAt, peekNumber, peekString, readJsonl, stringAt, runNodes, str, type TraceEvent, type TraceMessage } from './traces.ts';
import { analyseTxFate, type GenTx } from './tx-fate.ts';
import { analyseFairness, type Fairness, type FairnessBlock } from './fairness.ts';
import { faultTable, readRunEvents } from '../scenario/recovery.ts';
import { analyseAdversaries } from './adversary.ts';

export const DEFAULT_DIFFUSION_WITHIN_S = 5;

const TIME_PREFIX = Buffer.from('{"time_s":');
const TYPE_PREFIX = Buffer.from(',"message":{"type":"');
const SLOT_KEY = Buffer.from('"slot":');
const COUNT_KEY = Buffer.from('"count":');
const RB_KEY = Buffer.from('"rb":"');
const EB_KEY = Buffer.from('"eb":"');

/** Own event types without a slot field (trace-events.ts): their lines need no scan for one. */
const NO_SLOT_TYPES = new Set(['TxAccepted', 'TxRejected', 'TraceDropped']);

/** Trace event types the analysis reads fields of; other lines are only peeked at (time, slot). */
const PARSED_TYPES = new Set([
  'RBGenerated',
  'EBGenerated',
  'RBReceived',
  'EBReceived',
  'VTBundleGenerated',
  'CertCreated',
  'CertIncluded',
  'RBAdopted',
  'Rollback',
  'HardFork',
  'StoppedFollowing',
  'TxIncluded',
]);

export interface AnalyseOptions {
  /** Default: plan analysis.diffusionWithinS, else 5 s. */
  diffusionWithinS?: number;
  /** Default: plan analysis.assertions. */
  assertions?: Assertion[];
  /** Assertions already decided during the run; default: `assertion` events in events.jsonl. */
  scenarioAssertions?: AssertionResult[];
}

export interface Series {
  rbDelaysMs: number[];
  ebDelaysMs: number[];
  inclusionLatencyS: number[];
  /** Faults, recoveries, upgrades, marks, assertion results…: t in seconds from the run start */
  events: { t: number; type: string; text: string }[];
  /** One point per scrape round; t in seconds from the run start. */
  timeline: {
    t: number[];
    height: (number | null)[];
    txApplied: (number | null)[];
    txRate: (number | null)[];
    mempoolTxs: (number | null)[];
  };
  resources: Record<string, { t: number[]; cpuPct: number[]; rssMb: number[] }>;
}

export interface Analysis {
  summary: Summary;
  series: Series;
  /** Each node's final state (tip, protocol version, stopped following) */
  nodes: Record<string, NodeState>;
  /** Lines in traces that could not be parsed (a node killed mid-write), per node. */
  badTraceLines: Record<string, number>;
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** ISO string or Unix seconds/ms → Unix seconds. */
function toUnixS(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v > 1e11 ? v / 1000 : v;
  if (typeof v === 'string') {
    const ms = Date.parse(v);
    if (!Number.isNaN(ms)) return ms / 1000;
  }
  return undefined;
}

function pick(obj: Record<string, unknown> | undefined, ...keys: string[]): unknown {
  if (!obj) return undefined;
  for (const k of keys) if (obj[k] !== undefined && obj[k] !== null) return obj[k];
  return undefined;
}

function numOr0(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

interface BlockInfo {
  slot?: number;
  producer?: string;
  genT?: number;
  /** RBs: the parent's id (null: the first block), for the fork battles of fairness.ts */
  parent?: string | null;
  arrivals: Map<string, number>;
}

function blockOf(map: Map<string, BlockInfo>, id: string): BlockInfo {
  let b = map.get(id);
  if (!b) {
    b = { arrivals: new Map() };
    map.set(id, b);
  }
  return b;
}

/** Tx ids named by a TxIncluded/TxAccepted event (`ids`, or a single `id`). */
function txIds(m: TraceMessage): string[] {
  if (Array.isArray(m.ids)) return (m.ids as unknown[]).filter((x): x is string => typeof x === 'string');
  const id = str(m, 'id');
  return id ? [id] : [];
}

/**
 * The generator's figures: generator/summary.json, plus summary-<n>.json of earlier segments when
 * the scenario restarted it (a rate change). Counts add up; the load window is the sum of the
 * segments' windows (each from startedAt..endedAt, else durationS).
 */
function generatorSummary(runDir: string): { submitted: number; rejected: number; windowS?: number; firstStartS?: number; lastEndS?: number } {
  const dir = join(runDir, 'generator');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^summary(-\d+)?\.json$/.test(f)) : [];
  let submitted = 0;
  let rejected = 0;
  let windowS: number | undefined;
  let firstStartS: number | undefined;
  let lastEndS: number | undefined;
  for (const f of files) {
    const g = readJson<Record<string, unknown>>(join(dir, f));
    if (!g) continue;
    submitted += numOr0(pick(g, 'submitted', 'txSubmitted'));
    rejected += numOr0(pick(g, 'rejected', 'txRejected'));
    const start = toUnixS(pick(g, 'startedAt', 'startTime', 'start'));
    const end = toUnixS(pick(g, 'endedAt', 'endTime', 'end'));
    const dur = pick(g, 'durationS', 'elapsedS');
    const w = start !== undefined && end !== undefined && end > start ? end - start : typeof dur === 'number' && dur > 0 ? dur : undefined;
    if (w !== undefined) windowS = (windowS ?? 0) + w;
    if (start !== undefined && end !== undefined && end > start) {
      firstStartS = Math.min(firstStartS ?? start, start);
      lastEndS = Math.max(lastEndS ?? end, end);
    }
  }
  return { submitted, rejected, windowS, firstStartS, lastEndS };
}

/** One line for the report's timeline, for the events worth showing. */
function describeEvent(e: Record<string, unknown>): string | undefined {
  const s = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
  switch (e.type) {
    case 'fault':
      return `fault ${s(e.description)}`;
    case 'fault-undone':
      return `undone: ${s(e.fault)}`;
    case 'fault-undo-failed':
      return `undo failed: ${s(e.fault)}: ${s(e.error)}`;
    case 'recovered':
      return e.recoveryS === null ? `not recovered within 120 s after ${s(e.fault)}` : `recovered in ${s(e.recoveryS)} s after ${s(e.fault)}`;
    case 'upgrade':
      return `upgrade ${s(e.node)} → ${s(e.release)} ${s(e.phase)}`;
    case 'adversary':
      return `adversary ${s(e.behaviour)} ${e.enabled === false ? 'off' : 'on'} at ${s(e.node)}`;
    case 'generator':
      return `generator ${Object.entries(e).filter(([k]) => !['t', 'type', 'index'].includes(k)).map(([k, v]) => `${k}=${s(v)}`).join(' ')}`;
    case 'mark':
      return `mark: ${s(e.label)}`;
    case 'assertion':
      return `${e.passed ? 'PASS' : 'FAIL'} ${s(e.name)}: ${s(e.detail)}`;
    case 'error':
      return `error${e.phase ? ` (${s(e.phase)})` : ''}: ${s(e.message)}`;
    case 'signal':
      return `signal ${s(e.signal)}`;
    case 'phase':
      return `phase ${s(e.phase)}`;
    case 'warning':
      return `warning: ${s(e.field)}: ${s(e.message)}`;
    case 'start-delay':
      return e.tooShort ? `start delay too short: ${s(e.message)}` : `start delay extended by ${s(e.extendedByS)} s to ${s(e.delayS)} s (${s(e.basis)})`;
    default:
      return undefined;
  }
}

function diffusion(
  blocks: Map<string, BlockInfo>,
  nodes: string[],
  slotStart: ((slot: number) => number) | undefined,
  withinS: number,
  lastT: number,
): { p: Percentiles; delays: number[] } {
  const delays: number[] = [];
  let pairs = 0;
  let reached = 0;
  let counted = 0;
  for (const [, b] of blocks) {
    const base = slotStart && b.slot !== undefined ? slotStart(b.slot) : b.genT;
    if (base === undefined) continue;
    if (base > lastT - withinS) continue; // too young to have spread
    counted++;
    for (const n of nodes) {
      if (n === b.producer) continue;
      pairs++;
      const at = b.arrivals.get(n);
      if (at === undefined) continue;
      const d = (at - base) * 1000;
      delays.push(d);
      if (d <= withinS * 1000) reached++;
    }
  }
  sortNumbers(delays);
  return {
    delays,
    p: {
      p50Ms: round(percentile(delays, 0.5), 1),
      p95Ms: round(percentile(delays, 0.95), 1),
      p99Ms: round(percentile(delays, 0.99), 1),
      samples: delays.length,
      blocks: counted,
      reachedWithinShare: pairs === 0 ? null : round(reached / pairs, 4),
      withinS,
    },
  };
}

function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

export async function analyseRun(runDir: string, opts: AnalyseOptions = {}): Promise<Analysis> {
  const meta = readJson<Record<string, unknown>>(join(runDir, 'meta.json')) ?? {};
  const plan = readJson<Record<string, unknown>>(join(runDir, 'profile.resolved.json'));
  const genesis = readJson<{
    systemStart?: string;
    slotLengthS?: number;
    eras?: { protocolVersion: number }[];
    pools?: { id: string; stake: number }[];
    praos?: { leaderIntervalSlots?: number };
  }>(
    join(runDir, 'genesis', 'genesis.json'),
  );
  const systemStart = toUnixS(genesis?.systemStart);
  const slotLengthS = typeof genesis?.slotLengthS === 'number' ? genesis.slotLengthS : (getPath(plan, 'genesis.slotLengthS') as number | undefined);
  const slotStart = systemStart !== undefined && slotLengthS ? (slot: number) => systemStart + slot * slotLengthS : undefined;
  const toUnix = (t: number) => (t > 1e8 || systemStart === undefined ? t : systemStart + t);

  const withinS =
    opts.diffusionWithinS ?? (getPath(plan, 'analysis.diffusionWithinS') as number | undefined) ?? DEFAULT_DIFFUSION_WITHIN_S;
  const assertions = opts.assertions ?? ((getPath(plan, 'analysis.assertions') as Assertion[] | undefined) ?? []);

  const nodes = runNodes(runDir);
  const rbs = new Map<string, BlockInfo>();
  const ebs = new Map<string, BlockInfo>();
  const certified = new Set<string>();
  const certRbs = new Set<string>();
  const state = new Map<string, NodeState>(nodes.map((n) => [n, { protocolVersion: genesis?.eras?.[0]?.protocolVersion }]));
  /** tx id → first inclusion time */
  const includedIds = new Map<string, number>();
  /** inclusions traced without ids: block (eb ?? rb) → tx count, first time */
  const includedBlocks = new Map<string, { count: number; t: number }>();
  const seen = new Map<string, number>();
  let votesCast = 0;
  let hardForkSlot: number | null = null;
  let rollbacks = 0;
  let maxForkDepth = 0;
  let maxSlot: number | null = null;
  let firstT = Infinity;
  let lastT = -Infinity;
  const badTraceLines: Record<string, number> = {};

  // generator first: per-tx submission times, sizes, final states (generator/txs*.jsonl, one
  // per generator segment). What they settle need not be read from the node traces again.
  const sizeOf = new Map<string, number>();
  const genState = new Map<string, string>();
  /** the same records for tx fate (inputs, state, verdict) */
  const genTxs = new Map<string, GenTx>();
  /** generator txs that no node is known to have accepted (tx fate needs the traces for them) */
  let genUnsettled = 0;
  let genNoSubmitTime = 0;
  const genDir = join(runDir, 'generator');
  for (const f of existsSync(genDir) ? readdirSync(genDir).filter((f) => /^txs(-\d+)?\.jsonl$/.test(f)) : []) {
    await readJsonl<{ id?: unknown; submitTime?: unknown; size?: unknown; state?: unknown; verdict?: unknown; inputs?: unknown }>(join(genDir, f), (tx) => {
      if (typeof tx.id !== 'string') return;
      if (typeof tx.size === 'number') sizeOf.set(tx.id, tx.size);
      if (typeof tx.state === 'string') genState.set(tx.id, tx.state);
      if (tx.verdict !== 'accepted' && tx.state !== 'included') genUnsettled++;
      genTxs.set(tx.id, {
        inputs: Array.isArray(tx.inputs) ? tx.inputs.filter((x): x is string => typeof x === 'string') : [],
        state: typeof tx.state === 'string' ? tx.state : undefined,
        verdict: typeof tx.verdict === 'string' ? tx.verdict : null,
      });
      const t = toUnixS(tx.submitTime);
      if (t === undefined) {
        genNoSubmitTime++;
        return;
      }
      const prev = seen.get(tx.id);
      if (prev === undefined || t < prev) seen.set(tx.id, t);
    });
  }
  const genSummary = generatorSummary(runDir);
  const genRecordsComplete = genState.size > 0 && genState.size === genSummary.submitted;
  // TxAccepted only gives a tx's first sighting (its latency start) and, for tx fate, that some
  // node accepted it. With complete generator records that carry every submission time (which
  // precedes any node's acceptance) and a verdict per tx, the figures do not depend on it, and
  // its lines (the bulk of a loaded trace) are skipped unparsed.
  const readAccepted = !(genRecordsComplete && genNoSubmitTime === 0 && genUnsettled === 0);
  const acceptedIds: Set<string> | undefined = readAccepted ? new Set() : undefined;
  /** TxIncluded with ids, by block (eb|rb|count): every node reports the same block's ids, so they are parsed once and later reports only lower the first time */
  const inclusionsByBlock = new Map<string, { ids: string[]; t: number }>();
  const certIncludedEbs = new Set<string>();

  // node traces: each streamed once, line by line. A line is parsed only if its type matters;
  // other lines (vote receipts, rejections, ...) give their time and slot by peeking.
  for (const node of nodes) {
    const st = state.get(node)!;
    let bad = 0;
    const handle = (m: TraceMessage, t: number, slot: number | undefined): void => {
      switch (m.type) {
        case 'RBGenerated':
        case 'EBGenerated': {
          const id = str(m, 'id');
          if (!id) return;
          const b = blockOf(m.type === 'RBGenerated' ? rbs : ebs, id);
          b.slot ??= slot;
          b.producer ??= str(m, 'producer', 'node') ?? node;
          b.genT ??= t;
          if (m.type === 'RBGenerated' && b.parent === undefined) {
            const par = m.parent as { id?: unknown } | string | null | undefined;
            b.parent = typeof par === 'string' ? par : par && typeof par.id === 'string' ? par.id : null;
          }
          const endorsed = (m.endorsement as { eb?: { id?: string } } | null | undefined)?.eb?.id;
          if (m.type === 'RBGenerated' && endorsed) {
            certRbs.add(id);
            certified.add(endorsed);
          }
          return;
        }
        case 'RBReceived':
        case 'EBReceived': {
          const id = str(m, 'id');
          if (!id) return;
          const b = blockOf(m.type === 'RBReceived' ? rbs : ebs, id);
          b.slot ??= slot;
          const at = str(m, 'recipient', 'node') ?? node;
          const prev = b.arrivals.get(at);
          if (prev === undefined || t < prev) b.arrivals.set(at, t);
          return;
        }
        case 'VTBundleGenerated': {
          const votes = m.votes;
          if (votes && typeof votes === 'object') {
            for (const v of Object.values(votes as Record<string, unknown>)) votesCast += typeof v === 'number' ? v : 1;
          } else votesCast += 1;
          return;
        }
        case 'CertCreated': {
          const eb = str(m, 'eb');
          if (eb) certified.add(eb);
          return;
        }
        case 'CertIncluded': {
          const rb = str(m, 'rb');
          const eb = str(m, 'eb');
          if (rb) certRbs.add(rb);
          if (eb) {
            certified.add(eb);
            certIncludedEbs.add(eb);
          }
          return;
        }
        case 'RBAdopted':
          st.hash = str(m, 'id');
          st.slot = slot;
          st.blockNo = num(m, 'blockNo', 'block_no');
          return;
        case 'Rollback': {
          rollbacks++;
          const d = num(m, 'depth');
          if (d !== undefined && d > maxForkDepth) maxForkDepth = d;
          return;
        }
        case 'HardFork':
          if (slot !== undefined && (hardForkSlot === null || slot < hardForkSlot)) hardForkSlot = slot;
          st.protocolVersion = num(m, 'protocolVersion') ?? st.protocolVersion;
          return;
        case 'StoppedFollowing':
          st.stoppedFollowing = true;
          return;
        case 'TxIncluded': {
          const ids = txIds(m);
          if (ids.length) {
            const key = `${str(m, 'eb') ?? ''}|${str(m, 'rb') ?? ''}|${num(m, 'count') ?? ids.length}`;
            const prev = inclusionsByBlock.get(key);
            if (!prev) inclusionsByBlock.set(key, { ids, t });
            else if (t < prev.t) prev.t = t;
          } else {
            const key = str(m, 'eb') ?? str(m, 'rb');
            const count = num(m, 'count') ?? 0;
            if (!key || count === 0) return;
            const prev = includedBlocks.get(key);
            if (!prev || t < prev.t) includedBlocks.set(key, { count, t });
          }
          return;
        }
        case 'TxAccepted':
          for (const id of txIds(m)) {
            acceptedIds?.add(id);
            const prev = seen.get(id);
            if (prev === undefined || t < prev) seen.set(id, t);
          }
          return;
      }
    };
    await forEachLineBytes(join(runDir, 'nodes', node, 'trace.jsonl'), (b, s, end) => {
      // the node's lines are {"time_s":<n>,"message":{"type":"<T>",…}}: read the time and type
      // from the bytes, and skip (undecoded) what only adds a time and a slot
      if (end - s > 40 && b[end - 1] === 125 && b[end - 2] === 125 && b.compare(TIME_PREFIX, 0, TIME_PREFIX.length, s, s + TIME_PREFIX.length) === 0) {
        const time = numberAt(b, s + TIME_PREFIX.length, end);
        const k = time.next;
        if (time.value !== undefined && b.compare(TYPE_PREFIX, 0, TYPE_PREFIX.length, k, k + TYPE_PREFIX.length) === 0) {
          const type = stringAt(b, k + TYPE_PREFIX.length, Math.min(end, k + TYPE_PREFIX.length + 64)).value;
          if (type !== undefined && !PARSED_TYPES.has(type) && !(type === 'TxAccepted' && readAccepted)) {
            const t = toUnix(time.value);
            if (t < firstT) firstT = t;
            if (t > lastT) lastT = t;
            if (NO_SLOT_TYPES.has(type)) return;
            const at = indexIn(b, SLOT_KEY, k, end);
            const slot = at === -1 ? undefined : numberAt(b, at + SLOT_KEY.length, end).value;
            if (slot !== undefined && (maxSlot === null || slot > maxSlot)) maxSlot = slot;
            return;
          }
          if (type === 'TxIncluded') {
            // a block's inclusion already parsed at another node: only its time
            const c = indexIn(b, COUNT_KEY, k, end);
            const count = c === -1 ? undefined : numberAt(b, c + COUNT_KEY.length, end).value;
            const r = indexIn(b, RB_KEY, k, end);
            const rb = r === -1 ? '' : stringAt(b, r + RB_KEY.length, end).value;
            const x = indexIn(b, EB_KEY, k, end);
            const ebId = x === -1 ? '' : stringAt(b, x + EB_KEY.length, end).value;
            const prev = count !== undefined && rb !== undefined && ebId !== undefined ? inclusionsByBlock.get(`${ebId}|${rb}|${count}`) : undefined;
            if (prev) {
              const t = toUnix(time.value);
              if (t < firstT) firstT = t;
              if (t > lastT) lastT = t;
              if (t < prev.t) prev.t = t;
              const at = indexIn(b, SLOT_KEY, k, end);
              const slot = at === -1 ? undefined : numberAt(b, at + SLOT_KEY.length, end).value;
              if (slot !== undefined && (maxSlot === null || slot > maxSlot)) maxSlot = slot;
              return;
            }
          }
        }
      }
      const line = b.toString('utf8', s, end);
      let e: TraceEvent;
      try {
        e = JSON.parse(line) as TraceEvent;
      } catch {
        bad++;
        return;
      }
      if (!e || typeof e.time_s !== 'number' || !e.message || typeof e.message.type !== 'string') {
        bad++;
        return;
      }
      const m = e.message;
      const t = toUnix(e.time_s);
      if (t < firstT) firstT = t;
      if (t > lastT) lastT = t;
      const slot = num(m, 'slot');
      if (slot !== undefined && (maxSlot === null || slot > maxSlot)) maxSlot = slot;
      handle(m, t, slot);
    });
    if (bad) badTraceLines[node] = bad;
  }
  for (const { ids, t } of inclusionsByBlock.values()) {
    for (const id of ids) {
      const prev = includedIds.get(id);
      if (prev === undefined || t < prev) includedIds.set(id, t);
    }
  }

  const gen = genSummary;

  const runStart = toUnixS(pick(meta, 'startedAt', 'start')) ?? (Number.isFinite(firstT) ? firstT : undefined);
  const runEnd = toUnixS(pick(meta, 'endedAt', 'end')) ?? (Number.isFinite(lastT) ? lastT : undefined);
  // end of observation: when the run ended (nodes stopped), else the last traced event
  const endT = Math.max(Number.isFinite(lastT) ? lastT : -Infinity, toUnixS(pick(meta, 'endedAt', 'end')) ?? -Infinity);

  // diffusion
  const rb = diffusion(rbs, nodes, slotStart, withinS, endT);
  const eb = diffusion(ebs, nodes, slotStart, withinS, endT);

  // metrics
  // streamed: only each node's last sample and one aggregate per scrape round stay in memory
  // (a sample holds every series an endpoint exposes; an hour of 50 nodes is ~10^5 of them)
  const lastSample = new Map<string, MetricsSample>();
  /** each node's last sample line, parsed once at the end */
  const lastLine = new Map<string, string>();
  const roundAgg = new Map<number, { t: number; height?: number; applied?: number; memSum: number; memN: number }>();
  let sampleCount = 0;
  let firstSampleT: number | undefined;
  const addSample = (t: number, roundNo: number, node: string, height: number | undefined, applied: number | undefined, mem: number | undefined) => {
    if (sampleCount++ === 0) firstSampleT = t;
    let r = roundAgg.get(roundNo);
    if (!r) roundAgg.set(roundNo, (r = { t: -Infinity, memSum: 0, memN: 0 }));
    if (t > r.t) r.t = t;
    if (height !== undefined) r.height = r.height === undefined ? height : Math.max(r.height, height);
    if (applied !== undefined) r.applied = r.applied === undefined ? applied : Math.max(r.applied, applied);
    if (mem !== undefined) {
      r.memSum += mem;
      r.memN++;
    }
    void node;
  };
  await forEachLine(join(runDir, SAMPLES_FILE), (line) => {
    // the collector's lines: {"t":…,"round":…,"node":"…",…,"values":{…}}. Only four series are
    // needed per sample, so they are peeked at; a line of another shape (or with a labelled
    // applied counter to sum) is parsed
    const t = peekNumber(line, '{"t":');
    const roundNo = peekNumber(line, '"round":');
    const node = peekString(line, '"node":"');
    const v = line.indexOf('"values":{');
    if (t !== undefined && roundNo !== undefined && node !== undefined && v !== -1 && line.endsWith('}}') && !line.includes('"leios_ledger_tx_applied_total{', v)) {
      const at = (k: string) => {
        const i = line.indexOf(k, v);
        return i === -1 ? undefined : peekNumber(line.slice(i, i + k.length + 32), k);
      };
      addSample(t, roundNo, node, at('"leios_block_height":'), at('"leios_ledger_tx_applied_total":'), at('"leios_mempool_txs":'));
      lastLine.set(node, line);
      return;
    }
    let s: MetricsSample;
    try {
      s = JSON.parse(line) as MetricsSample;
    } catch {
      return;
    }
    if (!s || typeof s.node !== 'string' || !s.values) return;
    const h = s.values.leios_block_height;
    const m = s.values.leios_mempool_txs;
    addSample(s.t, s.round, s.node, typeof h === 'number' ? h : undefined, sumMetric(s.values, 'leios_ledger_tx_applied_total'), typeof m === 'number' ? m : undefined);
    lastLine.delete(s.node);
    lastSample.set(s.node, s);
  });
  for (const [n, line] of lastLine) {
    try {
      lastSample.set(n, JSON.parse(line) as MetricsSample);
    } catch {
      /* peeked fine, cannot happen for a line ending in }} that JSON.parse rejects: skip */
    }
  }
  const resSamples: ResourceSample[] = [];
  await readJsonl<ResourceSample>(join(runDir, RESOURCES_FILE), (s) => resSamples.push(s));
  for (const [n, s] of lastSample) {
    const pv = s.values.leios_protocol_version;
    const st = state.get(n);
    if (st && typeof pv === 'number') st.protocolVersion = pv;
  }

  // chain: final tips from the collector override the last adoption each node traced
  const tipsFile = readJson<TipsFile>(join(runDir, TIPS_FILE));
  if (tipsFile) {
    for (const n of nodes) {
      const tip = tipsFile.tips[n];
      const st = state.get(n)!;
      st.hash = tip?.hash ?? undefined;
      st.slot = tip?.slot ?? undefined;
      st.blockNo = tip?.blockNo ?? undefined;
    }
  }
  const counts = new Map<string, number>();
  for (const st of state.values()) if (st.hash) counts.set(st.hash, (counts.get(st.hash) ?? 0) + 1);
  let majority: string | undefined;
  for (const [h, c] of counts) if (majority === undefined || c > counts.get(majority)!) majority = h;
  const majorityTip = majority ? [...state.values()].find((st) => st.hash === majority) : undefined;
  const share = nodes.length && majority ? counts.get(majority)! / nodes.length : null;
  const blocks = majorityTip?.blockNo ?? rbs.size;
  const finalSlot = majorityTip?.slot ?? maxSlot;

  // throughput: included txs from traces (ids, else per-block counts), else the ledger counters.
  // With the generator's per-tx records, only its benchmark txs count (not fan-out txs), and
  // each is exactly one of included (on the final chain per the node traces, which outlive the
  // generator's drain), rejected (the node's verdict), or pending: the accounting closes.
  if (genRecordsComplete) for (const id of [...includedIds.keys()]) if (!genState.has(id)) includedIds.delete(id);
  let txIncluded = includedIds.size;
  for (const b of includedBlocks.values()) txIncluded += b.count;
  // every included tx has a known size: byte figures per tx (the whole-run and the sustained rate)
  const perTxSizes = includedBlocks.size === 0 && [...includedIds.keys()].every((id) => sizeOf.has(id));
  let includedBytes: number | undefined;
  if (includedIds.size > 0 && perTxSizes) {
    includedBytes = 0;
    for (const id of includedIds.keys()) includedBytes += sizeOf.get(id)!;
  }
  let votesSkipped: Record<string, number> | null = null;
  if (sampleCount) {
    votesSkipped = Object.fromEntries(VOTE_REFUSALS.filter((r) => r !== 'too-early').map((r) => [r, 0]));
    for (const s of lastSample.values()) {
      for (const r of Object.keys(votesSkipped)) votesSkipped[r]! += sumMetric(s.values, `leios_votes_skipped_total{reason=${JSON.stringify(r)}}`) ?? 0;
    }
  }
  if (sampleCount) {
    let appliedMax: number | undefined;
    let bytesApplied: number | undefined;
    for (const s of lastSample.values()) {
      const a = sumMetric(s.values, 'leios_ledger_tx_applied_total');
      if (a !== undefined) appliedMax = Math.max(appliedMax ?? 0, a);
      const b = sumMetric(s.values, 'leios_ledger_tx_bytes_applied_total');
      if (b !== undefined) bytesApplied = Math.max(bytesApplied ?? 0, b);
    }
    includedBytes ??= bytesApplied;
    if (txIncluded === 0 && appliedMax !== undefined) txIncluded = appliedMax;
  }
  const txSize = getPath(plan, 'generator.txSizeBytes');
  if (includedBytes === undefined && typeof txSize === 'number') includedBytes = txIncluded * txSize;
  let { submitted: txSubmitted, rejected: txRejected } = gen;
  const genWindowS = gen.windowS;
  let exactAccounting: { pending: number } | undefined;
  if (genRecordsComplete) {
    let rejected = 0;
    for (const [id, st] of genState) if (st === 'rejected' && !includedIds.has(id)) rejected++;
    txSubmitted = genState.size;
    txRejected = rejected;
    exactAccounting = { pending: genState.size - txIncluded - rejected };
  }
  let loadWindowS: number | null = null;
  if (genWindowS !== undefined) loadWindowS = genWindowS;
  else if (runStart !== undefined && runEnd !== undefined && runEnd > runStart) loadWindowS = runEnd - runStart;
  // The sustained rate: txs first included while the load ran, after the profile's warm-up
  // (analysis.warmupSlots, while the inclusion pipeline fills), per second of that window. The
  // whole-run figure also counts what the drain after the load included (the mempool and the EBs
  // in flight at its end: up to ~3·S_EB-tx), so over the ceiling it can exceed it.
  let windowTxkbPerS: number | null = null;
  const warmupS = numOr0(getPath(plan, 'analysis.warmupSlots')) * (slotLengthS ?? 1);
  const loadFrom = gen.firstStartS !== undefined ? gen.firstStartS + warmupS : undefined;
  const loadTo = gen.lastEndS;
  if (loadFrom !== undefined && loadTo !== undefined && loadTo > loadFrom && perTxSizes) {
    let bytes = 0;
    for (const [id, t] of includedIds) if (t >= loadFrom && t <= loadTo) bytes += sizeOf.get(id)!;
    windowTxkbPerS = round(bytes / 1000 / (loadTo - loadFrom), 3);
  }

  const latencies: number[] = [];
  for (const [id, t] of includedIds) {
    const s = seen.get(id);
    if (s !== undefined) latencies.push(t - s);
  }
  sortNumbers(latencies);

  // resources
  const perNodeRes = new Map<string, { cpu: number[]; rss: number[]; pss: number[]; t: number[] }>();
  for (const s of resSamples) {
    let r = perNodeRes.get(s.node);
    if (!r) perNodeRes.set(s.node, (r = { cpu: [], rss: [], pss: [], t: [] }));
    r.cpu.push(s.cpuPct);
    r.rss.push(s.rssMb);
    if (typeof s.pssMb === 'number') r.pss.push(s.pssMb);
    r.t.push(s.t);
  }
  const perNode: Summary['resources']['perNode'] = {};
  for (const [n, r] of perNodeRes) {
    perNode[n] = { cpuPct: round(mean(r.cpu), 1), rssMb: round(mean(r.rss), 1) };
    if (r.pss.length) perNode[n].pssMb = round(mean(r.pss), 1);
  }
  const cpuMeans = Object.values(perNode).map((x) => x.cpuPct).filter((x): x is number => x !== null);
  const pssMeans = Object.values(perNode).map((x) => x.pssMb).filter((x): x is number => typeof x === 'number');
  const rssMeans = Object.values(perNode).map((x) => x.rssMb).filter((x): x is number => x !== null);

  // timeline
  const t0 = runStart ?? firstSampleT ?? 0;
  const timeline: Series['timeline'] = { t: [], height: [], txApplied: [], txRate: [], mempoolTxs: [] };
  let prev: { t: number; applied: number } | undefined;
  for (const [, r] of [...roundAgg].sort((a, b) => a[0] - b[0])) {
    const t = r.t;
    const a = r.applied ?? null;
    timeline.t.push(round(t - t0, 2)!);
    timeline.height.push(r.height ?? null);
    timeline.txApplied.push(a);
    timeline.mempoolTxs.push(r.memN ? round(r.memSum / r.memN, 1) : null);
    timeline.txRate.push(a !== null && prev && t > prev.t ? round((a - prev.applied) / (t - prev.t), 2) : null);
    if (a !== null) prev = { t, applied: a };
  }

  // the orchestrator's timeline: scenario assertion results and what happened when
  const fromEvents: AssertionResult[] = [];
  const happenings: Series['events'] = [];
  await readJsonl<Record<string, unknown>>(join(runDir, 'events.jsonl'), (e) => {
    if (e.type === 'assertion' && typeof e.name === 'string') {
      fromEvents.push({ name: e.name, passed: e.passed === true, detail: String(e.detail ?? '') });
    }
    const text = describeEvent(e);
    const t = toUnixS(e.t);
    if (text !== undefined && t !== undefined) happenings.push({ t: round(t - (runStart ?? t), 1)!, type: String(e.type), text });
  });
  const scenarioAssertions = opts.scenarioAssertions ?? fromEvents;

  const ebsAnnounced = [...ebs.values()].filter((b) => b.genT !== undefined).length;
  const summary: Summary = {
    run: {
      id: String(pick(meta, 'runId', 'id') ?? runDir.split('/').filter(Boolean).pop()),
      profile: String(pick(meta, 'profile') ?? getPath(plan, 'name') ?? ''),
      runtime: String(pick(meta, 'runtime') ?? 'process'),
      seed: (pick(meta, 'seed') ?? getPath(plan, 'seed') ?? null) as number | string | null,
      nodes: nodes.length,
      durationS: runStart !== undefined && runEnd !== undefined ? round(runEnd - runStart, 1) : null,
      slotLengthS: slotLengthS ?? null,
    },
    chain: {
      blocks,
      finalSlot,
      tipAgreement: share === 1,
      tipAgreementShare: round(share, 4),
      maxForkDepth,
      rollbacks,
      density: finalSlot !== null && finalSlot >= 0 ? round(blocks / (finalSlot + 1), 4) : null,
    },
    leios: {
      ebsAnnounced,
      ebsCertified: certified.size,
      certRate: ebsAnnounced ? round(certified.size / ebsAnnounced, 4) : null,
      votesCast,
      votesSkipped,
      certsIncluded: certRbs.size,
      hardForkSlot,
    },
    throughput: {
      txSubmitted,
      txIncluded,
      txRejected,
      txPending: exactAccounting ? exactAccounting.pending : Math.max(0, txSubmitted - txIncluded - txRejected),
      txkbPerS: loadWindowS && includedBytes !== undefined ? round(includedBytes / 1000 / loadWindowS, 3) : null,
      windowTxkbPerS,
      tps: loadWindowS ? round(txIncluded / loadWindowS, 3) : null,
      loadWindowS: round(loadWindowS, 1),
    },
    latency: {
      inclusionP50S: round(percentile(latencies, 0.5), 3),
      inclusionP95S: round(percentile(latencies, 0.95), 3),
    },
    diffusion: { rb: rb.p, eb: eb.p },
    resources: {
      cpuPctPerNode: round(mean(cpuMeans), 1),
      rssMbPerNode: round(mean(rssMeans), 1),
      // always present (null where the runtime cannot see PSS) so every runtime's summary.json has one shape
      pssMbPerNode: pssMeans.length ? round(mean(pssMeans), 1) : null,
      perNode,
    },
    assertions: [],
    passed: true,
  };
  const nodeStates = Object.fromEntries(state);
  const adversary = await analyseAdversaries(runDir, plan, summary);
  if (adversary) summary.adversary = adversary;
  summary.assertions = [...scenarioAssertions, ...evaluateAssertions(assertions, { summary, nodes: nodeStates })];
  summary.passed = summary.assertions.every((a) => a.passed);
  summary.faults = faultTable(readRunEvents(runDir), runStart !== undefined ? runStart * 1000 : undefined);
  const txFate = await analyseTxFate(runDir, { accepted: acceptedIds, included: includedIds /* tx fate asks only about generator txs, which filtering keeps */, certified: certIncludedEbs, txs: genTxs });
  if (txFate) summary.txFate = txFate;
  const fairness = fairnessOfRun(rbs, state, plan, genesis, slotStart);
  if (fairness) summary.fairness = fairness;

  const series: Series = {
    rbDelaysMs: rb.delays,
    ebDelaysMs: eb.delays,
    inclusionLatencyS: latencies,
    events: happenings,
    timeline,
    resources: resourceSeries(perNodeRes, t0),
  };
  return { summary, series, nodes: nodeStates, badTraceLines };
}

/** summary.fairness from the RBs the traces name, the final tips and the plan's pools (stake, region). */
function fairnessOfRun(
  rbs: Map<string, BlockInfo>,
  state: Map<string, NodeState>,
  plan: Record<string, unknown> | undefined,
  genesis: { pools?: { id: string; stake: number }[]; praos?: { leaderIntervalSlots?: number } } | undefined,
  slotStart: ((slot: number) => number) | undefined,
): Fairness | undefined {
  const planPools = ((getPath(plan, 'nodes') as { name: string; role: string; stake: number; region?: string }[] | undefined) ?? []).filter((n) => n.role === 'pool');
  const pools = planPools.length ? planPools.map((n) => ({ name: n.name, stake: n.stake, region: n.region })) : (genesis?.pools ?? []).map((p) => ({ name: p.id, stake: p.stake }));
  const blocks: FairnessBlock[] = [];
  for (const [id, b] of rbs) {
    if (b.slot === undefined || b.producer === undefined || b.parent === undefined) continue;
    blocks.push({ id, slot: b.slot, producer: b.producer, parent: b.parent, arrivals: b.arrivals });
  }
  if (!pools.length || !blocks.length) return undefined;
  const interval = genesis?.praos?.leaderIntervalSlots ?? (getPath(plan, 'genesis.praos.leaderIntervalSlots') as number | undefined) ?? 1;
  return analyseFairness({ blocks, tips: [...state.values()].map((st) => st.hash), pools, slotStart, leaderIntervalSlots: interval });
}

/** Most points a per-node resource series keeps for the plots; longer runs are binned. */
export const MAX_RESOURCE_POINTS = 600;

/**
 * Per-node CPU/RSS series for the report. Up to MAX_RESOURCE_POINTS samples per node as they
 * are; beyond, the run is cut into that many equal time bins shared by every node (bin means,
 * t = bin middle), so the plot stays small and the nodes' points line up on one x axis.
 */
function resourceSeries(perNode: Map<string, { cpu: number[]; rss: number[]; t: number[] }>, t0: number): Series['resources'] {
  let most = 0;
  let lo = Infinity;
  let hi = -Infinity;
  for (const r of perNode.values()) {
    most = Math.max(most, r.t.length);
    for (const t of r.t) {
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
  }
  if (most <= MAX_RESOURCE_POINTS || !(hi > lo)) {
    return Object.fromEntries([...perNode].map(([n, r]) => [n, { t: r.t.map((t) => round(t - t0, 2)!), cpuPct: r.cpu, rssMb: r.rss }]));
  }
  const bins = MAX_RESOURCE_POINTS;
  const width = (hi - lo) / bins;
  const out: Series['resources'] = {};
  for (const [n, r] of perNode) {
    const cpu = new Array<number>(bins).fill(0);
    const rss = new Array<number>(bins).fill(0);
    const cnt = new Array<number>(bins).fill(0);
    r.t.forEach((t, i) => {
      const b = Math.min(bins - 1, Math.floor((t - lo) / width));
      cpu[b]! += r.cpu[i]!;
      rss[b]! += r.rss[i]!;
      cnt[b]!++;
    });
    const s: Series['resources'][string] = { t: [], cpuPct: [], rssMb: [] };
    for (let b = 0; b < bins; b++) {
      if (!cnt[b]) continue;
      s.t.push(round(lo + (b + 0.5) * width - t0, 2)!);
      s.cpuPct.push(round(cpu[b]! / cnt[b]!, 1)!);
      s.rssMb.push(round(rss[b]! / cnt[b]!, 1)!);
    }
    out[n] = s;
  }
  return out;
}

export function writeSummary(runDir: string, summary: Summary): string {
  const file = join(runDir, 'summary.json');
  writeFileSync(file, JSON.stringify(summary, null, 2) + '\n');
  return file;
}

export function readSummary(runDir: string): Summary {
  const file = existsSync(join(runDir, 'summary.json')) ? join(runDir, 'summary.json') : runDir;
  return JSON.parse(readFileSync(file, 'utf8')) as Summary;
}
