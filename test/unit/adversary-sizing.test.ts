// Sizing an adversary by stake share (node.adversaryStake), the `metric` assertion kind and the
// measured degradation of an attack run against its attack-free baseline (analysis.baseline).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { poolsUpToShare } from '../../node/adversary/index.ts';
import { analyseAdversaries, degradationRows } from '../../orchestrator/analysis/adversary.ts';
import { evaluateAssertion } from '../../orchestrator/analysis/assertions.ts';
import type { Summary } from '../../orchestrator/analysis/summary.ts';
import { ProfileError, UserError } from '../../orchestrator/errors.ts';
import { poolsByStake } from '../../orchestrator/cli/commands/attack.ts';
import { loadProfile } from '../../orchestrator/profile/load.ts';
import { resolvePlan } from '../../orchestrator/profile/resolve.ts';
import type { Assertion } from '../../orchestrator/profile/schema.ts';
import { renderMarkdown } from '../../orchestrator/report/markdown.ts';
import { renderHtml } from '../../orchestrator/report/html.ts';

const ROOT = join(import.meta.dirname, '../..');
const BASE = join(ROOT, 'profiles/attacks/baseline.yaml');

function planError(sets: string[], ref = BASE): ProfileError {
  try {
    resolvePlan(loadProfile(ref, { sets }));
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    expect((e as ProfileError).exitCode).toBe(2);
    return e as ProfileError;
  }
  throw new Error(`expected exit 2 for ${sets.join(' ')}`);
}

const adversarial = (sets: string[], ref = BASE) =>
  Object.fromEntries(resolvePlan(loadProfile(ref, { sets })).nodes.filter((n) => n.adversary).map((n) => [n.name, n.adversary]));

/** Two equal small pools, two larger ones and a relay without stake (100 in all). */
const pools = [
  { id: 'pool-1', stake: 30 },
  { id: 'pool-2', stake: 10 },
  { id: 'pool-3', stake: 10 },
  { id: 'pool-4', stake: 50 },
  { id: 'relay-1', stake: 0 },
];

describe('node.adversaryStake: an adversary sized by stake share', () => {
  it('picks pools up to the share, smallest stake first, ties by name', () => {
    expect(poolsUpToShare(pools, 0.1)).toEqual(['pool-2']);
    expect(poolsUpToShare(pools, 0.2)).toEqual(['pool-2', 'pool-3']);
    expect(poolsUpToShare(pools, 0.49)).toEqual(['pool-2', 'pool-3']); // pool-1 would make it 0.5
    expect(poolsUpToShare(pools, 0.5)).toEqual(['pool-2', 'pool-3', 'pool-1']);
    expect(poolsUpToShare(pools, 0.05)).toEqual([]);
  });

  it('runs node.adversaryBehaviours on those pools (explicit node.adversaries win per behaviour)', () => {
    const b = ['node.adversaryBehaviours={lazy-voter: {}}'];
    expect(adversarial(['node.adversaryStake=0.2', ...b])).toEqual({ 'pool-1': { 'lazy-voter': {} } });
    expect(Object.keys(adversarial(['node.adversaryStake=0.45', ...b]))).toEqual(['pool-1', 'pool-2']);
    // 30 % pool-5 and four 17.5 % pools: 0.2 takes one 17.5 % pool, 0.36 two, pool-5 only from 0.65
    const eb = join(ROOT, 'profiles/attacks/eb-withholding.yaml');
    expect(Object.keys(adversarial(['node.adversaries={}', 'node.adversaryStake=0.36', ...b], eb))).toEqual(['pool-1', 'pool-2']);
    expect(Object.keys(adversarial(['node.adversaries={}', 'node.adversaryStake=0.65', ...b], eb))).toEqual(['pool-1', 'pool-2', 'pool-3']);
    expect(adversarial(['node.adversaryStake=0.2', 'node.adversaryBehaviours={late-eb: {delayMs: 3}}', 'node.adversaries={pool-1: {late-eb: {delayMs: 9}}, pool-3: {lazy-voter: {}}}'])).toEqual({
      'pool-1': { 'late-eb': { delayMs: 9 } },
      'pool-3': { 'lazy-voter': {} },
    });
  });

  it('bad values are exit 2 naming the field', () => {
    const b = 'node.adversaryBehaviours={lazy-voter: {}}';
    for (const v of ['0', '1.5', '-0.2', 'lots']) expect(planError([`node.adversaryStake=${v}`, b]).message).toMatch(/node\.adversaryStake: expected number > 0 and ≤ 1/);
    expect(planError(['node.adversaryStake=0.1', b]).message).toMatch(/node\.adversaryStake: 0\.1 is less than the smallest pool's share of the stake \(0\.2000\)/);
    expect(planError(['node.adversaryStake=0.2']).message).toMatch(/node\.adversaryStake: needs node\.adversaryBehaviours .*known: eb-withholding/);
    expect(planError([b]).message).toMatch(/node\.adversaryBehaviours: needs node\.adversaryStake/);
    expect(planError(['node.adversaryStake=0.2', 'node.adversaryBehaviours={}']).message).toMatch(/node\.adversaryBehaviours: names no behaviour/);
    expect(planError(['node.adversaryStake=0.2', 'node.adversaryBehaviours={lazy-votr: {}}']).message).toMatch(/node\.adversaryBehaviours\.lazy-votr: unknown field "lazy-votr"; did you mean "lazy-voter"/);
    expect(planError(['node.adversaryStake=0.2', 'node.adversaryBehaviours={late-eb: {delayMs: -3}}']).message).toContain('node.adversaryBehaviours.late-eb.delayMs');
  });
});

describe('leiosnet attack --stake: the same pools as node.adversaryStake', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leiosnet-attack-stake-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  /** a run dir whose genesis lists these pools, as `leiosnet run` writes it */
  function runDir(pools: { id: string; stake: number }[]): string {
    const d = mkdtempSync(join(dir, 'run-'));
    mkdirSync(join(d, 'genesis'));
    writeFileSync(join(d, 'genesis', 'genesis.json'), JSON.stringify({ pools }));
    return d;
  }

  it('leaves zero-stake pools out, as poolsUpToShare does (they add nothing to the share)', () => {
    const d = runDir(pools);
    for (const share of [0.1, 0.2, 0.49, 0.5, 1]) expect(poolsByStake(d, share), `share ${share}`).toEqual(poolsUpToShare(pools, share));
    expect(poolsByStake(d, 0.1)).toEqual(['pool-2']);
    expect(poolsByStake(d, 1)).toEqual(['pool-2', 'pool-3', 'pool-1', 'pool-4']);
  });

  it('below the smallest staked pool, or with no stake at all: exit 2 naming --stake', () => {
    const refused = (d: string, share: number) => {
      try {
        poolsByStake(d, share);
      } catch (e) {
        expect(e).toBeInstanceOf(UserError);
        expect((e as UserError).exitCode).toBe(2);
        return (e as Error).message;
      }
      throw new Error(`expected --stake ${share} to be refused`);
    };
    // the smallest share among pools that hold stake (10 of 100), not relay-1's 0
    expect(refused(runDir(pools), 0.05)).toBe("--stake: 0.05 is less than the smallest pool's share (0.100)");
    expect(refused(runDir([{ id: 'pool-1', stake: 0 }, { id: 'pool-2', stake: 0 }]), 0.5)).toBe('--stake: no pool of the run holds stake');
  });
});

