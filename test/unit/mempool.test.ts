import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex, hash256, toHex } from '../../node/crypto/hash.ts';
import type { ProtocolParams } from '../../node/genesis/schema.ts';
import { bodySize, buildTx, Ledger, makeSigner, signTx, type Tx, type TxSigner, type UndoRecord } from '../../node/ledger/index.ts';
import { Mempool, minMempoolCapacity, defaultRefSize } from '../../node/mempool/index.ts';

const pp: ProtocolParams = { minFeeA: 44, minFeeB: 155_381, maxTxSize: 16_384, maxBlockBodySize: 90_112, maxHeaderSize: 1100 };
const keys: TxSigner[] = Array.from({ length: 4 }, (_, i) => makeSigner(new Uint8Array(32).fill(i + 11)));
const [alice, bob, carol] = keys;
const FUND = 100_000_000_000;
const OUTPUTS_PER_KEY = 40;

function genesisLedger(): Ledger {
  return Ledger.fromGenesis({
    protocolParams: pp,
    initialUtxo: keys.flatMap((k, i) =>
      Array.from({ length: OUTPUTS_PER_KEY }, (_, index) => ({
        txId: toHex(hash256(new Uint8Array([i]))),
        index,
        address: toHex(k.address),
        amount: FUND,
      })),
    ),
  });
}

const genKey = (owner: number, index: number): string => `${toHex(hash256(new Uint8Array([owner])))}#${index}`;

function ref(key: string) {
  const [h, i] = key.split('#');
  return { txId: fromHex(h), index: Number(i) };
}

/** owner (index into keys) spends `key` (worth `amount`) paying `pay` to bob; change to itself at #1 */
function spend(owner: number, key: string, opts: { amount?: number; pay?: number; pad?: number } = {}): Tx {
  const from = keys[owner];
  return buildTx({
    inputs: [{ ...ref(key), amount: opts.amount ?? FUND }],
    outputs: [{ address: bob.address, amount: opts.pay ?? 1_000_000 }],
    changeAddress: from.address,
    signers: [from],
    padToBytes: opts.pad,
    protocolParams: pp,
  });
}

const change = (tx: Tx) => ({ key: `${tx.idHex}#1`, amount: tx.body.outputs[1].amount });

