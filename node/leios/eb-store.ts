// Endorser blocks held by a node: closures being assembled in memory, complete ones on disk
// (db/ebs, reloaded on demand after eviction or a restart), and a bounded cache of tx bodies
// seen anywhere so most closures resolve without fetching.

import path from 'node:path';
import { BlockStore } from '../storage/blockstore.ts';
import { cborDecode, asArray, asBytes, cborHeadLen, ownBytes, writeCborHead } from '../codec/cbor.ts';
import { toHex } from '../crypto/hash.ts';
import { decodeEb, type EncodedEb } from './eb.ts';
import type { Tx } from '../ledger/index.ts';
import type { Logger } from 'pino';
import { RecentMap } from '../util/recent-map.ts';

export interface EbEntry {
  enc: EncodedEb;
  txs: (Uint8Array | undefined)[];
  missing: number;
  /** Every referenced tx is here: the EB can be served and (once certified) applied. */
  complete: boolean;
  stored: boolean;
  rbSlot: number;
  receivedAtMs: number;
  /** Witness signatures checked (fresh EBs only): undefined = not yet, else the verdict. */
  sigsOk?: boolean;
  /** When the ledger check against the announcing RB finished. */
  validatedAtMs?: number;
  extendsRb?: boolean;
  /** Decoded closure, cached once complete (applied, traced and indexed several times). */
  decoded?: Tx[];
  /** Txs already decoded while the closure was assembled (mempool hits, fetched txs). */
  parts?: (Tx | undefined)[];
}

/**
 * Transaction bodies seen anywhere in the last minutes (bounded by bytes and age), so EB closures
 * mostly resolve locally: an EB references txs its producer held in its mempool, which reached us
 * too when they were fresh.
 */
export class TxCache {
  private readonly map: RecentMap<Uint8Array>;
  constructor(maxBytes: number, maxAgeMs = 10 * 60_000) {
    this.map = new RecentMap<Uint8Array>({ maxBytes, maxAgeMs, sizeOf: (b) => b.length });
  }
  put(id: string, tx: Uint8Array): void {
    if (this.map.has(id)) return;
    // a view would keep its whole buffer (a network message) alive: the byte budget would lie
    this.map.set(id, ownBytes(tx));
  }
  get(id: string): Uint8Array | undefined {
    return this.map.get(id);
  }
}

/**
 * The stored record, CBOR [eb bytes, [tx bytes…]], as chunks written from where they are: the
 * heads (a few bytes each, in one allocation) between the EB and tx bytes. Storing a 12 MB closure
 * copies nothing on the event loop of every node that completes the EB (the chain DB writes the
 * chunks with writev and checksums them in place).
 */
export function recordChunks(eb: Uint8Array, txs: readonly Uint8Array[]): Uint8Array[] {
  let headBytes = 1 + cborHeadLen(eb.length) + cborHeadLen(txs.length);
  for (const t of txs) headBytes += cborHeadLen(t.length);
  const heads = Buffer.allocUnsafe(headBytes);
  const out: Uint8Array[] = [];
  let from = 0;
  let at = writeCborHead(heads, 0, 4, 2);
  at = writeCborHead(heads, at, 2, eb.length);
  out.push(heads.subarray(from, at), eb);
  from = at;
  at = writeCborHead(heads, at, 4, txs.length);
  for (const t of txs) {
    at = writeCborHead(heads, at, 2, t.length);
    out.push(heads.subarray(from, at), t);
    from = at;
  }
  if (at > from) out.push(heads.subarray(from, at)); // no txs: the empty array's head
  return out;
}

/** The stored record as one buffer (tests; readers get it back from the chain DB this way). */
export function encodeRecord(eb: Uint8Array, txs: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat(recordChunks(eb, txs));
}

export class EbStore {
  readonly mem = new Map<string, EbEntry>();
  /**
   * 32 MiB: more than two full 12 MB closures of txs that left the mempool. It fills once and stays
   * (64 MiB took most of an hour of ci-bench load to fill: growth the soak counted against the node).
   */
  readonly txCache = new TxCache(32 << 20);
  private disk!: BlockStore;

  async open(dbPath: string, log: Logger): Promise<void> {
    this.disk = await BlockStore.open(path.join(dbPath, 'ebs'), { logger: { info: (o, m) => log.info(o, m), warn: (o, m) => log.warn(o, m) } });
  }

  async close(): Promise<void> {
    await this.disk?.close();
  }

  has(key: string): boolean {
    return this.mem.has(key) || !!this.disk?.has(key);
  }

  /** An EB in memory, else its stored closure from disk (kept in memory again). */
  get(key: string): EbEntry | undefined {
    const e = this.mem.get(key);
    if (e || !this.disk?.has(key)) return e;
    const rec = this.disk.get(key);
    if (!rec) return undefined;
    const a = asArray(cborDecode(rec), 'eb record', 2);
    const enc = decodeEb(asBytes(a[0], 'eb'));
    const txs = asArray(a[1], 'eb txs').map((t) => asBytes(t, 'eb tx'));
    const loaded: EbEntry = { enc, txs, missing: 0, complete: true, stored: true, rbSlot: enc.eb.slot, receivedAtMs: 0 };
    this.mem.set(key, loaded);
    return loaded;
  }

  set(e: EbEntry): void {
    this.mem.set(toHex(e.enc.hash), e);
  }

  persist(e: EbEntry): void {
    if (e.stored || !e.complete) return;
    e.stored = true;
    void this.disk.append({ hash: e.enc.hash, prevHash: null, slot: e.enc.eb.slot, blockNo: 0, bytes: recordChunks(e.enc.bytes, e.txs as Uint8Array[]) });
  }

  /** Drop closures from memory: stored complete ones before `keepFromSlot`, incomplete ones before `horizon`. */
  evict(horizon: number, keepFromSlot: number): void {
    for (const [k, e] of this.mem) {
      if (e.stored && e.complete && e.enc.eb.slot < keepFromSlot) this.mem.delete(k);
      else if (!e.complete && e.enc.eb.slot < horizon) this.mem.delete(k); // never completed: no longer useful
    }
  }
}
