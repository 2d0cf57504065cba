// One real LeiosNode in this process, with no sockets: blocks are forged with real keys and fed
// to it as from a peer. For tests of what a node does with a block it receives (block rules,
// rollbacks, metrics). pool-1 forges; the other pools exist for their stake and keys.
import { createHash } from 'node:crypto';
import path from 'node:path';
import pino from 'pino';
import type { Block } from '../../node/chain/block.ts';
import type { NodeConfig } from '../../node/config/schema.ts';
import { checkLeadership, forgeBlock, type ForgeKeys } from '../../node/consensus/forge.ts';
import type { NonceState } from '../../node/consensus/nonce.ts';
import { blsKeygen, blsPop } from '../../node/crypto/bls.ts';
import { ed25519PublicKey, ed25519Signer } from '../../node/crypto/ed25519.ts';
import { hash224, toHex } from '../../node/crypto/hash.ts';
import { vrfKeygen } from '../../node/crypto/vrf.ts';
import type { Genesis } from '../../node/genesis/schema.ts';
import { makeSigner } from '../../node/ledger/index.ts';
import { LeiosNode } from '../../node/node.ts';
import { TraceWriter } from '../../node/obs/trace.ts';
import { tempDir } from './tmp.ts';

export const seed = (label: string): Uint8Array => new Uint8Array(createHash('sha256').update(label).digest());

export interface InProcessNodeOptions {
  /** temp dir prefix (the chain DB lives there) */
  prefix: string;
  /** stake per pool, pool-1 first (default one pool of 1000) */
  stakes?: number[];
  /** genesis UTxOs of 1,000 ADA each for `payment` (default 5) */
  utxos?: number;
}

export function inProcessNode(o: InProcessNodeOptions) {
  const dir = tempDir(o.prefix);
  const stakes = o.stakes ?? [1000];
  // pool-1 keeps the labels the first of these tests used (its leader slots do not move)
  const label = (i: number, k: string) => (i === 0 ? `pool/${k}` : `pool-${i + 1}/${k}`);
  const pools = stakes.map((stake, i) => ({ id: `pool-${i + 1}`, stake, cold: seed(label(i, 'cold')), vrf: vrfKeygen(seed(label(i, 'vrf'))), bls: blsKeygen(seed(label(i, 'bls'))) }));
  const payment = makeSigner(seed('payment'));
  const params = { minFeeA: 1, minFeeB: 100, maxTxSize: 16384, maxBlockBodySize: 90112, maxHeaderSize: 1100 };
  const genesis: Genesis = {
    networkMagic: 42,
    // Far enough in the past that every slot used is already over (no future headers).
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
    pools: pools.map((p) => ({ id: p.id, stake: p.stake, coldVkey: toHex(ed25519PublicKey(p.cold)), vrfVkey: toHex(p.vrf.pk), blsVkey: toHex(p.bls.pk), blsPop: toHex(blsPop(p.bls.sk)) })),
    initialUtxo: Array.from({ length: o.utxos ?? 5 }, (_, i) => ({ txId: toHex(seed('genesis-utxo')), index: i, address: toHex(hash224(ed25519PublicKey(seed('payment')))), amount: 1_000_000_000 })),
  };
  const p1 = pools[0];
  const keys: ForgeKeys = { poolId: p1.id, coldVkey: ed25519PublicKey(p1.cold), sign: ed25519Signer(p1.cold), vrfSk: p1.vrf.sk, vrfVkey: p1.vrf.pk, stake: BigInt(p1.stake) };
  const totalStake = BigInt(stakes.reduce((a, b) => a + b, 0));
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
  const node = new LeiosNode({ config, configDir: dir, genesis, log: pino({ level: 'silent' }), tracer: new TraceWriter({ node: 'observer', systemStartMs: Date.parse(genesis.systemStart) }) });

  const nonceAfter = (b: Block): NonceState => node.chain.get(toHex(b.hash))!.data.nonce;
  return {
    node,
    genesis,
    params,
    pools,
    payment,
    nonceAfter,
    /** A block by pool-1 at the first slot ≥ `from` it leads, on `parent` (null = genesis). */
    forge(from: number, parent: Block | null, body: { txs: Uint8Array[]; cert: Uint8Array | null }, ebAnnounce: { hash: Uint8Array; size: number; txBytes: number } | null = null): Block {
      const nonce = parent ? nonceAfter(parent) : node.chain.genesisNonce;
      for (let slot = from; slot < from + 200; slot++) {
        const lp = checkLeadership(slot, nonce, keys, { epochLengthSlots: genesis.epochLengthSlots, f: genesis.activeSlotCoeff, totalStake });
        if (lp) return forgeBlock(lp, parent ? { hash: parent.hash, blockNo: parent.header.blockNo } : null, body, keys, 2, { ebAnnounce, certified: body.cert !== null });
      }
      throw new Error(`no leader slot from ${from}`);
    },
    /** The block's header, then its body, as from a peer. */
    feed(b: Block): void {
      node.receiveHeader(b.headerBytes, 'peer');
      node.receiveBlock(b.bytes, 'peer');
    },
    /** Until the tip is `b` (a certificate is checked off the event loop), at most 2 s. */
    async untilTip(b: Block): Promise<void> {
      for (let i = 0; i < 100 && node.tip()?.key !== toHex(b.hash); i++) await new Promise((r) => setTimeout(r, 20));
    },
  };
}