describe('mempool: admission', () => {
  it('accepts valid txs and tracks count and bytes', () => {
    const mp = new Mempool(genesisLedger(), { capacityBytes: 1_000_000 });
    const t1 = spend(0, genKey(0, 0), { pad: 1500 });
    const r = mp.add(t1.bytes);
    expect(r.ok).toBe(true);
    expect(mp.count).toBe(1);
    expect(mp.size).toBe(1);
    expect(mp.bytes).toBe(1500);
    expect(mp.has(t1.idHex)).toBe(true);
    expect(mp.has(t1.id)).toBe(true);
    expect(mp.get(t1.idHex)?.idHex).toBe(t1.idHex);
  });

  it('duplicate, conflict, mempool-full, malformed, too-large, ledger reasons', () => {
    const mp = new Mempool(genesisLedger(), { capacityBytes: 3000 });
    const t1 = spend(0, genKey(0, 0), { pad: 1500 });
    expect(mp.add(t1.bytes).ok).toBe(true);
    expect(mp.add(t1.bytes)).toMatchObject({ ok: false, reason: 'duplicate' });
    expect(mp.add(spend(0, genKey(0, 0), { pay: 2_000_000 }).bytes)).toMatchObject({ ok: false, reason: 'conflict' });
    expect(mp.add(spend(0, genKey(0, 1), { pad: 1501 }).bytes)).toMatchObject({ ok: false, reason: 'mempool-full' });
    expect(mp.add(new Uint8Array([0x82, 0x01, 0x02]))).toMatchObject({ ok: false, reason: 'malformed' });
    expect(mp.add(new Uint8Array(pp.maxTxSize + 1))).toMatchObject({ ok: false, reason: 'too-large' });
    // signed by the wrong key
    const forged = buildTx({
      inputs: [{ ...ref(genKey(0, 2)), amount: FUND }],
      outputs: [{ address: carol.address, amount: 1_000_000 }],
      changeAddress: carol.address,
      signers: [carol],
      protocolParams: pp,
    });
    expect(mp.add(forged.bytes)).toMatchObject({ ok: false, reason: 'bad-witness' });
    expect(mp.add(spend(0, `${'ab'.repeat(32)}#0`).bytes)).toMatchObject({ ok: false, reason: 'missing-input' });
    expect(mp.count).toBe(1);
  });

  it('accepts chains: a tx spending the output of a mempool tx', () => {
    const mp = new Mempool(genesisLedger(), { capacityBytes: 1_000_000 });
    const t1 = spend(0, genKey(0, 0));
    const t2 = spend(0, change(t1).key, { amount: change(t1).amount });
    const t3 = spend(0, change(t2).key, { amount: change(t2).amount });
    expect(mp.add(t3.bytes)).toMatchObject({ ok: false, reason: 'missing-input' }); // parent unknown yet
    expect(mp.add(t1.bytes).ok && mp.add(t2.bytes).ok && mp.add(t3.bytes).ok).toBe(true);
    // a second spend of t1's change conflicts with t2
    expect(mp.add(spend(0, change(t1).key, { amount: change(t1).amount, pay: 5 }).bytes)).toMatchObject({
      ok: false,
      reason: 'conflict',
    });
  });

  it('capacity of at least 2·(S_RB + S_EB-tx) ≈ 24 MB holds that many bytes', () => {
    const cap = minMempoolCapacity({ protocolParams: pp, leios: { ebMaxTxBytes: 12_000_000 } as never });
    expect(cap).toBe(2 * (90_112 + 12_000_000));
    const mp = new Mempool(genesisLedger(), { capacityBytes: cap });
    // admission is by bytes: 160 txs of 16 kB (2.56 MB) all fit
    let n = 0;
    for (let owner = 0; owner < keys.length; owner++)
      for (let i = 0; i < OUTPUTS_PER_KEY; i++) if (mp.add(spend(owner, genKey(owner, i), { pad: 16_000 }).bytes).ok) n++;
    expect(n).toBe(keys.length * OUTPUTS_PER_KEY);
    expect(mp.bytes).toBe(n * 16_000);
    expect(mp.bytes).toBeLessThanOrEqual(mp.capacityBytes);
  });
});

describe('mempool: selection', () => {
  function filled(sizes: number[]): { mp: Mempool; txs: Tx[] } {
    const mp = new Mempool(genesisLedger(), { capacityBytes: 10_000_000 });
    const txs = sizes.map((s, i) => spend(i % 4, genKey(i % 4, Math.floor(i / 4)), { pad: s }));
    for (const t of txs) expect(mp.add(t.bytes).ok).toBe(true);
    return { mp, txs };
  }

  it('takeForBlock: arrival order, within maxBytes as bodySize counts, nothing removed', () => {
    const { mp, txs } = filled(Array(100).fill(1500));
    const sel = mp.takeForBlock(pp.maxBlockBodySize);
    expect(sel.map((t) => t.idHex)).toEqual(txs.slice(0, sel.length).map((t) => t.idHex));
    expect(bodySize(sel)).toBeLessThanOrEqual(pp.maxBlockBodySize);
    expect(bodySize([...sel, txs[sel.length]])).toBeGreaterThan(pp.maxBlockBodySize);
    expect(mp.count).toBe(100);
    expect(mp.takeForBlock(pp.maxBlockBodySize, { maxCount: 3 }).length).toBe(3);
  });

  it('skips a tx that does not fit and its dependents, keeps independent ones', () => {
    const mp = new Mempool(genesisLedger(), { capacityBytes: 10_000_000 });
    const small1 = spend(1, genKey(1, 0), { pad: 1000 });
    const big = spend(0, genKey(0, 0), { pad: 9000 });
    const child = spend(0, change(big).key, { amount: change(big).amount, pad: 500 });
    const small2 = spend(2, genKey(2, 0), { pad: 1000 });
    for (const t of [small1, big, child, small2]) expect(mp.add(t.bytes).ok).toBe(true);
    expect(mp.takeForBlock(5000).map((t) => t.idHex)).toEqual([small1.idHex, small2.idHex]);
    expect(mp.takeForBlock(20_000).map((t) => t.idHex)).toEqual([small1.idHex, big.idHex, child.idHex, small2.idHex]);
  });

  it('takeForEb: tx-bytes and reference budgets, excluding the RB selection', () => {
    const { mp, txs } = filled(Array(60).fill(1500));
    const rb = mp.takeForBlock(10_000);
    const exclude = new Set(rb.map((t) => t.idHex));
    const eb = mp.takeForEb(512_000, 30_000, { exclude });
    expect(eb.length).toBe(20);
    expect(eb[0].idHex).toBe(txs[rb.length].idHex);
    expect(eb.some((t) => exclude.has(t.idHex))).toBe(false);
    const ref = defaultRefSize(txs[0]);
    expect(ref).toBe(38);
    expect(mp.takeForEb(ref * 7, 12_000_000).length).toBe(7);
  });
});

