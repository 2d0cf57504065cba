import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { fromHex, hash256, toHex } from '../../node/crypto/hash.ts';
import type { ProtocolParams } from '../../node/genesis/schema.ts';
import {
  buildTx,
  decodeTx,
  Ledger,
  LedgerError,
  makeSigner,
  minFee,
  REJECT_REASONS,
  signTx,
  type ApplyLevel,
  type Tx,
  type TxBody,
  type TxSigner,
  type UndoRecord,
} from '../../node/ledger/index.ts';

const pp: ProtocolParams = { minFeeA: 44, minFeeB: 155_381, maxTxSize: 16_384, maxBlockBodySize: 90_112, maxHeaderSize: 1100 };
const keys: TxSigner[] = Array.from({ length: 6 }, (_, i) => makeSigner(new Uint8Array(32).fill(i + 1)));
const [alice, bob, carol] = keys;
const FUND = 100_000_000_000;

/** Each key owns two genesis outputs of FUND. */
function genesisLedger(params: ProtocolParams = pp): Ledger {
  return Ledger.fromGenesis({
    protocolParams: params,
    initialUtxo: keys.flatMap((k, i) =>
      [0, 1].map((index) => ({ txId: toHex(hash256(new Uint8Array([i]))), index, address: toHex(k.address), amount: FUND })),
    ),
  });
}

function ref(key: string): { txId: Uint8Array; index: number } {
  const [h, i] = key.split('#');
  return { txId: fromHex(h), index: Number(i) };
}

function owned(l: Ledger, k: TxSigner): string[] {
  return l
    .utxosOf(k.address)
    .map((e) => e.key)
    .sort();
}

/** from pays `amount` to `to` from one of its outputs, change back to itself. */
function pay(l: Ledger, from: TxSigner, to: TxSigner, amount: number, inputKey?: string, padToBytes?: number): Tx {
  const key = inputKey ?? owned(l, from)[0];
  const out = l.get(key);
  if (!out) throw new Error(`no output ${key}`);
  return buildTx({
    inputs: [{ ...ref(key), amount: out.amount }],
    outputs: [{ address: to.address, amount }],
    changeAddress: from.address,
    signers: [from],
    padToBytes,
    protocolParams: pp,
  });
}

function rawTx(body: Partial<TxBody> & Pick<TxBody, 'inputs'>, signers: TxSigner[]): Tx {
  return signTx({ outputs: [], fee: 0, ...body }, signers);
}

/** a balanced, correctly-feed tx spending `key` (worth FUND) with custom outputs */
function balanced(key: string, outputs: { address: Uint8Array; amount: number }[], signers: TxSigner[], fee = 1_000_000): Tx {
  const sumOut = outputs.reduce((s, o) => s + o.amount, 0);
  return rawTx({ inputs: [ref(key)], outputs: [...outputs, { address: alice.address, amount: FUND - sumOut - fee }], fee }, signers);
}

