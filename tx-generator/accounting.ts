import type { ChainTx } from './chain-tx.ts';

// Per-tx accounting. Every tx we submit is, at any moment, exactly one of
//   included  — in a block of the followed (adopted) chain;
//   rejected  — refused by every target that gave a verdict (the node's reason from
//               TxResults), or lost: another tx spending one of its inputs is on the chain
//               (reason 'conflict-lost'), so it can never be included;
//   pending   — neither (accepted into a mempool, not yet fetched by the node, or no verdict).
// A rolled-back block puts its txs back to pending (and un-loses their rivals) until seen
// again. So submitted = included + rejected + pending always holds.
//
// Memory stays bounded over long runs: a tx whose fate can no longer change is *settled* — its
// txs.jsonl line goes to `onSettle` (the generator streams it to disk) and only counters keep
// it (counts, bytes, an exact latency tally by value). Settled: included at least `settleDepth`
// blocks below the tip (deeper than any rollback: 2k), lost to a rival that deep (every target
// answered), or refused by
// every target it was offered to (not as 'duplicate') `settleDepth` blocks ago. Pending txs stay
// in memory.

export type TxState = 'included' | 'rejected' | 'pending';


export interface ChainBlock {
  key: string;
  slot: number;
  blockNo: number;
  /** when we saw it adopted (ms since epoch) */
  timeMs: number;
  /** the txs as the chain shows them: id and the keys (`txIdHex#index`) of the outputs they spend */
  txs: readonly Pick<ChainTx, 'idHex' | 'inputs'>[];
}

export interface Inclusion {
  blockKey: string;
  slot: number;
  blockNo: number;
  timeMs: number;
}

export interface TxRecord {
  readonly idHex: string;
  readonly size: number;
  /** when the generator emitted it (ms since epoch) */
  readonly submitTimeMs: number;
  /** target names it was offered to */
  readonly targets: readonly string[];
  /** keys of the outputs it spends */
  readonly inputs: readonly string[];
  readonly kind: string;
  /** verdict per target that answered: null = accepted, else the reason */
  readonly verdicts: Map<string, string | null>;
  /** targets that acknowledged it without fetching it (they had it from a peer): they answered,
   *  and no verdict will come from them */
  knownAt?: string[];
  /** when the first target fetched it (ms) */
  deliveredTimeMs?: number;
  included?: Inclusion;
  /** id of the tx on chain that spent one of our inputs (we lost the race) */
  lostTo?: string;
}

export const CONFLICT_LOST = 'conflict-lost';

interface BlockUndo {
  key: string;
  included: string[];
  lost: string[];
}

export interface Counts {
  submitted: number;
  /** txs with at least one 'accepted' verdict (or included) */
  accepted: number;
  included: number;
  rejected: number;
  pending: number;
  rejectedByReason: Record<string, number>;
}

export interface AccountingOptions {
  /** blocks below the tip past which a decided tx is final (default: never settle) */
  settleDepth?: number;
  /** block undo records kept (default 4096; deeper rollbacks count as late) */
  keepUndo?: number;
  /** receives each settled tx (with its final state) before it leaves memory */
  onSettle?: (rec: TxRecord, acct: Accounting) => void;
}

/** Exact figures of a tally (with any extra values merged in): percentiles as on the expanded list. */
export interface TallyFigures {
  n: number;
  mean: number | null;
  max: number | null;
  /** percentile by linear interpolation between ranks; null when empty */
  at(q: number): number | null;
}

/**
 * Exact tally of values (inclusion latencies in s): value → count, so percentiles are exact.
 * Figures are taken from a cached, typed sorted key array (rebuilt only when a new value appears)
 * rather than a [value, count] pair per distinct value: a provisional summary every few seconds
 * over an hour's ~50k distinct latencies otherwise allocates megabytes each time, and the
 * generator's heap (and RSS) grows with those spikes although nothing live is kept.
 */