describe('metric assertions and the degradation against a baseline run', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leiosnet-adv-degradation-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const summaryOf = (o: Record<string, unknown>) =>
    ({
      run: { id: 'base-1', profile: 'baseline' },
      chain: { blocks: 20 },
      leios: { certRate: 0.8, ebsCertified: 12, certsIncluded: 6 },
      throughput: { txkbPerS: 1.3, tps: 3.2 },
      diffusion: { rb: { p95Ms: 500 }, eb: { p95Ms: 400 } },
      latency: { inclusionP50S: 8 },
      ...o,
    }) as unknown as Summary;

  it('rows per figure: Δ, Δ % and whether it moved the wrong way (latency up, rates down)', () => {
    const attack = summaryOf({ leios: { certRate: 0.6, ebsCertified: 12, certsIncluded: 3 }, diffusion: { rb: { p95Ms: 750 }, eb: { p95Ms: 300 } } });
    const rows = Object.fromEntries(degradationRows(summaryOf({}), attack, ['chain.maxForkDepth']).map((r) => [r.metric, r]));
    expect(rows['leios.certRate']).toMatchObject({ baseline: 0.8, attack: 0.6, delta: -0.2, deltaPct: -25, worse: true });
    expect(rows['leios.certsIncluded']).toMatchObject({ delta: -3, deltaPct: -50, worse: true });
    expect(rows['leios.ebsCertified']).toMatchObject({ delta: 0, worse: false });
    expect(rows['diffusion.rb.p95Ms']).toMatchObject({ delta: 250, deltaPct: 50, worse: true, better: 'lower' });
    expect(rows['diffusion.eb.p95Ms']).toMatchObject({ delta: -100, worse: false });
    expect(rows['chain.maxForkDepth']).toMatchObject({ better: 'lower', baseline: null, delta: null, worse: false });
  });

  it('analysis.baseline puts them in summary.adversary.degradation and the report; metric assertions read any summary figure', async () => {
    const base = join(dir, 'base');
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, 'summary.json'), JSON.stringify(summaryOf({})));
    const run = join(dir, 'attack');
    mkdirSync(join(run, 'nodes', 'pool-5'), { recursive: true });
    writeFileSync(join(run, 'nodes', 'pool-5', 'trace.jsonl'), JSON.stringify({ message: { type: 'Adversary', behaviour: 'eb-equivocation', action: 'twin', detail: { eb: 'e5', twin: 't5' } } }) + '\n');
    mkdirSync(join(run, 'nodes', 'pool-1'), { recursive: true });
    writeFileSync(join(run, 'nodes', 'pool-1', 'trace.jsonl'), JSON.stringify({ message: { type: 'CertIncluded', eb: 't5' } }) + '\n');
    const plan = {
      node: { adversaries: { 'pool-5': { 'eb-equivocation': {} } } },
      scenario: { steps: [] },
      analysis: { baseline: base, assertions: [{ kind: 'metric', path: 'chain.maxForkDepth', maxWorsePct: 10 }] },
    };
    const attack = summaryOf({ leios: { certRate: 0.6, ebsCertified: 10, certsIncluded: 3 }, chain: { blocks: 20, maxForkDepth: 1 } });
    const adv = (await analyseAdversaries(run, plan, attack))!;
    expect(adv.ebTwinsCertified).toBe(1); // a twin certified: what eb-equivocation's profile asserts never happens
    expect(adv.degradation?.baseline).toEqual({ runId: 'base-1', profile: 'baseline', path: join(base, 'summary.json') });
    expect(adv.degradation?.rows.find((r) => r.metric === 'leios.certRate')).toMatchObject({ deltaPct: -25, worse: true });
    expect(adv.degradation?.rows.some((r) => r.metric === 'chain.maxForkDepth')).toBe(true);
    const s = { ...attack, adversary: adv } as Summary;

    const ev = (a: Record<string, unknown>) => evaluateAssertion(a as Assertion, { summary: s, nodes: {} });
    expect(ev({ kind: 'metric', path: 'adversary.ebTwinsCertified', max: 0 })).toMatchObject({ passed: false, detail: 'adversary.ebTwinsCertified 1 (want <= 0)' });
    expect(ev({ kind: 'metric', path: 'leios.certRate', min: 0.5, max: 1 }).passed).toBe(true);
    expect(ev({ kind: 'metric', path: 'leios.certRate', min: 0.7 }).passed).toBe(false);
    expect(ev({ kind: 'metric', path: 'leios.certRate', maxWorsePct: 30 })).toMatchObject({ passed: true, detail: expect.stringContaining('baseline 0.8, 25 % worse (want <= 30 %)') });
    expect(ev({ kind: 'metric', path: 'leios.certsIncluded', maxWorsePct: 30 }).passed).toBe(false);
    expect(ev({ kind: 'metric', path: 'diffusion.rb.p95Ms', maxWorsePct: 0 }).passed).toBe(true); // unchanged
    expect(ev({ kind: 'metric', path: 'leios.nothing', min: 0 })).toMatchObject({ passed: false, detail: 'leios.nothing: no number in summary.json' });
    const noBase = evaluateAssertion({ kind: 'metric', path: 'leios.certRate', maxWorsePct: 30 } as Assertion, { summary: attack, nodes: {} });
    expect(noBase).toMatchObject({ passed: false, detail: expect.stringContaining('needs analysis.baseline') });

    const md = renderMarkdown({ ...s, assertions: [], resources: { perNode: {} }, diffusion: { rb: {}, eb: {} }, throughput: {}, latency: {} } as unknown as Summary);
    expect(md).toContain('## Adversary');
    expect(md).toContain('## Degradation against the attack-free baseline, run base-1 (profile baseline)');
    expect(md).toMatch(/Worse than the baseline: certification rate -25 %, EBs certified -16\.7 %, CertRBs on chain -50 %/);
    // the HTML report renders the same sections as headings
    const html = renderHtml({ ...s, assertions: [], resources: { perNode: {} }, diffusion: { rb: {}, eb: {} }, throughput: {}, latency: {} } as unknown as Summary, { rbDelaysMs: [], ebDelaysMs: [], inclusionLatencyS: [], events: [], timeline: [], resources: {} } as never);
    expect(html).toContain('<h2>Adversary</h2>');
    expect(html).toContain('<h2>Degradation against the attack-free baseline, run base-1 (profile baseline)</h2>');

    // a missing baseline is said, not thrown
    const missing = (await analyseAdversaries(run, { ...plan, analysis: { baseline: join(dir, 'nope') } }, attack))!;
    expect(missing.degradation?.error).toMatch(/no .*nope\/summary\.json \(run the baseline profile first/);
  });

  it('metric assertions in a profile: needs a bound, cannot read figures computed after the assertions; analysis.baseline resolves to an absolute path', () => {
    expect(planError(['analysis.assertions=[{kind: metric, path: leios.certRate}]']).message).toMatch(/analysis\.assertions\[0\]\.kind: a metric assertion needs min, max or maxWorsePct/);
    expect(planError(['analysis.assertions=[{kind: metric, path: txFate.lost, max: 3}]']).message).toMatch(/analysis\.assertions\[0\]\.path: summary\.txFate is computed after the assertions/);
    expect(planError(['analysis.assertions=[{kind: metric, path: certRate, max: 3}]']).message).toContain('analysis.assertions[0]');
    expect(planError(['analysis.assertions=[{kind: metric, path: leios.certRate, min: 2, max: 1}]']).message).toMatch(/min 2 is above max 1/);
    const plan = resolvePlan(loadProfile(BASE, { sets: ['analysis.baseline=runs/base'], cwd: '/somewhere' }));
    expect(plan.analysis.baseline).toBe('/somewhere/runs/base');
  });
});