describe('ledger: genesis and valid txs', () => {
  it('loads the genesis UTxO', () => {
    const l = genesisLedger();
    expect(l.utxoCount).toBe(12);
    expect(l.totalValue()).toBe(12 * FUND);
    expect(owned(l, bob).length).toBe(2);
  });

  it('applies a valid tx: spends inputs, adds outputs, burns the fee', () => {
    const l = genesisLedger();
    const tx = pay(l, alice, bob, 5_000_000);
    const spent = owned(l, alice)[0];
    const v0 = l.version;
    const r = l.applyTx(tx, 'validate');
    expect(r.ok).toBe(true);
    expect(l.has(spent)).toBe(false);
    expect(l.get(`${tx.idHex}#0`)?.amount).toBe(5_000_000);
    expect(l.get(`${tx.idHex}#1`)?.amount).toBe(FUND - 5_000_000 - tx.body.fee);
    expect(l.totalValue()).toBe(12 * FUND - tx.body.fee);
    expect(l.version).toBeGreaterThan(v0);
  });

  it('applies chains of txs inside one body', () => {
    const l = genesisLedger();
    const t1 = pay(l, alice, bob, 7_000_000);
    const t2 = buildTx({
      inputs: [{ ...ref(`${t1.idHex}#0`), amount: 7_000_000 }],
      outputs: [{ address: carol.address, amount: 2_000_000 }],
      changeAddress: bob.address,
      signers: [bob],
      protocolParams: pp,
    });
    const r = l.applyBody([t1, t2], 'validate');
    expect(r.ok && r.txs === 2 && r.bytes === t1.size + t2.size).toBe(true);
    expect(l.get(`${t2.idHex}#0`)?.amount).toBe(2_000_000);
  });

  it('accepts a multi-input tx signed by every owner', () => {
    const l = genesisLedger();
    const [a, b] = [owned(l, alice)[0], owned(l, bob)[0]];
    const tx = buildTx({
      inputs: [
        { ...ref(a), amount: FUND },
        { ...ref(b), amount: FUND },
      ],
      outputs: [{ address: carol.address, amount: FUND + 1 }],
      changeAddress: alice.address,
      signers: [alice, bob],
      protocolParams: pp,
    });
    expect(l.applyTx(tx).ok).toBe(true);
  });

  it('checkTx gives the verdict without changing anything', () => {
    const l = genesisLedger();
    const d = l.digest();
    expect(l.checkTx(pay(l, alice, bob, 1_000_000))).toBeNull();
    expect(l.digest()).toBe(d);
  });
});

