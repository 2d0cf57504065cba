// UTxO bookkeeping of the tx-generator: the pool never hands out an input twice while a tx
// spending it may be pending; the wallet follows blocks and rollbacks.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromHex, toHex } from '../../node/crypto/hash.ts';
import { addressOf, buildTx, makeSigner, type Tx } from '../../node/ledger/index.ts';
import { UtxoPool, Wallet, type Utxo } from '../../tx-generator/utxo.ts';
import { toChainTx } from '../../tx-generator/chain-tx.ts';

const utxo = (n: number): Utxo => ({ key: `${n.toString(16).padStart(64, '0')}#0`, txId: new Uint8Array(32), index: 0, amount: 1000, blockNo: 1 });

type Op =
  | { op: 'add'; n: number }
  | { op: 'take'; k: number }
  | { op: 'reject'; pick: number } // the tx was refused everywhere: inputs back
  | { op: 'include'; pick: number } // the tx is on chain: inputs retired
  | { op: 'conflict'; pick: number }; // a twin built from a pending tx's inputs

describe('UtxoPool', () => {
  it('no input is spent by two live txs, except a conflict twin (property)', () => {
    const opArb: fc.Arbitrary<Op> = fc.oneof(
      fc.record({ op: fc.constant('add' as const), n: fc.integer({ min: 0, max: 40 }) }),
      fc.record({ op: fc.constant('take' as const), k: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ op: fc.constant('reject' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('include' as const), pick: fc.nat() }),
      fc.record({ op: fc.constant('conflict' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const pool = new UtxoPool();
        /** live (pending) txs: inputs and whether it is a twin */
        const live: { inputs: Utxo[]; twin: boolean }[] = [];
        const onChain = new Set<string>();
        const everSpentBy = new Map<string, number>(); // key → txs built on it (non-twin)
        for (const o of ops) {
          if (o.op === 'add') pool.add(utxo(o.n));
          else if (o.op === 'take') {
            const before = pool.available;
            const got = pool.take(o.k);
            if (before < o.k) expect(got).toBeUndefined();
            else {
              expect(got!.length).toBe(o.k);
              expect(pool.available).toBe(before - o.k);
              for (const u of got!) {
                // never an output spent on chain, never one a live non-twin tx spends
                expect(onChain.has(u.key)).toBe(false);
                for (const t of live) if (!t.twin) expect(t.inputs.some((x) => x.key === u.key)).toBe(false);
                everSpentBy.set(u.key, (everSpentBy.get(u.key) ?? 0) + 1);
              }
              live.push({ inputs: got!, twin: false });
            }
          } else if (live.length > 0) {
            const i = o.pick % live.length;
            const t = live[i];
            if (o.op === 'reject') {
              live.splice(i, 1);
              // its inputs come back only if no twin of it is live
              if (!t.twin && !live.some((x) => x.twin && x.inputs === t.inputs)) pool.release(t.inputs);
            } else if (o.op === 'include') {
              live.splice(i, 1);
              for (const u of t.inputs) {
                onChain.add(u.key);
                pool.retire(u.key);
              }
              // its twins can never be included now
              for (let j = live.length - 1; j >= 0; j--) if (live[j].inputs === t.inputs) live.splice(j, 1);
            } else if (!t.twin) live.push({ inputs: t.inputs, twin: true });
          }
          expect(pool.available).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('an output re-created by a re-applied block is not added twice', () => {
    const pool = new UtxoPool();
    expect(pool.add(utxo(1))).toBe(true);
    expect(pool.take(1)).toHaveLength(1);
    expect(pool.add(utxo(1))).toBe(false);
    expect(pool.available).toBe(0);
    expect(pool.reserved).toBe(1);
  });

  it('retiring an available output removes it from the queue', () => {
    const pool = new UtxoPool();
    for (let i = 0; i < 5; i++) pool.add(utxo(i));
    pool.retire(utxo(0).key);
    pool.retire(utxo(3).key);
    expect(pool.available).toBe(3);
    expect(pool.take(3)!.map((u) => u.key)).toEqual([1, 2, 4].map((n) => utxo(n).key));
    expect(pool.take(1)).toBeUndefined();
  });

  it('release puts reserved outputs back once; unknown or retired ones are ignored', () => {
    const pool = new UtxoPool();
    pool.add(utxo(1));
    pool.add(utxo(2));
    const got = pool.take(2)!;
    pool.retire(got[1].key);
    pool.release(got);
    pool.release(got);
    expect(pool.available).toBe(1);
    expect(pool.take(1)![0].key).toBe(utxo(1).key);
  });

  it('forgets keys spent on chain once the spending block is past rollback depth, and only those', () => {
    const pool = new UtxoPool();
    for (let i = 0; i < 6; i++) pool.add(utxo(i));
    pool.take(4);
    pool.retire(utxo(0).key, 10); // spent in block 10
    pool.retire(utxo(1).key, 12); // spent in block 12
    pool.retire(utxo(2).key); // dropped without a spend (a build failure): remembered for good
    pool.exclude(utxo(9).key);
    expect(pool.knownCount).toBe(7);
    pool.forgetSpentBefore(10);
    expect(pool.isKnown(utxo(0).key)).toBe(true);
    pool.forgetSpentBefore(11);
    expect(pool.isKnown(utxo(0).key)).toBe(false);
    expect(pool.isKnown(utxo(1).key)).toBe(true);
    pool.forgetSpentBefore(100);
    expect([0, 1].map((n) => pool.isKnown(utxo(n).key))).toEqual([false, false]);
    expect([2, 3, 4, 5, 9].map((n) => pool.isKnown(utxo(n).key))).toEqual([true, true, true, true, true]);
    expect(pool.knownCount).toBe(5);
    // the bookkeeping itself stays bounded: a long run's spends are compacted away
    for (let i = 100; i < 20_100; i++) (pool.add(utxo(i)), pool.take(1), pool.retire(utxo(i).key, i));
    pool.forgetSpentBefore(20_100);
    expect(pool.knownCount).toBe(5);
    expect((pool as unknown as { spent: unknown[] }).spent.length).toBeLessThan(10_000);
  });
});

describe('Wallet', () => {
  const seed = new Uint8Array(32).fill(7);
  const signer = makeSigner(seed);
  const addr = toHex(addressOf(signer.vkey));
  const other = toHex(new Uint8Array(28).fill(1));
  const genesis = [
    { txId: 'aa'.repeat(32), index: 0, address: addr, amount: 1_000_000 },
    { txId: 'aa'.repeat(32), index: 1, address: other, amount: 5_000_000 },
    { txId: 'bb'.repeat(32), index: 0, address: addr, amount: 2_000_000 },
  ];
  const pp = { minFeeA: 1, minFeeB: 100 };
  const spend = (txIdHex: string, index: number, amount: number, outs: number[]): Tx =>
    buildTx({
      inputs: [{ txId: fromHex(txIdHex), index, amount }],
      outputs: outs.map((a) => ({ address: signer.address, amount: a })),
      changeAddress: signer.address,
      protocolParams: pp,
      signers: [signer],
    });

  const ct = (t: Tx) => toChainTx(t, signer.address);

  it('keeps of a chain tx only its id, input keys and the outputs paid to us', () => {
    const t = buildTx({
      inputs: [{ txId: fromHex('aa'.repeat(32)), index: 0, amount: 1_000_000 }],
      outputs: [
        { address: fromHex(other), amount: 200_000 },
        { address: signer.address, amount: 300_000 },
      ],
      changeAddress: signer.address,
      protocolParams: pp,
      signers: [signer],
    });
    const c = ct(t);
    expect(Object.keys(c).sort()).toEqual(['id', 'idHex', 'inputs', 'ours']);
    expect(c.idHex).toBe(t.idHex);
    expect(c.inputs).toEqual([`${'aa'.repeat(32)}#0`]);
    // output 0 pays someone else; 1 and the change (2) are ours
    expect(c.ours.map((o) => o.index)).toEqual([1, 2]);
    expect(c.ours[0].amount).toBe(300_000);
    // its own 32 bytes, not a view that keeps the tx's buffer alive
    expect(c.id.buffer.byteLength).toBe(32);
    const w = new Wallet(signer.address, genesis);
    expect(w.applyBlock('b1', 1, [c]).map((u) => u.key)).toEqual([`${t.idHex}#1`, `${t.idHex}#2`]);
  });

  it('imports our genesis outputs only', () => {
    const w = new Wallet(signer.address, genesis);
    expect(w.size).toBe(2);
    expect(w.total()).toBe(3_000_000);
  });

  it('applies blocks and undoes them on rollback, LIFO', () => {
    const w = new Wallet(signer.address, genesis);
    const t1 = spend('aa'.repeat(32), 0, 1_000_000, [100_000, 100_000]);
    const created = w.applyBlock('b1', 1, [ct(t1)]);
    expect(created.map((u) => u.key)).toEqual([`${t1.idHex}#0`, `${t1.idHex}#1`, `${t1.idHex}#2`]);
    expect(w.get(`${'aa'.repeat(32)}#0`)).toBeUndefined();
    expect(w.size).toBe(4);
    const t2 = spend(t1.idHex, 0, 100_000, [50_000]);
    w.applyBlock('b2', 2, [ct(t2)]);
    expect(w.get(`${t1.idHex}#0`)).toBeUndefined();
    expect(w.get(`${t2.idHex}#0`)!.blockNo).toBe(2);
    expect(() => w.rollbackBlock('b1')).toThrow();
  });

  it('rollback restores exactly the state before the block', () => {
    const w = new Wallet(signer.address, genesis);
    const snap = () => w.all().map((u) => `${u.key}=${u.amount}@${u.blockNo}`).sort();
    const s0 = snap();
    const t1 = spend('bb'.repeat(32), 0, 2_000_000, [300_000]);
    w.applyBlock('b1', 1, [ct(t1)]);
    const s1 = snap();
    const t2 = spend(t1.idHex, 1, w.get(`${t1.idHex}#1`)!.amount, [10_000, 10_000]);
    w.applyBlock('b2', 2, [ct(t2)]);
    w.rollbackBlock('b2');
    expect(snap()).toEqual(s1);
    w.rollbackBlock('b1');
    expect(snap()).toEqual(s0);
  });
});
