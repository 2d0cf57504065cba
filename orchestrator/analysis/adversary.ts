// What the adversaries of a run did and what honest nodes did about it (summary.adversary),
// for the attack profiles' assertions (assertions.ts: adversary-acted, refused,
// equivocation-detected, not-certified). Read from the traces: each adversary's own
// `Adversary` events (what it did), honest nodes' refusals (VoteRejected, EBRejected,
// CertificateRejected) and RBHeaderEquivocation evidence, EBGenerated/CertIncluded per producer.
//
// A node is adversarial if the plan turns a behaviour on for it (node.adversaries, a scenario
// `adversary` step) or `leiosnet attack` did (an `adversary` event in events.jsonl): the
// verifier (orchestrator/verify/context.ts) uses the same set.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forEachLine, peekNumber, peekString, peekTime, peekType, runNodes } from './traces.ts';
import { direction } from '../report/compare.ts';

export interface HonestReaction {
  /** VoteRejected traces: votes from peers that failed verification */
  votesRefused: number;
  /** EBRejected traces: EBs refused as invalid */
  ebsRefused: number;
  /** CertificateRejected traces: RBs whose certificate failed verification */
  certificatesRefused: number;
  /** BlockRejected traces: fetched RB bodies that did not match their header or did not decode */
  blocksRefused: number;
  /** RBHeaderEquivocation traces naming an adversarial producer */
  equivocationsDetected: number;
}

export interface AdversarySummary {
  /** nodes adversarial at some point of the run (plan, scenario steps, `leiosnet attack`) */
  nodes: string[];
  /** per adversarial node, its Adversary trace actions `behaviour/action` → count (enabled/disabled left out) */
  actions: Record<string, Record<string, number>>;
  /** per honest node */
  honest: Record<string, HonestReaction>;
  /** EBs by producer: forged (EBGenerated) and certified on a chain an honest node adopted (its CertIncluded) */
  ebs: Record<string, { forged: number; certified: number }>;
  /** producers named in honest nodes' RBHeaderEquivocation traces (an honest one here is a bug) */
  equivocators: string[];
  /** RBs each adversarial node forged (RBGenerated) and how many of them an honest node adopted (RBAdopted) */
  rbs: Record<string, { forged: number; adoptedByHonest: number }>;
  /** EB twins (eb-equivocation's unannounced EBs, Adversary traces' `twin`) certified on a chain an honest node adopted: must be 0 */
  ebTwinsCertified: number;
  /**
   * Eclipse victims (eclipse's `eclipsing` traces): the window (trace time, s; `toS` null if it never
   * ended), how many blocks behind the best honest node the victim was when it ended, and how long
   * after it the victim had adopted that many blocks (null: never).
   */
  eclipsed?: Record<string, { fromS: number; toS: number | null; lagBlocks: number | null; caughtUpS: number | null }>;
  /**
   * mempool-partitioning's pairs (`partitioned` traces: a tx and its conflicting twin, sent to
   * different peers) by which side honest nodes included (TxIncluded): both must be 0 (one ledger).
   */
  partition?: { pairs: number; txIncluded: number; twinIncluded: number; both: number; neither: number };
  /** this run against the attack-free run named by analysis.baseline (absent without one) */
  degradation?: Degradation;
}

/** One figure of an attack run beside the same figure of its attack-free baseline. */
export interface DegradationRow {
  /** summary.json path, e.g. leios.certRate */
  metric: string;
  baseline: number | null;
  attack: number | null;
  /** attack − baseline */
  delta: number | null;
  /** 100 · delta / baseline */
  deltaPct: number | null;
  better: 'higher' | 'lower';
  /** changed the wrong way */
  worse: boolean;
}

export interface Degradation {
  /** the baseline run's id and where its summary.json was read */
  baseline: { runId: string | null; profile: string | null; path: string };
  rows: DegradationRow[];
  /** why there are no rows (the baseline's summary.json is missing or unreadable) */
  error?: string;
}

