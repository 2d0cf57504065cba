// The sweep's pure parts: --vary/--assert parsing, the grid, bisection steps, the knee rule and
// the protocol ceiling; and resuming a sweep that was interrupted (points run by a stand-in
// runner that writes what a run writes: summary.json and profile.resolved.json).
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Summary } from '../../orchestrator/analysis/summary.ts';
import { UserError } from '../../orchestrator/errors.ts';
import { loadPlan } from '../../orchestrator/profile/resolve.ts';
import { planCeiling, protocolCeiling } from '../../orchestrator/sweep/ceiling.ts';
import { findKnee } from '../../orchestrator/sweep/knee.ts';
import { bisectMaxRuns, bisectSpec, gridPoints, nextBisect, parseAssertion, parseVary, type BisectTrial } from '../../orchestrator/sweep/plan.ts';
import { runSweep, type PointRunner } from '../../orchestrator/sweep/run.ts';
import { readState } from '../../orchestrator/sweep/state.ts';
import { tempDir } from '../support/tmp.ts';

describe('sweep planning', () => {
  it('parses ranges, steps and lists', () => {
    expect(parseVary('generator.tps=50..400').values).toEqual([50, 137.5, 225, 312.5, 400]);
    expect(parseVary('generator.tps=50..400:100')).toEqual({ path: 'generator.tps', values: [50, 150, 250, 350], range: { from: 50, to: 400, step: 100 } });
    expect(parseVary('genesis.slotLengthS=0.2..0.6:0.1').values).toEqual([0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(parseVary('generator.txSizeBytes=400,1500').values).toEqual([400, 1500]);
    expect(() => parseVary('generator.tps')).toThrow(UserError);
    expect(() => parseVary('generator.tps=400..50')).toThrow(/backwards/);
    expect(() => parseVary('generator.tps=1..2:0')).toThrow(/step/);
    expect(() => parseVary('generator.tps=a,b')).toThrow(/number/);
  });

  it('lays out the cartesian product, first vary slowest, with stable ids', () => {
    const g = gridPoints([parseVary('generator.tps=10,20'), parseVary('generator.txSizeBytes=400,1500')]);
    expect(g.map((p) => p.values)).toEqual([
      { 'generator.tps': 10, 'generator.txSizeBytes': 400 },
      { 'generator.tps': 10, 'generator.txSizeBytes': 1500 },
      { 'generator.tps': 20, 'generator.txSizeBytes': 400 },
      { 'generator.tps': 20, 'generator.txSizeBytes': 1500 },
    ]);
    expect(g[1]!.id).toBe('p-tps10-txSizeBytes1500');
    expect(new Set(g.map((p) => p.id)).size).toBe(4);
    expect(() => gridPoints([parseVary('a.b=1,2'), parseVary('a.b=3')])).toThrow(/twice/);
  });

  it('parses assertions with aliases and summary paths', () => {
    expect(parseAssertion('inclusion-p95<=60')).toMatchObject({ metric: 'inclusionP95S', op: '<=', value: 60 });
    expect(parseAssertion('diffusion.rb.p99Ms < 3000')).toMatchObject({ metric: 'diffusion.rb.p99Ms', op: '<', value: 3000 });
    expect(parseAssertion('passed==true')).toMatchObject({ metric: 'passed', op: '==', value: 1 });
    expect(() => parseAssertion('inclusion-p95 about 60')).toThrow(UserError);
  });

  it('bisects toward the highest passing value in at most log2 steps', () => {
    const spec = bisectSpec([parseVary('generator.tps=0..400:10')]);
    for (const threshold of [0, 5, 123, 250, 390, 400, 401]) {
      const trials: BisectTrial[] = [];
      let next = nextBisect(spec, trials);
      while (!next.done) {
        trials.push({ value: next.value, ok: next.value <= threshold });
        next = nextBisect(spec, trials);
        expect(trials.length).toBeLessThanOrEqual(bisectMaxRuns(spec));
      }
      const truth = threshold >= 400 ? 400 : Math.floor(threshold / 10) * 10;
      expect(next.best, `threshold ${threshold}`).toBe(truth);
      expect(next.firstFailing).toBe(truth === 400 ? null : truth + 10);
    }
    // the low end failing: no passing value
    expect(nextBisect(spec, [{ value: 0, ok: false }])).toEqual({ done: true, best: null, firstFailing: 0 });
    expect(() => bisectSpec([parseVary('generator.tps=1,2')])).toThrow(/range/);
  });
});

describe('knee', () => {
  it('is the highest load carried at ≥ 90 %, interpolated to the crossing; tells plateau from collapse', () => {
    const plateau = findKnee([
      { offered: 150, included: 146 },
      { offered: 250, included: 240 },
      { offered: 300, included: 285 },
      { offered: 350, included: 300 },
      { offered: 400, included: 302 },
    ]);
    expect(plateau.point).toEqual({ offered: 300, included: 285 });
    expect(plateau.beyond).toBe('plateau');
    // crossing of 0.9·x with the segment (300,285)–(350,300): 285 + 0.3(x−300) = 0.9x → x = 325
    expect(plateau.estimateTxkbPerS).toBeCloseTo(325, 6);
    expect(plateau.explanation).toMatch(/knee at 300 TxkB\/s/);

    const collapse = findKnee([
      { offered: 300, included: 77.5 },
      { offered: 150, included: 145.8 },
      { offered: 250, included: 230 },
    ]);
    expect(collapse.point?.offered).toBe(250);
    expect(collapse.beyond).toBe('collapse');

    expect(findKnee([{ offered: 10, included: 10 }, { offered: 20, included: 19 }]).index).toBeNull();
    expect(findKnee([{ offered: 10, included: 2 }]).explanation).toMatch(/below the range/);
    expect(findKnee([]).point).toBeNull();
  });
});

describe('protocol ceiling', () => {
  it('is f·(1−f)^(W−1)·S_EB-tx/slot plus RB bodies: ≈ 308 + 2.2 kB/s with the CIP parameters', () => {
    const c = protocolCeiling({ f: 0.05, slotLengthS: 1, lHdrSlots: 1, lVoteSlots: 4, lDiffSlots: 7, ebMaxTxBytes: 12_000_000, maxBlockBodySize: 90_112 });
    expect(c.windowSlots).toBe(14);
    expect(c.certifiableShare).toBeCloseTo(0.95 ** 13, 12);
    expect(c.ebTxkbPerS).toBeCloseTo(0.05 * 0.95 ** 13 * 12_000, 9);
    expect(c.ebTxkbPerS).toBeGreaterThan(307.5);
    expect(c.ebTxkbPerS).toBeLessThan(308.5);
    expect(c.rbTxkbPerS).toBeCloseTo(0.05 * (1 - 0.95 ** 13) * 90.112, 9);
    expect(c.praosTxkbPerS).toBeCloseTo(4.5056, 4);
    // time scaling: 0.2 s slots, same f and windows in slots → 5× per second
    const fast = protocolCeiling({ ...c.params, slotLengthS: 0.2 });
    expect(fast.txkbPerS).toBeCloseTo(5 * c.txkbPerS, 9);
    // raising f instead: (1−f)^(W−1) = 25 % at 0.1
    expect(protocolCeiling({ ...c.params, f: 0.1 }).certifiableShare).toBeCloseTo(0.254, 3);
  });

  it('reads a resolved plan (ci-bench: 1 s slots, CIP windows)', () => {
    const c = planCeiling(loadPlan('ci-bench'))!;
    expect(c.windowSlots).toBe(14);
    expect(c.txkbPerS).toBeCloseTo(310.2, 1);
  });
});

function fakeSummary(offeredKb: number): Summary {
  const included = Math.min(offeredKb, 100) * 0.97;
  const p = { p50Ms: 300, p95Ms: 800 + offeredKb, p99Ms: 1200, samples: 10, blocks: 5, reachedWithinShare: 1, withinS: 5 };
  return {
    run: { id: 'x', profile: 'ci-test', runtime: 'process', seed: 1, nodes: 5, durationS: 80, slotLengthS: 0.5 },
    chain: { blocks: 10, finalSlot: 100, tipAgreement: true, tipAgreementShare: 1, maxForkDepth: 0, rollbacks: 0, density: 0.1 },
    leios: { ebsAnnounced: 4, ebsCertified: 2, certRate: 0.5, votesCast: 10, votesSkipped: null, certsIncluded: 2, hardForkSlot: 60 },
    throughput: { txSubmitted: 100, txIncluded: 97, txRejected: 3, txPending: 0, txkbPerS: included, windowTxkbPerS: included * 0.9, tps: 1, loadWindowS: 60 },
    latency: { inclusionP50S: 2, inclusionP95S: offeredKb / 10 },
    diffusion: { rb: p, eb: p },
    resources: { cpuPctPerNode: offeredKb / 5, rssMbPerNode: 120, perNode: {} },
    assertions: [],
    passed: true,
  };
}

describe('sweep runs and resume', () => {
  it('an interrupted sweep resumes where it stopped: done points kept, the interrupted one run again, then the report', async () => {
    const dir = tempDir('leiosnet-sweep-');
    const out = join(dir, 'sw');
    const calls: string[] = [];
    let interruptAt: number | undefined = 2;
    const runner: PointRunner = async (req) => {
      calls.push(req.sets.join(' '));
      mkdirSync(req.out, { recursive: true });
      if (calls.length === interruptAt) {
        writeFileSync(join(req.out, 'partial'), '');
        return { exitCode: 130, status: 'interrupted' };
      }
      const plan = loadPlan(req.profile, { sets: req.sets });
      writeFileSync(join(req.out, 'profile.resolved.json'), JSON.stringify(plan));
      const offered = (plan.generator.tps * plan.generator.txSizeBytes) / 1000;
      writeFileSync(join(req.out, 'summary.json'), JSON.stringify(fakeSummary(offered)));
      return { exitCode: 0, status: 'passed' };
    };
    const opts = { profile: 'ci-test', vary: ['generator.tps=100..400:100'], sets: ['generator.txSizeBytes=1000'], out, runPoint: runner, assert: ['inclusion-p95<=35'] };
    const first = await runSweep(opts);
    expect(first.interrupted).toBe(true);
    expect(first.complete).toBe(false);
    const st = readState(out)!;
    expect(st.points.map((p) => p.status)).toEqual(['done', 'running', 'pending', 'pending']);

    interruptAt = undefined;
    calls.length = 0;
    const second = await runSweep(opts);
    expect(second.complete).toBe(true);
    expect(calls).toEqual(['generator.txSizeBytes=1000 generator.tps=200', 'generator.txSizeBytes=1000 generator.tps=300', 'generator.txSizeBytes=1000 generator.tps=400']);
    const done = readState(out)!;
    expect(done.points.every((p) => p.status === 'done')).toBe(true);
    expect(done.points[1]!.attempts).toBe(2);
    expect(done.points[1]!.runDir).toBe('points/p-tps200.2');
    expect(existsSync(join(out, 'points/p-tps200.interrupted/partial'))).toBe(true);
    expect(done.points.map((p) => p.ok)).toEqual([true, true, true, false]);
    expect(done.points[0]!.metrics).toMatchObject({ offeredTxkbPerS: 100, includedTxkbPerS: 97, sustainedTxkbPerS: 87.3, efficiency: 0.97 });
    const md = readFileSync(second.report.md, 'utf8');
    expect(md).toMatch(/knee at 100 TxkB\/s offered/);
    expect(md).toMatch(/protocol ceiling/);
    expect(md).toMatch(/\| included \| sustained \|/);
    expect(md).toMatch(/\| 97 \| 87\.3 \|/);
    const html = readFileSync(second.report.html, 'utf8');
    expect(html).toContain('fig-sweep-throughput');
    expect(html).toContain('protocol ceiling');

    // a third run has nothing left to do; a different sweep on the same dir is refused
    calls.length = 0;
    expect((await runSweep(opts)).ran).toBe(0);
    expect(calls).toEqual([]);
    await expect(runSweep({ ...opts, vary: ['generator.tps=1..2'] })).rejects.toThrow(/different sweep/);
  });

  it('bisects with real plans and records the answer; --max-points stops early and resumes', async () => {
    const out = join(tempDir('leiosnet-sweep-'), 'b');
    const runner: PointRunner = async (req) => {
      mkdirSync(req.out, { recursive: true });
      const plan = loadPlan(req.profile, { sets: req.sets });
      writeFileSync(join(req.out, 'profile.resolved.json'), JSON.stringify(plan));
      writeFileSync(join(req.out, 'summary.json'), JSON.stringify(fakeSummary((plan.generator.tps * plan.generator.txSizeBytes) / 1000)));
      return { exitCode: 0, status: 'passed' };
    };
    const opts = { profile: 'ci-test', vary: ['generator.tps=50..300:10'], sets: ['generator.txSizeBytes=1000'], bisect: true, out, runPoint: runner };
    const partial = await runSweep({ ...opts, maxPoints: 2 });
    expect(partial.complete).toBe(false);
    const r = await runSweep(opts);
    expect(r.complete).toBe(true);
    // efficiency ≥ 0.9 (default) holds up to ~107 kB/s offered: 100 passes, 110 fails
    expect(r.state.result).toEqual({ best: 100, firstFailing: 110 });
    expect(r.state.points.length).toBeLessThanOrEqual(bisectMaxRuns(bisectSpec([parseVary(opts.vary[0]!)])));
    // bad input is refused before anything runs
    await expect(runSweep({ ...opts, out: join(out, 'x'), vary: ['generator.tpz=1..2'] })).rejects.toThrow(/tpz/);
  });
});
