// Bounded accounting: with settling, decided txs leave memory (their txs.jsonl line is handed
// out) and only counters keep them. Seeded property: on random runs (registrations, verdicts,
// blocks with our txs and rivals, rollbacks shallower than the settle depth) the settling
// accounting agrees at every step with one that keeps every record, and settled lines plus the
// final open ones are exactly the lines the full one writes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Accounting, ValueTally, type ChainBlock } from '../../tx-generator/accounting.ts';
import { percentile, txLine, type TxLine } from '../../tx-generator/summary.ts';

const id = (n: number) => n.toString(16).padStart(64, '0');
const inp = (n: number) => `${'e'.repeat(60)}${n.toString(16).padStart(4, '0')}#0`;
const TARGETS = ['n1', 'n2', 'n3'];

type Op =
  | { op: 'reg'; input: number; targets: number }
  | { op: 'verdict'; tx: number; target: number; reason: string | null }
  | { op: 'block'; ours: number[]; rivals: number[] }
  | { op: 'rollback'; depth: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('reg' as const), input: fc.nat({ max: 400 }), targets: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('verdict' as const), tx: fc.nat(), target: fc.nat({ max: 2 }), reason: fc.constantFrom(null, null, 'mempool-full', 'bad-witness', 'duplicate') }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('block' as const), ours: fc.array(fc.nat(), { maxLength: 6 }), rivals: fc.array(fc.nat({ max: 400 }), { maxLength: 2 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('rollback' as const), depth: fc.integer({ min: 1, max: 3 }) }) },
);