export class ValueTally {
  private readonly counts = new Map<number, number>();
  private sorted: Float64Array | null = null;
  n = 0;
  sum = 0;
  max = -Infinity;
  add(v: number, k = 1): void {
    const c = this.counts.get(v);
    if (c === undefined) {
      this.counts.set(v, k);
      this.sorted = null;
    } else this.counts.set(v, c + k);
    this.n += k;
    this.sum += v * k;
    if (v > this.max) this.max = v;
  }
  /** The distinct values, ascending. */
  private keys(): Float64Array {
    if (!this.sorted) this.sorted = Float64Array.from(this.counts.keys()).sort();
    return this.sorted;
  }
  /** Figures of these values together with extra (unsorted, each counted once). */
  figures(extra: readonly number[] = []): TallyFigures {
    const keys = this.keys();
    const ex = Float64Array.from(extra).sort();
    const n = this.n + ex.length;
    let sum = this.sum;
    let max = this.max;
    for (const v of ex) {
      sum += v;
      if (v > max) max = v;
    }
    // the value at 0-based rank r of the merged, expanded list
    const atRank = (r: number): number => {
      let seen = 0;
      let i = 0;
      let j = 0;
      while (i < keys.length || j < ex.length) {
        if (j >= ex.length || (i < keys.length && keys[i]! <= ex[j]!)) {
          seen += this.counts.get(keys[i]!)!;
          if (r < seen) return keys[i]!;
          i++;
        } else {
          seen += 1;
          if (r < seen) return ex[j]!;
          j++;
        }
      }
      return max;
    };
    return {
      n,
      mean: n ? sum / n : null,
      max: n ? max : null,
      at(q: number): number | null {
        if (n === 0) return null;
        const pos = (n - 1) * q;
        const lo = atRank(Math.floor(pos));
        const hi = atRank(Math.ceil(pos));
        return lo + (hi - lo) * (pos - Math.floor(pos));
      },
    };
  }
}

export class Accounting {
  private readonly txs = new Map<string, TxRecord>();
  private readonly settleDepth: number;
  private readonly keepUndo: number;
  private readonly onSettle: ((rec: TxRecord, acct: Accounting) => void) | undefined;
  /** blockNo of the tip when each open tx was registered (for settling refusals) */
  private readonly registeredAt = new Map<string, number>();
  /** blockNo of the block whose rival made a tx lose */
  private readonly lostAt = new Map<string, number>();
  private tipBlockNo = 0;
  /** counts of settled txs (no longer in memory) */
  private readonly settled: Counts = { submitted: 0, accepted: 0, included: 0, rejected: 0, pending: 0, rejectedByReason: {} };
  private settledIncludedBytes = 0;
  /** inclusion latencies (s) of settled included txs */
  readonly settledLatencies = new ValueTally();
  /** input key → our txs spending it */
  private readonly spenders = new Map<string, string[]>();
  private readonly undos: BlockUndo[] = [];
  private includedCount = 0;
  /** verdict tallies (one per verdict message, not per tx) */
  readonly verdictCounts = { accepted: 0, rejected: {} as Record<string, number> };
  rollbacks = 0;
  /** rollbacks that reached a block whose txs were already settled (deeper than settleDepth) */
  lateRollbacks = 0;

  constructor(opts: AccountingOptions = {}) {
    this.settleDepth = opts.settleDepth ?? Infinity;
    this.keepUndo = opts.keepUndo ?? 4096;
    this.onSettle = opts.onSettle;
  }

  /** txs registered, settled included */
  get size(): number {
    return this.txs.size + this.settled.submitted;
  }

  /** txs still held in memory */
  get openCount(): number {
    return this.txs.size;
  }

  get(idHex: string): TxRecord | undefined {
    return this.txs.get(idHex);
  }

  /** The txs still in memory (not settled). */
  records(): IterableIterator<TxRecord> {
    return this.txs.values();
  }

  /** Bytes of included txs, settled or not. */
  includedBytes(): number {
    let b = this.settledIncludedBytes;
    for (const r of this.txs.values()) if (r.included) b += r.size;
    return b;
  }

  /** Inclusion latencies (s) of every included tx, settled or not. */
  latencyFigures(): TallyFigures {
    const open: number[] = [];
    for (const r of this.txs.values()) if (r.included) open.push((r.included.timeMs - r.submitTimeMs) / 1000);
    return this.settledLatencies.figures(open);
  }

  /** A tx was emitted. Registering the same id twice is an error. */
  register(r: Omit<TxRecord, 'verdicts'> & { verdicts?: Map<string, string | null> }): TxRecord {
    if (this.txs.has(r.idHex)) throw new Error(`accounting: tx ${r.idHex} registered twice`);
    const rec: TxRecord = { ...r, verdicts: r.verdicts ?? new Map() };
    this.txs.set(rec.idHex, rec);
    if (this.settleDepth !== Infinity) this.registeredAt.set(rec.idHex, this.tipBlockNo);
    for (const k of rec.inputs) {
      const s = this.spenders.get(k);
      if (s) s.push(rec.idHex);
      else this.spenders.set(k, [rec.idHex]);
    }
    return rec;
  }

