// Per-tx accounting of the tx-generator: submitted = included + rejected + pending at every
// step, through verdicts, blocks, conflicts and rollbacks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Accounting, CONFLICT_LOST, type ChainBlock } from '../../tx-generator/accounting.ts';
import { rateFigures, txLine, cov, percentile } from '../../tx-generator/summary.ts';

const id = (n: number) => n.toString(16).padStart(64, '0');
const inp = (n: number) => `${'f'.repeat(63)}${n.toString(16)}#0`;

function closed(a: Accounting): void {
  const c = a.counts();
  expect(c.included + c.rejected + c.pending).toBe(c.submitted);
  expect(Object.values(c.rejectedByReason).reduce((s, x) => s + x, 0)).toBe(c.rejected);
  expect(c.included).toBe(a.included);
  expect(c.accepted).toBeGreaterThanOrEqual(c.included);
}

describe('accounting on a recorded run', () => {
  // A run as it happened: 6 txs on 3 nodes; tx 5 is a conflict twin of tx 4; a one-block
  // rollback in the middle; node-2 refuses tx 3 for lack of room.
  it('closes at every step and classifies each tx', () => {
    const a = new Accounting();
    const reg = (n: number, targets: string[], input: number, t: number, kind = 'value') =>
      a.register({ idHex: id(n), size: 300, submitTimeMs: t, targets, inputs: [inp(input)], kind });
    const block = (key: string, blockNo: number, timeMs: number, txs: [number, number][]): ChainBlock => ({
      key,
      slot: blockNo * 5,
      blockNo,
      timeMs,
      txs: txs.map(([n, i]) => ({ idHex: id(n), inputs: [inp(i)] })),
    });
    const steps: (() => void)[] = [
      () => reg(1, ['node-1'], 1, 1000),
      () => reg(2, ['node-2'], 2, 1050),
      () => a.verdict('node-1', id(1), null),
      () => reg(3, ['node-2'], 3, 1100),
      () => a.verdict('node-2', id(2), null),
      () => a.verdict('node-2', id(3), 'mempool-full'),
      () => reg(4, ['node-3'], 4, 1150),
      () => reg(5, ['node-1'], 4, 1151, 'twin'),
      () => a.verdict('node-3', id(4), null),
      () => a.verdict('node-1', id(5), null), // both accepted, in different mempools
      () => a.applyBlock(block('A', 1, 2000, [[1, 1], [5, 4]])), // the twin wins
      () => a.applyBlock(block('B', 2, 3000, [[2, 2]])),
      () => a.rollbackBlock('B'), // tx 2 back to pending
      () => reg(6, ['node-1'], 6, 3100),
      () => a.applyBlock(block('B2', 2, 3500, [[2, 2], [9, 99]])), // tx 9 is not ours
    ];
    for (const s of steps) {
      s();
      closed(a);
    }
    const c = a.counts();
    expect(c).toEqual({ submitted: 6, accepted: 4, included: 3, rejected: 2, pending: 1, rejectedByReason: { 'mempool-full': 1, [CONFLICT_LOST]: 1 } });
    expect(a.state(a.get(id(4))!)).toBe('rejected');
    expect(a.rejectReason(a.get(id(4))!)).toBe(CONFLICT_LOST);
    expect(a.get(id(2))!.included!.timeMs).toBe(3500);
    expect(a.rollbacks).toBe(1);
    expect(a.verdictCounts).toEqual({ accepted: 4, rejected: { 'mempool-full': 1 } });
    const line = txLine(a, a.get(id(2))!);
    expect(line).toMatchObject({ id: id(2), target: 'node-2', state: 'included', verdict: 'accepted', includedSlot: 10, latencyS: 2.45 });
    expect(txLine(a, a.get(id(6))!)).toMatchObject({ state: 'pending', verdict: null });
    expect(txLine(a, a.get(id(3))!)).toMatchObject({ state: 'rejected', verdict: 'mempool-full' });
  });

  it('rolling back the winning block un-loses the twin', () => {
    const a = new Accounting();
    a.register({ idHex: id(1), size: 1, submitTimeMs: 0, targets: ['a'], inputs: [inp(1)], kind: 'value' });
    a.register({ idHex: id(2), size: 1, submitTimeMs: 0, targets: ['b'], inputs: [inp(1)], kind: 'twin' });
    a.applyBlock({ key: 'X', slot: 1, blockNo: 1, timeMs: 1, txs: [{ idHex: id(1), inputs: [inp(1)] }] });
    expect(a.counts()).toMatchObject({ included: 1, rejected: 1, pending: 0 });
    a.rollbackBlock('X');
    expect(a.counts()).toMatchObject({ included: 0, rejected: 0, pending: 2 });
    a.applyBlock({ key: 'Y', slot: 2, blockNo: 1, timeMs: 2, txs: [{ idHex: id(2), inputs: [inp(1)] }] });
    expect(a.state(a.get(id(1))!)).toBe('rejected');
    expect(a.state(a.get(id(2))!)).toBe('included');
  });

  it('a duplicate is accepted if any node accepted it; rejected only if every answer was a refusal', () => {
    const a = new Accounting();
    a.register({ idHex: id(1), size: 1, submitTimeMs: 0, targets: ['a', 'b'], inputs: [inp(1)], kind: 'duplicate' });
    a.register({ idHex: id(2), size: 1, submitTimeMs: 0, targets: ['a', 'b'], inputs: [inp(2)], kind: 'duplicate' });
    a.verdict('b', id(1), 'duplicate');
    expect(a.state(a.get(id(1))!)).toBe('rejected');
    const r = a.verdict('a', id(1), null);
    expect(r.firstAccept).toBe(true);
    expect(a.state(a.get(id(1))!)).toBe('pending');
    a.verdict('a', id(2), 'missing-input');
    expect(a.verdict('b', id(2), 'missing-input').nowRejected).toBe(false);
    expect(a.counts()).toMatchObject({ accepted: 1, rejected: 1, pending: 1, rejectedByReason: { 'missing-input': 1 } });
  });

  it('registering the same tx twice is a bug', () => {
    const a = new Accounting();
    a.register({ idHex: id(1), size: 1, submitTimeMs: 0, targets: ['a'], inputs: [], kind: 'value' });
    expect(() => a.register({ idHex: id(1), size: 1, submitTimeMs: 0, targets: ['a'], inputs: [], kind: 'value' })).toThrow();
  });
});

