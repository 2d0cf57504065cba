import { describe, expect, it } from 'vitest';
import { decodeBlock, decodeHeader, makeBlock } from '../../node/chain/block.ts';
import { cborEncode } from '../../node/codec/cbor.ts';
import { hash256, toHex } from '../../node/crypto/hash.ts';
import { kesSignatureSize } from '../../node/crypto/kes.ts';
import { TxCache } from '../../node/leios/eb-store.ts';
import { buildTx, decodeTx, makeSigner } from '../../node/ledger/index.ts';

// Long-lived decoded data owns its memory: a tx, header or block decoded from a view into a
// larger buffer (a network message carrying many of them, cbor-x's shared encode buffer) must
// not keep that whole buffer alive. The soak's heap snapshots showed 100-byte votes and block
// bodies holding 5.5 MB buffers; these check that what we keep spans only its own bytes.

const alice = makeSigner(new Uint8Array(32).fill(1));
const pp = { minFeeA: 44, minFeeB: 155_381, maxTxSize: 16_384 };

function tx(i: number, pad = 1500) {
  return buildTx({
    inputs: [{ txId: hash256(new Uint8Array([i])), index: 0, amount: 50_000_000_000 }],
    outputs: [{ address: alice.address, amount: 1_000_000 }],
    changeAddress: alice.address,
    signers: [alice],
    padToBytes: pad,
    protocolParams: pp,
  });
}

/** `bytes` placed in the middle of a 1 MB buffer: what a message view looks like. */
function inBigBuffer(bytes: Uint8Array): Uint8Array {
  const big = new Uint8Array(1 << 20);
  big.set(bytes, 4096);
  return big.subarray(4096, 4096 + bytes.length);
}

const ownsItself = (b: Uint8Array) => b.byteOffset === 0 && b.buffer.byteLength === b.byteLength;

describe('decoded data owns its memory', () => {
  it('decodeTx of a view: the tx and every field point into a buffer of the tx size only', () => {
    const t = tx(1);
    const d = decodeTx(inBigBuffer(t.bytes));
    expect(d.idHex).toBe(t.idHex);
    expect(ownsItself(d.bytes)).toBe(true);
    for (const f of [d.bodyBytes, d.body.padding!, d.witnesses[0]!.sig]) expect(f.buffer.byteLength).toBe(d.size);
    // outputs live on in the UTxO set: their addresses do not keep the tx alive
    expect(ownsItself(d.body.outputs[0]!.address)).toBe(true);
    // a tx that already owns its buffer is not copied
    const own = new Uint8Array(t.bytes);
    expect(decodeTx(own).bytes).toBe(own);
  });

  it('decodeBlock and decodeHeader of a view, and a forged block, span only their own bytes', () => {
    const z = (n: number, v = 0) => new Uint8Array(n).fill(v);
    const b = makeBlock(
      {
        blockNo: 1,
        slot: 5,
        prevHash: null,
        issuerVkey: z(32, 1),
        vrfVkey: z(32, 2),
        vrfProof: z(80, 3),
        bodyHash: z(32),
        bodySize: 0,
        protocolVersion: 1,
        ebAnnounce: null,
        certified: false,
        opcert: { hotVkey: z(32, 3), counter: 0, kesPeriod: 0, sigma: z(64, 4) },
      },
      { txs: [tx(2).bytes, tx(3).bytes], cert: null },
      () => z(kesSignatureSize()),
    );
    // cbor-x encodes into a shared buffer: the forged block must not be a view into it
    expect(ownsItself(b.bytes)).toBe(true);
    expect(b.headerBytes.buffer).toBe(b.bytes.buffer);
    const d = decodeBlock(inBigBuffer(b.bytes));
    expect(toHex(d.hash)).toBe(toHex(b.hash));
    expect(ownsItself(d.bytes)).toBe(true);
    for (const f of [d.headerBytes, d.bodyBytes, d.body.txs[0]!, d.header.vrfProof]) expect(f.buffer).toBe(d.bytes.buffer);
    const h = decodeHeader(inBigBuffer(b.headerBytes));
    expect(h.vrfProof.buffer.byteLength).toBe(b.headerBytes.length);
    // sanity: a cborEncode result really is a view into a larger shared buffer
    const e = cborEncode([1, 2, 3]);
    expect(e.buffer.byteLength).toBeGreaterThan(e.byteLength);
  });

  it('TxCache keeps copies of views and its byte budget is what it holds', () => {
    const c = new TxCache(10_000);
    const txs = Array.from({ length: 12 }, (_, i) => tx(10 + i, 1000));
    for (const t of txs) c.put(t.idHex, inBigBuffer(t.bytes));
    const held = txs.map((t) => c.get(t.idHex)).filter((x) => x !== undefined);
    // oldest evicted to stay within 10 kB; each held entry spans only its own bytes
    expect(held.length).toBeLessThan(txs.length);
    expect(held.reduce((s, b) => s + b.buffer.byteLength, 0)).toBeLessThanOrEqual(10_000);
    expect(c.get(txs[txs.length - 1]!.idHex)).toBeDefined();
    expect(c.get(txs[0]!.idHex)).toBeUndefined();
  });
});
