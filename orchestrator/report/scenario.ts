// The scenario part of a report, from events.jsonl: the step timeline (every step, mark,
// upgrade, fault, check and assertion, with its time), functional checks with their evidence,
// and the uniform per-node fault recovery table.

import type { RunEvent } from '../pipeline/events.ts';
import { faultTable, readRunEvents, type FaultRow } from '../scenario/recovery.ts';
import { table } from './markdown.ts';

export interface ScenarioReport {
  timeline: { t: number; step: number | null; what: string }[];
  checks: { step: number | null; check: string; status: string; detail: string; evidence: string }[];
  faults: FaultRow[];
}

export const readEvents = readRunEvents;

const s = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function describeStep(step: Record<string, unknown>): string {
  const [kind, body] = Object.entries(step)[0] ?? ['?', undefined];
  if (kind === 'mark') return `mark: ${s(body)}`;
  if (kind === 'check') return `check ${s((body as { name?: unknown })?.name)}`;
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const head = kind === 'assert' || kind === 'fault' ? `${kind} ${s(b.kind)}` : kind;
    const rest = Object.entries(b).filter(([k]) => k !== 'kind').map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : s(v)}`);
    return [head, ...rest].join(' ');
  }
  return `${kind} ${s(body)}`;
}

function line(e: RunEvent): { step: number | null; what: string } | undefined {
  const step = typeof e.index === 'number' ? e.index + 1 : typeof e.step === 'number' ? e.step : null;
  switch (e.type) {
    case 'phase':
      return { step: null, what: `phase ${s(e.phase)}` };
    case 'step':
      return { step, what: `step ${step}: ${describeStep((e.step ?? {}) as Record<string, unknown>)}` };
    case 'fault':
      return { step, what: `fault ${s(e.description)}` };
    case 'fault-undone':
      return { step, what: `undone: ${s(e.fault)}` };
    case 'fault-undo-failed':
      return { step, what: `undo failed: ${s(e.fault)}: ${s(e.error)}` };
    case 'recovered':
      return { step, what: e.recoveryS === null ? `${s(e.node ?? 'network')} not recovered after ${s(e.fault)} (${s(e.detail ?? '')})` : `${s(e.node ?? 'network')} recovered in ${s(e.recoveryS)} s after ${s(e.fault)}` };
    case 'upgrade':
      return { step, what: `upgrade ${s(e.node)} → ${s(e.release)} ${s(e.phase)}` };
    case 'governance':
      return { step, what: `governance ${s(e.action)} by ${s(e.node)}${e.proposalId ? ` (${s(e.proposalId).slice(0, 12)})` : ''}` };
    case 'assertion':
      return { step, what: `${e.status === 'skipped' ? 'SKIP' : e.passed ? 'PASS' : 'FAIL'} ${s(e.name)}: ${s(e.detail)}` };
    case 'generator':
      return { step, what: `generator ${Object.entries(e).filter(([k]) => !['t', 'type', 'index'].includes(k)).map(([k, v]) => `${k}=${s(v)}`).join(' ')}` };
    case 'adversary':
      return { step, what: `adversary ${s(e.behaviour)} ${e.enabled === false ? 'off' : 'on'} at ${s(e.node)}` };
    case 'error':
      return { step, what: `error${e.phase ? ` (${s(e.phase)})` : ''}: ${s(e.message)}` };
    case 'signal':
      return { step, what: `signal ${s(e.signal)}` };
    default:
      return undefined;
  }
}

export function scenarioReport(events: readonly RunEvent[]): ScenarioReport {
  const runEv = events.find((e) => e.type === 'run');
  const t0 = Date.parse((runEv ?? events[0])?.t ?? '') || 0;
  const rel = (t: string) => Math.round((Date.parse(t) - t0) / 100) / 10;
  const timeline: ScenarioReport['timeline'] = [];
  const checks: ScenarioReport['checks'] = [];
  for (const e of events) {
    const l = line(e);
    if (l) timeline.push({ t: rel(e.t), ...l });
    if (e.type === 'assertion' && typeof e.check === 'string') {
      const ev = e.evidence === undefined ? '' : JSON.stringify(e.evidence);
      checks.push({
        step: typeof e.step === 'number' ? e.step : null,
        check: e.check,
        status: e.status === 'skipped' ? 'SKIP' : e.passed ? 'PASS' : 'FAIL',
        detail: String(e.detail ?? ''),
        evidence: ev.length > 600 ? ev.slice(0, 600) + '…' : ev,
      });
    }
  }
  return { timeline, checks, faults: faultTable(events, t0 || undefined) };
}

/** Markdown sections: Functional checks, Fault recovery, Scenario timeline (empty parts left out). */
export function renderScenarioMarkdown(r: ScenarioReport): string[] {
  const out: string[] = [];
  if (r.checks.length) {
    out.push('', '## Functional checks', '');
    out.push(table(['step', 'check', 'result', 'detail'], r.checks.map((c) => [c.step, c.check, c.status, c.detail])));
    out.push('', 'Evidence (events.jsonl has it whole):', '');
    out.push(table(['step', 'check', 'evidence'], r.checks.map((c) => [c.step, c.check, c.evidence ? '`' + c.evidence.replace(/`/g, "'") + '`' : '–'])));
  }
  if (r.faults.length) {
    out.push('', '## Fault recovery', '');
    out.push(
      'Per node: time from the fault being undone (a restart or an upgrade: from its start) until the node adopted a block forged after that, on top of the chain it missed.',
      '',
    );
    out.push(
      table(
        ['step', 'fault', 'node', 'at s', 'undone at s', 'blocks missed', 'recovery s', 'status'],
        r.faults.map((f) => [f.step, f.fault, f.node ?? '–', f.atS, f.undoneAtS, f.missedBlocks, f.recoveryS, f.detail ? `${f.status} (${f.detail})` : f.status]),
      ),
    );
  }
  if (r.timeline.length) {
    out.push('', '## Timeline', '');
    out.push(table(['t (s)', 'step', 'event'], r.timeline.map((x) => [x.t, x.step, x.what])));
  }
  return out;
}
