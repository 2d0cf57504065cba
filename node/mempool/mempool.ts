import { toHex } from '../crypto/hash.ts';
import type { Genesis } from '../genesis/schema.ts';
import { bodyItemSize, checkTx, inputKeys, type Ledger, type RejectReason } from '../ledger/ledger.ts';
import { decodeTx, TxDecodeError, type Tx, type TxOut } from '../ledger/tx.ts';

// The mempool: txs valid against the ledger tip plus the mempool's own earlier txs (so chains
// of dependent txs work), pairwise non-conflicting, kept in arrival order. Block producers take
// a prefix-like selection (dependency-safe); TxSubmission relays ids after a cursor.

interface Entry {
  readonly tx: Tx;
  readonly keys: string[];
  readonly seq: number;
  live: boolean;
}

export type MempoolAddResult = { ok: true; tx: Tx } | { ok: false; reason: RejectReason; txId?: string };

export interface MempoolSyncResult {
  /** txs dropped because their outputs are now in the ledger (included in a block) */
  included: number;
  /** txs dropped because an input is gone (spent by a block tx, or rolled back) */
  invalid: number;
  /** ids of all dropped txs */
  removed: string[];
}

export interface MempoolTxRef {
  readonly id: Uint8Array;
  readonly idHex: string;
  readonly size: number;
}

export interface SelectOptions {
  /** ids (hex) to leave out, e.g. the txs of the RB an EB extends (dependents may still follow) */
  readonly exclude?: ReadonlySet<string>;
  /** cap on the number of txs */
  readonly maxCount?: number;
  /** input keys (txId#ix) already spent elsewhere (e.g. by a certified EB applied first): txs
   *  spending one are left out, with their dependents */
  readonly spent?: ReadonlySet<string>;
}

export interface EbSelectOptions extends SelectOptions {
  /** bytes one tx reference costs in the EB; default CBOR [hash32, size]: 1 + 34 + head(size) */
  readonly refSize?: (tx: Tx) => number;
}

/** Default EB reference size of a tx: CBOR [bstr .size 32, uint size]. */
export function defaultRefSize(tx: Tx): number {
  const s = tx.size;
  return 1 + 34 + (s < 24 ? 1 : s < 0x100 ? 2 : s < 0x10000 ? 3 : 5);
}

/** CIP-164's floor for the mempool: 2 × (S_RB + S_EB-tx). */
export function minMempoolCapacity(g: Pick<Genesis, 'protocolParams' | 'leios'>): number {
  return 2 * (g.protocolParams.maxBlockBodySize + g.leios.ebMaxTxBytes);
}

function headLen(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
}

export class Mempool {
  readonly capacityBytes: number;
  private ledger: Ledger;
  private syncedVersion: number;
  private readonly byId = new Map<string, Entry>();
  private order: Entry[] = [];
  private dead = 0;
  /** input key → the mempool entry spending it */
  private readonly spentBy = new Map<string, Entry>();
  /** outputs created by mempool txs */
  private readonly produced = new Map<string, TxOut>();
  private totalBytes = 0;
  /** smallest tx size ever admitted: a lower bound that lets selection stop early */
  private minSize = Infinity;
  private seq = 0;
  private waiters: (() => void)[] = [];
  private readonly listeners = new Set<(tx: Tx) => void>();
  private readonly lookup = (k: string): TxOut | undefined => this.produced.get(k) ?? this.ledger.get(k);

  constructor(ledger: Ledger, opts: { capacityBytes: number }) {
    if (!(opts.capacityBytes > 0)) throw new RangeError('mempool capacityBytes must be > 0');
    this.ledger = ledger;
    this.syncedVersion = ledger.version;
    this.capacityBytes = opts.capacityBytes;
  }

  /** Number of txs. */
  get count(): number {
    return this.byId.size;
  }

  /** Same as count (Map-like). */
  get size(): number {
    return this.byId.size;
  }

  /** Total bytes of the txs held. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** Sequence number of the latest arrival (a cursor meaning "everything so far"). */
  get cursor(): number {
    return this.seq;
  }

  has(id: string | Uint8Array): boolean {
    return this.byId.has(typeof id === 'string' ? id : toHex(id));
  }

  get(id: string | Uint8Array): Tx | undefined {
    return this.byId.get(typeof id === 'string' ? id : toHex(id))?.tx;
  }

  /** Live txs in arrival order. */
  *txs(): IterableIterator<Tx> {
    for (const e of this.order) if (e.live) yield e.tx;
  }

