// Shapes of the tx-generator workloads: counts, targets and timing from a fake clock.
import { describe, expect, it } from 'vitest';
import { isTwin, makeWorkload, type TxShape, type Workload } from '../../tx-generator/workloads/index.ts';

/** Drive a workload with a fake clock (tick every tickS up to endS): [time, shape] per tx. */
function run(w: Workload, endS: number, tickS = 0.01): { t: number; s: TxShape }[] {
  const out: { t: number; s: TxShape }[] = [];
  let i = 0;
  for (let k = 1; ; k++) {
    const t = Math.min(k * tickS, endS);
    for (let n = w.arrivals.take(t); n > 0; n--) out.push({ t, s: w.shape(i++) });
    if (t >= endS) break;
  }
  return out;
}

const base = { targets: 3, tps: 20, rampUpS: 0, seed: 1 };
const secondOf = (t: number) => Math.ceil(t - 1e-9) - 1;

describe('value', () => {
  it('one fresh tx per arrival, round robin over the targets, at the rate', () => {
    const w = makeWorkload({ kind: 'value' }, base);
    const txs = run(w, 5);
    expect(txs.length).toBe(100);
    expect(txs.every((x) => x.s.kind === 'fresh' && x.s.targets.length === 1)).toBe(true);
    expect(txs.slice(0, 6).map((x) => x.s.targets[0])).toEqual([0, 1, 2, 0, 1, 2]);
    const counts = [0, 0, 0];
    for (const x of txs) counts[x.s.targets[0]]++;
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect(w.freshShare).toBe(1);
  });

  it('ramps up linearly', () => {
    const txs = run(makeWorkload({ kind: 'value' }, { ...base, rampUpS: 2 }), 4);
    const per = [0, 0, 0, 0];
    for (const x of txs) per[secondOf(x.t)]++;
    expect(per).toEqual([5, 15, 20, 20]);
  });
});

describe('conflict', () => {
  it('a share f of txs are twins of the fresh tx just before them, sent to another target', () => {
    const w = makeWorkload({ kind: 'conflict', conflictFraction: 0.25 }, base);
    const txs = run(w, 10);
    expect(txs.length).toBe(200);
    const twins = txs.filter((x) => x.s.kind === 'twin');
    expect(twins.length).toBe(50);
    expect(w.freshShare).toBe(0.75);
    txs.forEach((x, i) => {
      if (x.s.kind !== 'twin') return;
      const prev = txs[i - 1].s;
      expect(prev.kind).toBe('fresh'); // f ≤ 0.5: never a twin of a twin
      expect(x.s.targets[0]).toBe((prev.targets[0] + 1) % 3);
    });
  });

  it('isTwin marks exactly ⌊n·f⌋ of the first n txs', () => {
    for (const f of [0, 0.1, 0.33, 0.5]) {
      for (const n of [1, 7, 100, 1234]) {
        let c = 0;
        for (let i = 0; i < n; i++) if (isTwin(i, f)) c++;
        expect(c).toBe(Math.floor(n * f + 1e-9));
      }
    }
  });

  it('with one target the twin goes to the same node', () => {
    const w = makeWorkload({ kind: 'conflict', conflictFraction: 0.5 }, { ...base, targets: 1 });
    const txs = run(w, 1);
    expect(txs.map((x) => x.s.kind).slice(0, 4)).toEqual(['fresh', 'twin', 'fresh', 'twin']);
    expect(txs.every((x) => x.s.targets[0] === 0)).toBe(true);
  });
});

describe('duplicate', () => {
  it('each tx goes to `duplicateFanout` distinct targets', () => {
    const txs = run(makeWorkload({ kind: 'duplicate', duplicateFanout: 2 }, base), 2);
    expect(txs.length).toBe(40);
    for (const x of txs) {
      expect(x.s.kind).toBe('fresh');
      expect(new Set(x.s.targets).size).toBe(2);
    }
    expect(txs[0].s.targets).toEqual([0, 1]);
    expect(txs[2].s.targets).toEqual([2, 0]);
  });

  it('the fan-out is capped at the number of targets', () => {
    const txs = run(makeWorkload({ kind: 'duplicate', duplicateFanout: 9 }, base), 1);
    for (const x of txs) expect([...x.s.targets].sort()).toEqual([0, 1, 2]);
  });
});

describe('burst', () => {
  it('on for onS at the rate, silent for offS', () => {
    const txs = run(makeWorkload({ kind: 'burst', onS: 1, offS: 2 }, base), 9);
    const per = new Array(9).fill(0);
    for (const x of txs) per[secondOf(x.t)]++;
    expect(per).toEqual([20, 0, 0, 20, 0, 0, 20, 0, 0]);
  });
});

describe('poisson', () => {
  it('irregular arrivals averaging the rate, value-shaped', () => {
    const w = makeWorkload({ kind: 'poisson' }, { ...base, tps: 50, seed: 11 });
    const txs = run(w, 40, 0.001);
    expect(Math.abs(txs.length - 2000)).toBeLessThan(180); // 4 σ
    const per = new Array(40).fill(0);
    for (const x of txs) per[secondOf(x.t)]++;
    expect(new Set(per).size).toBeGreaterThan(5); // not a constant rate
    expect(txs.every((x) => x.s.kind === 'fresh' && x.s.targets.length === 1)).toBe(true);
  });
});
