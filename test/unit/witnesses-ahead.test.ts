import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { WorkerPool } from '../../node/work/pool.ts';
import { verifyWitnessesAhead } from '../../node/work/witnesses.ts';
import { makeSigner, signTx, tryDecodeTx, witnessesKnown, clearSignatureCache, type Tx } from '../../node/ledger/index.ts';

// Witnesses verified in a real worker thread ahead of validation: good txs land in the signature
// cache (the ledger rules then skip the Ed25519 check), a tx with a forged witness does not, and the
// verdict says so.

const workers = new WorkerPool({ pools: [], committee: { kind: 'truncation', sigmaC: 1 } }, { size: 1 });
afterAll(() => workers.close());
const seed = (s: string) => new Uint8Array(createHash('sha256').update(s).digest());

function tx(i: number, signers = 1): Tx {
  const ss = Array.from({ length: signers }, (_, j) => makeSigner(seed(`k${i}/${j}`)));
  return signTx({ inputs: [{ txId: seed(`in${i}`), index: 0 }], outputs: [{ address: ss[0]!.address, amount: 1000 + i }], fee: 200 }, ss);
}

/** The same tx with one witness signature byte flipped (same id: the id hashes the body only). */
function forged(t: Tx): Tx {
  const b = new Uint8Array(t.bytes);
  b[b.length - 5] ^= 0x01;
  const r = tryDecodeTx(b);
  if (!r.ok) throw new Error('forged tx does not decode');
  expect(r.tx.idHex).toBe(t.idHex);
  return r.tx;
}

describe('verifyWitnessesAhead', () => {
  it('notes every good tx in the signature cache and says all verified', async () => {
    clearSignatureCache();
    const txs = Array.from({ length: 40 }, (_, i) => tx(i, 1 + (i % 3)));
    expect(txs.some(witnessesKnown)).toBe(false);
    expect(await verifyWitnessesAhead(txs, workers)).toBe(true);
    expect(txs.every(witnessesKnown)).toBe(true);
  });

  it('a forged witness: false, and only the forged tx stays unverified', async () => {
    clearSignatureCache();
    const good = [tx(100), tx(101, 2)];
    const bad = forged(tx(102, 2));
    expect(await verifyWitnessesAhead([good[0]!, bad, good[1]!], workers)).toBe(false);
    expect(good.every(witnessesKnown)).toBe(true);
    expect(witnessesKnown(bad)).toBe(false);
  });

  it('a batch smaller than minBatch is not sent: no verdict, nothing noted', async () => {
    clearSignatureCache();
    const small = [tx(300), tx(301)];
    const before = workers.done;
    expect(await verifyWitnessesAhead(small, workers, 48)).toBeUndefined();
    expect(workers.done).toBe(before);
    expect(small.some(witnessesKnown)).toBe(false);
  });

  it('sends nothing to the pool when every tx is already known', async () => {
    const t = tx(200);
    expect(await verifyWitnessesAhead([t], workers)).toBe(true);
    const before = workers.done;
    expect(await verifyWitnessesAhead([t], workers)).toBe(true);
    expect(workers.done).toBe(before);
  });
});