describe('ledger: each rule rejects', () => {
  const reject = (l: Ledger, tx: Tx, level: ApplyLevel = 'validate') => {
    const d = l.digest();
    const v = l.version;
    const r = l.applyTx(tx, level);
    if (r.ok) {
      l.undo(r.undo);
      return null;
    }
    expect(l.digest()).toBe(d); // nothing changed
    expect(l.version).toBe(v);
    return r.reason;
  };

  it('missing-input: an output that never existed', () => {
    const l = genesisLedger();
    const tx = balanced(`${toHex(hash256(new Uint8Array([99])))}#0`, [], [alice]);
    expect(reject(l, tx)).toBe('missing-input');
  });

  it('double-spend: the same input twice in one tx', () => {
    const l = genesisLedger();
    const k = owned(l, alice)[0];
    const tx = rawTx({ inputs: [ref(k), ref(k)], outputs: [{ address: bob.address, amount: 2 * FUND - 1_000_000 }], fee: 1_000_000 }, [alice]);
    expect(reject(l, tx)).toBe('double-spend');
  });

  it('double-spend in one block: atomic rejection naming the second tx', () => {
    const l = genesisLedger();
    const k = owned(l, alice)[0];
    const t1 = pay(l, alice, bob, 1_000_000, k);
    const t2 = pay(l, alice, carol, 2_000_000, k);
    const ok = pay(l, bob, carol, 3_000_000);
    const d = l.digest();
    const r = l.applyBody([ok, t1, t2], 'validate');
    expect(r).toEqual({ ok: false, index: 2, reason: 'double-spend', txId: t2.idHex });
    expect(l.digest()).toBe(d);
    expect(l.applyBody([ok, t1, t2], 'reapply')).toMatchObject({ ok: false, index: 2, reason: 'double-spend' });
    expect(l.digest()).toBe(d);
  });

  it('double spend across blocks: the second block finds the input gone', () => {
    const l = genesisLedger();
    const k = owned(l, alice)[0];
    const t1 = pay(l, alice, bob, 1_000_000, k);
    const t2 = pay(l, alice, carol, 2_000_000, k);
    expect(l.applyBody([t1]).ok).toBe(true);
    expect(l.applyBody([t2])).toMatchObject({ ok: false, index: 0, reason: 'missing-input' });
    expect(reject(l, t1)).toBe('missing-input'); // replaying an included tx
  });

  it('bad-witness: wrong signer, missing owner, corrupted signature', () => {
    const l = genesisLedger();
    const k = owned(l, alice)[0];
    expect(reject(l, balanced(k, [], [bob]))).toBe('bad-witness');
    expect(reject(l, balanced(k, [], []))).toBe('bad-witness');
    const good = balanced(k, [], [alice]);
    const bytes = good.bytes.slice();
    bytes[bytes.length - 1] ^= 1; // last byte of the signature
    expect(reject(l, decodeTx(bytes))).toBe('bad-witness');
    // an extra, invalid witness also fails even though the owner signed
    const extra = { body: good.body, witnesses: [...good.witnesses, { vkey: bob.vkey, sig: new Uint8Array(64) }] };
    expect(reject(l, signTxWith(extra))).toBe('bad-witness');
    expect(reject(l, good)).toBeNull();
  });

  it('bad-witness even right after the same body validated with good witnesses (signature cache)', () => {
    const l = genesisLedger();
    const good = balanced(owned(l, alice)[0], [], [alice]);
    expect(l.checkTx(good)).toBeNull(); // verdict cached for (id, witnesses)
    expect(l.checkTx(decodeTx(good.bytes.slice()))).toBeNull(); // another copy: cache hit
    const bad = good.bytes.slice();
    bad[bad.length - 5] ^= 0x10;
    const badTx = decodeTx(bad);
    expect(badTx.idHex).toBe(good.idHex); // same id: witnesses are not covered by it
    expect(l.checkTx(badTx)).toBe('bad-witness');
    const swapped = signTxWith({ body: good.body, witnesses: [{ vkey: alice.vkey, sig: balanced(owned(l, alice)[1], [], [alice]).witnesses[0].sig }] });
    expect(l.checkTx(swapped)).toBe('bad-witness');
    expect(l.checkTx(good)).toBeNull();
  });

  it('value-not-preserved: outputs + fee above or below the inputs', () => {
    const l = genesisLedger();
    const k = owned(l, alice)[0];
    const fee = 1_000_000;
    expect(reject(l, rawTx({ inputs: [ref(k)], outputs: [{ address: bob.address, amount: FUND }], fee }, [alice]))).toBe(
      'value-not-preserved',
    );
    expect(reject(l, rawTx({ inputs: [ref(k)], outputs: [{ address: bob.address, amount: FUND - 2 * fee }], fee }, [alice]))).toBe(
      'value-not-preserved',
    );
  });

  it('fee-too-small: one lovelace under minFeeA·size + minFeeB', () => {
    const l = genesisLedger();
    const k = owned(l, alice)[0];
    const probe = balanced(k, [], [alice], 200_000);
    const need = minFee(pp, probe.size);
    expect(reject(l, balanced(k, [], [alice], need - 1))).toBe('fee-too-small');
    expect(reject(l, balanced(k, [], [alice], need))).toBeNull();
  });

  it('too-large: above maxTxSize', () => {
    const l = genesisLedger({ ...pp, maxTxSize: 1000 });
    const k = owned(l, alice)[0];
    const tx = rawTx({ inputs: [ref(k)], outputs: [{ address: bob.address, amount: FUND - 10_000_000 }], fee: 10_000_000, padding: new Uint8Array(900) }, [alice]);
    expect(tx.size).toBeGreaterThan(1000);
    expect(reject(l, tx)).toBe('too-large');
  });

  it('malformed: no inputs, or a zero output', () => {
    const l = genesisLedger();
    const k = owned(l, alice)[0];
    expect(reject(l, rawTx({ inputs: [], fee: 0 }, []))).toBe('malformed');
    expect(reject(l, balanced(k, [{ address: bob.address, amount: 0 }], [alice]))).toBe('malformed');
  });

  it('uses only the stable reason strings', () => {
    expect(REJECT_REASONS).toEqual([
      'malformed',
      'too-large',
      'missing-input',
      'double-spend',
      'conflict',
      'bad-witness',
      'value-not-preserved',
      'fee-too-small',
      'duplicate',
      'mempool-full',
    ]);
  });
});

