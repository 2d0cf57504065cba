import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssertionView } from '../../orchestrator/analysis/assertions.ts';
import { EventLog } from '../../orchestrator/pipeline/events.ts';
import { checkCapabilities } from '../../orchestrator/pipeline/run.ts';
import { loadPlan } from '../../orchestrator/profile/resolve.ts';
import { ProcessRuntime } from '../../orchestrator/runtime/process.ts';
import { AbortedError, ScenarioEngine, pollAssertion, scenarioSlot, sleep } from '../../orchestrator/scenario/engine.ts';
import { describeFault } from '../../orchestrator/scenario/faults.ts';
import { emptySummary } from '../../orchestrator/scenario/view.ts';

const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-scenario-'));
let savedHome: string | undefined;
beforeAll(() => {
  savedHome = process.env.LEIOSNET_HOME;
  process.env.LEIOSNET_HOME = join(tmp, 'home');
});
afterAll(() => {
  if (savedHome === undefined) delete process.env.LEIOSNET_HOME;
  else process.env.LEIOSNET_HOME = savedHome;
  rmSync(tmp, { recursive: true, force: true });
});

describe('polling assertions', () => {
  it('passes as soon as the check does', async () => {
    let n = 0;
    const r = await pollAssertion(async () => ({ passed: ++n >= 3, detail: `n ${n}` }), 10, 10);
    expect(r).toMatchObject({ passed: true, detail: 'n 3' });
  });

  it('fails at the deadline with the last value seen', async () => {
    let n = 0;
    const r = await pollAssertion(async () => ({ passed: false, detail: `height ${++n}` }), 0.1, 20);
    expect(r.passed).toBe(false);
    expect(r.detail).toBe(`height ${n}`);
    expect(n).toBeGreaterThan(1);
  });

  it('a check that throws counts as failing and says why', async () => {
    const r = await pollAssertion(async () => {
      throw new Error('connection refused');
    }, 0, 10);
    expect(r).toMatchObject({ passed: false, detail: 'could not check: connection refused' });
  });

  it('sleep ends early on abort', async () => {
    const ac = new AbortController();
    const p = sleep(60_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toBeInstanceOf(AbortedError);
  });
});

describe('the genesis clock (scenario steps and the progress line)', () => {
  it('counts slots from systemStart, negative before it', () => {
    const start = 1_000_000;
    expect(scenarioSlot(start, 500, start - 1)).toBe(-1);
    expect(scenarioSlot(start, 500, start)).toBe(0);
    expect(scenarioSlot(start, 500, start + 499)).toBe(0);
    expect(scenarioSlot(start, 500, start + 500)).toBe(1);
    expect(scenarioSlot(start, 200, start + 10_050)).toBe(50);
  });
});

describe('scenario timeline', () => {
  it('runs waits, marks and assertions in order from systemStart, and records them', async () => {
    const runDir = join(tmp, 'run');
    const dep = await new ProcessRuntime().up('scenario-unit', runDir, []); // a deployment without nodes
    const events = new EventLog(join(runDir, 'events.jsonl'));
    let height = 0;
    const view = async (): Promise<AssertionView> => ({ summary: emptySummary(), nodes: { 'pool-1': { blockNo: ++height, hash: 'a' } } });
    const t0 = Date.now();
    const engine = new ScenarioEngine({
      deployment: dep,
      runDir,
      plan: {
        genesis: { slotLengthS: 0.1, activeSlotCoeff: 0.5 } as never,
        nodes: [],
        scenario: {
          duration: { seconds: 0.6 },
          estimatedDurationS: 0.6,
          steps: [
            { wait: { slots: 2 } },
            { mark: 'warm' },
            { assert: { kind: 'min-blocks', n: 3, withinS: 5 } },
            { assert: { kind: 'min-blocks', n: 1000, withinS: 0.2 } },
            { generator: { tps: 3 } },
          ],
        },
      },
      systemStartMs: t0 + 100,
      events,
      view,
      pollMs: 20,
    });
    const results = await engine.run();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700); // systemStart + 0.6 s
    expect(results).toEqual([
      { name: 'min-blocks n=3 within 5 s', passed: true, detail: 'chain blocks 3 (want >= 3)' },
      { name: 'min-blocks n=1000 within 0.2 s', passed: false, detail: expect.stringMatching(/^chain blocks \d+ \(want >= 1000\)$/) },
      { name: 'generator step 5', passed: false, detail: 'no generator in this run' },
    ]);
    const log = readFileSync(join(runDir, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.map((e) => e.type)).toEqual(['wait', 'step', 'wait', 'step', 'mark', 'step', 'assertion', 'step', 'assertion', 'step', 'generator', 'assertion']);
    expect(log.find((e) => e.type === 'mark').label).toBe('warm');
    await dep.down();
  });

  it('an abort stops the timeline', async () => {
    const runDir = join(tmp, 'run2');
    const dep = await new ProcessRuntime().up('scenario-unit-2', runDir, []);
    const ac = new AbortController();
    const engine = new ScenarioEngine({
      deployment: dep,
      runDir,
      plan: {
        genesis: { slotLengthS: 1, activeSlotCoeff: 0.05 } as never,
        nodes: [],
        scenario: { duration: { slots: 1000 }, estimatedDurationS: 1000, steps: [{ wait: { slots: 500 } }] },
      },
      systemStartMs: Date.now(),
      events: new EventLog(join(runDir, 'events.jsonl')),
      signal: ac.signal,
    });
    setTimeout(() => ac.abort(), 50);
    await expect(engine.run()).rejects.toBeInstanceOf(AbortedError);
    await dep.down();
  });
});

describe('faults and capabilities', () => {
  it('describes faults for events and the CLI', () => {
    expect(describeFault({ kind: 'stop', node: 'pool-3', forS: 4 })).toBe('stop node=pool-3 forS=4');
    expect(describeFault({ kind: 'partition', groups: [['pool-1'], ['pool-2', 'pool-3']] })).toBe('partition groups=[["pool-1"],["pool-2","pool-3"]]');
  });

  it('refuses up front what a runtime cannot do', () => {
    const plan = loadPlan('ci-praos', { sets: ['scenario.steps=[{fault: {kind: pause, node: pool-1}}]'] });
    const rt = new ProcessRuntime();
    expect(() => checkCapabilities(plan, rt)).not.toThrow();
    const noPause = Object.assign(Object.create(rt) as ProcessRuntime, { capabilities: { ...rt.capabilities, pause: false } });
    expect(() => checkCapabilities(plan, noPause)).toThrow(/scenario\.steps\[0\]\.fault\.kind: pause is not supported by runtime process/);
  });
});
