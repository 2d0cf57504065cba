import type { Accounting, TxRecord } from './accounting.ts';
import type { WorkloadKind } from './config.ts';

// generator/summary.json and generator/txs.jsonl.

export interface GeneratorSummary {
  version: 1;
  name: string;
  /** false while the run is still going (a provisional copy is written periodically) */
  final: boolean;
  /** stopped by the signal before its load window ended (a stop during the drain is not an abort) */
  aborted: boolean;
  /** the phase the stop signal came in (connect … benchmark, drain), when one came */
  stoppedIn?: string;
  error?: string;
  workload: WorkloadKind;
  targets: string[];
  followTarget: string;
  /** benchmark phase (the load window): first emission .. last emission */
  startedAt: string | null;
  endedAt: string | null;
  durationS: number;
  targetTps: number;
  /** mean size of the submitted txs */
  txSizeBytes: number;
  inputs: number;
  outputs: number;
  // ---- accounting: submitted = included + rejected + pending
  submitted: number;
  /** txs accepted by at least one node */
  accepted: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  included: number;
  pending: number;
  /** verdict messages (one per tx per target that answered) */
  verdicts: { accepted: number; rejected: Record<string, number> };
  /** txs emitted but never pulled by their node, at the end */
  backlog: number;
  /** arrivals skipped: no UTxO to spend */
  starved: number;
  /** arrivals lost: the generator fell more than the bucket's burst behind */
  dropped: number;
  // ---- rate
  /** submitted / durationS */
  effectiveTps: number;
  /** included / durationS */
  includedTps: number;
  /** submitted kB/s */
  txkbPerS: number;
  /** txs emitted in each second of the benchmark phase */
  rateSeries: number[];
  /** expected txs in each second (the target profile, ramp-up and on/off included) */
  targetSeries: number[];
  /** (submitted − expected) / expected over the phase, % */
  rateErrorPct: number | null;
  /** coefficient of variation of the per-second rate (whole seconds after the ramp-up) */
  rateCoV: number | null;
  latency: { inclusionP50S: number | null; inclusionP95S: number | null; inclusionMeanS: number | null; inclusionMaxS: number | null; count: number };
  /** the run summary's naming (DESIGN.md): tps and txkbPerS are *included* per load-window second */
  throughput: { txSubmitted: number; txIncluded: number; txRejected: number; txPending: number; txkbPerS: number | null; tps: number | null };
  fanout: { txs: number; utxos: number; rounds: number; perUtxo: number; durationS: number };
  phases: { connectS: number; importS: number; fanoutS: number; benchmarkS: number; drainS: number };
  /** the followed chain; ebsUnresolved > 0 means certified EB txs were not seen (inclusion undercounted) */
  chain: { blocksSeen: number; rollbacks: number; tipBlockNo: number; tipSlot: number | null; certifiedBlocks: number; ebsResolved: number; ebsUnresolved: number };
}