describe('mempool: tip changes', () => {
  it('drops included txs and txs conflicting with a block, with their dependents', () => {
    const ledger = genesisLedger();
    const mp = new Mempool(ledger, { capacityBytes: 10_000_000 });
    const a = spend(0, genKey(0, 0));
    const aChild = spend(0, change(a).key, { amount: change(a).amount });
    const b = spend(1, genKey(1, 0));
    const bChild = spend(1, change(b).key, { amount: change(b).amount });
    const c = spend(2, genKey(2, 0));
    for (const t of [a, aChild, b, bChild, c]) expect(mp.add(t.bytes).ok).toBe(true);
    // the block includes `a` and a different spend of b's input
    const bRival = spend(1, genKey(1, 0), { pay: 42_000_000 });
    const r = ledger.applyBody([a, bRival]);
    expect(r.ok).toBe(true);
    const s = mp.syncWithLedger(ledger);
    expect(s.included).toBe(1);
    expect(s.invalid).toBe(2);
    expect(new Set(s.removed)).toEqual(new Set([a.idHex, b.idHex, bChild.idHex]));
    expect([...mp.txs()].map((t) => t.idHex)).toEqual([aChild.idHex, c.idHex]);
    // aChild now spends a ledger output; b's input is gone from both ledger and mempool
    expect(mp.add(bChild.bytes)).toMatchObject({ ok: false, reason: 'missing-input' });
    // nothing changed since: cheap no-op
    expect(mp.syncWithLedger()).toEqual({ included: 0, invalid: 0, removed: [] });
    // the freed input of `b` can be spent again by a new tx? no: the block spent it
    expect(mp.bytes).toBe(aChild.size + c.size);
  });

  it('after a rollback, txs spending rolled-back outputs go; others stay', () => {
    const ledger = genesisLedger();
    const mp = new Mempool(ledger, { capacityBytes: 10_000_000 });
    const a = spend(0, genKey(0, 0));
    const r = ledger.applyBody([a]);
    if (!r.ok) throw new Error(r.reason);
    const aChild = spend(0, change(a).key, { amount: change(a).amount });
    const c = spend(2, genKey(2, 0));
    expect(mp.add(aChild.bytes).ok && mp.add(c.bytes).ok).toBe(true);
    ledger.undo(r.undo);
    const s = mp.syncWithLedger();
    expect(s.removed).toEqual([aChild.idHex]);
    expect(mp.has(c.idHex)).toBe(true);
    // the rolled-back tx can go back into the mempool
    expect(mp.add(a.bytes).ok).toBe(true);
  });

  it('add() syncs lazily when the ledger moved', () => {
    const ledger = genesisLedger();
    const mp = new Mempool(ledger, { capacityBytes: 10_000_000 });
    const a = spend(0, genKey(0, 0));
    expect(mp.add(a.bytes).ok).toBe(true);
    expect(ledger.applyBody([a]).ok).toBe(true);
    // `a` is gone, so a different spend of its input is now a ledger error, not a mempool conflict
    expect(mp.add(spend(0, genKey(0, 0), { pay: 7 }).bytes)).toMatchObject({ ok: false, reason: 'missing-input' });
    expect(mp.count).toBe(0);
  });

  it('remove() drops txs and their dependents', () => {
    const mp = new Mempool(genesisLedger(), { capacityBytes: 10_000_000 });
    const a = spend(0, genKey(0, 0));
    const aChild = spend(0, change(a).key, { amount: change(a).amount });
    const c = spend(2, genKey(2, 0));
    for (const t of [a, aChild, c]) mp.add(t.bytes);
    expect(mp.remove([a.idHex])).toEqual([a.idHex, aChild.idHex]);
    expect(mp.count).toBe(1);
    // the input of `a` is free again
    expect(mp.add(spend(0, genKey(0, 0), { pay: 9 }).bytes).ok).toBe(true);
  });
});

