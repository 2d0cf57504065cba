import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createHash } from 'node:crypto';
import { LeiosNode } from '../../node/node.ts';
import { TraceWriter } from '../../node/obs/trace.ts';
import { checkLeadership, forgeBlock, type ForgeKeys } from '../../node/consensus/forge.ts';
import { ed25519PublicKey, ed25519Signer } from '../../node/crypto/ed25519.ts';
import { vrfKeygen } from '../../node/crypto/vrf.ts';
import { blsKeygen, blsPop, blsSign, voteMessage } from '../../node/crypto/bls.ts';
import { hash224, toHex } from '../../node/crypto/hash.ts';
import { buildTx, makeSigner, type Tx } from '../../node/ledger/index.ts';
import { encodeEb } from '../../node/leios/eb.ts';
import { buildCertificate, encodeCertificate } from '../../node/leios/certificate.ts';
import { selectCommittee } from '../../node/leios/committee.ts';
import type { Genesis } from '../../node/genesis/schema.ts';
import type { NodeConfig } from '../../node/config/schema.ts';
import type { NonceState } from '../../node/consensus/nonce.ts';
import type { Block } from '../../node/chain/block.ts';

// The Leios funnel's latency per stage (leios_tx_stage_latency_seconds{stage}) as a real node
// records it: txs submitted to its mempool → an EB referencing them completes here → an RB
// certifies it and the node applies the EB's txs. One real LeiosNode in this process; blocks are
// forged with real keys and fed as from a peer (as in certrb-rollback.test.ts).

const seed = (label: string) => new Uint8Array(createHash('sha256').update(label).digest());
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-funnel-node-'));
const cold = seed('pool/cold');
const vrf = vrfKeygen(seed('pool/vrf'));
const bls = blsKeygen(seed('pool/bls'));
const payment = makeSigner(seed('payment'));
const params = { minFeeA: 1, minFeeB: 100, maxTxSize: 16384, maxBlockBodySize: 90112, maxHeaderSize: 1100 };
const genesis: Genesis = {
  networkMagic: 42,
  // Far enough in the past that every slot used below is already over (no future headers).
  systemStart: new Date(Date.now() - 10_000_000).toISOString(),
  slotLengthS: 1,
  epochLengthSlots: 100_000,
  activeSlotCoeff: 0.9,
  securityParam: 10,
  initialNonce: toHex(seed('nonce')),
  protocolParams: params,
  eras: [{ era: 'leios', startEpoch: 0, protocolVersion: 2 }],
  leios: { lHdrSlots: 1, lVoteSlots: 4, lDiffSlots: 7, ebMaxRefBytes: 512000, ebMaxTxBytes: 12000000, quorum: 0.75, committee: { kind: 'truncation', sigmaC: 0.99 } },
  updateThreshold: 0.75,
  pools: [{ id: 'pool-1', stake: 1000, coldVkey: toHex(ed25519PublicKey(cold)), vrfVkey: toHex(vrf.pk), blsVkey: toHex(bls.pk), blsPop: toHex(blsPop(bls.sk)) }],
  initialUtxo: Array.from({ length: 5 }, (_, i) => ({ txId: toHex(seed('genesis-utxo')), index: i, address: toHex(hash224(ed25519PublicKey(seed('payment')))), amount: 1_000_000_000 })),
};
const keys: ForgeKeys = { poolId: 'pool-1', coldVkey: ed25519PublicKey(cold), sign: ed25519Signer(cold), vrfSk: vrf.sk, vrfVkey: vrf.pk, stake: 1000n };
const config: NodeConfig = {
  name: 'observer',
  genesisFile: 'genesis.json',
  release: { version: '2.0.0', maxProtocolVersion: 2 },
  listen: { host: '127.0.0.1', port: 0 },
  admin: { host: '127.0.0.1', port: 0, token: 'x' },
  peers: [],
  dbPath: path.join(dir, 'db'),
  clockOffsetMs: 0,
  workerThreads: 0,
} as NodeConfig;

let node: LeiosNode;
beforeAll(async () => {
  node = new LeiosNode({ config, configDir: dir, genesis, log: pino({ level: 'silent' }), tracer: new TraceWriter({ node: 'observer', systemStartMs: Date.parse(genesis.systemStart) }) });
  await node.open();
});
afterAll(async () => {
  await node.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Forge a block at the first slot ≥ `from` this pool leads, on `parent` (null = genesis). */
function forge(from: number, parent: Block | null, parentNonce: NonceState, body: { txs: Uint8Array[]; cert: Uint8Array | null }, ebAnnounce: { hash: Uint8Array; size: number; txBytes: number } | null): Block {
  for (let slot = from; slot < from + 200; slot++) {
    const lp = checkLeadership(slot, parentNonce, keys, { epochLengthSlots: genesis.epochLengthSlots, f: genesis.activeSlotCoeff, totalStake: 1000n });
    if (lp) return forgeBlock(lp, parent ? { hash: parent.hash, blockNo: parent.header.blockNo } : null, body, keys, 2, { ebAnnounce, certified: body.cert !== null });
  }
  throw new Error(`no leader slot from ${from}`);
}

function feed(b: Block): void {
  node.receiveHeader(b.headerBytes, 'peer');
  node.receiveBlock(b.bytes, 'peer');
}

const nonceAfter = (b: Block) => node.chain.get(toHex(b.hash))!.data.nonce;

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
    const a1Slot = forge(10, null, node.chain.genesisNonce, { txs: [], cert: null }, null).header.slot;
    const eb = encodeEb({ slot: a1Slot, producer: 'pool-1', txs: txs.map((t) => ({ id: t.id, size: t.size })) });
    const a1 = forge(a1Slot, null, node.chain.genesisNonce, { txs: [], cert: null }, { hash: eb.hash, size: eb.bytes.length, txBytes: eb.txBytes });
    feed(a1);
    expect(node.leios.receiveEb(eb.bytes, eb.hash, a1.header.slot, 'peer')).toEqual([]);
    expect(node.leios.get(eb.hash)?.complete).toBe(true);
    expect((await stage('mempool_to_eb')).count).toBe(5);
    // A2 certifies it: the EB's txs are applied
    const sel = selectCommittee(genesis.pools, genesis.leios.committee, nonceAfter(a1).epochNonce);
    const cert = buildCertificate(sel, [{ poolId: 'pool-1', sig: blsSign(bls.sk, voteMessage(a1.header.slot, eb.hash)) }], eb.hash, a1.header.slot)!;
    const a2 = forge(a1.header.slot + 14, a1, nonceAfter(a1), { txs: [], cert: encodeCertificate(cert) }, null);
    feed(a2);
    for (let i = 0; i < 100 && node.tip()?.key !== toHex(a2.hash); i++) await new Promise((r) => setTimeout(r, 20));
    expect(node.tip()?.key).toBe(toHex(a2.hash));
    expect((await stage('eb_to_certified')).count).toBe(1);
    expect((await stage('certified_to_ledger')).count).toBe(1);
    const toLedger = await stage('mempool_to_ledger');
    expect(toLedger.count).toBe(5);
    expect(toLedger.sum).toBeGreaterThanOrEqual(0);
    expect(node.metrics.funnel.tracked.txs).toBe(0);
  });
});