/** Percentile by linear interpolation on sorted values (q in [0, 1]). */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function mean(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Coefficient of variation (population standard deviation / mean). */
export function cov(xs: readonly number[]): number | null {
  const m = mean(xs);
  if (m === null || m === 0) return null;
  let v = 0;
  for (const x of xs) v += (x - m) * (x - m);
  return Math.sqrt(v / xs.length) / m;
}

export function round(x: number | null, digits = 3): number | null {
  if (x === null || !Number.isFinite(x)) return null;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Per-second counts of emission times (ms) relative to startMs, for `seconds` seconds. */
export function perSecond(timesMs: Iterable<number>, startMs: number, seconds: number): number[] {
  const out = new Array<number>(Math.max(0, seconds)).fill(0);
  for (const t of timesMs) {
    const s = Math.floor((t - startMs) / 1000);
    if (s >= 0 && s < out.length) out[s]++;
  }
  return out;
}

export interface RateFigures {
  rateSeries: number[];
  targetSeries: number[];
  rateErrorPct: number | null;
  rateCoV: number | null;
}

/**
 * Rate figures of a benchmark phase of durationS seconds: emitted counts per second, the
 * target's expected counts per second (from the profile's cumulative), rate error over the
 * phase, and the CoV of the whole seconds at full rate (after ramp-up; with the on/off
 * workload the off seconds are left out too).
 */
export function rateFigures(
  timesMs: readonly number[],
  startMs: number,
  durationS: number,
  cumulative: (tS: number) => number,
  rateAt: (tS: number) => number,
  rampUpS: number,
): RateFigures {
  return rateFiguresFromCounts(perSecond(timesMs, startMs, Math.ceil(durationS - 1e-9)), timesMs.length, durationS, cumulative, rateAt, rampUpS);
}

/**
 * rateFigures from per-second emission counts (index s = txs emitted in second s of the phase;
 * extra entries past the phase are ignored) and the number emitted in all: what a long run keeps
 * instead of every emission time.
 */
export function rateFiguresFromCounts(
  counts: readonly number[],
  emitted: number,
  durationS: number,
  cumulative: (tS: number) => number,
  rateAt: (tS: number) => number,
  rampUpS: number,
): RateFigures {
  const whole = Math.floor(durationS + 1e-9);
  const secs = Math.ceil(durationS - 1e-9);
  const rateSeries = Array.from({ length: Math.max(0, secs) }, (_, s) => counts[s] ?? 0);
  const targetSeries: number[] = [];
  for (let s = 0; s < secs; s++) targetSeries.push(round(cumulative(Math.min(s + 1, durationS)) - cumulative(s), 3)!);
  const expected = cumulative(durationS);
  const steady: number[] = [];
  for (let s = Math.ceil(rampUpS); s < whole; s++) {
    const a = rateAt(s + 1e-6);
    const b = rateAt(s + 1 - 1e-6);
    if (a > 0 && Math.abs(a - b) < 1e-9 * Math.max(1, a)) steady.push(rateSeries[s]!);
  }
  return {
    rateSeries,
    targetSeries,
    rateErrorPct: expected > 0 ? round(((emitted - expected) / expected) * 100, 3) : null,
    rateCoV: round(cov(steady), 4),
  };
}

/** Inclusion latencies (s) of the included txs, sorted. */
export function inclusionLatencies(records: Iterable<TxRecord>): number[] {
  const out: number[] = [];
  for (const r of records) if (r.included) out.push((r.included.timeMs - r.submitTimeMs) / 1000);
  return out.sort((a, b) => a - b);
}

/** One line of generator/txs.jsonl. */
export interface TxLine {
  id: string;
  /** unix seconds */
  submitTime: number;
  /** first target offered to */
  target: string;
  /** all targets, when more than one (duplicate workload) */
  targets?: string[];
  kind: string;
  size: number;
  /** outputs it spends, `txIdHex#index` */
  inputs: string[];
  /** final classification */
  state: 'included' | 'rejected' | 'pending';
  /** 'accepted' if any node accepted, else the node's (or our 'conflict-lost') reason, null = no verdict */
  verdict: string | null;
  verdicts?: Record<string, string | null>;
  /** targets that had it already (acknowledged without fetching): no verdict from them */
  knownAt?: string[];
  deliveredTime?: number;
  includedSlot?: number;
  includedBlockNo?: number;
  /** unix seconds, when we saw the block */
  includedTime?: number;
  latencyS?: number;
}

export function txLine(acct: Accounting, r: TxRecord): TxLine {
  const state = acct.state(r);
  const verdict = acct.accepted(r) ? 'accepted' : (acct.rejectReason(r) ?? null);
  const line: TxLine = {
    id: r.idHex,
    submitTime: r.submitTimeMs / 1000,
    target: r.targets[0],
    kind: r.kind,
    size: r.size,
    inputs: [...r.inputs],
    state,
    verdict,
  };
  if (r.targets.length > 1) {
    line.targets = [...r.targets];
    line.verdicts = Object.fromEntries(r.verdicts);
    if (r.knownAt?.length) line.knownAt = [...r.knownAt];
  }
  if (r.deliveredTimeMs !== undefined) line.deliveredTime = r.deliveredTimeMs / 1000;
  if (r.included) {
    line.includedSlot = r.included.slot;
    line.includedBlockNo = r.included.blockNo;
    line.includedTime = r.included.timeMs / 1000;
    line.latencyS = round((r.included.timeMs - r.submitTimeMs) / 1000, 3)!;
  }
  return line;
}
