// Assertions of a profile (orchestrator/profile/schema.ts `Assertion`): evaluated at the end of a
// run over summary.json and each node's final state, and during a run by the scenario engine
// over a live view (polled until `withinS`). Each result names the last value seen.

import type { Assertion } from '../profile/schema.ts';
import type { AssertionResult, Summary } from './summary.ts';

/** What is known of one node at a point in time. */
export interface NodeState {
  blockNo?: number;
  slot?: number;
  hash?: string;
  protocolVersion?: number;
  stoppedFollowing?: boolean;
  running?: boolean;
}

export interface AssertionView {
  summary: Summary;
  nodes: Record<string, NodeState>;
}

export interface Evaluation {
  passed: boolean;
  /** the value seen, e.g. "pool-1 #12 3fa2…, pool-2 #12 3fa2…" */
  detail: string;
}

const short = (h: string | undefined) => (h ? h.slice(0, 8) : '–');

/** A readable name: "min-blocks n=10", "tip-agreement nodes=pool-1,pool-2". */
export function assertionName(a: Assertion & { withinS?: number }): string {
  const params = Object.entries(a)
    .filter(([k]) => k !== 'kind' && k !== 'withinS')
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  const within = a.withinS !== undefined ? ` within ${a.withinS} s` : '';
  return [a.kind, ...params].join(' ') + within;
}

function selected(view: AssertionView, nodes: string[] | undefined): [string, NodeState][] {
  const all = Object.entries(view.nodes);
  if (nodes) return nodes.map((n) => [n, view.nodes[n] ?? {}]);
  return all.filter(([, s]) => s.running !== false);
}

function atLeast(label: string, v: number | null, min: number): Evaluation {
  return { passed: v !== null && v >= min, detail: `${label} ${v ?? 'unknown'} (want >= ${min})` };
}

function atMost(label: string, v: number | null, max: number): Evaluation {
  return { passed: v !== null && v <= max, detail: `${label} ${v ?? 'unknown'} (want <= ${max})` };
}

