// Sweep planning, pure (no runs, no files): parse `--vary` and `--assert`, lay out a grid, and
// step a bisection. The runner (run.ts) asks this module what to run next and records results.
//
//   --vary generator.tps=50..400        5 evenly spaced values (both ends included)
//   --vary generator.tps=50..400:50     every 50 from 50 to 400 (the end included if on the step)
//   --vary generator.txSizeBytes=400,1500   a list
// Several --vary make a grid (cartesian product, the first varies slowest). --bisect takes one
// range and searches it for the highest value whose run meets every --assert, assuming that
// meeting them is monotone in the value (true of load: more load, worse latency).

import { UserError } from '../errors.ts';

export interface Vary {
  path: string;
  /** Grid: every value, in order. */
  values: number[];
  /** a..b ranges: the bounds and the step (for bisection's resolution). */
  range?: { from: number; to: number; step?: number };
}

export type Op = '<=' | '<' | '>=' | '>' | '==';

export interface SweepAssertion {
  /** As written, e.g. `inclusion-p95<=60` */
  text: string;
  /** Metric name (an alias below) or a summary.json path (`latency.inclusionP95S`). */
  metric: string;
  op: Op;
  value: number;
}

/** Short names for the figures one bounds in a sweep → the point metric they read. */
export const METRIC_ALIASES: Record<string, string> = {
  'inclusion-p50': 'inclusionP50S',
  'inclusion-p95': 'inclusionP95S',
  'rb-p95': 'rbP95Ms',
  'rb-diffusion-p95': 'rbP95Ms',
  'eb-p95': 'ebP95Ms',
  'eb-diffusion-p95': 'ebP95Ms',
  efficiency: 'efficiency',
  included: 'includedTxkbPerS',
  'txkb-per-s': 'includedTxkbPerS',
  sustained: 'sustainedTxkbPerS',
  'cert-rate': 'certRate',
  cpu: 'cpuPctPerNode',
  rejected: 'rejectedShare',
  passed: 'passed',
};

const DEFAULT_POINTS = 5;

function parseNumber(s: string, what: string): number {
  const n = Number(s.trim());
  if (s.trim() === '' || !Number.isFinite(n)) throw new UserError(`${what}: expected a number, got ${JSON.stringify(s)}`);
  return n;
}

/** Round away float noise (0.1 + 0.2) so values print and compare cleanly. */
export function clean(x: number): number {
  return Math.round(x * 1e9) / 1e9;
}

/** `path=a..b[:step]` or `path=a,b,c` → Vary. */
export function parseVary(spec: string): Vary {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new UserError(`--vary: expected path=a..b[:step] or path=a,b,c, got ${JSON.stringify(spec)}`);
  const path = spec.slice(0, eq).trim();
  const rhs = spec.slice(eq + 1).trim();
  const what = `--vary ${path}`;
  const m = /^([^.:]+|[-+]?\d*\.?\d+(?:e[-+]?\d+)?)\.\.([^:]+)(?::(.+))?$/i.exec(rhs);
  if (m) {
    const from = parseNumber(m[1]!, what);
    const to = parseNumber(m[2]!, what);
    if (to < from) throw new UserError(`${what}: range ${from}..${to} runs backwards`);
    const step = m[3] !== undefined ? parseNumber(m[3], what) : undefined;
    if (step !== undefined && step <= 0) throw new UserError(`${what}: step must be > 0, got ${step}`);
    const values: number[] = [];
    if (from === to) values.push(from);
    else if (step !== undefined) {
      for (let i = 0; ; i++) {
        const v = clean(from + i * step);
        if (v > to + 1e-9) break;
        values.push(v);
        if (values.length > 1000) throw new UserError(`${what}: more than 1000 values`);
      }
    } else {
      for (let i = 0; i < DEFAULT_POINTS; i++) values.push(clean(from + ((to - from) * i) / (DEFAULT_POINTS - 1)));
    }
    return { path, values, range: { from, to, ...(step !== undefined ? { step } : {}) } };
  }
  const values = rhs.split(',').map((s) => parseNumber(s, what));
  if (values.length === 0) throw new UserError(`${what}: no values`);
  return { path, values };
}

/** `metric<=value` (also <, >=, >, ==) → SweepAssertion. */
export function parseAssertion(text: string): SweepAssertion {
  const m = /^\s*([A-Za-z0-9_.-]+)\s*(<=|>=|==|<|>)\s*(.+?)\s*$/.exec(text);
  if (!m) throw new UserError(`--assert: expected metric<=value (or <, >=, >, ==), got ${JSON.stringify(text)}; metrics: ${Object.keys(METRIC_ALIASES).join(', ')} or a summary.json path`);
  const value = m[3] === 'true' ? 1 : m[3] === 'false' ? 0 : parseNumber(m[3]!, `--assert ${m[1]}`);
  return { text: text.trim(), metric: METRIC_ALIASES[m[1]!] ?? m[1]!, op: m[2] as Op, value };
}