describe('mempool: relay cursor', () => {
  it('idsAfter pages through arrivals and skips removed txs', () => {
    const mp = new Mempool(genesisLedger(), { capacityBytes: 10_000_000 });
    const txs = Array.from({ length: 10 }, (_, i) => spend(i % 4, genKey(i % 4, Math.floor(i / 4))));
    for (const t of txs.slice(0, 6)) mp.add(t.bytes);
    const p1 = mp.idsAfter(0, 4);
    expect(p1.txs.map((t) => t.idHex)).toEqual(txs.slice(0, 4).map((t) => t.idHex));
    expect(p1.txs[0].size).toBe(txs[0].size);
    mp.remove([txs[4].idHex]);
    const p2 = mp.idsAfter(p1.cursor, 4);
    expect(p2.txs.map((t) => t.idHex)).toEqual([txs[5].idHex]);
    const p3 = mp.idsAfter(p2.cursor, 4);
    expect(p3.txs).toEqual([]);
    expect(p3.cursor).toBe(p2.cursor);
    for (const t of txs.slice(6)) mp.add(t.bytes);
    expect(mp.idsAfter(p3.cursor, 100).txs.map((t) => t.idHex)).toEqual(txs.slice(6).map((t) => t.idHex));
  });

  it('a reader starting at 0 after txs came and went catches up, so waiting really waits (reconnect after the mempool emptied)', async () => {
    const mp = new Mempool(genesisLedger(), { capacityBytes: 10_000_000 });
    const txs = Array.from({ length: 3 }, (_, i) => spend(i, genKey(i, 0)));
    for (const t of txs) mp.add(t.bytes);
    mp.remove(txs.map((t) => t.idHex)); // included elsewhere: the mempool is empty again
    const r = mp.idsAfter(0, 10); // a peer that connects now starts at 0
    expect(r.txs).toEqual([]);
    expect(r.cursor).toBe(mp.cursor);
    let woke = false;
    const w = mp.waitForTxsAfter(r.cursor).then(() => (woke = true));
    await new Promise((res) => setTimeout(res, 10));
    expect(woke).toBe(false); // before the fix this resolved at once, and the relay loop spun forever
    mp.add(spend(3, genKey(3, 0)).bytes);
    await w;
    expect(woke).toBe(true);
  });

  it('waitForTxsAfter resolves on the next arrival and honours abort', async () => {
    const mp = new Mempool(genesisLedger(), { capacityBytes: 10_000_000 });
    const cursor = mp.cursor;
    let woke = false;
    const p = mp.waitForTxsAfter(cursor).then(() => (woke = true));
    await Promise.resolve();
    expect(woke).toBe(false);
    const seen: string[] = [];
    const off = mp.onAdd((tx) => seen.push(tx.idHex));
    const t = spend(0, genKey(0, 0));
    mp.add(t.bytes);
    await p;
    expect(woke).toBe(true);
    expect(seen).toEqual([t.idHex]);
    off();
    await mp.waitForTxsAfter(cursor); // already satisfied
    const ac = new AbortController();
    const q = mp.waitForTxsAfter(mp.cursor, ac.signal);
    ac.abort(new Error('stop'));
    await expect(q).rejects.toThrow('stop');
  });

  it('keeps arrival order across many adds and removals (compaction)', () => {
    const ledger = genesisLedger();
    const mp = new Mempool(ledger, { capacityBytes: 100_000_000 });
    // long chains from each key: 4 × 40 genesis outputs, each spent by a chain of 10
    const all: Tx[] = [];
    for (let owner = 0; owner < 4; owner++)
      for (let i = 0; i < 40; i++) {
        let t = spend(owner, genKey(owner, i));
        all.push(t);
        for (let j = 0; j < 9; j++) {
          t = spend(owner, change(t).key, { amount: change(t).amount, pay: 1000 + j });
          all.push(t);
        }
      }
    for (const t of all) expect(mp.add(t.bytes).ok).toBe(true);
    // include the first 1200 in blocks
    const r = ledger.applyBody(all.slice(0, 1200), 'reapply');
    expect(r.ok).toBe(true);
    expect(mp.syncWithLedger().included).toBe(1200);
    expect([...mp.txs()].map((t) => t.idHex)).toEqual(all.slice(1200).map((t) => t.idHex));
    expect(mp.idsAfter(0, 5).txs.map((t) => t.idHex)).toEqual(all.slice(1200, 1205).map((t) => t.idHex));
    // a hand-built tx without outputs spending an input a mempool tx already spends
    const burn = signTx({ inputs: [ref(genKey(3, 39))], outputs: [], fee: FUND }, [keys[3]]);
    expect(mp.add(burn.bytes)).toMatchObject({ ok: false, reason: 'conflict' });
  });
});