  /** A node's verdict. Returns the record (undefined if not ours) and whether the tx just got
   *  its first acceptance / just became rejected. */
  verdict(target: string, idHex: string, reason: string | null): { rec?: TxRecord; firstAccept: boolean; nowRejected: boolean } {
    const rec = this.txs.get(idHex);
    if (!rec) {
      // settling: a verdict for an id no longer here is a late one for a settled tx (included
      // ones settle without waiting for every target); it still counts as a verdict message
      if (this.settleDepth !== Infinity && this.settled.submitted > 0) {
        if (reason === null) this.verdictCounts.accepted++;
        else this.verdictCounts.rejected[reason] = (this.verdictCounts.rejected[reason] ?? 0) + 1;
      }
      return { firstAccept: false, nowRejected: false };
    }
    const before = this.state(rec);
    const hadAccept = this.accepted(rec);
    if (reason === null) this.verdictCounts.accepted++;
    else this.verdictCounts.rejected[reason] = (this.verdictCounts.rejected[reason] ?? 0) + 1;
    // a later verdict from the same target does not override an acceptance
    if (!(rec.verdicts.has(target) && rec.verdicts.get(target) === null)) rec.verdicts.set(target, reason);
    return { rec, firstAccept: !hadAccept && reason === null, nowRejected: before !== 'rejected' && this.state(rec) === 'rejected' };
  }

  /** A target acknowledged the tx without fetching it: it will send no verdict for it. */
  acknowledged(target: string, idHex: string): void {
    const rec = this.txs.get(idHex);
    if (!rec || rec.verdicts.has(target) || rec.knownAt?.includes(target)) return;
    (rec.knownAt ??= []).push(target);
  }

  /** Every target it was offered to answered: with a verdict, or by acknowledging it as known. */
  private allAnswered(rec: TxRecord): boolean {
    const want = new Set(rec.targets).size;
    let n = rec.verdicts.size;
    if (rec.knownAt) for (const t of rec.knownAt) if (!rec.verdicts.has(t)) n++;
    return n >= want;
  }

  accepted(rec: TxRecord): boolean {
    if (rec.included) return true;
    for (const v of rec.verdicts.values()) if (v === null) return true;
    return false;
  }

  state(rec: TxRecord): TxState {
    if (rec.included) return 'included';
    if (rec.lostTo !== undefined) return 'rejected';
    let rejected = false;
    for (const v of rec.verdicts.values()) {
      if (v === null) return 'pending';
      rejected = true;
    }
    return rejected ? 'rejected' : 'pending';
  }

  /** The reason a rejected tx is counted under. */
  rejectReason(rec: TxRecord): string | undefined {
    if (this.state(rec) !== 'rejected') return undefined;
    if (rec.lostTo !== undefined) return CONFLICT_LOST;
    for (const v of rec.verdicts.values()) if (v !== null) return v;
    return undefined;
  }

  /** A block adopted on the followed chain (blocks arrive in chain order). Returns our txs in it. */
  applyBlock(b: ChainBlock): TxRecord[] {
    const undo: BlockUndo = { key: b.key, included: [], lost: [] };
    const ours: TxRecord[] = [];
    for (const t of b.txs) {
      const rec = this.txs.get(t.idHex);
      if (rec && !rec.included) {
        rec.included = { blockKey: b.key, slot: b.slot, blockNo: b.blockNo, timeMs: b.timeMs };
        this.includedCount++;
        undo.included.push(rec.idHex);
        ours.push(rec);
      }
      for (const k of t.inputs) {
        for (const other of this.spenders.get(k) ?? []) {
          if (other === t.idHex) continue;
          const o = this.txs.get(other)!;
          // a tx every target refused for good keeps the node's reason
          if (o.included || o.lostTo !== undefined || this.finallyRefused(o)) continue;
          o.lostTo = t.idHex;
          this.lostAt.set(other, b.blockNo);
          undo.lost.push(other);
        }
      }
    }
    this.undos.push(undo);
    if (this.undos.length > this.keepUndo) this.undos.shift();
    this.tipBlockNo = b.blockNo;
    if (this.settleDepth !== Infinity) this.settle();
    return ours;
  }

