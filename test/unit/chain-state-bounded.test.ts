import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeBlock, makeBlock, type Block } from '../../node/chain/block.ts';
import { ChainState } from '../../node/chain/chain-state.ts';
import { toHex } from '../../node/crypto/hash.ts';
import { kesSignatureSize } from '../../node/crypto/kes.ts';
import { BlockStore } from '../../node/storage/blockstore.ts';

// The block tree stays bounded on a long run: blocks more than k deep are immutable, so forks
// leaving the chain below that point are forgotten, and the bodies of immutable chain blocks
// leave memory once they are in the chain DB (read back from it when something asks).

const K = 3;
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function block(parent: Block | null, slot: number, tag: number): Block {
  const z = (n: number, v = 0) => new Uint8Array(n).fill(v);
  return makeBlock(
    {
      blockNo: (parent?.header.blockNo ?? 0) + 1,
      slot,
      prevHash: parent ? parent.hash : null,
      issuerVkey: z(32, 1),
      vrfVkey: z(32, 2),
      vrfProof: z(80, tag),
      bodyHash: z(32),
      bodySize: 0,
      protocolVersion: 1,
      ebAnnounce: null,
      certified: false,
      opcert: { hotVkey: z(32, 3), counter: 0, kesPeriod: 0, sigma: z(64, 4) },
    },
    { txs: [new Uint8Array(2000).fill(tag)], cert: null },
    () => z(kesSignatureSize()),
  );
}

async function setup() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chain-bounded-'));
  dirs.push(dir);
  const store = await BlockStore.open(dir);
  const chain = new ChainState<null>({
    initialNonce: new Uint8Array(32).fill(1),
    k: K,
    epochLengthSlots: 1000,
    ledger: { applyBlock: () => ({ ok: true, undo: null }), undoBlock: () => {} },
  });
  chain.bodyLoader = (h) => {
    const b = store.get(h);
    return b ? decodeBlock(b) : undefined;
  };
  /** What the node does: header, body, selection, then the adopted blocks into the chain DB. */
  const add = (b: Block, leader = b.header.slot) => {
    const lv = new Uint8Array(32);
    new DataView(lv.buffer).setUint32(0, leader);
    chain.addHeader(b.header, b.headerBytes, { leaderValue: lv, nonceValue: new Uint8Array(32), poolId: 'p' });
    expect(chain.addBody(b)).toBeNull();
    const r = chain.select();
    for (const a of r.adopted) {
      if (a.stored) continue;
      a.stored = true;
      void store.append({ hash: a.hash, prevHash: a.header.prevHash, slot: a.header.slot, blockNo: a.header.blockNo, bytes: a.block!.bytes });
    }
    return r;
  };
  return { store, chain, add };
}

describe('ChainState stays bounded', () => {
  it('forgets forks below the immutable point and drops stored immutable bodies (read back on demand)', async () => {
    const { store, chain, add } = await setup();
    const main: Block[] = [];
    let prev: Block | null = null;
    for (let i = 1; i <= 4; i++) add((prev = block(prev, i * 10, i)), 100), main.push(prev);
    // a fork at height 2 that loses (higher VRF value), then the main chain grows on
    const fork = block(main[0]!, 21, 99);
    add(fork, 1_000_000);
    expect(chain.get(toHex(fork.hash))).toBeDefined();
    for (let i = 5; i <= 20; i++) add((prev = block(prev, i * 10, i)), 100), main.push(prev);
    expect(chain.blockNo()).toBe(20);
    expect(chain.immutableNo).toBe(20 - K - 1);
    // the fork left the chain below the immutable point: gone from the tree
    expect(chain.get(toHex(fork.hash))).toBeUndefined();
    expect(chain.tree.nodes.size).toBe(20);
    // an immutable block's body is no longer held, but still there for whoever asks (BlockFetch)
    const old = chain.atHeight(5)!;
    expect(Object.getOwnPropertyDescriptor(old.data, 'block')!.get).toBeTypeOf('function');
    expect(toHex(old.data.block!.bytes)).toBe(toHex(main[4]!.bytes));
    expect(old.data.block!.body.txs[0]![0]).toBe(5);
    // blocks within k keep their bodies in memory
    const recent = chain.atHeight(19)!;
    expect(Object.getOwnPropertyDescriptor(recent.data, 'block')!.value).toBeDefined();
    // selection is unchanged: a longer fork within k wins; one from below the immutable point cannot
    const deepFork = [block(main[9]!, 111, 50)];
    for (let i = 0; i < 12; i++) deepFork.push(block(deepFork[deepFork.length - 1]!, 112 + i, 51 + i));
    for (const b of deepFork) {
      const parent = chain.get(toHex(b.header.prevHash!));
      if (parent) add(b, 1);
    }
    expect(chain.tip()!.key).toBe(toHex(main[19]!.hash));
    const f1 = block(main[17]!, 185, 70);
    const f2 = block(f1, 186, 71);
    const f3 = block(f2, 187, 72);
    add(f1, 1);
    add(f2, 1);
    const r = add(f3, 1);
    expect(r.rolledBack.map((x) => x.header.blockNo)).toEqual([20, 19]);
    expect(chain.tip()!.key).toBe(toHex(f3.hash));
    expect(chain.blockNo()).toBe(21);
    await store.close();
  });

  it('keeps bodies in memory while they are not in the chain DB', async () => {
    const { store, chain } = await setup();
    let prev: Block | null = null;
    for (let i = 1; i <= 10; i++) {
      prev = block(prev, i * 10, i);
      chain.addHeader(prev.header, prev.headerBytes, { leaderValue: new Uint8Array(32), nonceValue: new Uint8Array(32), poolId: 'p' });
      chain.addBody(prev);
      chain.select();
    }
    expect(chain.immutableNo).toBe(10 - K - 1);
    // never stored: the body stays
    expect(Object.getOwnPropertyDescriptor(chain.atHeight(2)!.data, 'block')!.value).toBeDefined();
    await store.close();
  });
});
