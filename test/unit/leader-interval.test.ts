import { describe, expect, it } from 'vitest';
import { intervalActiveSlotCoeff, leaderProbability, leaderSlotsEnabled } from '../../node/crypto/leader.ts';
import { vrfKeygen } from '../../node/crypto/vrf.ts';
import { checkLeadership, checkLeadershipWith, leadershipNonce, type ForgeKeys } from '../../node/consensus/forge.ts';
import { initialNonceState } from '../../node/consensus/nonce.ts';
import { loadPlan } from '../../orchestrator/profile/resolve.ts';
import { ProfileError } from '../../orchestrator/errors.ts';

// The "reduce leader slot frequency" rule (genesis praos.leaderIntervalSlots = N): leadership only
// in slots with slot mod N = 0, at f' = N·f so the mean block interval stays 1/f slots.

describe('leader interval rule', () => {
  it('only every N-th slot is a leader slot; N = 1 is every slot', () => {
    expect([0, 1, 2, 3, 4, 5, 10, 11].map((s) => leaderSlotsEnabled(s, 5))).toEqual([true, false, false, false, false, true, true, false]);
    expect([0, 1, 2, 7].every((s) => leaderSlotsEnabled(s, 1))).toBe(true);
    expect(leaderSlotsEnabled(3)).toBe(true);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => leaderSlotsEnabled(1, bad)).toThrow(/integer/);
  });

  it("recalibration f' = N·f, as the decimal it prints as; N·f > 1 refused", () => {
    expect(intervalActiveSlotCoeff(0.05, 1)).toBe(0.05);
    expect(intervalActiveSlotCoeff(0.05, 5)).toBe(0.25);
    expect(intervalActiveSlotCoeff(0.05, 3)).toBe(0.15); // not 0.15000000000000002
    expect(intervalActiveSlotCoeff(0.1, 7)).toBe(0.7);
    expect(intervalActiveSlotCoeff(0.05, 20)).toBe(1); // every pool leads every leader slot
    expect(() => intervalActiveSlotCoeff(0.05, 21)).toThrow(/N·f/);
    expect(() => intervalActiveSlotCoeff(0.05, 0)).toThrow(/integer/);
  });

  it('mean block interval stays 1/f slots (simulation, fixed seed, 10 equal pools)', () => {
    const f = 0.05;
    const pools = 10;
    const slots = 30_000;
    // leader value v/2^256 uniform on [0, 1) from a seeded PRNG (mulberry32, two words per draw);
    // leads iff it is below the pool's exact threshold T/2^256 (leaderProbability)
    const meanGap = (interval: number) => {
      let seed = 7;
      const u32 = () => {
        seed = (seed + 0x6d2b79f5) | 0;
        let t = seed;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return (t ^ (t >>> 14)) >>> 0;
      };
      const phi = leaderProbability(1, pools, intervalActiveSlotCoeff(f, interval));
      let active = 0;
      let multi = 0;
      for (let s = 0; s < slots; s++) {
        if (!leaderSlotsEnabled(s, interval)) continue;
        let leaders = 0;
        for (let p = 0; p < pools; p++) if ((u32() * 2 ** 21 + (u32() >>> 11)) / 2 ** 53 < phi) leaders++;
        if (leaders > 0) active++;
        if (leaders > 1) multi++;
      }
      return { gap: slots / active, active, multi: multi / active };
    };
    const praos = meanGap(1);
    const every5 = meanGap(5);
    // 1/f = 20 slots; ≈ 1500 active slots each, so the mean gap is within ±8 % (> 3 σ)
    expect(praos.gap).toBeGreaterThan(20 * 0.92);
    expect(praos.gap).toBeLessThan(20 * 1.08);
    expect(every5.gap).toBeGreaterThan(20 * 0.92);
    expect(every5.gap).toBeLessThan(20 * 1.08);
    // the price: more same-slot battles (f' = 0.25: ≈ 12 % of active slots have two leaders or more)
    expect(every5.multi).toBeGreaterThan(praos.multi * 3);
  });

  it('checkLeadership never leads off the schedule, and uses f\' in leader slots', () => {
    const vrf = vrfKeygen(new Uint8Array(32).fill(9));
    const keys: ForgeKeys = {
      poolId: 'pool-1',
      coldVkey: new Uint8Array(32),
      sign: () => new Uint8Array(64),
      vrfSk: vrf.sk,
      vrfVkey: vrf.pk,
      stake: 1n,
    };
    const nonce = initialNonceState(new Uint8Array(32).fill(1));
    // sole pool, f = 0.5, N = 2: f' = 1, so it leads every even slot and no odd one
    const lead = (slot: number, leaderIntervalSlots?: number) =>
      checkLeadership(slot, nonce, keys, { epochLengthSlots: 100, f: 0.5, totalStake: 1n, leaderIntervalSlots }) !== undefined;
    expect([0, 1, 2, 3, 4, 5].map((s) => lead(s, 2))).toEqual([true, false, true, false, true, false]);
    // without the option (N = 1, f = 0.5) some slot of 0..15 is lost: the option is what changed it
    expect([...Array(16).keys()].every((s) => lead(s))).toBe(false);
  });

  it('a check against a precomputed epoch nonce (the forger checks the next slot ahead) is the same check', () => {
    const vrf = vrfKeygen(new Uint8Array(32).fill(3));
    const keys: ForgeKeys = { poolId: 'pool-1', coldVkey: new Uint8Array(32), sign: () => new Uint8Array(64), vrfSk: vrf.sk, vrfVkey: vrf.pk, stake: 1n };
    const nonce = initialNonceState(new Uint8Array(32).fill(2));
    const p = { epochLengthSlots: 10, f: 0.3, totalStake: 2n };
    let led = 0;
    for (let slot = 0; slot < 40; slot++) {
      const a = checkLeadership(slot, nonce, keys, p);
      const b = checkLeadershipWith(slot, leadershipNonce(slot, nonce, p), keys, p);
      expect(b).toEqual(a);
      if (a) led++;
    }
    expect(led).toBeGreaterThan(0); // some slots led, across epochs 0..3
  });
});

describe('profile genesis.praos.leaderIntervalSlots', () => {
  it('the slot-battles-interval profile sets it; plain profiles leave it out of the plan', () => {
    expect(loadPlan('slot-battles-interval').genesis.praos).toEqual({ leaderIntervalSlots: 5 });
    expect(loadPlan('slot-battles-praos').genesis.praos).toBeUndefined();
    expect(loadPlan('ci-praos').genesis.praos).toBeUndefined();
  });

  it('N·f > 1 or N < 1 is a profile error naming the field (exit 2)', () => {
    const err = (v: string) => {
      try {
        loadPlan('slot-battles-praos', { sets: [`genesis.praos.leaderIntervalSlots=${v}`] });
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const big = err('21');
    expect(big).toBeInstanceOf(ProfileError);
    expect(String((big as Error).message)).toMatch(/genesis\.praos\.leaderIntervalSlots.*N·f must be at most 1/);
    expect(err('0')).toBeInstanceOf(ProfileError);
    expect(err('2.5')).toBeInstanceOf(ProfileError);
    expect(err('20')).toBeUndefined();
  });
});
