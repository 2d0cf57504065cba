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
import { forEachLine, peekString, peekType, runNodes } from './traces.ts';
import { direction } from '../report/compare.ts';

export interface HonestReaction {
  /** VoteRejected traces: votes from peers that failed verification */
  votesRefused: number;
  /** EBRejected traces: EBs refused as invalid */
  ebsRefused: number;
  /** CertificateRejected traces: RBs whose certificate failed verification */
  certificatesRefused: number;
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
  /** EB twins (eb-equivocation's unannounced EBs, Adversary traces' `twin`) certified on a chain an honest node adopted: must be 0 */
  ebTwinsCertified: number;
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

const TYPES = new Set(['Adversary', 'VoteRejected', 'EBRejected', 'CertificateRejected', 'RBHeaderEquivocation', 'EBGenerated', 'CertIncluded']);

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
  const s: AdversarySummary = { nodes: [...adversaries].sort(), actions: {}, honest: {}, ebs: {}, equivocators: [], ebTwinsCertified: 0 };
  const twins = new Set<string>();
  const ebProducer = new Map<string, string>();
  const certifiedHonest = new Set<string>();
  const equivocators = new Set<string>();
  for (const node of runNodes(runDir)) {
    const honest = !adversaries.has(node);
    const h: HonestReaction = { votesRefused: 0, ebsRefused: 0, certificatesRefused: 0, equivocationsDetected: 0 };
    if (honest) s.honest[node] = h;
    else s.actions[node] = {};
    await forEachLine(join(runDir, 'nodes', node, 'trace.jsonl'), (line) => {
      const type = peekType(line);
      if (!type || !TYPES.has(type)) return;
      switch (type) {
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
          if (action === 'enabled' || action === 'disabled') return;
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
      }
    });
  }
  for (const eb of certifiedHonest) {
    const p = ebProducer.get(eb);
    if (p) s.ebs[p]!.certified++;
    if (twins.has(eb)) s.ebTwinsCertified++;
  }
  s.equivocators = [...equivocators].sort();
  if (typeof baseline === 'string' && summary) s.degradation = degradationAgainst(baseline, summary, extra);
  return s;
}