function signTxWith(data: { body: TxBody; witnesses: Tx['witnesses'] }): Tx {
  const t = signTx(data.body, []);
  // reassemble with the given witnesses, through the codec
  return decodeTx(
    new Uint8Array([...t.bytes.subarray(0, t.bytes.length - 1), 0x80 + data.witnesses.length, ...data.witnesses.flatMap((w) => [0x82, 0x58, 32, ...w.vkey, 0x58, 64, ...w.sig])]),
  );
}

describe('ledger: application levels', () => {
  it("'reapply' skips signatures and fee/value rules but still needs the inputs", () => {
    const l = genesisLedger();
    const k = owned(l, alice)[0];
    const unsigned = balanced(k, [], [bob]);
    expect(l.applyTx(unsigned, 'validate')).toMatchObject({ ok: false, reason: 'bad-witness' });
    expect(l.applyTx(unsigned, 'reapply').ok).toBe(true);
    expect(l.applyTx(balanced(k, [], [alice]), 'reapply')).toMatchObject({ ok: false, reason: 'missing-input' });
  });

  it("'trusted' applies without validation (bad signatures, unbalanced) and undoes exactly", () => {
    const l = genesisLedger();
    const d0 = l.digest();
    const k = owned(l, alice)[0];
    const forged = rawTx({ inputs: [ref(k)], outputs: [{ address: bob.address, amount: 5 * FUND }], fee: 0 }, [carol]);
    const r = l.applyBody([forged], 'trusted');
    expect(r).toMatchObject({ ok: true, txs: 1, skipped: 0 });
    expect(l.has(k)).toBe(false);
    expect(l.get(`${forged.idHex}#0`)?.amount).toBe(5 * FUND);
    if (r.ok) l.undo(r.undo);
    expect(l.digest()).toBe(d0);
  });

  it("'trusted' skips (never rejects) txs with spent or missing inputs: conflicts and duplicates", () => {
    const l = genesisLedger();
    const k = owned(l, alice)[0];
    const t1 = pay(l, alice, bob, 1_000_000, k);
    const rival = pay(l, alice, carol, 2_000_000, k);
    const ghost = balanced(`${toHex(hash256(new Uint8Array([77])))}#3`, [], []);
    const other = pay(l, bob, carol, 3_000_000);
    const r = l.applyBody([t1, rival, t1, ghost, other], 'trusted');
    expect(r).toMatchObject({ ok: true, txs: 2, skipped: 3 });
    expect(l.has(`${t1.idHex}#0`) && l.has(`${other.idHex}#0`)).toBe(true);
    expect(l.has(`${rival.idHex}#0`) || l.has(`${ghost.idHex}#0`)).toBe(false);
    expect(l.totalValue()).toBe(12 * FUND - t1.body.fee - other.body.fee);
  });

  it('per-tx levels: reapply for txs we already validated, validate for the rest', () => {
    const l = genesisLedger();
    const known = balanced(owned(l, alice)[0], [], [bob]); // bad witness, but "known"
    const fresh = pay(l, carol, bob, 1_000_000);
    const seen = new Set([known.idHex]);
    const levelOf = (tx: Tx): ApplyLevel => (seen.has(tx.idHex) ? 'reapply' : 'validate');
    expect(l.applyBody([known, fresh], levelOf).ok).toBe(true);
    const l2 = genesisLedger();
    expect(l2.applyBody([known, fresh], 'validate')).toMatchObject({ ok: false, index: 0, reason: 'bad-witness' });
  });
});

