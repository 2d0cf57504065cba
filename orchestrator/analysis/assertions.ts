// End-of-run assertions over summary.json: `chain.tipAgreement == true`,
// `diffusion.rb.p95Ms <= 3000`, or objects `{name?, metric, op, value}` / `{name?, expr}`.

import type { AssertionResult } from './summary.ts';

export type Op = '==' | '!=' | '<' | '<=' | '>' | '>=';
const OPS: Op[] = ['<=', '>=', '==', '!=', '<', '>'];

export interface AssertionObject {
  name?: string;
  metric?: string;
  path?: string;
  key?: string;
  op?: Op | string;
  value?: unknown;
  expr?: string;
}
export type AssertionSpec = string | AssertionObject;

export interface ParsedAssertion {
  name: string;
  path: string;
  op: Op;
  value: unknown;
}

function parseLiteral(s: string): unknown {
  const t = s.trim();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t === 'null') return null;
  if (/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(t)) return Number(t);
  return t.replace(/^["']|["']$/g, '');
}

export function parseExpr(expr: string): { path: string; op: Op; value: unknown } {
  for (const op of OPS) {
    const i = expr.indexOf(op);
    if (i > 0) {
      return { path: expr.slice(0, i).trim(), op, value: parseLiteral(expr.slice(i + op.length)) };
    }
  }
  throw new Error(`assertion ${JSON.stringify(expr)}: expected "<metric> <op> <value>" with op one of ${OPS.join(' ')}`);
}

export function parseAssertion(spec: AssertionSpec): ParsedAssertion {
  if (typeof spec === 'string') return { name: spec, ...parseExpr(spec) };
  if (spec.expr) return { name: spec.name ?? spec.expr, ...parseExpr(spec.expr) };
  const path = spec.metric ?? spec.path ?? spec.key;
  if (!path || !spec.op) throw new Error(`assertion ${JSON.stringify(spec)}: needs metric, op and value (or expr)`);
  if (!OPS.includes(spec.op as Op)) throw new Error(`assertion ${JSON.stringify(spec)}: op must be one of ${OPS.join(' ')}`);
  const op = spec.op as Op;
  return { name: spec.name ?? `${path} ${op} ${JSON.stringify(spec.value)}`, path, op, value: spec.value };
}

export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

export function compareValues(actual: unknown, op: Op, want: unknown): boolean {
  switch (op) {
    case '==':
      return actual === want;
    case '!=':
      return actual !== want;
    default: {
      if (typeof actual !== 'number' || typeof want !== 'number') return false;
      if (op === '<') return actual < want;
      if (op === '<=') return actual <= want;
      if (op === '>') return actual > want;
      return actual >= want;
    }
  }
}

export function evaluateAssertions(summary: unknown, specs: readonly AssertionSpec[]): AssertionResult[] {
  return specs.map((spec) => {
    let a: ParsedAssertion;
    try {
      a = parseAssertion(spec);
    } catch (e) {
      return { name: typeof spec === 'string' ? spec : (spec.name ?? JSON.stringify(spec)), passed: false, detail: (e as Error).message };
    }
    const actual = getPath(summary, a.path);
    if (actual === undefined) return { name: a.name, passed: false, detail: `${a.path} is not in summary.json` };
    const passed = compareValues(actual, a.op, a.value);
    return { name: a.name, passed, detail: `${a.path} = ${JSON.stringify(actual)} (want ${a.op} ${JSON.stringify(a.value)})` };
  });
}