describe('accounting closure (property)', () => {
  type Ev =
    | { e: 'reg'; input: number; targets: number }
    | { e: 'verdict'; tx: number; target: number; reason: string | null }
    | { e: 'block'; txs: number[]; foreign: number[] }
    | { e: 'rollback' };
  const evArb: fc.Arbitrary<Ev> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ e: fc.constant('reg' as const), input: fc.integer({ min: 0, max: 30 }), targets: fc.integer({ min: 1, max: 3 }) }) },
    {
      weight: 4,
      arbitrary: fc.record({
        e: fc.constant('verdict' as const),
        tx: fc.nat(),
        target: fc.integer({ min: 0, max: 2 }),
        reason: fc.constantFrom(null, null, 'mempool-full', 'conflict', 'duplicate', 'missing-input'),
      }),
    },
    { weight: 2, arbitrary: fc.record({ e: fc.constant('block' as const), txs: fc.array(fc.nat(), { maxLength: 4 }), foreign: fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ e: fc.constant('rollback' as const) }) },
  );

  it('submitted = included + rejected + pending after any sequence of events', () => {
    fc.assert(
      fc.property(fc.array(evArb, { maxLength: 150 }), (evs) => {
        const a = new Accounting();
        const txs: { idHex: string; input: string }[] = [];
        const blocks: string[] = [];
        const spentOnChain: string[][] = [];
        let n = 0;
        for (const ev of evs) {
          if (ev.e === 'reg') {
            const idHex = id(++n);
            a.register({ idHex, size: 1, submitTimeMs: n, targets: ['t0', 't1', 't2'].slice(0, ev.targets), inputs: [inp(ev.input)], kind: 'value' });
            txs.push({ idHex, input: inp(ev.input) });
          } else if (ev.e === 'verdict' && txs.length) {
            a.verdict(`t${ev.target}`, txs[ev.tx % txs.length].idHex, ev.reason);
          } else if (ev.e === 'block') {
            // a valid block: each input spent once on the chain
            const onChain = new Set(spentOnChain.flat());
            const chosen: { idHex: string; inputs: string[] }[] = [];
            for (const k of ev.txs) {
              const t = txs[k % Math.max(1, txs.length)];
              if (!t || onChain.has(t.input) || a.get(t.idHex)!.included) continue;
              onChain.add(t.input);
              chosen.push({ idHex: t.idHex, inputs: [t.input] });
            }
            for (const f of ev.foreign) {
              if (onChain.has(inp(f))) continue;
              onChain.add(inp(f));
              chosen.push({ idHex: 'e'.repeat(63) + (f % 16).toString(16), inputs: [inp(f)] });
            }
            const key = `b${blocks.length}-${n}`;
            a.applyBlock({ key, slot: blocks.length, blockNo: blocks.length + 1, timeMs: n, txs: chosen });
            blocks.push(key);
            spentOnChain.push(chosen.flatMap((c) => c.inputs));
          } else if (ev.e === 'rollback' && blocks.length) {
            a.rollbackBlock(blocks.pop()!);
            spentOnChain.pop();
          }
          closed(a);
          // an included tx is never also lost; at most one of ours per input is included
          const incl = new Map<string, number>();
          for (const r of a.records()) {
            if (r.included) {
              expect(r.lostTo).toBeUndefined();
              for (const k of r.inputs) incl.set(k, (incl.get(k) ?? 0) + 1);
            }
          }
          for (const c of incl.values()) expect(c).toBe(1);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('summary figures', () => {
  it('rate error and CoV from per-second counts', () => {
    // 10 s at 20 tx/s, second 3 got 2 fewer (late), second 4 two more
    const start = 1_000_000;
    const times: number[] = [];
    const per = [20, 20, 20, 18, 22, 20, 20, 20, 20, 19];
    per.forEach((c, s) => {
      for (let k = 0; k < c; k++) times.push(start + s * 1000 + (k * 1000) / c);
    });
    const f = rateFigures(times, start, 10, (t) => 20 * t, () => 20, 0);
    expect(f.rateSeries).toEqual(per);
    expect(f.targetSeries).toEqual(new Array(10).fill(20));
    expect(f.rateErrorPct).toBeCloseTo(-0.5);
    expect(f.rateCoV).toBeCloseTo(cov(per)!, 4);
    expect(f.rateCoV).toBeGreaterThan(0);
  });

  it('leaves ramp-up and off seconds out of the CoV', () => {
    const f = rateFigures([], 0, 6, (t) => t, (t) => (t < 2 ? t / 2 : 1), 2);
    expect(f.rateErrorPct).toBe(-100);
    expect(f.rateCoV).toBeNull(); // all steady seconds are 0: mean 0
  });

  it('percentile interpolates', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([1, 2, 3, 4, 5], 0.95)).toBeCloseTo(4.8);
    expect(percentile([], 0.5)).toBeNull();
  });
});
