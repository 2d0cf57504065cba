// Helpers of the upgrade-suite e2e tests (processes and Docker): run `leiosnet run upgrade-suite
// --junit` and check what the suite must show.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect } from 'vitest';
import { validateJunit } from '../../orchestrator/report/junit-schema.ts';

const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/leiosnet.js');
/** runs to `down` in afterAll, should a run die half-way (`run` tears down itself) */
export const started: string[] = [];

export function leiosnet(args: string[], e: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: e, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => res({ code, out, err }));
  });
}

export async function runUpgradeSuite(runtime: string, dir: string, env: NodeJS.ProcessEnv, extra: string[] = []) {
  const out = join(dir, runtime);
  const junit = join(dir, `${runtime}.junit.xml`);
  const r = await leiosnet(['run', 'upgrade-suite', '--runtime', runtime, '--out', out, '--junit', junit, '--json', ...extra], env);
  if (existsSync(join(out, 'meta.json'))) started.push(JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')).runId);
  const events = existsSync(join(out, 'events.jsonl'))
    ? readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>)
    : [];
  const failed = events.filter((e) => e.type === 'assertion' && !e.passed).map((e) => `${e.name}: ${e.detail}`);
  expect(r.code, `${failed.join('\n')}\n${r.err.slice(-3000)}`).toBe(0);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  const report = readFileSync(join(out, 'report.md'), 'utf8');
  const xml = readFileSync(junit, 'utf8');
  return { out, events, summary, report, xml };
}

export function expectUpgradeSuite({ events, summary, report, xml }: Awaited<ReturnType<typeof runUpgradeSuite>>) {
  expect(summary.passed).toBe(true);
  // the 8 steps, in order, in the report's timeline
  const marks = events.filter((e) => e.type === 'mark').map((e) => e.label);
  expect(marks).toEqual(['1 start on praos-1.0', '2 functional checks', '3 partial upgrade', '4 mid-upgrade checks', '5 cooperation', '6 upgrade the rest', '7 hard fork', '8 post-fork checks']);
  const timeline = report.slice(report.indexOf('## Timeline'));
  let at = 0;
  for (const m of marks) {
    const i = timeline.indexOf(`mark: ${m}`, at);
    expect(i, m).toBeGreaterThan(at);
    at = i;
  }
  for (const n of ['pool-1', 'pool-2', 'pool-3', 'pool-4']) expect(timeline).toContain(`upgrade ${n} → leios-2.0 done`);
  // functional checks passed with evidence
  const checks = events.filter((e) => e.type === 'assertion' && e.check);
  expect(new Set(checks.map((c) => c.check))).toEqual(new Set(['tips', 'peers', 'payment', 'multi-output', 'max-size', 'double-spend', 'bad-witness', 'fell-off']));
  for (const c of checks) expect(c.passed, `${c.name}: ${c.detail}`).toBe(true);
  const ds = checks.find((c) => c.check === 'double-spend')!;
  expect(ds.evidence.secondWhilePending.reply).toMatchObject({ accepted: false, reason: 'conflict' });
  expect(ds.evidence.secondAfterInclusion.reply).toMatchObject({ accepted: false, reason: 'missing-input' });
  const bw = checks.find((c) => c.check === 'bad-witness')!;
  expect(bw.evidence.flippedSignature.reply.reason).toBe('bad-witness');
  const ms = checks.find((c) => c.check === 'max-size')!;
  expect(ms.evidence).toMatchObject({ size: 3000, maxTxSize: 3000, oversize: { reply: { accepted: false, reason: 'too-large' } } });
  const fo = checks.find((c) => c.check === 'fell-off')!;
  expect(fo.evidence['pool-5']).toMatchObject({ release: 'praos-1.0', following: false, leios_following: 0 });
  expect(report).toContain('## Functional checks');
  // post-fork: EBs certified, throughput above Praos capacity, the old release off the chain
  expect(summary.leios.certsIncluded).toBeGreaterThanOrEqual(1);
  const tput = events.find((e) => e.type === 'assertion' && String(e.name).startsWith('throughput-above-praos'));
  expect(tput?.passed, tput?.detail).toBe(true);
  // every upgrade is a restart: each node's recovery (a block forged after it, on the common chain) measured
  const ups = (summary.faults as any[]).filter((f) => String(f.fault).startsWith('upgrade '));
  expect(ups.map((f) => f.node).sort()).toEqual(['pool-1', 'pool-2', 'pool-3', 'pool-4']);
  for (const f of ups) expect(f.status, JSON.stringify(f)).toBe('recovered');
  expect(report).toContain('## Fault recovery');
  // the JUnit file: valid, one testcase per assertion and check, nothing failed
  expect(validateJunit(xml)).toEqual([]);
  expect(xml).toMatch(/<testsuite name="leiosnet.upgrade-suite" tests="\d+" failures="0" errors="0"/);
  const testcases = xml.match(/<testcase /g)?.length ?? 0;
  expect(testcases).toBe(summary.assertions.length);
  expect(xml).toContain('classname="leiosnet.upgrade-suite.check"');
}