export function holds(op: Op, actual: number, bound: number): boolean {
  switch (op) {
    case '<=':
      return actual <= bound;
    case '<':
      return actual < bound;
    case '>=':
      return actual >= bound;
    case '>':
      return actual > bound;
    case '==':
      return actual === bound;
  }
}

export interface GridPoint {
  /** Stable id from the values, e.g. `generator.tps=100,generator.txSizeBytes=1500` → p-tps100-txSizeBytes1500 */
  id: string;
  values: Record<string, number>;
}

function shortKey(path: string): string {
  return path.split('.').pop()!.replace(/[^A-Za-z0-9]/g, '');
}

export function pointId(values: Record<string, number>): string {
  return 'p-' + Object.entries(values).map(([k, v]) => `${shortKey(k)}${String(v).replace(/[^0-9a-z.-]/gi, '_')}`).join('-');
}

/** The cartesian product, first vary slowest. */
export function gridPoints(varies: Vary[]): GridPoint[] {
  if (varies.length === 0) throw new UserError('sweep: give at least one --vary');
  const seen = new Set<string>();
  for (const v of varies) {
    if (seen.has(v.path)) throw new UserError(`--vary ${v.path}: given twice`);
    seen.add(v.path);
  }
  let combos: Record<string, number>[] = [{}];
  for (const v of varies) combos = combos.flatMap((c) => v.values.map((x) => ({ ...c, [v.path]: x })));
  return combos.map((values) => ({ id: pointId(values), values }));
}

/** `--set` flags of a point. */
export function pointSets(values: Record<string, number>): string[] {
  return Object.entries(values).map(([k, v]) => `${k}=${v}`);
}

// ----------------------------------------------------------------------------------- bisection

export interface BisectSpec {
  path: string;
  from: number;
  to: number;
  /** Resolution: stop when the passing and failing values are this close. */
  step: number;
}

export function bisectSpec(varies: Vary[]): BisectSpec {
  if (varies.length !== 1 || !varies[0]!.range) throw new UserError('--bisect: give exactly one --vary path=a..b[:step] (a range)');
  const v = varies[0]!;
  const { from, to } = v.range!;
  if (from === to) throw new UserError(`--vary ${v.path}: --bisect needs a range with two different ends`);
  return { path: v.path, from, to, step: v.range!.step ?? clean((to - from) / 16) };
}

/** Outcome of a finished bisection point: did it meet the assertions? */
export interface BisectTrial {
  value: number;
  ok: boolean;
}

export type BisectNext = { done: false; value: number } | { done: true; best: number | null; firstFailing: number | null };

/**
 * Next value to try, from the trials so far (order does not matter). First both ends: if the low
 * end fails there is no passing load (best null); if the high end passes, it is the best. Then
 * the midpoint of the highest passing and the lowest failing value above it, snapped to the step
 * grid from `from`, until they are one step apart.
 */
export function nextBisect(spec: BisectSpec, trials: readonly BisectTrial[]): BisectNext {
  const at = (v: number) => trials.find((t) => Math.abs(t.value - v) < 1e-9);
  const lo = at(spec.from);
  if (!lo) return { done: false, value: spec.from };
  if (!lo.ok) return { done: true, best: null, firstFailing: spec.from };
  const hi = at(spec.to);
  if (!hi) return { done: false, value: spec.to };
  if (hi.ok) return { done: true, best: spec.to, firstFailing: null };
  let pass = spec.from;
  for (const t of trials) if (t.ok && t.value > pass) pass = t.value;
  let fail = spec.to;
  for (const t of trials) if (!t.ok && t.value > pass && t.value < fail) fail = t.value;
  if (fail - pass <= spec.step + 1e-9) return { done: true, best: pass, firstFailing: fail };
  const steps = Math.round((fail - pass) / spec.step / 2);
  let mid = clean(pass + Math.max(1, steps) * spec.step);
  if (mid >= fail - 1e-9) mid = clean((pass + fail) / 2);
  if (at(mid)) return { done: true, best: pass, firstFailing: fail }; // cannot split further
  return { done: false, value: mid };
}

/** Upper bound on the number of runs a bisection takes (both ends + halvings). */
export function bisectMaxRuns(spec: BisectSpec): number {
  return 2 + Math.max(0, Math.ceil(Math.log2(Math.max(1, (spec.to - spec.from) / spec.step))));
}