  /** Decode and add. Oversized bytes are refused before decoding. */
  add(bytes: Uint8Array): MempoolAddResult {
    if (bytes.length > this.ledger.params.maxTxSize) return { ok: false, reason: 'too-large' };
    let tx: Tx;
    try {
      tx = decodeTx(bytes);
    } catch (e) {
      if (e instanceof TxDecodeError) return { ok: false, reason: 'malformed' };
      throw e;
    }
    return this.addTx(tx);
  }

  /** Add a decoded tx: full validation against the ledger tip + pending mempool outputs. */
  addTx(tx: Tx): MempoolAddResult {
    if (this.ledger.version !== this.syncedVersion) this.syncWithLedger();
    const txId = tx.idHex;
    if (this.byId.has(txId)) return { ok: false, reason: 'duplicate', txId };
    if (this.totalBytes + tx.size > this.capacityBytes) return { ok: false, reason: 'mempool-full', txId };
    const keys = inputKeys(tx);
    for (const k of keys) if (this.spentBy.has(k)) return { ok: false, reason: 'conflict', txId };
    const reason = checkTx(tx, this.lookup, this.ledger.params, 'validate', keys);
    if (reason) return { ok: false, reason, txId };
    const e: Entry = { tx, keys, seq: ++this.seq, live: true };
    this.byId.set(txId, e);
    this.order.push(e);
    for (const k of keys) this.spentBy.set(k, e);
    const outs = tx.body.outputs;
    for (let i = 0; i < outs.length; i++) this.produced.set(`${txId}#${i}`, outs[i]);
    this.totalBytes += tx.size;
    if (tx.size < this.minSize) this.minSize = tx.size;
    const ws = this.waiters;
    if (ws.length) {
      this.waiters = [];
      for (const w of ws) w();
    }
    for (const l of this.listeners) l(tx);
    return { ok: true, tx };
  }

