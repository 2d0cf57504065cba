// The benchmark family (value-*, model-*, forge-stress) and the rule that every profile in the
// library loads and resolves — whatever its name.
import { describe, expect, it } from 'vitest';
import { knownProfiles, loadProfile } from '../../orchestrator/profile/load.ts';
import { loadPlan, resolvePlan } from '../../orchestrator/profile/resolve.ts';
import { planCeiling } from '../../orchestrator/sweep/ceiling.ts';

describe('profile library: every profile', () => {
  it('loads and resolves', () => {
    const names = knownProfiles();
    expect(names.length).toBeGreaterThan(10);
    for (const name of names) {
      expect(() => resolvePlan(loadProfile(name)), name).not.toThrow();
    }
  });
});

describe('benchmark family', () => {
  const names = knownProfiles();

  it('has value-*, model-* at several slot lengths, and forge-stress', () => {
    expect(names.filter((n) => n.startsWith('value-')).length).toBeGreaterThanOrEqual(2);
    expect(names.filter((n) => n.startsWith('model-')).length).toBeGreaterThanOrEqual(3);
    expect(names).toContain('forge-stress');
  });

  it('value-*: long saturation at fixed tx shapes', () => {
    const shapes = new Set<string>();
    for (const n of names.filter((x) => x.startsWith('value-'))) {
      const p = loadPlan(n);
      expect(p.generator.workload).toBe('value');
      expect(p.generator.durationS, n).toBeGreaterThanOrEqual(1200);
      const offeredKb = (p.generator.tps * p.generator.txSizeBytes) / 1000;
      const praosKb = (p.genesis.protocolParams.maxBlockBodySize * p.genesis.activeSlotCoeff) / p.genesis.slotLengthS / 1000;
      expect(offeredKb, n).toBeGreaterThan(10 * praosKb);
      expect(p.generator.txSizeBytes).toBeLessThanOrEqual(p.genesis.protocolParams.maxTxSize);
      shapes.add(`${p.generator.txSizeBytes}/${p.generator.inputs}/${p.generator.outputs}`);
    }
    expect(shapes.size).toBeGreaterThanOrEqual(2);
  });

  it('model-*: the time-scaled model keeps f = 0.05, the L windows in slots, epochs ≥ 10k/f and the load per slot', () => {
    const models = names.filter((x) => x.startsWith('model-')).map((n) => loadPlan(n));
    const slots = new Set(models.map((p) => p.genesis.slotLengthS));
    expect(slots.size).toBe(models.length);
    const ref = planCeiling(models.find((p) => p.genesis.slotLengthS === 1)!)!;
    for (const p of models) {
      const g = p.genesis;
      expect(g.activeSlotCoeff).toBe(0.05);
      expect([g.leios.lHdrSlots, g.leios.lVoteSlots, g.leios.lDiffSlots]).toEqual([1, 4, 7]);
      expect(g.epochLengthSlots).toBeGreaterThanOrEqual((10 * g.securityParam) / g.activeSlotCoeff);
      const perSlotKb = ((p.generator.tps * p.generator.txSizeBytes) / 1000) * g.slotLengthS;
      expect(perSlotKb).toBeCloseTo(10, 6);
      expect(planCeiling(p)!.txkbPerS).toBeCloseTo(ref.txkbPerS / g.slotLengthS, 6);
    }
  });

  it('forge-stress: a large UTxO set and many inputs per tx', () => {
    const p = loadPlan('forge-stress');
    expect(p.genesis.utxo.generatorOutputs).toBeGreaterThanOrEqual(100_000);
    expect(p.generator.inputs).toBeGreaterThanOrEqual(4);
    expect(p.nodes.filter((n) => n.role === 'pool')).toHaveLength(10);
  });
});
