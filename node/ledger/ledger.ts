import { Encoder } from 'cbor-x';
import { bytesEqual, fromHex, hash256, toHex } from '../crypto/hash.ts';
import { ed25519Verify } from '../crypto/ed25519.ts';
import { RecentMap } from '../util/recent-map.ts';
import type { Genesis, ProtocolParams } from '../genesis/schema.ts';
import { addressOf, decodeTx, minFee, TxDecodeError, view, type Tx, type TxOut } from './tx.ts';

// Ledger state: the UTxO set as a Map keyed `txIdHex#index`, mutated in place, with an undo
// log per applied tx / block body so the core can roll back (LIFO) up to k blocks. In-place
// mutation + undo logs beat persistent maps here: applying and undoing cost O(inputs+outputs).

/** Stable short rejection reasons: the `reason` label of leios_tx_rejected_total. */
export const REJECT_REASONS = [
  'malformed', // undecodable / wrong shape / no inputs / non-positive output
  'too-large', // size > maxTxSize
  'missing-input', // an input is not in the UTxO (never existed, or spent by an earlier block)
  'double-spend', // an input is spent twice in the same tx or by an earlier tx of the same body
  'conflict', // (mempool) an input is spent by another tx already in the mempool
  'bad-witness', // a signature does not verify, or an input owner has no witness
  'value-not-preserved', // sum(inputs) != sum(outputs) + fee
  'fee-too-small', // fee < minFeeA * size + minFeeB
  'duplicate', // (mempool) the tx is already in the mempool
  'mempool-full', // (mempool) no room left
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/**
 * - 'validate': every rule (new txs from peers / clients, RB bodies from peers).
 * - 'reapply': known-good txs (validated before, e.g. in our mempool, or replayed from our own
 *   chain DB): only checks that the inputs exist and are unspent.
 * - 'trusted': no validation (certified EB contents): signatures, fees, value and sizes are not
 *   looked at. A tx whose inputs are not all unspent (possible only if a dishonest committee
 *   certified a conflicting or duplicate tx) is skipped, never rejected, so it can neither
 *   mint value nor make the body fail; skipped txs are counted in the result.
 */
export type ApplyLevel = 'validate' | 'reapply' | 'trusted';

export type UtxoLookup = (key: string) => TxOut | undefined;

type Verdict = RejectReason | null;

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

/** The input keys (`txIdHex#index`) of a tx, in order. */
export function inputKeys(tx: Tx): string[] {
  const ins = tx.body.inputs;
  const keys = new Array<string>(ins.length);
  for (let i = 0; i < ins.length; i++) keys[i] = `${toHex(ins[i].txId)}#${ins[i].index}`;
  return keys;
}

/**
 * State-independent rules: size, shape, duplicate inputs, fee. Cheap; run before anything
 * that costs (lookups, signatures).
 */
export function checkTxStatic(tx: Tx, params: Pick<ProtocolParams, 'minFeeA' | 'minFeeB' | 'maxTxSize'>, keys?: string[]): Verdict {
  if (tx.size > params.maxTxSize) return 'too-large';
  const b = tx.body;
  // A governance action (update proposal/endorsement) may stand alone: no inputs, no outputs,
  // no fee. It moves no value; the consensus core checks the pool's signature on it.
  const governance = b.update !== undefined && b.inputs.length === 0 && b.outputs.length === 0 && b.fee === 0;
  if (governance) return null;
  if (b.inputs.length === 0) return 'malformed';
  for (const o of b.outputs) if (o.amount <= 0) return 'malformed';
  const ks = keys ?? inputKeys(tx);
  if (ks.length > 1) {
    if (ks.length <= 8) {
      for (let i = 1; i < ks.length; i++) for (let j = 0; j < i; j++) if (ks[i] === ks[j]) return 'double-spend';
    } else if (new Set(ks).size !== ks.length) return 'double-spend';
  }
  if (b.fee < minFee(params, tx.size)) return 'fee-too-small';
  return null;
}

// Signature cache: tx id → the exact witness bytes whose signatures verified. A tx seen in
// the mempool is then validated in a block (a separately decoded copy) without re-verifying.
// Keyed on the witness bytes too: the id does not cover the witnesses. A verdict is useful from
// the tx's arrival until the blocks that include it are validated, minutes: ten of them bound the
// cache by the load (a count cap alone filled it slowly over more than an hour of soak).
const sigCache = new RecentMap<Buffer>({ maxEntries: 65_536, maxAgeMs: 10 * 60_000 });

/** Drop all cached signature verdicts (tests, benchmarks). */
export function clearSignatureCache(): void {
  sigCache.clear();
}

/**
 * Do all witness signatures verify over the tx id? State-independent (so it can also run
 * ahead of time, e.g. in a worker); successful verdicts are cached by (id, witness bytes).
 */
export function verifyWitnessSignatures(tx: Tx): boolean {
  const wb = Buffer.from(tx.bytes.buffer, tx.bytes.byteOffset + 1 + tx.bodyBytes.length, tx.size - 1 - tx.bodyBytes.length);
  const c = sigCache.get(tx.idHex);
  if (c !== undefined && c.equals(wb)) return true;
  for (const w of tx.witnesses) if (!ed25519Verify(w.vkey, tx.id, w.sig)) return false;
  sigCache.set(tx.idHex, Buffer.from(wb));
  return true;
}

/** Have this tx's witnesses (these exact bytes) verified here before? No signature check is done. */
export function witnessesKnown(tx: Tx): boolean {
  const c = sigCache.get(tx.idHex);
  if (c === undefined) return false;
  return c.equals(Buffer.from(tx.bytes.buffer, tx.bytes.byteOffset + 1 + tx.bodyBytes.length, tx.size - 1 - tx.bodyBytes.length));
}

/** Record that a tx's witnesses verified elsewhere (a worker thread), so validation here hits the cache. */
export function noteWitnessesVerified(tx: Tx): void {
  const wb = Buffer.from(tx.bytes.buffer, tx.bytes.byteOffset + 1 + tx.bodyBytes.length, tx.size - 1 - tx.bodyBytes.length);
  sigCache.set(tx.idHex, Buffer.from(wb));
}

/** Signature rules: every witness verifies over the tx id; every spent output's owner signed. */
export function checkWitnesses(tx: Tx, spent: readonly TxOut[]): Verdict {
  const ws = tx.witnesses;
  const addrs = new Array<Uint8Array>(ws.length);
  for (let i = 0; i < ws.length; i++) addrs[i] = addressOf(ws[i].vkey);
  for (const o of spent) {
    let found = false;
    for (let i = 0; i < addrs.length && !found; i++) found = bytesEqual(addrs[i], o.address);
    if (!found) return 'bad-witness';
  }
  return verifyWitnessSignatures(tx) ? null : 'bad-witness';
}

/**
 * Every rule for `level` against a UTxO view (`lookup`), without changing anything. For
 * 'trusted' this is always null (see applyBody for how missing inputs are then skipped).
 * `keys` may pass precomputed inputKeys(tx).
 * A missing input reports 'missing-input'; callers that know more refine it.
 */
export function checkTx(
  tx: Tx,
  lookup: UtxoLookup,
  params: Pick<ProtocolParams, 'minFeeA' | 'minFeeB' | 'maxTxSize'>,
  level: ApplyLevel = 'validate',
  keys?: string[],
): Verdict {
  if (level === 'trusted') return null;
  const ks = keys ?? inputKeys(tx);
  if (level === 'reapply') {
    for (const k of ks) if (lookup(k) === undefined) return 'missing-input';
    return null;
  }
  const s = checkTxStatic(tx, params, ks);
  if (s) return s;
  const spent = new Array<TxOut>(ks.length);
  let sumIn = 0;
  for (let i = 0; i < ks.length; i++) {
    const o = lookup(ks[i]);
    if (o === undefined) return 'missing-input';
    spent[i] = o;
    sumIn += o.amount;
  }
  let sumOut = tx.body.fee;
  for (const o of tx.body.outputs) sumOut += o.amount;
  if (sumIn !== sumOut || sumIn > MAX_SAFE) return 'value-not-preserved';
  return checkWitnesses(tx, spent);
}

/**
 * What applyBody / applyTx changed, to be passed back to undo(). Records must be undone in
 * reverse order of application (LIFO); the ledger enforces it.
 */
export class UndoRecord {
  /** keys written, in order */
  readonly keys: string[] = [];
  /** value each key had before the write (undefined: absent) */
  readonly prev: (TxOut | undefined)[] = [];
  /** txs applied under this record */
  txs = 0;
  /** 'trusted' txs skipped because an input was already spent or missing */
  skipped = 0;
  /** their total size in bytes */
  bytes = 0;
  /** @internal LIFO bookkeeping */
  token = 0;
  /** @internal */
  prevToken = 0;
}

export type TxApplyResult = { ok: true; undo: UndoRecord } | { ok: false; reason: RejectReason };

export type BodyApplyResult =
  | { ok: true; undo: UndoRecord; txs: number; bytes: number; skipped: number }
  | { ok: false; index: number; reason: RejectReason; txId: string };

export class LedgerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LedgerError';
  }
}