  /** Call `fn` for every accepted tx; returns an unsubscribe function. */
  onAdd(fn: (tx: Tx) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /**
   * Revalidate after the ledger tip changed (blocks applied or rolled back), optionally
   * switching to another ledger object: drops txs now included and txs whose inputs are gone,
   * with their dependents. O(1) when the ledger did not change since the last sync.
   */
  syncWithLedger(ledger?: Ledger): MempoolSyncResult {
    if (ledger && ledger !== this.ledger) {
      this.ledger = ledger;
      this.syncedVersion = -1;
    }
    const res: MempoolSyncResult = { included: 0, invalid: 0, removed: [] };
    const l = this.ledger;
    if (l.version === this.syncedVersion) return res;
    this.syncedVersion = l.version;
    for (const e of this.order) {
      if (!e.live) continue;
      let ok = true;
      for (const k of e.keys)
        if (!l.has(k) && !this.produced.has(k)) {
          ok = false;
          break;
        }
      if (ok) continue;
      const outs = e.tx.body.outputs.length;
      if (outs > 0 && l.has(`${e.tx.idHex}#0`)) res.included++;
      else res.invalid++;
      res.removed.push(e.tx.idHex);
      this.drop(e);
    }
    this.compact();
    return res;
  }

  /** Remove txs by id (hex), and then any tx that depended on them. Returns the removed ids. */
  remove(ids: Iterable<string>): string[] {
    const removed: string[] = [];
    for (const id of ids) {
      const e = this.byId.get(id);
      if (e) {
        this.drop(e);
        removed.push(id);
      }
    }
    if (removed.length) {
      this.syncedVersion = -1;
      removed.push(...this.syncWithLedger().removed);
    }
    return removed;
  }

  /** Empty the mempool. */
  clear(): void {
    this.byId.clear();
    this.order = [];
    this.dead = 0;
    this.spentBy.clear();
    this.produced.clear();
    this.totalBytes = 0;
    this.minSize = Infinity;
  }

  private drop(e: Entry): void {
    e.live = false;
    this.dead++;
    this.byId.delete(e.tx.idHex);
    for (const k of e.keys) if (this.spentBy.get(k) === e) this.spentBy.delete(k);
    const id = e.tx.idHex;
    const n = e.tx.body.outputs.length;
    for (let i = 0; i < n; i++) this.produced.delete(`${id}#${i}`);
    this.totalBytes -= e.tx.size;
  }

  private compact(): void {
    if (this.dead > 1024 && this.dead * 2 > this.order.length) {
      this.order = this.order.filter((e) => e.live);
      this.dead = 0;
    }
  }

  /**
   * Generic selection in arrival order. A tx is taken when `fits(tx)` says so; a tx that does
   * not fit is skipped together with every later tx spending its outputs, so the selection
   * always applies in order on top of the ledger tip (plus `exclude`d txs applied first).
   * Nothing is removed.
   */
  private select(fits: (tx: Tx) => boolean, done: () => boolean, opts?: SelectOptions): Tx[] {
    const out: Tx[] = [];
    const exclude = opts?.exclude;
    const maxCount = opts?.maxCount ?? Infinity;
    let skipped: Set<string> | undefined;
    for (const e of this.order) {
      if (out.length >= maxCount || done()) break;
      if (!e.live) continue;
      const tx = e.tx;
      if (exclude?.has(tx.idHex)) continue;
      if (opts?.spent && e.keys.some((k) => opts.spent!.has(k))) {
        (skipped ??= new Set()).add(tx.idHex);
        continue;
      }
      if (skipped) {
        let dep = false;
        for (const k of e.keys)
          if (skipped.has(k.slice(0, k.indexOf('#')))) {
            dep = true;
            break;
          }
        if (dep) {
          skipped.add(tx.idHex);
          continue;
        }
      }
      if (fits(tx)) out.push(tx);
      else (skipped ??= new Set()).add(tx.idHex);
    }
    return out;
  }

  /**
   * Txs for a ranking-block body of at most `maxBytes` encoded (as counted by ledger's
   * bodySize: array head + per-tx bstr head + tx bytes).
   */
  takeForBlock(maxBytes: number, opts?: SelectOptions): Tx[] {
    let used = 0;
    let n = 0;
    const fits = (tx: Tx): boolean => {
      const item = bodyItemSize(tx.size);
      if (headLen(n + 1) + used + item > maxBytes) return false;
      used += item;
      n++;
      return true;
    };
    return this.select(fits, () => maxBytes - used - headLen(n + 1) < bodyItemSize(this.minSize), opts);
  }

  /**
   * Txs for an endorser block: references within `maxRefBytes` (refSize per tx, default
   * defaultRefSize) and transaction bytes within `maxTxBytes`.
   */
  takeForEb(maxRefBytes: number, maxTxBytes: number, opts?: EbSelectOptions): Tx[] {
    const refSize = opts?.refSize ?? defaultRefSize;
    let refs = 0;
    let bytes = 0;
    const fits = (tx: Tx): boolean => {
      const r = refSize(tx);
      if (refs + r > maxRefBytes || bytes + tx.size > maxTxBytes) return false;
      refs += r;
      bytes += tx.size;
      return true;
    };
    return this.select(fits, () => maxTxBytes - bytes < this.minSize || maxRefBytes - refs < 32, opts);
  }

  /**
   * For TxSubmission relay: up to `max` txs that arrived after `cursor` (0 = from the start),
   * in arrival order, and the cursor to pass next time.
   */
  idsAfter(cursor: number, max: number): { txs: MempoolTxRef[]; cursor: number } {
    const o = this.order;
    let lo = 0;
    let hi = o.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (o[mid].seq <= cursor) lo = mid + 1;
      else hi = mid;
    }
    const txs: MempoolTxRef[] = [];
    let next = cursor;
    let i = lo;
    for (; i < o.length && txs.length < max; i++) {
      const e = o[i];
      next = e.seq;
      if (e.live) txs.push({ id: e.tx.id, idHex: e.tx.idHex, size: e.tx.size });
    }
    // Read to the end: everything up to the newest sequence number has been seen, including
    // txs already removed (compacted away). Without this a reader that starts at 0 after txs
    // came and went (a peer reconnecting to a node whose mempool emptied) never catches up
    // with `seq`, and `waitForTxsAfter` resolves at once, forever: a loop of microtasks that
    // starves the event loop (the Leios-era kill -9 rejoin bug: every peer the restarted node
    // reconnected to stopped answering).
    if (i === o.length && this.seq > next) next = this.seq;
    return { txs, cursor: next };
  }

  /**
   * Resolves once a tx arrived after `cursor` (at once if one already has). Rejects with the
   * signal's reason when aborted.
   */
  waitForTxsAfter(cursor: number, signal?: AbortSignal): Promise<void> {
    if (this.seq > cursor) return Promise.resolve();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        const i = this.waiters.indexOf(wake);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      const wake = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.waiters.push(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}
