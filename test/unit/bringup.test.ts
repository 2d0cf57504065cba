// The scenario clock vs bring-up: systemStart leaves room for the bring-up measured before, and a
// start that came before every node was healthy is said plainly.
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MARGIN_FACTOR, MARGIN_S, estimateBringupS, lateStart, readBringups, recordBringup, startLead } from '../../orchestrator/pipeline/bringup.ts';
import { tempDir } from '../support/tmp.ts';

let home: string | undefined;
beforeEach(() => {
  home = process.env.LEIOSNET_HOME;
  process.env.LEIOSNET_HOME = tempDir('leiosnet-bringup-');
});
afterEach(() => {
  if (home === undefined) delete process.env.LEIOSNET_HOME;
  else process.env.LEIOSNET_HOME = home;
});

describe('bring-up and the start delay', () => {
  it('estimates from the measurement with the closest node count, scaled; a prior before any', () => {
    expect(estimateBringupS([], 'process', 100).seconds).toBe(50);
    const recs = [
      { runtime: 'process', nodes: 10, seconds: 4, at: 'a' },
      { runtime: 'process', nodes: 100, seconds: 220, at: 'b' },
      { runtime: 'docker', nodes: 50, seconds: 10, at: 'c' },
    ];
    expect(estimateBringupS(recs, 'process', 80).seconds).toBeCloseTo(176, 9); // closest: 100 nodes, 2.2 s each
    expect(estimateBringupS(recs, 'process', 40).seconds).toBe(16); // closest: 10 nodes
    expect(estimateBringupS(recs, 'process', 12).seconds).toBeCloseTo(4.8, 9);
    expect(estimateBringupS(recs, 'docker', 100).seconds).toBe(20);
  });

  it('extends a start delay shorter than the expected bring-up, leaves a long enough one', () => {
    recordBringup('process', 100, 220);
    expect(readBringups()).toHaveLength(1);
    const lead = startLead(5, 'process', 100);
    expect(lead.neededS).toBe(Math.ceil(220 * MARGIN_FACTOR + MARGIN_S));
    expect(lead.extraS).toBe(lead.neededS - 5);
    expect(lead.basis).toMatch(/measured 220 s for 100 nodes/);
    expect(startLead(400, 'process', 100).extraS).toBe(0);
    // a runtime's own allowance counts towards it
    expect(startLead(5, 'process', 100, 300).extraS).toBe(0);
  });

  it('says when systemStart came before every node was healthy', () => {
    expect(lateStart(10_000, 0, 9_000, 10)).toBeUndefined();
    const msg = lateStart(10_000, 0, 220_000, 10)!;
    expect(msg).toMatch(/genesis.startDelayS 10 s is too short here: bring-up took 220.0 s and systemStart passed 210.0 s before every node was healthy/);
    expect(msg).toMatch(/startDelayS ≥ 278/);
  });
});