const cbor = new Encoder({
  useRecords: false,
  tagUint8Array: false,
  int64AsNumber: true,
  structuredClone: false,
  pack: false,
} as ConstructorParameters<typeof Encoder>[0]);

export interface UtxoView {
  readonly key: string;
  readonly txIdHex: string;
  readonly index: number;
  readonly address: Uint8Array;
  readonly amount: number;
}

export class Ledger {
  /** Protocol parameters in force (the core may replace them at an update / hard fork). */
  params: ProtocolParams;
  private readonly utxo: Map<string, TxOut>;
  private gen = 0;
  private lastToken = 0;
  private readonly lookupFn: UtxoLookup;

  constructor(params: ProtocolParams, utxo?: Iterable<[string, TxOut]>) {
    this.params = params;
    this.utxo = new Map(utxo);
    this.lookupFn = (k) => this.utxo.get(k);
  }

  static fromGenesis(g: Pick<Genesis, 'protocolParams' | 'initialUtxo'>): Ledger {
    const l = new Ledger(g.protocolParams);
    for (const e of g.initialUtxo) l.utxo.set(`${e.txId}#${e.index}`, { address: fromHex(e.address), amount: e.amount });
    return l;
  }

  /**
   * Monotonic change counter: grows on every successful apply and every undo. Equal values
   * mean an unchanged UTxO (the mempool uses this to skip revalidation).
   */
  get version(): number {
    return this.gen;
  }