describe('settling accounting', () => {
  it('agrees with the full accounting at every step, and writes the same lines (seeded)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 50, maxLength: 300 }), fc.integer({ min: 4, max: 8 }), (ops, depth) => {
        const full = new Accounting();
        const lines = new Map<string, TxLine>();
        /** included txs settled (far below the tip) before every target answered: their line has the verdicts as of then */
        const early = new Set<string>();
        const lean = new Accounting({
          settleDepth: depth,
          onSettle: (r, a) => {
            lines.set(r.idHex, txLine(a, r));
            if (r.verdicts.size < r.targets.length) early.add(r.idHex);
          },
        });
        let n = 0;
        let blockNo = 0;
        /** the highest tip seen: no rollback reaches deeper than settleDepth − 1 below it */
        let highest = 0;
        let key = 0;
        const chain: ChainBlock[] = [];
        const inputOf = new Map<string, string>();
        /** what a chain can hold: not a tx every target refused for good, not a spent input */
        const includable = (tx: string, spent: Set<string>): boolean => {
          const rec = full.get(tx)!;
          const refusedForGood = rec.verdicts.size === rec.targets.length && [...rec.verdicts.values()].every((v) => v !== null && v !== 'duplicate');
          return !refusedForGood && !spent.has(inputOf.get(tx)!);
        };
        for (const o of ops) {
          if (o.op === 'reg') {
            const rec = { idHex: id(++n), size: 200 + n, submitTimeMs: 1000 * n, targets: TARGETS.slice(0, o.targets), inputs: [inp(o.input)], kind: 'value' };
            inputOf.set(rec.idHex, rec.inputs[0]!);
            full.register(rec);
            lean.register(rec);
          } else if (o.op === 'verdict' && n > 0) {
            const tx = id(1 + (o.tx % n));
            const rec = full.get(tx)!;
            // a node answers once per tx, and only for a tx it was offered
            const t = rec.targets[o.target % rec.targets.length]!;
            if (rec.verdicts.has(t)) continue;
            full.verdict(t, tx, o.reason);
            lean.verdict(t, tx, o.reason);
          } else if (o.op === 'block') {
            blockNo++;
            const onChain = new Set(chain.flatMap((c) => c.txs.map((t) => t.idHex)));
            const spent = new Set(chain.flatMap((c) => c.txs.flatMap((t) => t.inputs)));
            const txs: { idHex: string; inputs: string[] }[] = [];
            for (const x of n > 0 ? o.ours : []) {
              const tx = id(1 + (x % n));
              if (onChain.has(tx) || !includable(tx, spent)) continue;
              txs.push({ idHex: tx, inputs: [inputOf.get(tx)!] });
              onChain.add(tx);
              spent.add(inputOf.get(tx)!);
            }
            for (const r of o.rivals) {
              if (spent.has(inp(r))) continue;
              txs.push({ idHex: `r${blockNo}x${r}`.padStart(64, '0'), inputs: [inp(r)] });
              spent.add(inp(r));
            }
            const b: ChainBlock = { key: `b${++key}`, slot: blockNo * 3, blockNo, timeMs: 1000 * n + 500 + blockNo, txs };
            chain.push(b);
            highest = Math.max(highest, blockNo);
            full.applyBlock(b);
            lean.applyBlock(b);
          } else if (o.op === 'rollback') {
            // never deeper than the settle depth (2k in the generator: deeper than any rollback)
            for (let d = 0; d < o.depth && chain.length > 0 && blockNo > highest - (depth - 1); d++) {
              const b = chain.pop()!;
              full.rollbackBlock(b.key);
              lean.rollbackBlock(b.key);
              blockNo--;
            }
          }
          expect(lean.counts()).toEqual(full.counts());
          expect(lean.verdictCounts).toEqual(full.verdictCounts);
          expect(lean.included).toBe(full.included);
          expect(lean.pendingCount()).toBe(full.pendingCount());
        }
        expect(lean.lateRollbacks).toBe(0);
        // what the generator writes: settled lines, then the open records
        for (const r of lean.records()) lines.set(r.idHex, txLine(lean, r));
        const want = new Map([...full.records()].map((r) => [r.idHex, txLine(full, r)]));
        for (const i of early) {
          expect(lines.get(i)!.state).toBe('included');
          delete lines.get(i)!.verdicts;
          delete want.get(i)!.verdicts;
        }
        expect(new Map([...lines].sort())).toEqual(new Map([...want].sort()));
        expect(lean.includedBytes()).toBe([...full.records()].filter((r) => r.included).reduce((s, r) => s + r.size, 0));
        const lat = [...full.records()].filter((r) => r.included).map((r) => (r.included!.timeMs - r.submitTimeMs) / 1000).sort((a, b) => a - b);
        const t = lean.latencyFigures();
        expect(t.n).toBe(lat.length);
        for (const q of [0, 0.5, 0.95, 1]) expect(t.at(q)).toBe(percentile(lat, q));
        if (lat.length) {
          expect(t.max).toBe(lat[lat.length - 1]);
          expect(t.mean).toBeCloseTo(lat.reduce((a, b) => a + b, 0) / lat.length, 9);
        } else expect([t.mean, t.max]).toEqual([null, null]);
        // and memory: what is still open is no more than what the full one holds
        expect(lean.openCount).toBeLessThanOrEqual(full.openCount);
      }),
      { seed: 0x5e771e, numRuns: 100 },
    );
  });

  it('the latency tally stays exact as new values arrive after a figure was taken', () => {
    const t = new ValueTally();
    for (const v of [3, 1, 2, 2]) t.add(v);
    expect(t.figures().at(0.5)).toBe(2);
    t.add(10);
    t.add(10);
    t.add(0.5);
    const f = t.figures([7, 0.25]);
    const all = [3, 1, 2, 2, 10, 10, 0.5, 7, 0.25].sort((a, b) => a - b);
    expect(f.n).toBe(9);
    for (const q of [0, 0.1, 0.5, 0.9, 0.95, 1]) expect(f.at(q)).toBe(percentile(all, q));
    expect([f.max, f.mean]).toEqual([10, all.reduce((a, b) => a + b, 0) / 9]);
    expect(new ValueTally().figures().at(0.5)).toBeNull();
  });

  it('a long run keeps only the undecided tail in memory', () => {
    const lines: string[] = [];
    const a = new Accounting({ settleDepth: 20, onSettle: (r, acct) => lines.push(JSON.stringify(txLine(acct, r))) });
    let n = 0;
    for (let blockNo = 1; blockNo <= 2000; blockNo++) {
      const ids: string[] = [];
      for (let k = 0; k < 50; k++) {
        const idHex = id(++n);
        a.register({ idHex, size: 300, submitTimeMs: n, targets: ['n1'], inputs: [inp(n % 60000)], kind: 'value' });
        a.verdict('n1', idHex, k === 0 ? 'mempool-full' : null);
        if (k > 0) ids.push(idHex);
      }
      a.applyBlock({ key: `k${blockNo}`, slot: blockNo, blockNo, timeMs: n + 7, txs: ids.map((i) => ({ idHex: i, inputs: [] })) });
    }
    const c = a.counts();
    expect(c).toMatchObject({ submitted: 100_000, included: 98_000, rejected: 2000, pending: 0 });
    expect(a.openCount).toBeLessThanOrEqual(21 * 50);
    expect(lines.length + a.openCount).toBe(100_000);
  });
});

