// The tx-generator's chain follower against real ChainSync, BlockFetch and LeiosFetch servers on
// a real connection: a certified RB whose EB holds 600 real txs. The follower asks for the EB's
// txs EB_TX_SLICE at a time (never the whole EB in one reply) and keeps of each tx only its id,
// input keys and the outputs paid to the generator.
import { afterEach, describe, expect, it } from 'vitest';
import { makeBlock, type Block, type HeaderBody } from '../../node/chain/block.ts';
import { fromHex, toHex } from '../../node/crypto/hash.ts';
import { buildTx, makeSigner, type Tx } from '../../node/ledger/index.ts';
import { encodeEb } from '../../node/leios/eb.ts';
import { LEIOS_PROTOCOLS, LeiosFetchServer } from '../../node/leios/diffusion.ts';
import { BlockFetchServer, ChainSyncServer, PeerManager, type ChainSyncProvider, type Peer, type Point, type Tip } from '../../node/network/index.ts';
import { ChainFollower, EB_TX_SLICE, type FollowedBlock } from '../../tx-generator/follower.ts';

const MAGIC = 7;
const managers: PeerManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`${what} not reached`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A fixed chain of real blocks (no forks). */
class FixedChain implements ChainSyncProvider {
  private readonly blocks: Block[];
  constructor(blocks: Block[]) {
    this.blocks = blocks;
  }
  private pt = (b: Block): Point => ({ slot: b.header.slot, hash: b.hash });
  private index(p: Point): number {
    return p === null ? -1 : this.blocks.findIndex((b) => toHex(b.hash) === toHex(p.hash));
  }
  tip(): Tip {
    const b = this.blocks.at(-1)!;
    return { point: this.pt(b), blockNo: b.header.blockNo };
  }
  intersect(points: Point[]): Point | undefined {
    return points.find((p) => p === null || this.index(p) >= 0);
  }
  next(after: Point) {
    const b = this.blocks[this.index(after) + 1];
    return b ? { kind: 'forward' as const, header: b.headerBytes, point: this.pt(b) } : undefined;
  }
  onTipChange(): () => void {
    return () => {};
  }
  getBlock(p: Point): Uint8Array | undefined {
    const i = this.index(p);
    return i >= 0 ? this.blocks[i].bytes : undefined;
  }
}

describe('tx-generator chain follower', () => {
  const me = makeSigner(new Uint8Array(32).fill(3));
  const someoneElse = makeSigner(new Uint8Array(32).fill(4));
  const pp = { minFeeA: 1, minFeeB: 100 };
  // 600 txs: even ones pay us, odd ones pay someone else
  const txs: Tx[] = Array.from({ length: 600 }, (_, i) =>
    buildTx({
      inputs: [{ txId: fromHex(i.toString(16).padStart(64, '0')), index: 0, amount: 1_000_000 }],
      outputs: [{ address: (i % 2 === 0 ? me : someoneElse).address, amount: 500_000 }],
      changeAddress: someoneElse.address,
      protocolParams: pp,
      signers: [someoneElse],
    }),
  );
  const eb = encodeEb({ slot: 1, producer: 'pool-1', txs: txs.map((t) => ({ id: t.id, size: t.size })) });
  const header = (blockNo: number, slot: number, prev: Block | null, extra: Partial<HeaderBody>): HeaderBody => ({
    blockNo,
    slot,
    prevHash: prev ? prev.hash : null,
    issuerVkey: new Uint8Array(32).fill(1),
    vrfVkey: new Uint8Array(32).fill(2),
    vrfProof: new Uint8Array(80),
    bodyHash: new Uint8Array(32),
    bodySize: 0,
    protocolVersion: 2,
    ebAnnounce: null,
    certified: false,
    opcert: { hotVkey: new Uint8Array(32), counter: 0, kesPeriod: 0, sigma: new Uint8Array(64) },
    ...extra,
  });
  const sign = () => new Uint8Array(448);
  const rb1 = makeBlock(header(1, 1, null, { ebAnnounce: { hash: eb.hash, size: eb.bytes.length, txBytes: eb.txBytes } }), { txs: [], cert: null }, sign);
  const rb2 = makeBlock(header(2, 4, rb1, { certified: true }), { txs: [], cert: new Uint8Array([0x80]) }, sign);

  it('resolves a certified EB in slices and keeps compact records of its txs', async () => {
    const asked: number[] = [];
    const chain = new FixedChain([rb1, rb2]);
    const node = new PeerManager({ name: 'node', networkMagic: MAGIC, versions: [1, 2], listen: { host: '127.0.0.1', port: 0 }, keepAlive: false, extraProtocols: LEIOS_PROTOCOLS });
    const gen = new PeerManager({ name: 'gen', networkMagic: MAGIC, versions: [1, 2], keepAlive: false, extraProtocols: LEIOS_PROTOCOLS, backoff: { minMs: 20, maxMs: 100 } });
    managers.push(node, gen);
    node.on('peer-up', (peer: Peer) => {
      new ChainSyncServer(peer, chain);
      new BlockFetchServer(peer, chain);
      new LeiosFetchServer(peer, {
        getEb: (h) => (toHex(h) === toHex(eb.hash) ? { bytes: eb.bytes, slot: 1 } : undefined),
        getEbTxs: (h, idx) => {
          if (toHex(h) !== toHex(eb.hash)) return undefined;
          asked.push(idx.length);
          return idx.map((i) => txs[i].bytes);
        },
      });
    });
    const seen: FollowedBlock[] = [];
    const follower = new ChainFollower({ onBlock: (b) => seen.push(b), onRollback: () => {} }, { address: me.address });
    gen.on('peer-up', (peer: Peer) => void follower.attach(peer));
    await Promise.all([node.start(), gen.start()]);
    gen.addPeer({ name: 'node', ...node.address()! });
    await until(() => seen.length === 2, 'both blocks followed');
    follower.stop();

    expect(follower.resolvedEbs).toBe(1);
    expect(follower.unresolvedEbs).toBe(0);
    // 600 txs at 256 per request: 256 + 256 + 88, never the whole EB at once
    expect(EB_TX_SLICE).toBe(256);
    expect(asked).toEqual([256, 256, 88]);
    const certified = seen[1];
    expect(certified.certified).toBe(true);
    expect(certified.ebUnresolved).toBe(false);
    expect(certified.txs.map((t) => t.idHex)).toEqual(txs.map((t) => t.idHex));
    for (const [i, t] of certified.txs.entries()) {
      expect(Object.keys(t).sort()).toEqual(['id', 'idHex', 'inputs', 'ours']);
      expect(t.inputs).toEqual([`${i.toString(16).padStart(64, '0')}#0`]);
      // the change goes to someone else; output 0 is ours on even txs only
      expect(t.ours).toEqual(i % 2 === 0 ? [{ index: 0, amount: 500_000 }] : []);
    }
  });
});