  /** Number of unspent outputs. */
  get utxoCount(): number {
    return this.utxo.size;
  }

  /** The output at `txIdHex#index`, if unspent. */
  get(key: string): TxOut | undefined {
    return this.utxo.get(key);
  }

  has(key: string): boolean {
    return this.utxo.has(key);
  }

  /** A lookup function over this ledger (stable identity, cheap to call). */
  get lookup(): UtxoLookup {
    return this.lookupFn;
  }

  /** Would `tx` apply at `level` now? null if yes, else the reason. Changes nothing. */
  checkTx(tx: Tx, level: ApplyLevel = 'validate'): RejectReason | null {
    return checkTx(tx, this.lookupFn, this.params, level);
  }

  /**
   * Apply one tx. With `undo`, appends to that record (which must be the latest one applied);
   * otherwise starts a new record. On rejection nothing changes.
   */
  applyTx(tx: Tx, level: ApplyLevel = 'validate', undo?: UndoRecord): TxApplyResult {
    let rec = undo;
    if (rec) {
      if (rec.token === 0 || rec.token !== this.lastToken) throw new LedgerError('applyTx: undo record is not the latest one');
    } else rec = this.open();
    const reason = this.applyOne(tx, level, rec);
    if (reason) {
      if (!undo) this.lastToken = rec.prevToken;
      return { ok: false, reason };
    }
    this.gen++;
    return { ok: true, undo: rec };
  }

