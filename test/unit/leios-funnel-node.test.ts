import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blsSign, voteMessage } from '../../node/crypto/bls.ts';
import { toHex } from '../../node/crypto/hash.ts';
import { buildTx, type Tx } from '../../node/ledger/index.ts';
import { encodeEb } from '../../node/leios/eb.ts';
import { buildCertificate, encodeCertificate } from '../../node/leios/certificate.ts';
import { selectCommittee } from '../../node/leios/committee.ts';
import { inProcessNode } from '../support/in-process-node.ts';

// The Leios funnel's latency per stage (leios_tx_stage_latency_seconds{stage}) as a real node
// records it: txs submitted to its mempool → an EB referencing them completes here → an RB
// certifies it and the node applies the EB's txs. One real LeiosNode in this process; blocks are
// forged with real keys and fed as from a peer (as in certrb-rollback.test.ts).

const t = inProcessNode({ prefix: 'leiosnet-funnel-node-' });
const { node, genesis, params, payment, forge, feed, nonceAfter } = t;
const bls = t.pools[0].bls;
beforeAll(() => node.open());
afterAll(() => node.close());

async function stage(name: string): Promise<{ count: number; sum: number }> {
  const h = (await node.metrics.registry.getMetricsAsJSON()).find((x) => x.name === 'leios_tx_stage_latency_seconds') as unknown as {
    values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
  };
  const v = (suffix: string) => h.values.find((x) => x.metricName === `leios_tx_stage_latency_seconds_${suffix}` && x.labels.stage === name)!.value;
  return { count: v('count'), sum: v('sum') };
}

describe('Leios funnel at a real node', () => {
  it('mempool → EB → certified → ledger: each stage observed (per tx and per EB)', async () => {
    const txs: Tx[] = genesis.initialUtxo.map((u) =>
      buildTx({ inputs: [{ txId: Buffer.from(u.txId, 'hex'), index: u.index, amount: u.amount }], outputs: [{ address: payment.address, amount: 1000 }], changeAddress: payment.address, signers: [payment], padToBytes: 600, protocolParams: params }),
    );
    expect(node.submitTxs(txs.map((t) => t.bytes))).toEqual(txs.map(() => null));
    for (const s of ['mempool_to_eb', 'eb_to_certified', 'certified_to_ledger', 'mempool_to_ledger']) expect(await stage(s), s).toEqual({ count: 0, sum: 0 });
    // A1 announces an EB of the five txs; its closure completes at once from the mempool
    const a1Slot = forge(10, null, { txs: [], cert: null }).header.slot;
    const eb = encodeEb({ slot: a1Slot, producer: 'pool-1', txs: txs.map((t) => ({ id: t.id, size: t.size })) });
    const a1 = forge(a1Slot, null, { txs: [], cert: null }, { hash: eb.hash, size: eb.bytes.length, txBytes: eb.txBytes });
    feed(a1);
    expect(node.leios.receiveEb(eb.bytes, eb.hash, a1.header.slot, 'peer')).toEqual([]);
    expect(node.leios.get(eb.hash)?.complete).toBe(true);
    expect((await stage('mempool_to_eb')).count).toBe(5);
    // A2 certifies it: the EB's txs are applied
    const sel = selectCommittee(genesis.pools, genesis.leios.committee, nonceAfter(a1).epochNonce);
    const cert = buildCertificate(sel, [{ poolId: 'pool-1', sig: blsSign(bls.sk, voteMessage(a1.header.slot, eb.hash)) }], eb.hash, a1.header.slot)!;
    const a2 = forge(a1.header.slot + 14, a1, { txs: [], cert: encodeCertificate(cert) });
    feed(a2);
    await t.untilTip(a2);
    expect(node.tip()?.key).toBe(toHex(a2.hash));
    expect((await stage('eb_to_certified')).count).toBe(1);
    expect((await stage('certified_to_ledger')).count).toBe(1);
    const toLedger = await stage('mempool_to_ledger');
    expect(toLedger.count).toBe(5);
    expect(toLedger.sum).toBeGreaterThanOrEqual(0);
    expect(node.metrics.funnel.tracked.txs).toBe(0);
  });
});
