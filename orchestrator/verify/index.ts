// `leiosnet verify <run-dir>`: the CIP-164 rules checked from a run's traces (rules.ts), after
// one streaming pass over every node's trace (facts.ts). Also run at the end of every `run`, into
// summary.json `conformance` and the report.

import { loadContext, type VerifyContext } from './context.ts';
import { collectFacts } from './facts.ts';
import { RULES, type Rule, type Violation } from './rules.ts';

export { RULES, electionOf, type Rule, type RuleOutcome, type Violation } from './rules.ts';
export { RULE_IDS, type RuleId } from './rule-ids.ts';
export { loadContext, truncationCommittee, type VerifyContext, type VerifyParams } from './context.ts';
export { collectFacts, type Facts } from './facts.ts';

export type RuleStatus = 'pass' | 'fail' | 'not-checkable';

export interface RuleResult {
  id: string;
  title: string;
  cip: string;
  status: RuleStatus;
  checks: number;
  violations: number;
  unchecked: number;
  reason?: string;
  /** the first violations (all are counted) */
  examples: Violation[];
}

export interface VerifyReport {
  runDir: string;
  nodes: string[];
  adversaries: string[];
  params: VerifyContext['params'];
  /** lines read, malformed lines skipped, events the nodes dropped (TraceDropped) */
  trace: { lines: number; bad: number; dropped: number };
  rules: RuleResult[];
  checks: number;
  violations: number;
  notCheckable: string[];
  passed: boolean;
}

/** summary.json `conformance` */
export interface Conformance {
  checks: number;
  violations: number;
  byRule: Record<string, { status: RuleStatus; checks: number; violations: number; unchecked: number; reason?: string }>;
  notCheckable: string[];
  /** the first violations over all rules */
  examples: Violation[];
}

export interface VerifyOptions {
  /** only these rule ids */
  rules?: string[];
  /** violations kept per rule (all are counted); default 20 */
  maxExamples?: number;
}

export async function verifyRun(runDir: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const ctx = loadContext(runDir);
  const facts = await collectFacts(ctx);
  const rules: Rule[] = opts.rules ? RULES.filter((r) => opts.rules!.includes(r.id)) : RULES;
  const max = opts.maxExamples ?? 20;
  const results: RuleResult[] = rules.map((r) => {
    const o = r.check(ctx, facts);
    const status: RuleStatus = o.violations.length > 0 ? 'fail' : o.checks > 0 ? 'pass' : 'not-checkable';
    return { id: r.id, title: r.title, cip: r.cip, status, checks: o.checks, violations: o.violations.length, unchecked: o.unchecked, reason: o.reason, examples: o.violations.slice(0, max) };
  });
  const violations = results.reduce((a, r) => a + r.violations, 0);
  return {
    runDir,
    nodes: ctx.nodes,
    adversaries: [...ctx.adversaries],
    params: ctx.params,
    trace: { lines: facts.lines, bad: facts.bad, dropped: facts.dropped },
    rules: results,
    checks: results.reduce((a, r) => a + r.checks, 0),
    violations,
    notCheckable: results.filter((r) => r.status === 'not-checkable').map((r) => r.id),
    passed: violations === 0,
  };
}

export function toConformance(r: VerifyReport): Conformance {
  return {
    checks: r.checks,
    violations: r.violations,
    byRule: Object.fromEntries(
      r.rules.map((x) => [x.id, { status: x.status, checks: x.checks, violations: x.violations, unchecked: x.unchecked, ...(x.reason ? { reason: x.reason } : {}) }]),
    ),
    notCheckable: r.notCheckable,
    examples: r.rules.flatMap((x) => x.examples).slice(0, 20),
  };
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** The human table: one row per rule, then the violations, then what could not be checked. */
export function formatVerify(r: VerifyReport): string {
  const label: Record<RuleStatus, string> = { pass: 'PASS', fail: 'FAIL', 'not-checkable': 'N/A' };
  const rows = [['RULE', 'RESULT', 'CHECKS', 'VIOLATIONS', 'UNCHECKED'], ...r.rules.map((x) => [x.id, label[x.status], String(x.checks), String(x.violations), String(x.unchecked)])];
  const out = [`conformance of ${r.runDir}: ${r.nodes.length} node(s), ${r.trace.lines} trace lines${r.trace.bad ? ` (${r.trace.bad} malformed, skipped)` : ''}${r.trace.dropped ? `; ${r.trace.dropped} events dropped by the nodes' trace writers (TraceDropped): rules see less` : ''}${r.adversaries.length ? `; adversaries (not held to honest rules): ${r.adversaries.join(', ')}` : ''}`, '', table(rows)];
  const bad = r.rules.filter((x) => x.violations > 0);
  if (bad.length) {
    out.push('violations:');
    for (const x of bad) {
      for (const v of x.examples) out.push(`  ${x.id}: ${v.message}`);
      if (x.violations > x.examples.length) out.push(`  ${x.id}: … and ${x.violations - x.examples.length} more`);
    }
    out.push('');
  }
  const notes = r.rules.filter((x) => x.reason);
  if (notes.length) {
    out.push('notes:');
    for (const x of notes) out.push(`  ${x.id}: ${x.reason}`);
    out.push('');
  }
  out.push(`${r.passed ? 'PASSED' : 'FAILED'}: ${r.checks} checks, ${r.violations} violation(s)${r.notCheckable.length ? `, not checkable: ${r.notCheckable.join(', ')}` : ''}`);
  return out.join('\n') + '\n';
}