export function evaluateAssertion(a: Assertion, view: AssertionView): Evaluation {
  const s = view.summary;
  switch (a.kind) {
    case 'tip-agreement': {
      const nodes = selected(view, a.nodes);
      const apart = a.maxBlocksApart ?? 0;
      const tips = nodes.map(([n, st]) => `${n} #${st.blockNo ?? '–'} ${short(st.hash)}`).join(', ');
      if (nodes.length === 0) return { passed: false, detail: 'no nodes to compare' };
      if (nodes.some(([, st]) => st.hash === undefined && st.blockNo === undefined)) return { passed: false, detail: `tips: ${tips} (a node has no tip)` };
      let passed: boolean;
      if (apart === 0) passed = new Set(nodes.map(([, st]) => st.hash)).size === 1;
      else {
        const nos = nodes.map(([, st]) => st.blockNo ?? 0);
        passed = Math.max(...nos) - Math.min(...nos) <= apart;
      }
      return { passed, detail: `tips: ${tips}${apart ? ` (want within ${apart} blocks)` : ''}` };
    }
    case 'min-blocks': {
      const nos = Object.values(view.nodes).map((st) => st.blockNo).filter((x): x is number => x !== undefined);
      const best = Math.max(s.chain.blocks, ...nos);
      return atLeast('chain blocks', best, a.n);
    }
    case 'certified-ebs':
      return atLeast('certified EBs on chain', s.leios.certsIncluded, a.min);
    case 'max-fork-depth':
      return atMost('max fork depth', s.chain.maxForkDepth, a.n);
    case 'txkb-per-s':
      return atLeast('TxkB/s', s.throughput.txkbPerS, a.min);
    case 'tps':
      return atLeast('tx/s', s.throughput.tps, a.min);
    case 'inclusion-p95':
      return atMost('inclusion p95 s', s.latency.inclusionP95S, a.maxS);
    case 'rb-diffusion-p95':
      return atMost('RB diffusion p95 ms', s.diffusion.rb.p95Ms, a.maxMs);
    case 'protocol-version': {
      const nodes = selected(view, a.nodes);
      const seen = nodes.map(([n, st]) => `${n} ${st.protocolVersion ?? '–'}`).join(', ');
      return {
        passed: nodes.length > 0 && nodes.every(([, st]) => st.protocolVersion === a.version),
        detail: `protocol versions: ${seen} (want ${a.version})`,
      };
    }
    case 'stopped-following': {
      const nodes = selected(view, a.nodes);
      const seen = nodes.map(([n, st]) => `${n} ${st.stoppedFollowing ? 'stopped' : 'following'}`).join(', ');
      return { passed: nodes.every(([, st]) => st.stoppedFollowing === true), detail: seen };
    }
    case 'conformance': {
      const c = s.conformance;
      if (!c) return { passed: false, detail: 'conformance not verified (the trace verifier did not run)' };
      const rules = a.rules ?? Object.keys(c.byRule);
      const found = rules.map((r) => [r, c.byRule[r]?.violations ?? 0] as const);
      const total = found.reduce((acc, [, v]) => acc + v, 0);
      const max = a.maxViolations ?? 0;
      const failing = found.filter(([, v]) => v > 0).map(([r, v]) => `${r} ${v}`);
      const na = rules.filter((r) => c.byRule[r]?.status !== 'pass' && !(c.byRule[r]?.violations));
      return {
        passed: total <= max,
        detail: `${total} violation(s)${failing.length ? ` (${failing.join(', ')})` : ''} (want <= ${max})${na.length ? `; not checkable: ${na.join(', ')}` : ''}`,
      };
    }
    case 'adversary-acted': {
      const adv = s.adversary;
      if (!adv || adv.nodes.length === 0) return { passed: false, detail: 'no adversarial node in this run' };
      const nodes = a.nodes ?? adv.nodes;
      const min = a.min ?? 1;
      const counted = nodes.map((n) => {
        const acts = Object.entries(adv.actions[n] ?? {}).filter(([k]) => {
          const [b, act] = [k.slice(0, k.indexOf('/')), k.slice(k.indexOf('/') + 1)];
          return (a.behaviour === undefined || b === a.behaviour) && (a.action === undefined || act === a.action);
        });
        const total = acts.reduce((x, [, v]) => x + v, 0);
        return { n, total, what: acts.map(([k, v]) => `${k} ${v}`).join(', ') };
      });
      const seen = counted.map((c) => `${c.n} ${c.total}${c.what ? ` (${c.what})` : ''}`).join('; ');
      return { passed: counted.every((c) => c.total >= min && adv.nodes.includes(c.n)), detail: `actions: ${seen} (want >= ${min} each)` };
    }
    case 'refused': {
      const adv = s.adversary;
      if (!adv) return { passed: false, detail: 'no adversarial node in this run (nothing to refuse)' };
      const field = ({ votes: 'votesRefused', ebs: 'ebsRefused', certificates: 'certificatesRefused', blocks: 'blocksRefused' } as const)[a.what];
      const nodes = a.nodes ?? Object.keys(adv.honest);
      const min = a.min ?? 1;
      const per = nodes.map((n) => [n, adv.honest[n]?.[field] ?? 0] as const);
      const sum = per.reduce((x, [, v]) => x + v, 0);
      const passed = nodes.length > 0 && (a.each ? per.every(([, v]) => v >= min) : sum >= min);
      return { passed, detail: `${a.what} refused: ${per.map(([n, v]) => `${n} ${v}`).join(', ')} (want ${a.each ? `>= ${min} each` : `sum >= ${min}`})` };
    }
    case 'equivocation-detected': {
      const adv = s.adversary;
      if (!adv) return { passed: false, detail: 'no adversarial node in this run' };
      const nodes = a.nodes ?? Object.keys(adv.honest);
      const min = a.min ?? 1;
      const per = nodes.map((n) => [n, adv.honest[n]?.equivocationsDetected ?? 0] as const);
      const wrongly = adv.equivocators.filter((p) => !adv.nodes.includes(p));
      return {
        passed: nodes.length > 0 && per.every(([, v]) => v >= min) && wrongly.length === 0,
        detail: `equivocations detected: ${per.map(([n, v]) => `${n} ${v}`).join(', ')} (want >= ${min} each)${wrongly.length ? `; honest producers named: ${wrongly.join(', ')}` : ''}`,
      };
    }
    case 'metric':
      return evaluateMetric(a, s);
    case 'not-certified': {
      const ebs = s.adversary?.ebs ?? {};
      const per = a.producers.map((p) => [p, ebs[p]?.certified ?? 0, ebs[p]?.forged ?? 0] as const);
      return { passed: per.every(([, c]) => c === 0), detail: `certified EBs: ${per.map(([p, c, f]) => `${p} ${c} of ${f} forged`).join(', ')} (want 0)` };
    }
  }
}

/** The number at a dotted path of summary.json (null: absent or not a finite number). */
export function summaryNumber(s: unknown, path: string): number | null {
  let v: unknown = s;
  for (const k of path.split('.')) v = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function evaluateMetric(a: Extract<Assertion, { kind: 'metric' }>, s: Summary): Evaluation {
  const v = summaryNumber(s, a.path);
  if (v === null) return { passed: false, detail: `${a.path}: no number in summary.json` };
  const parts: string[] = [];
  let passed = true;
  if (a.min !== undefined) {
    passed &&= v >= a.min;
    parts.push(`>= ${a.min}`);
  }
  if (a.max !== undefined) {
    passed &&= v <= a.max;
    parts.push(`<= ${a.max}`);
  }
  let base = '';
  if (a.maxWorsePct !== undefined) {
    const row = s.adversary?.degradation?.rows.find((r) => r.metric === a.path);
    if (!row || row.baseline === null) {
      passed = false;
      base = `; no baseline figure (${s.adversary?.degradation?.error ?? 'needs analysis.baseline, the attack-free run'})`;
    } else {
      const worsePct = row.baseline === 0 ? (row.worse ? Infinity : 0) : (100 * Math.abs(v - row.baseline) * (row.worse ? 1 : 0)) / Math.abs(row.baseline);
      passed &&= worsePct <= a.maxWorsePct;
      base = `; baseline ${row.baseline}, ${Math.round(worsePct * 10) / 10} % worse (want <= ${a.maxWorsePct} %)`;
    }
  }
  return { passed, detail: `${a.path} ${v}${parts.length ? ` (want ${parts.join(' and ')})` : ''}${base}` };
}

export function evaluateAssertions(assertions: readonly Assertion[], view: AssertionView): AssertionResult[] {
  return assertions.map((a) => ({ name: assertionName(a), ...evaluateAssertion(a, view) }));
}
