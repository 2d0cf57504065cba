import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blsSign, voteMessage } from '../../node/crypto/bls.ts';
import { toHex } from '../../node/crypto/hash.ts';
import { buildTx, type Tx } from '../../node/ledger/index.ts';
import { encodeEb } from '../../node/leios/eb.ts';
import { buildCertificate, encodeCertificate } from '../../node/leios/certificate.ts';
import { selectCommittee } from '../../node/leios/committee.ts';
import { inProcessNode } from '../support/in-process-node.ts';

// A certified RB that is rolled back gives its certified EB's transactions back to the mempool:
// the node's view of what is included (GET /tx/:id) and the mempool stay exact across the switch.
// One real LeiosNode in this process; blocks are forged with real keys and fed as from a peer.

const t = inProcessNode({ prefix: 'leiosnet-certrb-' });
const { node, genesis, params, payment, forge, feed, nonceAfter } = t;
const bls = t.pools[0].bls;
beforeAll(() => node.open());
afterAll(() => node.close());

describe('certified RB rolled back', () => {
  it('returns the certified EB transactions to the mempool and forgets their inclusion', async () => {
    const txs: Tx[] = genesis.initialUtxo.map((u) =>
      buildTx({ inputs: [{ txId: Buffer.from(u.txId, 'hex'), index: u.index, amount: u.amount }], outputs: [{ address: payment.address, amount: 1000 }], changeAddress: payment.address, signers: [payment], padToBytes: 600, protocolParams: params }),
    );
    // Chain A: A1 announces an EB of the five txs (an EB's slot is part of its hash, so find
    // A1's slot first); A2, ≥ 14 slots later, certifies it.
    const a1Slot = forge(10, null, { txs: [], cert: null }).header.slot;
    const ebAtSlot = encodeEb({ slot: a1Slot, producer: 'pool-1', txs: txs.map((t) => ({ id: t.id, size: t.size })) });
    const a1b = forge(a1Slot, null, { txs: [], cert: null }, { hash: ebAtSlot.hash, size: ebAtSlot.bytes.length, txBytes: ebAtSlot.txBytes });
    feed(a1b);
    expect(node.tip()?.key).toBe(toHex(a1b.hash));
    const missing = node.leios.receiveEb(ebAtSlot.bytes, ebAtSlot.hash, a1b.header.slot, 'peer');
    expect(Array.isArray(missing)).toBe(true);
    expect(await node.leios.receiveEbTxs(ebAtSlot.hash, missing as number[], (missing as number[]).map((i) => txs[i].bytes))).toBeNull();
    expect(node.leios.get(ebAtSlot.hash)?.complete).toBe(true);
    const sel = selectCommittee(genesis.pools, genesis.leios.committee, nonceAfter(a1b).epochNonce);
    const cert = buildCertificate(sel, [{ poolId: 'pool-1', sig: blsSign(bls.sk, voteMessage(a1b.header.slot, ebAtSlot.hash)) }], ebAtSlot.hash, a1b.header.slot)!;
    const a2 = forge(a1b.header.slot + 14, a1b, { txs: [], cert: encodeCertificate(cert) });
    feed(a2);
    // The certificate is checked off the event loop; the block is adopted once it checks out.
    await t.untilTip(a2);
    expect(node.tip()?.key).toBe(toHex(a2.hash));
    for (const t of txs) {
      expect(node.included.get(t.idHex)?.eb).toBe(toHex(ebAtSlot.hash));
      expect(node.mempool.has(t.idHex)).toBe(false);
    }

    // Chain B from genesis, three empty blocks: longer, so the node switches and rolls A back.
    const b1 = forge(a2.header.slot + 1, null, { txs: [], cert: null });
    feed(b1);
    const b2 = forge(b1.header.slot + 1, b1, { txs: [], cert: null });
    feed(b2);
    const b3 = forge(b2.header.slot + 1, b2, { txs: [], cert: null });
    feed(b3);
    expect(node.tip()?.key).toBe(toHex(b3.hash));
    for (const t of txs) {
      expect(node.included.has(t.idHex), t.idHex).toBe(false);
      expect(node.mempool.has(t.idHex), t.idHex).toBe(true);
    }
    expect(node.mempool.count).toBe(txs.length);
  });
});
