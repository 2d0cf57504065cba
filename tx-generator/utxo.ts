import { fromHex, toHex } from '../node/crypto/hash.ts';
import type { UtxoEntry } from '../node/genesis/schema.ts';
import { utxoKey } from '../node/ledger/index.ts';
import type { ChainTx } from './chain-tx.ts';

// UTxO bookkeeping on the generator's side.
//
// Wallet: the outputs our key owns on the followed chain (genesis entries, then every block
// applied in order, undone on rollback). UtxoPool: which of those we may still spend — an
// output enters the pool once (when confirmed), leaves it when a tx of ours takes it, and only
// comes back if that tx was definitively refused. So no input is ever handed out twice while
// a tx spending it may still be pending: a conflict twin is built from its original's inputs,
// never from the pool.

export interface Utxo {
  /** `txIdHex#index` */
  readonly key: string;
  readonly txId: Uint8Array;
  readonly index: number;
  readonly amount: number;
  /** block number of the block that created it (0 = genesis) */
  readonly blockNo: number;
}

interface WalletUndo {
  blockKey: string;
  removed: Utxo[];
  added: string[];
}

/** Our outputs on the followed chain. */
export class Wallet {
  readonly address: Uint8Array;
  private readonly utxos = new Map<string, Utxo>();
  private readonly undos: WalletUndo[] = [];
  /** undo records kept (deeper rollbacks than this are impossible for Praos k ≤ this) */
  private readonly maxUndo: number;

  constructor(address: Uint8Array, genesisUtxo: readonly UtxoEntry[], maxUndo = 2160) {
    this.address = address;
    this.maxUndo = maxUndo;
    const addrHex = toHex(address);
    for (const e of genesisUtxo) {
      if (e.address !== addrHex) continue;
      const key = utxoKey(e.txId, e.index);
      this.utxos.set(key, { key, txId: fromHex(e.txId), index: e.index, amount: e.amount, blockNo: 0 });
    }
  }

  get size(): number {
    return this.utxos.size;
  }

  get(key: string): Utxo | undefined {
    return this.utxos.get(key);
  }

  all(): Utxo[] {
    return [...this.utxos.values()];
  }

  total(): number {
    let s = 0;
    for (const u of this.utxos.values()) s += u.amount;
    return s;
  }

  /** Apply a block's txs (in order). Returns the outputs created for us. */
  applyBlock(blockKey: string, blockNo: number, txs: readonly ChainTx[]): Utxo[] {
    const undo: WalletUndo = { blockKey, removed: [], added: [] };
    const created: Utxo[] = [];
    for (const tx of txs) {
      for (const k of tx.inputs) {
        const u = this.utxos.get(k);
        if (u) {
          this.utxos.delete(k);
          undo.removed.push(u);
        }
      }
      for (const { index, amount } of tx.ours) {
        const key = utxoKey(tx.idHex, index);
        const u: Utxo = { key, txId: tx.id, index, amount, blockNo };
        this.utxos.set(key, u);
        undo.added.push(key);
        created.push(u);
      }
    }
    this.undos.push(undo);
    if (this.undos.length > this.maxUndo) this.undos.shift();
    return created;
  }

  /** Undo the latest applied block (must be `blockKey`). */
  rollbackBlock(blockKey: string): void {
    const u = this.undos.pop();
    if (!u) return;
    if (u.blockKey !== blockKey) throw new Error(`wallet: rollback of ${blockKey.slice(0, 16)} but the latest block is ${u.blockKey.slice(0, 16)}`);
    for (let i = u.added.length - 1; i >= 0; i--) this.utxos.delete(u.added[i]);
    for (const r of u.removed) this.utxos.set(r.key, r);
  }
}

type PoolState = 'available' | 'reserved';

/** Spendable outputs, each handed out at most once until released. */
export class UtxoPool {
  private readonly queue: Utxo[] = [];
  private head = 0;
  private readonly state = new Map<string, PoolState>();
  /** Every key added and not yet forgotten: an output re-created by a re-applied block is not
   *  added again. A key spent on chain is forgotten once its spending block is deeper than any
   *  rollback (`forgetSpentBefore`); kept forever, an hour of soak load was ~50k keys. */
  private readonly known = new Set<string>();
  /** Keys retired by an on-chain spend, with the spending block's number, oldest first. */
  private readonly spent: { blockNo: number; key: string }[] = [];
  private spentHead = 0;
  private availableCount = 0;
  private reservedCount = 0;

  /** Outputs currently available. */
  get available(): number {
    return this.availableCount;
  }

  /** Keys handed out and not released or retired. */
  get reserved(): number {
    return this.reservedCount;
  }

  isKnown(key: string): boolean {
    return this.known.has(key);
  }

  stateOf(key: string): PoolState | undefined {
    return this.state.get(key);
  }

  /** Never hand this output out (e.g. an earlier run's pending tx spends it). */
  exclude(key: string): void {
    this.known.add(key);
  }

  /** Make an output spendable; ignored if it was ever added before. Returns whether added. */
  add(u: Utxo): boolean {
    if (this.known.has(u.key)) return false;
    this.known.add(u.key);
    this.state.set(u.key, 'available');
    this.availableCount++;
    this.queue.push(u);
    return true;
  }

  /** Take n outputs (oldest first), or none if fewer than n are available. */
  take(n: number): Utxo[] | undefined {
    if (this.availableCount < n) return undefined;
    const out: Utxo[] = [];
    while (out.length < n) {
      const u = this.queue[this.head++];
      // skip entries retired or already handed out (a released key is queued again)
      if (this.state.get(u.key) !== 'available') continue;
      this.state.set(u.key, 'reserved');
      out.push(u);
    }
    this.availableCount -= n;
    this.reservedCount += n;
    if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return out;
  }

  /** Return outputs of a tx that was refused everywhere and can never be included. */
  release(us: readonly Utxo[]): void {
    for (const u of us) {
      if (this.state.get(u.key) !== 'reserved') continue;
      this.state.set(u.key, 'available');
      this.reservedCount--;
      this.availableCount++;
      this.queue.push(u);
    }
  }

  /** Forget an output (spent on chain in block `spentInBlockNo`, or gone): it is never handed out
   *  again. Only a key with a spending block may later leave `known` (`forgetSpentBefore`). */
  retire(key: string, spentInBlockNo?: number): void {
    const s = this.state.get(key);
    if (s === 'available') this.availableCount--;
    else if (s === 'reserved') this.reservedCount--;
    this.state.delete(key);
    if (spentInBlockNo !== undefined && this.known.has(key)) this.spent.push({ blockNo: spentInBlockNo, key });
  }

  /** Drop from `known` the keys spent in blocks numbered below `blockNo`: those blocks, and the
   *  blocks that created the keys, can no longer be rolled back, so nothing re-adds the keys. */
  forgetSpentBefore(blockNo: number): void {
    while (this.spentHead < this.spent.length && this.spent[this.spentHead]!.blockNo < blockNo) {
      const { key } = this.spent[this.spentHead++]!;
      if (!this.state.has(key)) this.known.delete(key);
    }
    if (this.spentHead > 4096 && this.spentHead * 2 > this.spent.length) {
      this.spent.splice(0, this.spentHead);
      this.spentHead = 0;
    }
  }

  /** Keys remembered as added (for tests and the summary's bookkeeping figures). */
  get knownCount(): number {
    return this.known.size;
  }
}