  /**
   * Apply a block body atomically: all txs or none. `level` may be chosen per tx (e.g.
   * 'reapply' for txs already validated in our mempool, 'validate' for the rest).
   */
  applyBody(txs: readonly Tx[], level: ApplyLevel | ((tx: Tx, index: number) => ApplyLevel) = 'validate'): BodyApplyResult {
    const rec = this.open();
    const fixed = typeof level === 'string' ? level : undefined;
    for (let i = 0; i < txs.length; i++) {
      const tx = txs[i];
      const lv = fixed ?? (level as (tx: Tx, index: number) => ApplyLevel)(tx, i);
      const reason = this.applyOne(tx, lv, rec);
      if (reason) {
        this.rollback(rec, 0);
        this.lastToken = rec.prevToken;
        return { ok: false, index: i, reason, txId: tx.idHex };
      }
    }
    this.gen++;
    return { ok: true, undo: rec, txs: rec.txs, bytes: rec.bytes, skipped: rec.skipped };
  }

  /** Undo a record returned by applyBody / applyTx. Must be the latest not yet undone. */
  undo(rec: UndoRecord): void {
    if (rec.token !== this.lastToken || rec.token === 0) throw new LedgerError('undo: record is not the latest applied one');
    this.rollback(rec, 0);
    this.lastToken = rec.prevToken;
    rec.token = 0;
    this.gen++;
  }

  /**
   * Forget undo bookkeeping: after this, records returned so far can no longer be undone
   * (use when records older than k are dropped and a fresh chain of records starts, e.g.
   * after loading a snapshot). Not needed in normal operation.
   */
  resetUndo(): void {
    this.lastToken = 0;
  }

  private open(): UndoRecord {
    const r = new UndoRecord();
    r.prevToken = this.lastToken;
    r.token = ++tokenSeq;
    this.lastToken = r.token;
    return r;
  }

  private rollback(rec: UndoRecord, to: number): void {
    const { keys, prev } = rec;
    const u = this.utxo;
    for (let i = keys.length - 1; i >= to; i--) {
      const p = prev[i];
      if (p === undefined) u.delete(keys[i]);
      else u.set(keys[i], p);
    }
    keys.length = to;
    prev.length = to;
  }

  /** Checks (per level) and applies one tx into `rec`; returns the reason on rejection. */
  private applyOne(tx: Tx, level: ApplyLevel, rec: UndoRecord): RejectReason | null {
    const u = this.utxo;
    const keys = inputKeys(tx);
    const { keys: lk, prev: lp } = rec;
    if (level !== 'trusted') {
      const r = checkTx(tx, this.lookupFn, this.params, level, keys);
      if (r === 'missing-input') {
        // spent earlier in this body (record)? then it is a double spend
        for (const k of keys)
          if (!u.has(k)) {
            for (let i = 0; i < lk.length; i++) if (lk[i] === k && lp[i] !== undefined) return 'double-spend';
            return 'missing-input';
          }
      }
      if (r) return r;
    } else {
      for (const k of keys)
        if (!u.has(k)) {
          rec.skipped++;
          return null;
        }
    }
    for (const k of keys) {
      const p = u.get(k);
      if (p !== undefined) {
        u.delete(k);
        lk.push(k);
        lp.push(p);
      }
    }
    const outs = tx.body.outputs;
    const idHex = tx.idHex;
    for (let i = 0; i < outs.length; i++) {
      const k = `${idHex}#${i}`;
      lk.push(k);
      lp.push(u.get(k));
      u.set(k, outs[i]);
    }
    rec.txs++;
    rec.bytes += tx.size;
    return null;
  }

  /** All unspent outputs (iteration order unspecified). */
  *entries(): IterableIterator<UtxoView> {
    for (const [key, o] of this.utxo) {
      const h = key.indexOf('#');
      yield { key, txIdHex: key.slice(0, h), index: Number(key.slice(h + 1)), address: o.address, amount: o.amount };
    }
  }

  /** Unspent outputs owned by `address` (a scan: for tools and tests, not hot paths). */
  utxosOf(address: Uint8Array): UtxoView[] {
    const out: UtxoView[] = [];
    for (const e of this.entries()) if (bytesEqual(e.address, address)) out.push(e);
    return out;
  }

