import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Encoder } from 'cbor-x';
import { ed25519Verify } from '../../node/crypto/ed25519.ts';
import { hash256, toHex } from '../../node/crypto/hash.ts';
import {
  bodyEncodedSize,
  bodySize,
  buildTx,
  decodeBodyTxs,
  decodeTx,
  encodeBody,
  encodeBodyTxs,
  encodeTx,
  finalizeTx,
  makeSigner,
  minFee,
  proposalId,
  signTx,
  TxBuildError,
  TxDecodeError,
  txEncodedSize,
  txId,
  txOutputRefs,
  txSize,
  updateSigningBytes,
  type TxBody,
  type TxUpdate,
} from '../../node/ledger/index.ts';

const pp = { minFeeA: 44, minFeeB: 155_381, maxTxSize: 16_384 };
const seed = (i: number): Uint8Array => new Uint8Array(32).fill(i);
const alice = makeSigner(seed(1));
const bob = makeSigner(seed(2));
const txIdOf = (i: number): Uint8Array => hash256(new Uint8Array([i, i >> 8]));

const plain = new Encoder({ useRecords: false, tagUint8Array: false } as ConstructorParameters<typeof Encoder>[0]);

function sample(padToBytes?: number) {
  return buildTx({
    inputs: [{ txId: txIdOf(1), index: 0, amount: 50_000_000_000 }],
    outputs: [{ address: bob.address, amount: 1_000_000 }],
    changeAddress: alice.address,
    signers: [alice],
    padToBytes,
    protocolParams: pp,
  });
}

/** Does decodeTx reject these bytes with the typed error? */
function rejects(bytes: Uint8Array): boolean {
  try {
    decodeTx(bytes);
    return false;
  } catch (e) {
    if (e instanceof TxDecodeError) return true;
    throw e;
  }
}

const arbBytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const arbUpdate: fc.Arbitrary<TxUpdate> = fc.oneof(
  fc.record({
    kind: fc.constant('propose' as const),
    protocolVersion: fc.nat(),
    era: fc.string(),
    epoch: fc.maxSafeNat(),
    poolId: fc.string(),
    sig: fc.uint8Array({ maxLength: 80 }),
  }),
  fc.record({
    kind: fc.constant('endorse' as const),
    proposalId: arbBytes(32),
    poolId: fc.string(),
    sig: fc.uint8Array({ maxLength: 80 }),
  }),
);
const arbBody: fc.Arbitrary<TxBody> = fc
  .record({
    inputs: fc.array(fc.record({ txId: arbBytes(32), index: fc.nat() }), { maxLength: 5 }),
    outputs: fc.array(fc.record({ address: arbBytes(28), amount: fc.maxSafeNat() }), { maxLength: 5 }),
    fee: fc.maxSafeNat(),
    padding: fc.option(fc.uint8Array({ minLength: 1, maxLength: 300 }), { nil: undefined }),
    update: fc.option(arbUpdate, { nil: undefined }),
  })
  .map((b) => {
    const o: { -readonly [K in keyof TxBody]: TxBody[K] } = { inputs: b.inputs, outputs: b.outputs, fee: b.fee };
    if (b.padding) o.padding = b.padding;
    if (b.update) o.update = b.update;
    return o;
  });

