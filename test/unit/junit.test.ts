// --junit: the XML a run writes follows the rules of the JUnit schema CI systems accept (the
// Jenkins xunit plugin's junit-10.xsd, written out in orchestrator/report/junit-schema.ts),
// and the validator of those rules catches documents that break them.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { junitCases, renderJunit, writeJunit } from '../../orchestrator/report/junit.ts';
import { parseXml, validateJunit } from '../../orchestrator/report/junit-schema.ts';
import { emptySummary } from '../../orchestrator/scenario/view.ts';

const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-junit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const events = [
  { t: '2026-01-01T00:00:00.000Z', type: 'run', runId: 'r1' },
  { t: '2026-01-01T00:00:05.000Z', type: 'assertion', name: 'min-blocks n=2 within 30 s', passed: true, detail: 'chain blocks 3 (want >= 2)', elapsedS: 4.2, deadlineS: 30, step: 2 },
  { t: '2026-01-01T00:00:09.000Z', type: 'assertion', name: 'check payment (step 4)', passed: true, detail: 'tx 1f included', check: 'payment', status: 'passed', elapsedS: 3.1, deadlineS: 60, evidence: { tx: 'ab', reply: { accepted: true } } },
  { t: '2026-01-01T00:00:19.000Z', type: 'assertion', name: 'grows metric=height by=5 within 60 s', passed: false, detail: 'height 4 → 7 (+3, want +5 since this step) & <tag> "q"', elapsedS: 60, deadlineS: 60, step: 5 },
  { t: '2026-01-01T00:00:29.000Z', type: 'assertion', name: 'check rollback (step 6)', passed: true, detail: 'skipped: the minority forged nothing', check: 'rollback', status: 'skipped', elapsedS: 30, deadlineS: 30, evidence: {} },
];

describe('junit testcases', () => {
  it('one testcase per scenario assertion and check, then the end-of-run assertions', () => {
    const summary = { ...emptySummary(), assertions: [...events.slice(1).map((e) => ({ name: e.name!, passed: e.passed!, detail: e.detail! })), { name: 'tip-agreement', passed: true, detail: 'tips: …' }] };
    const cases = junitCases(events, summary, 'upgrade-suite');
    expect(cases.map((c) => [c.classname.split('.').pop(), c.status])).toEqual([
      ['scenario', 'passed'],
      ['check', 'passed'],
      ['scenario', 'failed'],
      ['check', 'skipped'],
      ['analysis', 'passed'],
    ]);
    expect(cases[2]).toMatchObject({ deadlineS: 60, detail: expect.stringContaining('height 4 → 7') });
  });

  it('writes XML valid against the junit-10 rules, with the last value and the deadline in each failure', () => {
    const runDir = join(tmp, 'run');
    rmSync(runDir, { recursive: true, force: true });
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'events.jsonl'), events.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const file = writeJunit(join(tmp, 'out', 'junit.xml'), { runId: 'r1', runDir, profile: 'upgrade-suite', runtime: 'process', status: 'failed', exitCode: 1, startedAt: '2026-01-01T00:00:00.000Z', durationS: 123.4 }, { ...emptySummary(), assertions: [] });
    const xml = readFileSync(file, 'utf8');
    expect(validateJunit(xml)).toEqual([]);
    const root = parseXml(xml);
    const suite = root.children[0]!;
    expect(suite.attrs).toMatchObject({ name: 'leiosnet.upgrade-suite', tests: '4', failures: '1', errors: '0', skipped: '1', time: '123.400' });
    const failed = suite.children.filter((c) => c.name === 'testcase')[2]!;
    const failure = failed.children.find((c) => c.name === 'failure')!;
    expect(failure.attrs.message).toBe('last value seen: height 4 → 7 (+3, want +5 since this step) & <tag> "q"; deadline 60 s');
    expect(suite.children.filter((c) => c.name === 'testcase')[3]!.children[0]!.name).toBe('skipped');
    const props = Object.fromEntries(suite.children.find((c) => c.name === 'properties')!.children.map((p) => [p.attrs.name, p.attrs.value]));
    expect(props).toMatchObject({ runId: 'r1', exitCode: '1', runtime: 'process' });
  });

  it('a run that broke gets an error testcase', () => {
    const xml = renderJunit({ name: 'x', timeS: 1, properties: {}, cases: [{ classname: 'leiosnet.x.run', name: 'run completes', timeS: 0, status: 'error', detail: 'docker: no engine' }] });
    expect(validateJunit(xml)).toEqual([]);
    expect(parseXml(xml).attrs).toMatchObject({ errors: '1', tests: '1' });
  });
});

describe('the junit-10 rules validator', () => {
  const ok = '<testsuites><testsuite name="a" tests="1" failures="0" errors="0" time="1.5"><testcase name="t"/></testsuite></testsuites>';
  it('accepts a minimal valid document', () => expect(validateJunit(ok)).toEqual([]));
  it.each([
    ['a testsuite without its required counts', '<testsuites><testsuite name="a"/></testsuites>', /needs attribute tests/],
    ['a testcase without a name', '<testsuite name="a" tests="1" failures="0" errors="0"><testcase/></testsuite>', /needs attribute name/],
    ['an attribute the schema does not know', '<testsuite name="a" tests="1" failures="0" errors="0"><testcase name="t" status="ok"/></testsuite>', /attribute status is not allowed/],
    ['skipped on testsuites (allowed only on testsuite)', '<testsuites skipped="0"/>', /attribute skipped is not allowed/],
    ['a time that is not SUREFIRE_TIME', '<testsuite name="a" tests="1" failures="0" errors="0" time="1s"/>', /SUREFIRE_TIME/],
    ['a testcase directly under testsuites', '<testsuites><testcase name="t"/></testsuites>', /may not appear in <testsuites>/],
    ['properties inside a testcase', '<testsuite name="a" tests="1" failures="0" errors="0"><testcase name="t"><properties/></testcase></testsuite>', /may not appear in <testcase>/],
    ['a property without a value', '<testsuite name="a" tests="0" failures="0" errors="0"><properties><property name="x"/></properties></testsuite>', /needs attribute value/],
    ['an unknown root', '<results/>', /root element/],
    ['a bare ampersand', '<testsuites name="a & b"/>', /bare "&"/],
    ['unbalanced tags', '<testsuites><testsuite name="a" tests="0" failures="0" errors="0"></testsuites>', /closes/],
    ['a control character', '<testsuites name="\u0001"/>', /XML 1\.0/],
  ])('refuses %s', (_, xml, re) => {
    expect(validateJunit(xml).join('\n')).toMatch(re);
  });
});