describe('ledger: rollback', () => {
  it('undo restores the exact UTxO, in LIFO order only', () => {
    const l = genesisLedger();
    const d0 = l.digest();
    const s0 = new Map([...l.entries()].map((e) => [e.key, e.amount]));
    const b1 = [pay(l, alice, bob, 1_000_000), pay(l, bob, carol, 2_000_000)];
    const r1 = l.applyBody(b1);
    if (!r1.ok) throw new Error(r1.reason);
    const d1 = l.digest();
    const t3 = pay(l, bob, alice, 100_000, `${b1[0].idHex}#0`);
    const r2 = l.applyBody([t3]);
    if (!r2.ok) throw new Error(r2.reason);
    expect(() => l.undo(r1.undo)).toThrow(LedgerError);
    l.undo(r2.undo);
    expect(l.digest()).toBe(d1);
    expect(() => l.undo(r2.undo)).toThrow(LedgerError);
    l.undo(r1.undo);
    expect(l.digest()).toBe(d0);
    expect(new Map([...l.entries()].map((e) => [e.key, e.amount]))).toEqual(s0);
    // the same bodies apply again after the rollback
    expect(l.applyBody(b1).ok).toBe(true);
  });

  it('a rejected body leaves no undo record in the way', () => {
    const l = genesisLedger();
    const r1 = l.applyBody([pay(l, alice, bob, 1_000_000)]);
    expect(l.applyBody([balanced(owned(l, bob)[0], [], [alice])]).ok).toBe(false);
    if (r1.ok) l.undo(r1.undo); // still the latest record
    expect(l.utxoCount).toBe(12);
  });

  it('applyTx can accumulate into one record', () => {
    const l = genesisLedger();
    const d0 = l.digest();
    const a = l.applyTx(pay(l, alice, bob, 1_000_000));
    if (!a.ok) throw new Error(a.reason);
    expect(l.applyTx(pay(l, carol, bob, 1_000_000), 'validate', a.undo).ok).toBe(true);
    expect(a.undo.txs).toBe(2);
    l.undo(a.undo);
    expect(l.digest()).toBe(d0);
  });

  it('random chains of bodies roll back to every earlier state (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.record({ from: fc.nat(5), to: fc.nat(5), amount: fc.integer({ min: 1, max: 1e9 }), which: fc.nat() }), { maxLength: 4 }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.nat(),
        (blocks, seed) => {
          const l = genesisLedger();
          const digests = [l.digest()];
          const undos: UndoRecord[] = [];
          for (const spec of blocks) {
            // build a valid body against the current state (spending each output at most once)
            const used = new Set<string>();
            const txs: Tx[] = [];
            const view = new Map<string, { address: Uint8Array; amount: number }>();
            for (const s of spec) {
              const from = keys[s.from];
              const mine = [...l.entries(), ...[...view].map(([key, o]) => ({ key, ...o }))].filter(
                (e) => e.address.every((b, i) => b === from.address[i]) && !used.has(e.key) && e.amount > 2e9,
              );
              if (mine.length === 0) continue;
              const src = mine[s.which % mine.length];
              used.add(src.key);
              const tx = buildTx({
                inputs: [{ ...ref(src.key), amount: src.amount }],
                outputs: [{ address: keys[s.to].address, amount: s.amount }],
                changeAddress: from.address,
                signers: [from],
                protocolParams: pp,
              });
              tx.body.outputs.forEach((o, i) => view.set(`${tx.idHex}#${i}`, o));
              txs.push(tx);
            }
            const level: ApplyLevel = (['validate', 'reapply', 'trusted'] as const)[(seed + undos.length) % 3];
            const r = l.applyBody(txs, level);
            if (!r.ok) throw new Error(`unexpected ${r.reason}`);
            undos.push(r.undo);
            digests.push(l.digest());
          }
          for (let i = undos.length - 1; i >= 0; i--) {
            l.undo(undos[i]);
            expect(l.digest()).toBe(digests[i]);
          }
        },
      ),
      { numRuns: 25 },
    );
  });

  it('snapshot round-trips the UTxO set', () => {
    const l = genesisLedger();
    l.applyBody([pay(l, alice, bob, 1_000_000), rawTx({ inputs: [ref(owned(l, carol)[0])], outputs: [{ address: bob.address, amount: 2 ** 45 }], fee: 0 }, [])], 'trusted');
    const copy = Ledger.fromSnapshot(l.snapshot(), pp);
    expect(copy.digest()).toBe(l.digest());
    expect(() => Ledger.fromSnapshot(new Uint8Array([1, 2, 3]), pp)).toThrow(LedgerError);
  });
});