/** The figures an attack degrades (issue #10: certification rate, throughput, RB diffusion p95), with the better direction. */
export const DEGRADATION_METRICS: readonly (readonly [string, 'higher' | 'lower'])[] = [
  ['leios.certRate', 'higher'],
  ['leios.ebsCertified', 'higher'],
  ['leios.certsIncluded', 'higher'],
  ['throughput.txkbPerS', 'higher'],
  ['throughput.tps', 'higher'],
  ['diffusion.rb.p95Ms', 'lower'],
  ['diffusion.eb.p95Ms', 'lower'],
  ['latency.inclusionP50S', 'lower'],
  ['chain.blocks', 'higher'],
];

function numberAt(o: unknown, path: string): number | null {
  let v: unknown = o;
  for (const k of path.split('.')) v = obj(v)?.[k];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** An attack run's summary against its baseline's (both summary.json shapes; pure). `extra`: more paths (metric assertions' maxWorsePct). */
export function degradationRows(baseline: unknown, attack: unknown, extra: readonly string[] = []): DegradationRow[] {
  const metrics = [...DEGRADATION_METRICS, ...extra.filter((m) => !DEGRADATION_METRICS.some(([d]) => d === m)).map((m) => [m, direction(m) === 'lower' ? 'lower' : 'higher'] as const)];
  return metrics.map(([metric, better]) => {
    const b = numberAt(baseline, metric);
    const a = numberAt(attack, metric);
    const delta = a !== null && b !== null ? Math.round((a - b) * 1e4) / 1e4 : null;
    const deltaPct = delta !== null && b ? Math.round((delta / Math.abs(b)) * 1000) / 10 : null;
    return { metric, baseline: b, attack: a, delta, deltaPct, better, worse: delta !== null && (better === 'higher' ? delta < 0 : delta > 0) };
  });
}

/** summary.adversary.degradation: `baseline` is a run dir or its summary.json (analysis.baseline). */
export function degradationAgainst(baseline: string, attack: unknown, extra: readonly string[] = []): Degradation {
  const file = baseline.endsWith('.json') ? baseline : join(baseline, 'summary.json');
  const b = readJson(file);
  const run = obj(obj(b)?.run);
  const ref = { runId: typeof run?.id === 'string' ? run.id : null, profile: typeof run?.profile === 'string' ? run.profile : null, path: file };
  if (!obj(b)) return { baseline: ref, rows: [], error: existsSync(file) ? `${file} is not a summary.json` : `no ${file} (run the baseline profile first, e.g. leiosnet run profiles/attacks/baseline.yaml --out <dir>)` };
  return { baseline: ref, rows: degradationRows(b, attack, extra) };
}

const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

function readJson(file: string): unknown {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Nodes a behaviour was turned on for through `leiosnet attack` or a scenario step (events.jsonl `adversary` events). */
export function attackedNodes(runDir: string): Set<string> {
  const out = new Set<string>();
  const file = join(runDir, 'events.jsonl');
  if (!existsSync(file)) return out;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.includes('"adversary"')) continue;
    let e: Record<string, unknown> | undefined;
    try {
      e = obj(JSON.parse(line));
    } catch {
      continue;
    }
    if (e?.type === 'adversary' && typeof e.node === 'string' && e.enabled !== false) out.add(e.node);
  }
  return out;
}

/** Adversarial nodes of a run: the plan's (node configs, node.adversaries, scenario steps) and events.jsonl's. */
export function adversarialNodes(runDir: string, plan?: unknown): Set<string> {
  const p = obj(plan ?? readJson(join(runDir, 'profile.resolved.json')));
  const out = attackedNodes(runDir);
  for (const n of Array.isArray(p?.nodes) ? p.nodes : []) {
    const o = obj(n);
    if (o && typeof o.name === 'string' && obj(o.adversary) && Object.keys(obj(o.adversary)!).length > 0) out.add(o.name);
  }
  for (const [name, b] of Object.entries(obj(obj(p?.node)?.adversaries) ?? {})) if (obj(b) && Object.keys(obj(b)!).length > 0) out.add(name);
  for (const s of Array.isArray(obj(p?.scenario)?.steps) ? (obj(p!.scenario)!.steps as unknown[]) : []) {
    const adv = obj(obj(s)?.adversary);
    if (adv && typeof adv.node === 'string' && adv.enabled !== false) out.add(adv.node);
  }
  return out;
}

const TYPES = new Set(['Adversary', 'VoteRejected', 'EBRejected', 'CertificateRejected', 'RBHeaderEquivocation', 'EBGenerated', 'CertIncluded', 'RBAdopted', 'TxIncluded', 'BlockRejected', 'RBGenerated']);

/** Highest blockNo a node had adopted by time t (adoptions in time order). */
function heightAt(a: [number, number][] | undefined, t: number): number {
  let h = 0;
  for (const [at, b] of a ?? []) if (at <= t && b > h) h = b;
  return h;
}

function eclipseFigures(
  windows: Map<string, { from: number; to: number | null }>,
  adopted: Map<string, [number, number][]>,
  honest: Set<string>,
): NonNullable<AdversarySummary['eclipsed']> {
  const out: NonNullable<AdversarySummary['eclipsed']> = {};
  for (const [victim, w] of [...windows].sort(([a], [b]) => a.localeCompare(b))) {
    const r = (x: number) => Math.round(x * 100) / 100;
    if (w.to === null) {
      out[victim] = { fromS: r(w.from), toS: null, lagBlocks: null, caughtUpS: null };
      continue;
    }
    const others = [...honest].filter((n) => n !== victim);
    const best = Math.max(0, ...others.map((n) => heightAt(adopted.get(n), w.to!)));
    const mine = heightAt(adopted.get(victim), w.to);
    const caught = (adopted.get(victim) ?? []).find(([at, b]) => at >= w.to! && b >= best);
    out[victim] = { fromS: r(w.from), toS: r(w.to), lagBlocks: best - mine, caughtUpS: mine >= best ? 0 : caught ? r(caught[0] - w.to) : null };
  }
  return out;
}

/**
 * summary.adversary; undefined for a run without adversaries. `summary`: this run's figures so
 * far, compared with the run analysis.baseline names (plan or profile.resolved.json).
 */
export async function analyseAdversaries(runDir: string, plan?: unknown, summary?: unknown): Promise<AdversarySummary | undefined> {
  const adversaries = adversarialNodes(runDir, plan);
  if (adversaries.size === 0) return undefined;
  const analysis = obj(obj(plan ?? readJson(join(runDir, 'profile.resolved.json')))?.analysis);
  const baseline = analysis?.baseline;
  const extra = (Array.isArray(analysis?.assertions) ? analysis.assertions : [])
    .map((x) => obj(x))
    .filter((x) => x?.kind === 'metric' && x.maxWorsePct !== undefined && typeof x.path === 'string')
    .map((x) => x!.path as string);
  const s: AdversarySummary = { nodes: [...adversaries].sort(), actions: {}, honest: {}, ebs: {}, equivocators: [], ebTwinsCertified: 0, rbs: {} };
  const advRbs = new Map<string, string>();
  const adoptedHonest = new Set<string>();
  const twins = new Set<string>();
  /** per node: (time, blockNo) of each adoption, in trace order */
  const adopted = new Map<string, [number, number][]>();
  /** victim → eclipse window (earliest start, latest end over its eclipsing nodes) */
  const windows = new Map<string, { from: number; to: number | null }>();
  const eclipseOn = new Map<string, { at: number; victims: string[] }>();
  const pairs: [string, string][] = [];
  const includedHonest = new Set<string>();
  const ebProducer = new Map<string, string>();
  const certifiedHonest = new Set<string>();
  const equivocators = new Set<string>();
  for (const node of runNodes(runDir)) {
    const honest = !adversaries.has(node);
    const h: HonestReaction = { votesRefused: 0, ebsRefused: 0, certificatesRefused: 0, blocksRefused: 0, equivocationsDetected: 0 };
    if (honest) s.honest[node] = h;
    else s.actions[node] = {};
    await forEachLine(join(runDir, 'nodes', node, 'trace.jsonl'), (line) => {
      const type = peekType(line);
      if (!type || !TYPES.has(type)) return;
      switch (type) {
        case 'RBGenerated': {
          const id = peekString(line, '"id":"');
          if (!honest && id) {
            advRbs.set(id, node);
            (s.rbs[node] ??= { forged: 0, adoptedByHonest: 0 }).forged++;
          }
          return;
        }
        case 'RBAdopted': {
          if (honest) {
            const id = peekString(line, '"id":"');
            if (id) adoptedHonest.add(id);
          }
          const t = peekTime(line);
          const b = peekNumber(line, '"blockNo":');
          if (t !== undefined && b !== undefined) {
            let a = adopted.get(node);
            if (!a) adopted.set(node, (a = []));
            a.push([t, b]);
          }
          return;
        }
        case 'TxIncluded': {
          if (!honest || !line.includes('"ids":[')) return;
          try {
            const ids = obj(obj(JSON.parse(line))?.message)?.ids;
            if (Array.isArray(ids)) for (const id of ids) if (typeof id === 'string') includedHonest.add(id);
          } catch {
            /* a torn line */
          }
          return;
        }
        case 'EBGenerated': {
          const id = peekString(line, '"id":"');
          const producer = peekString(line, '"producer":"') ?? node;
          if (id && !ebProducer.has(id)) {
            ebProducer.set(id, producer);
            (s.ebs[producer] ??= { forged: 0, certified: 0 }).forged++;
          }
          return;
        }
        case 'CertIncluded': {
          const eb = peekString(line, '"eb":"');
          if (honest && eb) certifiedHonest.add(eb);
          return;
        }
        case 'Adversary': {
          if (honest) return;
          let m: Record<string, unknown> | undefined;
          try {
            m = obj(obj(JSON.parse(line))?.message);
          } catch {
            return;
          }
          const action = String(m?.action ?? '');
          const t = peekTime(line) ?? 0;
          const d = obj(m?.detail);
          if (m?.behaviour === 'eclipse') {
            const on = eclipseOn.get(node);
            if (action === 'eclipsing' && Array.isArray(d?.victims)) {
              const victims = d.victims.filter((v): v is string => typeof v === 'string');
              eclipseOn.set(node, { at: t, victims });
              for (const v of victims) {
                const w = windows.get(v);
                windows.set(v, { from: Math.min(w?.from ?? t, t), to: w?.to ?? null });
              }
            } else if (action === 'disabled' && on) {
              // turned off: the window of these victims ends here
              for (const v of on.victims) {
                const w = windows.get(v)!;
                w.to = Math.max(w.to ?? t, t);
              }
              eclipseOn.delete(node);
            }
          }
          if (action === 'enabled' || action === 'disabled') return;
          if (action === 'partitioned' && typeof d?.tx === 'string' && typeof d.twin === 'string') pairs.push([d.tx, d.twin]);
          const twin = obj(m?.detail)?.twin;
          if (typeof twin === 'string') twins.add(twin);
          const key = `${String(m?.behaviour ?? '?')}/${action}`;
          s.actions[node]![key] = (s.actions[node]![key] ?? 0) + 1;
          return;
        }
        case 'RBHeaderEquivocation': {
          if (!honest) return;
          const producer = peekString(line, '"producer":"');
          if (producer) equivocators.add(producer);
          if (producer && adversaries.has(producer)) h.equivocationsDetected++;
          return;
        }
        case 'VoteRejected':
          if (honest) h.votesRefused++;
          return;
        case 'EBRejected':
          if (honest) h.ebsRefused++;
          return;
        case 'CertificateRejected':
          if (honest) h.certificatesRefused++;
          return;
        case 'BlockRejected':
          if (honest) h.blocksRefused++;
          return;
      }
    });
  }
  for (const eb of certifiedHonest) {
    const p = ebProducer.get(eb);
    if (p) s.ebs[p]!.certified++;
    if (twins.has(eb)) s.ebTwinsCertified++;
  }
  s.equivocators = [...equivocators].sort();
  for (const [id, node] of advRbs) if (adoptedHonest.has(id)) s.rbs[node]!.adoptedByHonest++;
  if (windows.size) s.eclipsed = eclipseFigures(windows, adopted, new Set(Object.keys(s.honest)));
  if (pairs.length) {
    const p = { pairs: pairs.length, txIncluded: 0, twinIncluded: 0, both: 0, neither: 0 };
    for (const [a, b] of pairs) {
      const ia = includedHonest.has(a);
      const ib = includedHonest.has(b);
      if (ia && ib) p.both++;
      else if (ia) p.txIncluded++;
      else if (ib) p.twinIncluded++;
      else p.neither++;
    }
    s.partition = p;
  }
  if (typeof baseline === 'string' && summary) s.degradation = degradationAgainst(baseline, summary, extra);
  return s;
}