  /** Settle every open tx whose fate is final at the current tip (see the header). */
  settle(final = false): void {
    const below = this.tipBlockNo - this.settleDepth;
    const done: TxRecord[] = [];
    for (const rec of this.txs.values()) {
      const st = this.state(rec);
      const deep =
        final ||
        // included: once every target answered (its line lists their verdicts), or much deeper
        (st === 'included' && rec.included!.blockNo <= below && (this.allAnswered(rec) || rec.included!.blockNo <= below - 3 * this.settleDepth)) ||
        (st === 'rejected' && rec.lostTo !== undefined && this.allAnswered(rec) && (this.lostAt.get(rec.idHex) ?? Infinity) <= below) ||
        (st === 'rejected' && rec.lostTo === undefined && this.finallyRefused(rec) && (this.registeredAt.get(rec.idHex) ?? Infinity) <= below);
      if (deep && (final || st !== 'pending')) done.push(rec);
    }
    for (const rec of done) this.settleOne(rec);
  }

  /**
   * Every target answered and none will ever hold it: a refusal other than 'duplicate' (a node
   * that already has the tx may still put it in a block).
   */
  private finallyRefused(rec: TxRecord): boolean {
    if (rec.verdicts.size < new Set(rec.targets).size) return false;
    for (const v of rec.verdicts.values()) if (v === null || v === 'duplicate') return false;
    return true;
  }

  private settleOne(rec: TxRecord): void {
    this.onSettle?.(rec, this);
    const s = this.settled;
    s.submitted++;
    if (this.accepted(rec)) s.accepted++;
    const st = this.state(rec);
    s[st]++;
    if (st === 'rejected') {
      const r = this.rejectReason(rec)!;
      s.rejectedByReason[r] = (s.rejectedByReason[r] ?? 0) + 1;
    }
    if (rec.included) {
      this.settledIncludedBytes += rec.size;
      this.settledLatencies.add((rec.included.timeMs - rec.submitTimeMs) / 1000);
    }
    this.txs.delete(rec.idHex);
    this.registeredAt.delete(rec.idHex);
    this.lostAt.delete(rec.idHex);
    for (const k of rec.inputs) {
      const list = this.spenders.get(k);
      if (!list) continue;
      const rest = list.filter((x) => x !== rec.idHex);
      if (rest.length > 0) this.spenders.set(k, rest);
      else this.spenders.delete(k);
    }
  }

  /** The latest applied block left the chain. */
  rollbackBlock(key: string): void {
    const u = this.undos.pop();
    if (!u) return;
    if (u.key !== key) throw new Error(`accounting: rollback of ${key.slice(0, 16)} but the latest block is ${u.key.slice(0, 16)}`);
    this.rollbacks++;
    this.tipBlockNo = Math.max(0, this.tipBlockNo - 1);
    for (const id of u.included) {
      const rec = this.txs.get(id);
      if (!rec) {
        // settled already: deeper than settleDepth (never in Praos with settleDepth ≥ k)
        this.lateRollbacks++;
        continue;
      }
      rec.included = undefined;
      this.includedCount--;
    }
    for (const id of u.lost) {
      const rec = this.txs.get(id);
      if (!rec) {
        this.lateRollbacks++;
        continue;
      }
      rec.lostTo = undefined;
      this.lostAt.delete(id);
    }
  }

  counts(): Counts {
    const t = this.settled;
    const c: Counts = { submitted: t.submitted + this.txs.size, accepted: t.accepted, included: t.included, rejected: t.rejected, pending: t.pending, rejectedByReason: { ...t.rejectedByReason } };
    for (const rec of this.txs.values()) {
      if (this.accepted(rec)) c.accepted++;
      const s = this.state(rec);
      c[s]++;
      if (s === 'rejected') {
        const r = this.rejectReason(rec)!;
        c.rejectedByReason[r] = (c.rejectedByReason[r] ?? 0) + 1;
      }
    }
    return c;
  }

  /** Txs not yet included or rejected. */
  pendingCount(): number {
    let n = 0;
    for (const rec of this.txs.values()) if (this.state(rec) === 'pending') n++;
    return n;
  }

  get included(): number {
    return this.includedCount;
  }
}
