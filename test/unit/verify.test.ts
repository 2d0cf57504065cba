import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { afterAll, describe, expect, it } from 'vitest';
import { analyseRun } from '../../orchestrator/analysis/analyse.ts';
import { evaluateAssertion } from '../../orchestrator/analysis/assertions.ts';
import { runCli, type CliIO } from '../../orchestrator/cli/program.ts';
import { AssertionSchema } from '../../orchestrator/profile/schema.ts';
import { renderMarkdown } from '../../orchestrator/report/markdown.ts';
import { attachConformance } from '../../orchestrator/verify/attach.ts';
import { RULES, RULE_IDS, formatVerify, toConformance, truncationCommittee, verifyRun } from '../../orchestrator/verify/index.ts';

const FIX = join(import.meta.dirname, '../fixtures/traces/verify');
const SMALL = join(import.meta.dirname, '../fixtures/traces/small');
const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-verify-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function copy(name: string): string {
  const dir = join(tmp, `${name}-${Math.random().toString(36).slice(2, 8)}`);
  cpSync(join(FIX, name), dir, { recursive: true });
  return dir;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (s) => void (out += s), err: (s) => void (err += s), cwd: tmp, tty: false };
  const code = await runCli(args, io);
  return { code, out, err };
}

describe('leiosnet verify: rules table', () => {
  it('has one rule per id, in order', () => {
    expect(RULES.map((r) => r.id)).toEqual([...RULE_IDS]);
  });

  it('truncation committee: top pools until σ_c of the stake', () => {
    const stake = new Map([['a', 50], ['b', 30], ['c', 15], ['d', 5], ['z', 0]]);
    expect([...truncationCommittee(stake, 0.8)].sort()).toEqual(['a', 'b']);
    expect([...truncationCommittee(stake, 0.9)].sort()).toEqual(['a', 'b', 'c']);
    expect([...truncationCommittee(stake, 0.99)].sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('leiosnet verify: fixtures', () => {
  it('passes the clean run: every rule checked, none violated', async () => {
    const r = await verifyRun(join(FIX, 'pass'));
    expect(r.violations).toBe(0);
    expect(r.passed).toBe(true);
    expect(r.notCheckable).toEqual([]);
    for (const x of r.rules) expect(x.status, x.id).toBe('pass');
    const byId = Object.fromEntries(r.rules.map((x) => [x.id, x]));
    expect(byId['vote-window']!.checks).toBe(7); // 4 votes for ebA + 3 for ebB
    expect(byId['certificate-quorum']!.checks).toBe(1);
    expect(byId['common-prefix']!.checks).toBe(4);
    expect(byId['rollback-depth']!.checks).toBe(4);
  });

  const negatives: [string, string, number][] = [
    ['neg-vote-window', 'vote-window', 2],
    ['neg-one-vote-per-election', 'one-vote-per-election', 1],
    ['neg-certificate-quorum', 'certificate-quorum', 1],
    ['neg-certificate-quorum-exact', 'certificate-quorum', 1],
    ['neg-certrb-timing', 'certrb-timing', 1],
    ['neg-certrb-parent-eb', 'certrb-parent-eb', 1],
    ['neg-certrb-no-txs', 'certrb-no-txs', 1],
    ['neg-no-double-inclusion', 'no-double-inclusion', 1],
    ['neg-rollback-depth', 'rollback-depth', 1],
    ['neg-common-prefix', 'common-prefix', 1],
    ['neg-no-double-production', 'no-double-production', 1],
  ];
  it('every rule has a negative fixture', () => {
    expect(new Set(negatives.map(([, rule]) => rule))).toEqual(new Set(RULE_IDS));
  });
  for (const [fixture, rule, n] of negatives) {
    it(`${fixture}: finds the seeded ${rule} violation and nothing else`, async () => {
      const r = await verifyRun(join(FIX, fixture));
      const byId = Object.fromEntries(r.rules.map((x) => [x.id, x]));
      expect(byId[rule]!.status).toBe('fail');
      expect(byId[rule]!.violations).toBe(n);
      expect(r.violations).toBe(n);
      expect(r.passed).toBe(false);
      expect(byId[rule]!.examples.every((v) => v.rule === rule)).toBe(true);
    });
  }

  it('names the boundary a vote missed', async () => {
    const r = await verifyRun(join(FIX, 'neg-vote-window'));
    const msgs = r.rules.find((x) => x.id === 'vote-window')!.examples.map((v) => v.message);
    expect(msgs.some((m) => m.includes('p3') && m.includes('slot 4') && m.includes('before the equivocation-detection period ends (slot 5)'))).toBe(true);
    expect(msgs.some((m) => m.includes('p4') && m.includes('slot 10') && m.includes('after the voting period (last slot 9)'))).toBe(true);
  });

  it('vote window boundaries: 3·L_hdr − ε refused, 3·L_hdr and 3·L_hdr + L_vote accepted (clock slack 50 ms)', async () => {
    const at = async (voteTimes: Record<string, number>) => {
      const dir = copy('pass');
      for (const [n, t] of Object.entries(voteTimes)) {
        const file = join(dir, 'nodes', n, 'trace.jsonl');
        const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { time_s: number; message: Record<string, unknown> });
        for (const l of lines) if (l.message.type === 'VTBundleGenerated' && l.message.slot === 2) l.time_s = t;
        writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      }
      return (await verifyRun(dir)).rules.find((x) => x.id === 'vote-window')!.violations;
    };
    // announcing RB at slot 2, 1 s slots: window = slots 5..9 = [5.0 s, 10.0 s)
    expect(await at({ p1: 5.0, p2: 9.999, p3: 4.97, p4: 10.04 })).toBe(0);
    expect(await at({ p1: 4.9 })).toBe(1);
    expect(await at({ p1: 10.1 })).toBe(1);
  });

  it('quorum without the certificate\'s voters in the trace is an upper bound, and says so', async () => {
    const r = await verifyRun(join(FIX, 'neg-certificate-quorum'));
    const q = r.rules.find((x) => x.id === 'certificate-quorum')!;
    expect(q.examples[0]!.message).toContain('at most 50.0 % of the total active stake');
    expect(q.reason).toContain('CertIncluded.voters');
    const exact = (await verifyRun(join(FIX, 'neg-certificate-quorum-exact'))).rules.find((x) => x.id === 'certificate-quorum')!;
    expect(exact.examples[0]!.message).toContain('with 50.0 % of the total active stake');
  });

  it('recorded quickstart run: every rule checkable, 0 violations; seeded faults in a copy are found', async () => {
    const clean = await verifyRun(join(FIX, 'recorded-quickstart'));
    expect(clean.notCheckable).toEqual([]);
    expect(clean.violations).toBe(0);
    const byId = Object.fromEntries(clean.rules.map((x) => [x.id, x]));
    expect(byId['vote-window']!.checks).toBe(36);
    expect(byId['certificate-quorum']!.checks).toBe(2);
    expect(byId['certificate-quorum']!.reason).toBeUndefined(); // exact: CertIncluded names the voters

    const dir = copy('recorded-quickstart');
    const file = join(dir, 'nodes', 'pool-2', 'trace.jsonl');
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { time_s: number; message: Record<string, unknown> });
    const vote = lines.find((l) => l.message.type === 'VTBundleGenerated')!;
    vote.time_s = (vote.message.slot as number) * 0.5 + 0.1; // in the announcing RB's own slot, as the old node voted
    for (const l of lines) if (l.message.type === 'CertIncluded') l.message.voters = ['pool-2', 'pool-3'];
    writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const r = await verifyRun(dir);
    const v = Object.fromEntries(r.rules.map((x) => [x.id, x.violations]));
    expect(v['vote-window']).toBe(1);
    expect(v['certificate-quorum']).toBe(2); // pool-2 reports both certificates with 50 % of the stake: each distinct voter list is checked
    expect(r.violations).toBe(3);
  });

  it('holds adversaries to no honest rule: p3 as equivocator makes the double production no violation', async () => {
    const dir = copy('neg-no-double-production');
    writeFileSync(join(dir, 'profile.resolved.json'), JSON.stringify({ nodes: [{ name: 'p3', role: 'pool', stake: 1, release: 'x', adversary: { 'header-equivocation': {} } }] }));
    const r = await verifyRun(dir);
    expect(r.adversaries).toEqual(['p3']);
    expect(r.violations).toBe(0);
  });

  it('data absent → not checkable, never a pass; malformed lines skipped and counted', async () => {
    // the analysis fixture: no Leios parameters, no stake, no k in its genesis
    const r = await verifyRun(SMALL);
    const byId = Object.fromEntries(r.rules.map((x) => [x.id, x]));
    for (const id of ['vote-window', 'certificate-quorum', 'certrb-timing', 'rollback-depth', 'common-prefix']) {
      expect(byId[id]!.status, id).toBe('not-checkable');
      expect(byId[id]!.reason, id).toMatch(/genesis lacks/);
    }
    expect(r.notCheckable).toContain('vote-window');
    expect(r.trace.bad).toBe(1); // n4's half-written last line
    // and its hand-made CertRB rb4 carries body txs: a real violation of CIP-164 Step 5
    expect(byId['certrb-no-txs']!.violations).toBe(1);
  });

  it('counts events the nodes dropped, and says the rules saw less', async () => {
    const dir = copy('pass');
    const file = join(dir, 'nodes', 'p1', 'trace.jsonl');
    writeFileSync(file, readFileSync(file, 'utf8') + JSON.stringify({ time_s: 31, message: { type: 'TraceDropped', node: 'p1', count: 3 } }) + '\n');
    const r = await verifyRun(dir);
    expect(r.trace.dropped).toBe(3);
    expect(formatVerify(r)).toContain('3 events dropped');
  });

  it('uses CertIncluded.ebSlot for the election when the announcing RB is not in the traces', async () => {
    // drop p1's trace (producer of rbA): its RBGenerated/EBGenerated are gone; p2..p4 still adopted rbA
    const dir = copy('pass');
    writeFileSync(join(dir, 'nodes', 'p1', 'trace.jsonl'), '');
    const before = (await verifyRun(dir)).rules.find((x) => x.id === 'certrb-parent-eb')!;
    expect(before.status).toBe('not-checkable'); // rbA's announced EB is unknown without p1's RBGenerated
    for (const n of ['p2', 'p3', 'p4']) {
      const file = join(dir, 'nodes', n, 'trace.jsonl');
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { message: Record<string, unknown> });
      for (const l of lines) if (l.message.type === 'CertIncluded') l.message.ebSlot = 2;
      // and without RBAdopted of rbA the parent's slot is unknown too
      writeFileSync(file, lines.filter((l) => !(l.message.type === 'RBAdopted' && l.message.slot === 2)).map((l) => JSON.stringify(l)).join('\n') + '\n');
    }
    const r = await verifyRun(dir);
    const timing = r.rules.find((x) => x.id === 'certrb-timing')!;
    expect(timing.status).toBe('pass');
    expect(timing.checks).toBe(1);
    expect(r.rules.find((x) => x.id === 'certificate-quorum')!.status).toBe('pass');
  });

  it('the human table lists every rule, the violations and the notes', async () => {
    const text = formatVerify(await verifyRun(join(FIX, 'neg-certrb-timing')));
    for (const id of RULE_IDS) expect(text).toContain(id);
    expect(text).toContain('10 slots later, need ≥ 14');
    expect(text).toMatch(/FAILED: \d+ checks, 1 violation/);
  });
});

describe('leiosnet verify: CLI', () => {
  it('exit 0 on a clean run, 1 on violations, 2 on a bad run dir or rule', async () => {
    const ok = await cli(['verify', join(FIX, 'pass')]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('PASSED');
    const bad = await cli(['verify', join(FIX, 'neg-certrb-no-txs')]);
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('certrb-no-txs');
    expect((await cli(['verify', join(tmp, 'nope')])).code).toBe(2);
    const empty = mkdtempSync(join(tmp, 'empty-'));
    const e = await cli(['verify', empty]);
    expect(e.code).toBe(2);
    expect(e.err).toContain('no nodes/<name>/trace.jsonl');
    expect((await cli(['verify', join(FIX, 'pass'), '--rule', 'no-such-rule'])).code).toBe(2);
  });

  it('--json gives the report and the summary.json conformance block; --rule selects', async () => {
    const r = await cli(['verify', join(FIX, 'neg-one-vote-per-election'), '--json']);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { violations: number; conformance: { checks: number; violations: number; byRule: Record<string, { violations: number; status: string }> } };
    expect(j.violations).toBe(1);
    expect(j.conformance.byRule['one-vote-per-election']).toMatchObject({ violations: 1, status: 'fail' });
    expect(Object.keys(j.conformance.byRule)).toEqual([...RULE_IDS]);
    const only = JSON.parse((await cli(['verify', join(FIX, 'neg-one-vote-per-election'), '--json', '--rule', 'vote-window'])).out) as { rules: { id: string }[]; violations: number };
    expect(only.rules.map((x) => x.id)).toEqual(['vote-window']);
    expect(only.violations).toBe(0);
  });
});

describe('conformance in summary.json, the report and assertions', () => {
  it('the assertion kind is in the profile schema, with known rule names only', () => {
    expect(Value.Check(AssertionSchema, { kind: 'conformance' })).toBe(true);
    expect(Value.Check(AssertionSchema, { kind: 'conformance', maxViolations: 2, rules: ['vote-window', 'common-prefix'] })).toBe(true);
    expect(Value.Check(AssertionSchema, { kind: 'conformance', rules: ['nope'] })).toBe(false);
  });

  it('run hook: attaches conformance, re-evaluates a conformance assertion, reports it', async () => {
    for (const [fixture, passed] of [['pass', true], ['neg-certrb-parent-eb', false]] as const) {
      const dir = copy(fixture);
      writeFileSync(join(dir, 'profile.resolved.json'), JSON.stringify({ analysis: { assertions: [{ kind: 'conformance' }] } }));
      const analysis = await analyseRun(dir);
      expect(analysis.summary.assertions.at(-1)!.passed).toBe(false); // evaluated before the verifier ran
      const c = await attachConformance(dir, analysis);
      expect(c!.violations).toBe(passed ? 0 : 1);
      expect(analysis.summary.conformance).toBe(c);
      const a = analysis.summary.assertions.at(-1)!;
      expect(a.name).toBe('conformance');
      expect(a.passed).toBe(passed);
      if (!passed) expect(a.detail).toContain('certrb-parent-eb 1');
      expect(analysis.summary.passed).toBe(passed);
      const md = renderMarkdown(analysis.summary);
      expect(md).toContain('## Conformance (CIP-164, from the traces)');
      expect(md).toContain(passed ? '| certrb-parent-eb | PASS |' : '| certrb-parent-eb | FAIL |');
    }
  });

  it('the assertion: maxViolations and rules', async () => {
    const c = toConformance(await verifyRun(join(FIX, 'neg-vote-window')));
    const summary = { conformance: c } as Parameters<typeof evaluateAssertion>[1]['summary'];
    const ev = (a: object) => evaluateAssertion(a as never, { summary, nodes: {} });
    expect(ev({ kind: 'conformance' }).passed).toBe(false);
    expect(ev({ kind: 'conformance', maxViolations: 2 }).passed).toBe(true);
    expect(ev({ kind: 'conformance', rules: ['common-prefix'] }).passed).toBe(true);
    expect(ev({ kind: 'conformance' }).detail).toContain('vote-window 2');
    expect(evaluateAssertion({ kind: 'conformance' }, { summary: {} as never, nodes: {} }).passed).toBe(false);
  });

  it('fixture README lists every fixture', () => {
    const readme = readFileSync(join(FIX, 'README.md'), 'utf8');
    expect(readme).toContain('`pass/`');
    for (const id of RULE_IDS) expect(readme).toContain(`neg-${id}/`);
  });
});
