import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createHash } from 'node:crypto';
import { LeiosNode } from '../../node/node.ts';
import { TraceWriter } from '../../node/obs/trace.ts';
import { checkLeadership, forgeBlock, type ForgeKeys } from '../../node/consensus/forge.ts';
import { ed25519PublicKey, ed25519Sign, ed25519Signer } from '../../node/crypto/ed25519.ts';
import { vrfKeygen } from '../../node/crypto/vrf.ts';
import { blsKeygen, blsPop } from '../../node/crypto/bls.ts';
import { toHex } from '../../node/crypto/hash.ts';
import { proposalId, signTx, updateSigningBytes, type Tx, type TxUpdate } from '../../node/ledger/index.ts';
import type { Genesis } from '../../node/genesis/schema.ts';
import type { NodeConfig } from '../../node/config/schema.ts';
import type { Block } from '../../node/chain/block.ts';

// The replay rule in block validation, not only at intake: honest nodes no longer offer an
// included governance tx again (governance-replay.test.ts), but a forger can still put one in a
// block or an EB. One real LeiosNode in this process; blocks are forged with real keys and fed as
// from a peer.

const seed = (label: string) => new Uint8Array(createHash('sha256').update(label).digest());
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-govrule-'));
const cold = [seed('pool-1/cold'), seed('pool-2/cold')];
const vrf = vrfKeygen(seed('pool-1/vrf'));
const bls = [blsKeygen(seed('pool-1/bls')), blsKeygen(seed('pool-2/bls'))];
const params = { minFeeA: 1, minFeeB: 100, maxTxSize: 16384, maxBlockBodySize: 90112, maxHeaderSize: 1100 };
const genesis: Genesis = {
  networkMagic: 42,
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
  // pool-2 holds no stake worth leading with; it is here to endorse.
  pools: [0, 1].map((i) => ({ id: `pool-${i + 1}`, stake: i === 0 ? 1000 : 1, coldVkey: toHex(ed25519PublicKey(cold[i])), vrfVkey: toHex(i === 0 ? vrf.pk : vrfKeygen(seed('pool-2/vrf')).pk), blsVkey: toHex(bls[i].pk), blsPop: toHex(blsPop(bls[i].sk)) })),
  initialUtxo: [],
};
const keys: ForgeKeys = { poolId: 'pool-1', coldVkey: ed25519PublicKey(cold[0]), sign: ed25519Signer(cold[0]), vrfSk: vrf.sk, vrfVkey: vrf.pk, stake: 1000n };
const config = {
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

function govTx(i: number, unsigned: TxUpdate): Tx {
  const update = { ...unsigned, sig: ed25519Sign(cold[i], updateSigningBytes(unsigned)) } as TxUpdate;
  return signTx({ inputs: [], outputs: [], fee: 0, update }, []);
}
const propose = govTx(0, { kind: 'propose', protocolVersion: 3, era: 'leios', epoch: 5, poolId: 'pool-1', sig: new Uint8Array(0) });
const pid = proposalId(propose.body.update as TxUpdate & { kind: 'propose' });
const endorse2 = govTx(1, { kind: 'endorse', proposalId: pid, poolId: 'pool-2', sig: new Uint8Array(0) });
// pool-2's signature under pool-1's name
const forgedEndorse = signTx({ inputs: [], outputs: [], fee: 0, update: { ...endorse2.body.update!, poolId: 'pool-1' } }, []);

let node: LeiosNode;
beforeAll(async () => {
  node = new LeiosNode({ config, configDir: dir, genesis, log: pino({ level: 'silent' }), tracer: new TraceWriter({ node: 'observer', systemStartMs: Date.parse(genesis.systemStart) }) });
  await node.open();
});
afterAll(async () => {
  await node.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function forge(from: number, parent: Block | null, txs: Tx[]): Block {
  const nonce = parent ? node.chain.get(toHex(parent.hash))!.data.nonce : node.chain.genesisNonce;
  for (let slot = from; slot < from + 200; slot++) {
    const lp = checkLeadership(slot, nonce, keys, { epochLengthSlots: genesis.epochLengthSlots, f: genesis.activeSlotCoeff, totalStake: 1001n });
    if (lp) return forgeBlock(lp, parent ? { hash: parent.hash, blockNo: parent.header.blockNo } : null, { txs: txs.map((t) => t.bytes), cert: null }, keys, 2, { ebAnnounce: null, certified: false });
  }
  throw new Error(`no leader slot from ${from}`);
}

function feed(b: Block): void {
  node.receiveHeader(b.headerBytes, 'peer');
  node.receiveBlock(b.bytes, 'peer');
}

describe('governance actions in block validation', () => {
  it('a block repeating an action already on its chain, or twice in itself, is refused; a new endorsement is adopted', () => {
    const b1 = forge(10, null, [propose]);
    feed(b1);
    expect(node.tip()?.key).toBe(toHex(b1.hash));
    expect(node.tipGov().proposals[toHex(pid)]?.endorsers).toEqual(['pool-1']);

    // Each refused block at its own slot: a third header per slot and issuer is not admitted at all.
    let next = b1.header.slot + 1;
    const refused = (txs: Tx[], reason: string): void => {
      const b = forge(next, b1, txs);
      next = b.header.slot + 1;
      feed(b);
      expect(node.tip()?.key).toBe(toHex(b1.hash));
      expect(node.chain.get(toHex(b.hash))?.data.invalid).toBe(reason);
    };
    // The same proposal again on b1, and the proposer endorsing its own proposal: both replays.
    for (const replay of [propose, govTx(0, { kind: 'endorse', proposalId: pid, poolId: 'pool-1', sig: new Uint8Array(0) })]) {
      refused([replay], 'update-duplicate');
    }
    // One block carrying pool-2's endorsement twice: the second is a replay of the first.
    refused([endorse2, endorse2], 'update-duplicate');
    // An endorsement whose pool id was changed no longer carries that pool's signature.
    refused([forgedEndorse], 'update-bad-signature');

    const b2 = forge(next, b1, [endorse2]);
    feed(b2);
    expect(node.tip()?.key).toBe(toHex(b2.hash));
    expect(node.tipGov().proposals[toHex(pid)]?.endorsers).toEqual(['pool-1', 'pool-2']);
  });

  it("an EB closure's actions are checked against the tip's governance state before a vote", () => {
    expect(node.kernel.governanceOkOnTip([endorse2])).toBe(false); // on the chain since b2
    expect(node.kernel.governanceOkOnTip([propose])).toBe(false);
    const other = govTx(1, { kind: 'propose', protocolVersion: 3, era: 'leios', epoch: 6, poolId: 'pool-2', sig: new Uint8Array(0) });
    expect(node.kernel.governanceOkOnTip([other])).toBe(true);
    expect(node.kernel.governanceOkOnTip([other, other])).toBe(false);
    expect(node.kernel.governanceOkOnTip([forgedEndorse])).toBe(false);
  });
});
