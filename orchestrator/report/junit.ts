// `leiosnet run --junit FILE`: every assertion and functional check of a run as a JUnit testcase,
// for CI systems (Jenkins, GitLab, GitHub test reporters). One <testsuite> per run; a testcase
// per scenario assertion/check (in timeline order) and per end-of-run assertion. A failure says
// the last value seen and the deadline; checks carry their evidence in <system-out>. A run that
// broke (exit 3) adds an <error> testcase. Valid against the junit-10 rules in junit-schema.ts.

import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import type { Summary } from '../analysis/summary.ts';
import { readRunEvents } from '../scenario/recovery.ts';

export interface JunitCase {
  classname: string;
  name: string;
  timeS: number;
  status: 'passed' | 'failed' | 'skipped' | 'error';
  /** the last value seen */
  detail: string;
  deadlineS?: number;
  evidence?: unknown;
}

export interface JunitSuite {
  name: string;
  timestamp?: string;
  timeS: number;
  properties: Record<string, string>;
  cases: JunitCase[];
}

/** The testcases of a run, from events.jsonl (scenario) and summary.assertions (the rest). */
export function junitCases(events: readonly Record<string, unknown>[], summary: Pick<Summary, 'assertions'> | undefined, profile: string): JunitCase[] {
  const cls = (k: string) => `leiosnet.${profile.replace(/[^A-Za-z0-9_-]/g, '_')}.${k}`;
  const out: JunitCase[] = [];
  let scenarioCount = 0;
  for (const e of events) {
    if (e.type !== 'assertion' || typeof e.name !== 'string') continue;
    scenarioCount++;
    const isCheck = typeof e.check === 'string';
    const status = e.status === 'skipped' ? 'skipped' : e.passed === true ? 'passed' : 'failed';
    out.push({
      classname: cls(isCheck ? 'check' : 'scenario'),
      name: e.name,
      timeS: typeof e.elapsedS === 'number' ? e.elapsedS : 0,
      status,
      detail: String(e.detail ?? ''),
      ...(typeof e.deadlineS === 'number' ? { deadlineS: e.deadlineS } : {}),
      ...(e.evidence !== undefined ? { evidence: e.evidence } : {}),
    });
  }
  for (const a of summary?.assertions.slice(scenarioCount) ?? []) {
    out.push({ classname: cls('analysis'), name: a.name, timeS: 0, status: a.passed ? 'passed' : 'failed', detail: a.detail });
  }
  return out;
}

const INVALID_XML = /[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function xmlEscape(s: string): string {
  return s.replace(INVALID_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const attrs = (o: Record<string, string | number | undefined>) =>
  Object.entries(o)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');

const time = (s: number) => (Number.isFinite(s) && s >= 0 ? s.toFixed(3) : '0.000');

export function renderJunit(suite: JunitSuite): string {
  const count = (st: JunitCase['status']) => suite.cases.filter((c) => c.status === st).length;
  const [failures, errors, skipped] = [count('failed'), count('error'), count('skipped')];
  const lines = ['<?xml version="1.0" encoding="UTF-8"?>'];
  lines.push(`<testsuites${attrs({ name: 'leiosnet', tests: suite.cases.length, failures, errors, time: time(suite.timeS) })}>`);
  lines.push(
    `  <testsuite${attrs({ name: suite.name, tests: suite.cases.length, failures, errors, skipped, time: time(suite.timeS), timestamp: suite.timestamp, hostname: hostname(), package: 'leiosnet' })}>`,
  );
  const props = Object.entries(suite.properties);
  if (props.length) {
    lines.push('    <properties>');
    for (const [k, v] of props) lines.push(`      <property${attrs({ name: k, value: v })}/>`);
    lines.push('    </properties>');
  }
  for (const c of suite.cases) {
    const deadline = c.deadlineS !== undefined ? `deadline ${c.deadlineS} s` : 'no deadline (checked once)';
    const message = `last value seen: ${c.detail}; ${deadline}`;
    lines.push(`    <testcase${attrs({ name: c.name, classname: c.classname, time: time(c.timeS) })}>`);
    if (c.status === 'failed') lines.push(`      <failure${attrs({ type: 'AssertionFailed', message })}>${xmlEscape(message)}</failure>`);
    if (c.status === 'error') lines.push(`      <error${attrs({ type: 'RunError', message: c.detail })}>${xmlEscape(c.detail)}</error>`);
    if (c.status === 'skipped') lines.push(`      <skipped${attrs({ message: c.detail })}/>`);
    const out = [`last value seen: ${c.detail}`, deadline, ...(c.evidence !== undefined ? [`evidence: ${JSON.stringify(c.evidence)}`] : [])].join('\n');
    lines.push(`      <system-out>${xmlEscape(out)}</system-out>`);
    lines.push('    </testcase>');
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

export interface JunitRunInfo {
  runId: string;
  runDir: string;
  profile: string;
  runtime?: string;
  status: string;
  exitCode: number;
  error?: string;
  startedAt?: string;
  durationS?: number | null;
}

/** Build the run's JUnit document (events.jsonl + summary) and write it to `file`. */
export function writeJunit(file: string, info: JunitRunInfo, summary?: Summary): string {
  const cases = junitCases(readRunEvents(info.runDir), summary, info.profile);
  if (info.status === 'error' || (!summary && info.exitCode !== 0)) {
    cases.push({ classname: `leiosnet.${info.profile}.run`, name: 'run completes', timeS: 0, status: 'error', detail: info.error ?? `exit ${info.exitCode} (${info.status})` });
  }
  const xml = renderJunit({
    name: `leiosnet.${info.profile}`,
    timestamp: info.startedAt?.replace(/\.\d+Z$/, ''),
    timeS: info.durationS ?? summary?.run.durationS ?? 0,
    properties: {
      runId: info.runId,
      runDir: info.runDir,
      profile: info.profile,
      ...(info.runtime ? { runtime: info.runtime } : {}),
      status: info.status,
      exitCode: String(info.exitCode),
    },
    cases,
  });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, xml);
  return file;
}