describe('tx codec', () => {
  it('round-trips a built tx and keeps its id', () => {
    const tx = sample(1500);
    const d = decodeTx(tx.bytes);
    expect(d.idHex).toBe(tx.idHex);
    expect(toHex(txId({ body: d.body, witnesses: d.witnesses }))).toBe(tx.idHex);
    expect(encodeTx({ body: d.body, witnesses: d.witnesses })).toEqual(tx.bytes);
    expect(d.body.inputs.map((i) => toHex(i.txId))).toEqual([toHex(txIdOf(1))]);
    expect(d.size).toBe(1500);
    expect(txSize(tx.bytes)).toBe(1500);
    expect(toHex(d.id)).toBe(toHex(hash256(d.bodyBytes)));
  });

  it('round-trips arbitrary bodies (property); size functions are exact', () => {
    fc.assert(
      fc.property(arbBody, fc.integer({ min: 0, max: 3 }), (body, nw) => {
        const tx = signTx(body, [alice, bob, makeSigner(seed(3))].slice(0, nw));
        const d = decodeTx(tx.bytes);
        expect(d.body).toEqual(body);
        expect(d.witnesses.length).toBe(nw);
        expect(d.idHex).toBe(tx.idHex);
        expect(encodeTx(finalizeTx({ body: d.body, witnesses: d.witnesses }))).toEqual(tx.bytes);
        expect(bodyEncodedSize(body)).toBe(encodeBody(body).length);
        expect(txEncodedSize(bodyEncodedSize(body), nw)).toBe(tx.size);
        // our encoding is plain CBOR: a generic decoder sees the same structure
        const generic = plain.decode(tx.bytes) as unknown[];
        expect(generic.length).toBe(2);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects garbage with TxDecodeError only (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.boolean(), (raw, prefix) => {
        // half the cases start like a tx (2-element array, 5-element body) to get deeper
        const bytes = prefix ? new Uint8Array([0x82, 0x85, ...raw]) : raw;
        try {
          const d = decodeTx(bytes);
          expect(encodeTx({ body: d.body, witnesses: d.witnesses })).toEqual(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(TxDecodeError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('single-byte corruptions either fail typed or decode to a canonical different tx', () => {
    const tx = sample();
    for (let i = 0; i < tx.bytes.length; i++) {
      for (const x of [0x01, 0x80, 0xff]) {
        const b = tx.bytes.slice();
        b[i] ^= x;
        try {
          const d = decodeTx(b);
          expect(d.bytes).toEqual(b);
          expect(encodeTx({ body: d.body, witnesses: d.witnesses })).toEqual(b);
        } catch (e) {
          expect(e).toBeInstanceOf(TxDecodeError);
        }
      }
    }
  });

  it('rejects wrong shapes and non-canonical encodings', () => {
    const tx = sample();
    const v = plain.decode(tx.bytes) as [unknown[], unknown[]];
    const enc = (x: unknown) => plain.encode(x) as Uint8Array;
    const body = v[0];
    const withBody = (i: number, val: unknown) => enc([body.map((x, j) => (j === i ? val : x)), v[1]]);
    expect(rejects(enc([body, v[1], 0]))).toBe(true); // 3-element tx
    expect(rejects(enc([body.slice(0, 4), v[1]]))).toBe(true); // 4-element body
    expect(rejects(withBody(2, -1))).toBe(true); // negative fee
    expect(rejects(withBody(2, 1.5))).toBe(true); // float fee
    expect(rejects(withBody(2, 'x'))).toBe(true);
    expect(rejects(withBody(0, [[new Uint8Array(31), 0]]))).toBe(true); // short tx id
    expect(rejects(withBody(1, [[new Uint8Array(27), 5]]))).toBe(true); // short address
    expect(rejects(withBody(1, [[new Uint8Array(28), 2n ** 60n]]))).toBe(true); // amount > 2^53
    expect(rejects(withBody(3, null))).toBe(true); // padding must be bytes
    expect(rejects(withBody(4, [7, 1]))).toBe(true); // unknown update kind
    expect(rejects(enc([body, [[new Uint8Array(32), new Uint8Array(63)]]]))).toBe(true); // short sig
    expect(rejects(enc([body, { a: 1 }]))).toBe(true); // map
    expect(rejects(new Uint8Array([...tx.bytes, 0]))).toBe(true); // trailing byte
    expect(rejects(tx.bytes.subarray(0, tx.bytes.length - 1))).toBe(true); // truncated
    expect(rejects(new Uint8Array())).toBe(true);
    // tag 64 around a byte string (cbor-x's default for Uint8Array)
    const tagged = new Encoder({ useRecords: false } as ConstructorParameters<typeof Encoder>[0]).encode([
      [[[new Uint8Array(32), 0]], [], 0, new Uint8Array(), null],
      [],
    ]);
    expect(rejects(tagged)).toBe(true);
    // non-shortest head: fee 5 written as 0x18 0x05
    const small = signTx({ inputs: [{ txId: txIdOf(2), index: 0 }], outputs: [], fee: 5 }, []);
    const hexs = toHex(small.bytes);
    const idx = hexs.indexOf('0540f6'); // fee, empty padding, null update
    expect(idx).toBeGreaterThan(0);
    const nonShortest = Uint8Array.from(Buffer.from(hexs.slice(0, idx) + '1805' + hexs.slice(idx + 2), 'hex'));
    expect(rejects(nonShortest)).toBe(true);
    // indefinite-length witness array
    const indef = Uint8Array.from(Buffer.from(hexs.slice(0, -2) + '9fff', 'hex'));
    expect(hexs.endsWith('80')).toBe(true);
    expect(rejects(indef)).toBe(true);
    expect(decodeTx(small.bytes).body.fee).toBe(5);
  });

  it('encodes amounts above 2^32 as integers, not floats', () => {
    const body: TxBody = { inputs: [{ txId: txIdOf(3), index: 1 }], outputs: [{ address: bob.address, amount: 2 ** 40 + 3 }], fee: 2 ** 33 };
    const tx = signTx(body, [alice]);
    expect(toHex(tx.bytes)).toContain('1b0000010000000003');
    expect(decodeTx(tx.bytes).body.outputs[0].amount).toBe(2 ** 40 + 3);
  });

  it('witnesses sign the tx id with the signer keys', () => {
    const tx = buildTx({
      inputs: [
        { txId: txIdOf(1), index: 0, amount: 3_000_000 },
        { txId: txIdOf(2), index: 4, amount: 3_000_000 },
      ],
      outputs: [{ address: bob.address, amount: 1_000_000 }],
      changeAddress: alice.address,
      signers: [seed(1), bob],
      protocolParams: pp,
    });
    expect(tx.witnesses.map((w) => toHex(w.vkey))).toEqual([toHex(alice.vkey), toHex(bob.vkey)]);
    for (const w of tx.witnesses) expect(ed25519Verify(w.vkey, tx.id, w.sig)).toBe(true);
  });

  it('updates round-trip; proposal ids and signing bytes exclude the signature', () => {
    const p: TxUpdate = { kind: 'propose', protocolVersion: 10, era: 'leios', epoch: 3, poolId: 'pool-1', sig: new Uint8Array(64).fill(9) };
    const p2: TxUpdate = { ...p, sig: new Uint8Array(64).fill(1) };
    expect(toHex(proposalId(p))).toBe(toHex(proposalId(p2)));
    expect(toHex(updateSigningBytes(p))).toBe(toHex(updateSigningBytes(p2)));
    const e: TxUpdate = { kind: 'endorse', proposalId: proposalId(p), poolId: 'pool-2', sig: new Uint8Array(64) };
    for (const u of [p, e]) {
      const tx = buildTx({
        inputs: [{ txId: txIdOf(5), index: 0, amount: 10_000_000 }],
        outputs: [],
        changeAddress: alice.address,
        signers: [alice],
        protocolParams: pp,
        update: u,
      });
      expect(decodeTx(tx.bytes).body.update).toEqual(u);
    }
  });
});

describe('buildTx', () => {
  it('pays at least the minimum fee for its final size, and not much more', () => {
    for (const pad of [undefined, 300, 1000, 1500, 4000]) {
      const tx = sample(pad);
      const need = minFee(pp, tx.size);
      expect(tx.body.fee).toBeGreaterThanOrEqual(need);
      expect(tx.body.fee - need).toBeLessThanOrEqual(pp.minFeeA * 10);
      const sumOut = tx.body.outputs.reduce((s, o) => s + o.amount, 0);
      expect(sumOut + tx.body.fee).toBe(50_000_000_000); // balanced: change output absorbs the rest
      if (pad) expect(tx.size).toBe(pad);
    }
  });

  it('hits the padding target exactly or minimally above it across sizes (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 240, max: 5000 }), fc.maxSafeNat(), (target, extra) => {
        const amount = 10_000_000 + (extra % 1e12);
        const tx = buildTx({
          inputs: [{ txId: txIdOf(7), index: 2, amount }],
          outputs: [{ address: bob.address, amount: 1_000_000 }],
          changeAddress: alice.address,
          signers: [alice],
          padToBytes: target,
          protocolParams: pp,
        });
        expect(tx.size).toBeGreaterThanOrEqual(target);
        expect(tx.size - target).toBeLessThanOrEqual(1);
        expect(tx.body.fee).toBeGreaterThanOrEqual(minFee(pp, tx.size));
      }),
      { numRuns: 150 },
    );
  });

  it('chains: txOutputRefs feed the next buildTx', () => {
    const t1 = sample();
    const [, changeRef] = txOutputRefs(t1);
    expect(changeRef).toMatchObject({ index: 1, amount: t1.body.outputs[1].amount });
    const t2 = buildTx({ inputs: [changeRef], outputs: [{ address: bob.address, amount: 5 }], changeAddress: alice.address, signers: [alice], protocolParams: pp });
    expect(toHex(t2.body.inputs[0].txId)).toBe(t1.idHex);
    expect(t2.body.outputs[0].amount + t2.body.outputs[1].amount + t2.body.fee).toBe(changeRef.amount);
  });

  it('puts the excess into the fee when no change address is given', () => {
    const tx = buildTx({
      inputs: [{ txId: txIdOf(1), index: 0, amount: 5_000_000 }],
      outputs: [{ address: bob.address, amount: 1_000_000 }],
      signers: [alice],
      protocolParams: pp,
    });
    expect(tx.body.fee).toBe(4_000_000);
    expect(tx.body.outputs.length).toBe(1);
  });

  it('respects a fee floor and omits zero change', () => {
    const t1 = buildTx({
      inputs: [{ txId: txIdOf(1), index: 0, amount: 5_000_000 }],
      outputs: [{ address: bob.address, amount: 1_000_000 }],
      fee: 1_000_000,
      changeAddress: alice.address,
      signers: [alice],
      protocolParams: pp,
    });
    expect(t1.body.fee).toBe(1_000_000);
    expect(t1.body.outputs[1].amount).toBe(3_000_000);
    const t2 = buildTx({
      inputs: [{ txId: txIdOf(1), index: 0, amount: 2_000_000 }],
      outputs: [{ address: bob.address, amount: 1_000_000 }],
      fee: 1_000_000,
      changeAddress: alice.address,
      signers: [alice],
      protocolParams: pp,
    });
    expect(t2.body.outputs.length).toBe(1);
  });

  it('throws on insufficient funds, oversize, and change without amounts', () => {
    expect(() =>
      buildTx({
        inputs: [{ txId: txIdOf(1), index: 0, amount: 1_100_000 }],
        outputs: [{ address: bob.address, amount: 1_000_000 }],
        changeAddress: alice.address,
        signers: [alice],
        protocolParams: pp,
      }),
    ).toThrow(TxBuildError);
    expect(() => sample(20_000)).toThrow(TxBuildError);
    expect(() =>
      buildTx({
        inputs: [{ txId: txIdOf(1), index: 0 }],
        outputs: [],
        changeAddress: alice.address,
        signers: [alice],
        protocolParams: pp,
      }),
    ).toThrow(TxBuildError);
  });
});

describe('block bodies', () => {
  it('encodes txs as a CBOR array of byte strings of exactly bodySize bytes', () => {
    const txs = [sample(), sample(300), sample(1500)];
    const b = encodeBodyTxs(txs);
    expect(b.length).toBe(bodySize(txs));
    expect(bodySize([])).toBe(1);
    expect(decodeBodyTxs(b).map((t) => t.idHex)).toEqual(txs.map((t) => t.idHex));
    expect(() => decodeBodyTxs(new Uint8Array([0x9f, 0xff]))).toThrow(TxDecodeError);
    expect(() => decodeBodyTxs(plain.encode([1, 2]))).toThrow(TxDecodeError);
    expect(() => decodeBodyTxs(plain.encode([new Uint8Array([1])]))).toThrow(TxDecodeError);
  });
});