describe('accounting undo window', () => {
  it('keeps only keepUndo block undo records: a rollback within them restores, one deeper finds none', () => {
    const a = new Accounting({ settleDepth: 4, keepUndo: 6 });
    const blocks: ChainBlock[] = [];
    for (let i = 1; i <= 20; i++) {
      a.register({ idHex: id(i), size: 100, submitTimeMs: 0, targets: ['n1'], inputs: [inp(i)], kind: 'value' });
      const b: ChainBlock = { key: `b${i}`, slot: i, blockNo: i, timeMs: i, txs: [{ idHex: id(i), inputs: [inp(i)] }] };
      blocks.push(b);
      a.applyBlock(b);
    }
    // the newest 6 blocks can be rolled back: their txs (not yet settled: within settleDepth) go back to pending
    for (let i = 20; i > 14; i--) a.rollbackBlock(`b${i}`);
    expect(a.rollbacks).toBe(6);
    expect(a.get(id(20))!.included).toBeUndefined();
    // no undo record left for block 14: nothing happens
    a.rollbackBlock('b14');
    expect(a.rollbacks).toBe(6);
  });
});

describe('settling with targets that had the tx already', () => {
  const block = (n: number, txs: string[]): ChainBlock => ({ key: `b${n}`, slot: n * 10, blockNo: n, timeMs: 1000 * n, txs: txs.map((t) => ({ idHex: t, inputs: [] })) });
  function run(ack: boolean): { settledAt: number | undefined; line: TxLine | undefined } {
    let line: TxLine | undefined;
    let settledAt: number | undefined;
    let tip = 0;
    const a = new Accounting({ settleDepth: 4, onSettle: (r, acct) => ((line = txLine(acct, r)), (settledAt = tip)) });
    a.register({ idHex: id(1), size: 300, submitTimeMs: 0, targets: ['n1', 'n2'], inputs: [inp(1)], kind: 'value' });
    a.verdict('n1', id(1), null);
    if (ack) a.acknowledged('n2', id(1));
    for (tip = 1; tip <= 20 && settledAt === undefined; tip++) a.applyBlock(block(tip, tip === 1 ? [id(1)] : []));
    return { settledAt, line };
  }

  it('an acknowledged-as-known target counts as answered: the included tx settles at settleDepth', () => {
    const r = run(true);
    expect(r.settledAt).toBe(5);
    expect(r.line).toMatchObject({ state: 'included', verdicts: { n1: null }, knownAt: ['n2'] });
  });

  it('without the acknowledgement it waits for the much deeper bound', () => {
    expect(run(false).settledAt).toBe(17);
  });
});
