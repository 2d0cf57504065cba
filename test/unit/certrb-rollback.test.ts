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

// A certified RB that is rolled back gives its certified EB's transactions back to the mempool:
// the node's view of what is included (GET /tx/:id) and the mempool stay exact across the switch.
// One real LeiosNode in this process; blocks are forged with real keys and fed as from a peer.

const seed = (label: string) => new Uint8Array(createHash('sha256').update(label).digest());
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-certrb-'));
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

describe('certified RB rolled back', () => {
  it('returns the certified EB transactions to the mempool and forgets their inclusion', async () => {
    const txs: Tx[] = genesis.initialUtxo.map((u) =>
      buildTx({ inputs: [{ txId: Buffer.from(u.txId, 'hex'), index: u.index, amount: u.amount }], outputs: [{ address: payment.address, amount: 1000 }], changeAddress: payment.address, signers: [payment], padToBytes: 600, protocolParams: params }),
    );
    // Chain A: A1 announces an EB of the five txs (an EB's slot is part of its hash, so find
    // A1's slot first); A2, ≥ 14 slots later, certifies it.
    const a1Slot = forge(10, null, node.chain.genesisNonce, { txs: [], cert: null }, null).header.slot;
    const ebAtSlot = encodeEb({ slot: a1Slot, producer: 'pool-1', txs: txs.map((t) => ({ id: t.id, size: t.size })) });
    const a1b = forge(a1Slot, null, node.chain.genesisNonce, { txs: [], cert: null }, { hash: ebAtSlot.hash, size: ebAtSlot.bytes.length, txBytes: ebAtSlot.txBytes });
    feed(a1b);
    expect(node.tip()?.key).toBe(toHex(a1b.hash));
    const missing = node.leios.receiveEb(ebAtSlot.bytes, ebAtSlot.hash, a1b.header.slot, 'peer');
    expect(Array.isArray(missing)).toBe(true);
    expect(await node.leios.receiveEbTxs(ebAtSlot.hash, missing as number[], (missing as number[]).map((i) => txs[i].bytes))).toBeNull();
    expect(node.leios.get(ebAtSlot.hash)?.complete).toBe(true);
    const sel = selectCommittee(genesis.pools, genesis.leios.committee, nonceAfter(a1b).epochNonce);
    const cert = buildCertificate(sel, [{ poolId: 'pool-1', sig: blsSign(bls.sk, voteMessage(a1b.header.slot, ebAtSlot.hash)) }], ebAtSlot.hash, a1b.header.slot)!;
    const a2 = forge(a1b.header.slot + 14, a1b, nonceAfter(a1b), { txs: [], cert: encodeCertificate(cert) }, null);
    feed(a2);
    // The certificate is checked off the event loop; the block is adopted once it checks out.
    for (let i = 0; i < 100 && node.tip()?.key !== toHex(a2.hash); i++) await new Promise((r) => setTimeout(r, 20));
    expect(node.tip()?.key).toBe(toHex(a2.hash));
    for (const t of txs) {
      expect(node.included.get(t.idHex)?.eb).toBe(toHex(ebAtSlot.hash));
      expect(node.mempool.has(t.idHex)).toBe(false);
    }

    // Chain B from genesis, three empty blocks: longer, so the node switches and rolls A back.
    const b1 = forge(a2.header.slot + 1, null, node.chain.genesisNonce, { txs: [], cert: null }, null);
    feed(b1);
    const b2 = forge(b1.header.slot + 1, b1, nonceAfter(b1), { txs: [], cert: null }, null);
    feed(b2);
    const b3 = forge(b2.header.slot + 1, b2, nonceAfter(b2), { txs: [], cert: null }, null);
    feed(b3);
    expect(node.tip()?.key).toBe(toHex(b3.hash));
    for (const t of txs) {
      expect(node.included.has(t.idHex), t.idHex).toBe(false);
      expect(node.mempool.has(t.idHex), t.idHex).toBe(true);
    }
    expect(node.mempool.count).toBe(txs.length);
  });
});