  /** Sum of all unspent amounts. */
  totalValue(): number {
    let s = 0;
    for (const o of this.utxo.values()) s += o.amount;
    return s;
  }

  /** Order-independent fingerprint of the UTxO set (hex Blake2b-256), O(n log n). */
  digest(): string {
    const keys = [...this.utxo.keys()].sort();
    const parts: string[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const o = this.utxo.get(keys[i])!;
      parts[i] = `${keys[i]} ${toHex(o.address)} ${o.amount}\n`;
    }
    return toHex(hash256(new TextEncoder().encode(parts.join(''))));
  }

  /** Serialise the UTxO set (CBOR: [1, [[key, address, amount]*]]). Undo records are not kept. */
  snapshot(): Uint8Array {
    const rows = new Array(this.utxo.size);
    let i = 0;
    for (const [k, o] of this.utxo) rows[i++] = [k, o.address, o.amount < 0x1_0000_0000 ? o.amount : BigInt(o.amount)];
    return cbor.encode([1, rows]);
  }

  static fromSnapshot(bytes: Uint8Array, params: ProtocolParams): Ledger {
    let v: unknown;
    try {
      v = cbor.decode(view(bytes));
    } catch (e) {
      throw new LedgerError(`bad ledger snapshot: ${(e as Error).message}`);
    }
    if (!Array.isArray(v) || v[0] !== 1 || !Array.isArray(v[1])) throw new LedgerError('bad ledger snapshot: shape');
    const l = new Ledger(params);
    for (const r of v[1] as unknown[]) {
      if (
        !Array.isArray(r) ||
        typeof r[0] !== 'string' ||
        !(r[1] instanceof Uint8Array) ||
        typeof r[2] !== 'number' ||
        !Number.isSafeInteger(r[2])
      )
        throw new LedgerError('bad ledger snapshot: row');
      l.utxo.set(r[0], { address: new Uint8Array(r[1]), amount: r[2] });
    }
    return l;
  }
}

let tokenSeq = 0;

// ---- block bodies ----
// A block body (RB transactions) is a CBOR array of byte strings, each one a tx's encoding.

function headLen(n: number): number {
  return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x1_0000_0000 ? 5 : 9;
}

/** Encoded size of a tx as an element of a body (bstr head + tx bytes). */
export function bodyItemSize(txSize: number): number {
  return headLen(txSize) + txSize;
}

/** Exact size of encodeBodyTxs(txs): check against params.maxBlockBodySize. */
export function bodySize(txs: readonly (Tx | Uint8Array)[]): number {
  let n = headLen(txs.length);
  for (const t of txs) n += bodyItemSize(t instanceof Uint8Array ? t.length : t.size);
  return n;
}

export function encodeBodyTxs(txs: readonly (Tx | Uint8Array)[]): Uint8Array {
  return cbor.encode(txs.map((t) => (t instanceof Uint8Array ? t : t.bytes)));
}

/** Strict decode of a body; throws TxDecodeError (reason 'malformed'). */
export function decodeBodyTxs(bytes: Uint8Array): Tx[] {
  let v: unknown;
  try {
    v = cbor.decode(view(bytes));
  } catch (e) {
    throw new TxDecodeError(`body: ${(e as Error).message}`);
  }
  if (!Array.isArray(v) || !v.every((x) => x instanceof Uint8Array)) throw new TxDecodeError('body is not an array of byte strings');
  const re = cbor.encode(v);
  if (re.length !== bytes.length || !Buffer.from(re).equals(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)))
    throw new TxDecodeError('non-canonical body encoding');
  return (v as Uint8Array[]).map((b) => decodeTx(new Uint8Array(b.buffer, b.byteOffset, b.length)));
}

/** Decode and classify: a 'malformed' verdict instead of an exception. */
export function tryDecodeTx(bytes: Uint8Array): { ok: true; tx: Tx } | { ok: false; reason: 'malformed'; message: string } {
  try {
    return { ok: true, tx: decodeTx(bytes) };
  } catch (e) {
    if (e instanceof TxDecodeError) return { ok: false, reason: 'malformed', message: e.message };
    throw e;
  }
}