describe('mempool: invariants under random traffic (property)', () => {
  type Op =
    | { kind: 'add'; owner: number; pick: number; pay: number }
    | { kind: 'block'; max: number }
    | { kind: 'rival'; owner: number; pick: number }
    | { kind: 'rollback' };
  const arbOp: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('add' as const), owner: fc.nat(3), pick: fc.nat(), pay: fc.integer({ min: 1, max: 5e6 }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('block' as const), max: fc.integer({ min: 300, max: 3000 }) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('rival' as const), owner: fc.nat(3), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('rollback' as const) }) },
  );

  it('selections always apply in full validation; bytes add up; no two txs share an input', () => {
    fc.assert(
      fc.property(fc.array(arbOp, { minLength: 5, maxLength: 40 }), (ops) => {
        const ledger = genesisLedger();
        const mp = new Mempool(ledger, { capacityBytes: 20_000 });
        const undos: UndoRecord[] = [];
        // outputs anybody might try to spend: genesis, plus every output of every tx built
        const known: { key: string; owner: number; amount: number }[] = [];
        for (let o = 0; o < 4; o++) for (let i = 0; i < 3; i++) known.push({ key: genKey(o, i), owner: o, amount: FUND });
        const mine = (owner: number) => known.filter((k) => k.owner === owner && k.amount > 10_000_000);
        const make = (owner: number, pick: number, pay: number): Tx | undefined => {
          const c = mine(owner);
          if (c.length === 0) return undefined;
          const src = c[pick % c.length];
          const tx = spend(owner, src.key, { amount: src.amount, pay });
          known.push({ key: `${tx.idHex}#1`, owner, amount: tx.body.outputs[1].amount });
          return tx;
        };
        for (const op of ops) {
          if (op.kind === 'add') {
            const tx = make(op.owner, op.pick, op.pay);
            if (tx) mp.add(tx.bytes);
          } else if (op.kind === 'block') {
            const txs = mp.takeForBlock(op.max);
            const r = ledger.applyBody(txs, 'validate');
            expect(r.ok).toBe(true);
            if (r.ok) undos.push(r.undo);
          } else if (op.kind === 'rival') {
            const tx = make(op.owner, op.pick, 77);
            if (tx && ledger.checkTx(tx) === null) {
              const r = ledger.applyBody([tx]);
              if (r.ok) undos.push(r.undo);
            }
          } else if (undos.length) ledger.undo(undos.pop()!);
          mp.syncWithLedger();
          // invariants
          const held = [...mp.txs()];
          expect(mp.count).toBe(held.length);
          expect(mp.bytes).toBe(held.reduce((s, t) => s + t.size, 0));
          expect(mp.bytes).toBeLessThanOrEqual(mp.capacityBytes);
          const inputs = held.flatMap((t) => t.body.inputs.map((i) => `${toHex(i.txId)}#${i.index}`));
          expect(new Set(inputs).size).toBe(inputs.length);
          for (const sel of [mp.takeForBlock(1_000_000), mp.takeForEb(512_000, 5000)]) {
            const r = ledger.applyBody(sel, 'validate');
            expect(r.ok).toBe(true);
            if (r.ok) ledger.undo(r.undo);
          }
          // everything held applies in arrival order
          const all = ledger.applyBody(held, 'validate');
          expect(all.ok).toBe(true);
          if (all.ok) ledger.undo(all.undo);
          mp.syncWithLedger();
          expect(mp.count).toBe(held.length);
        }
      }),
      { numRuns: 30 },
    );
  });
});
