// Per-tx accounting. Every tx we submit is, at any moment, exactly one of
//   included  — in a block of the followed (adopted) chain;
//   rejected  — refused by every target that gave a verdict (the node's reason from
//               TxResults), or lost: another tx spending one of its inputs is on the chain
//               (reason 'conflict-lost'), so it can never be included;
//   pending   — neither (accepted into a mempool, not yet fetched by the node, or no verdict).
// A rolled-back block puts its txs back to pending (and un-loses their rivals) until seen
// again. So submitted = included + rejected + pending always holds.

export type TxState = 'included' | 'rejected' | 'pending';

/** A tx as the chain shows it: id and the keys (`txIdHex#index`) of the outputs it spends. */
export interface ChainTx {
  idHex: string;
  inputs: readonly string[];
}

export interface ChainBlock {
  key: string;
  slot: number;
  blockNo: number;
  /** when we saw it adopted (ms since epoch) */
  timeMs: number;
  txs: readonly ChainTx[];
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

export class Accounting {
  private readonly txs = new Map<string, TxRecord>();
  /** input key → our txs spending it */
  private readonly spenders = new Map<string, string[]>();
  private readonly undos: BlockUndo[] = [];
  private includedCount = 0;
  /** verdict tallies (one per verdict message, not per tx) */
  readonly verdictCounts = { accepted: 0, rejected: {} as Record<string, number> };
  rollbacks = 0;

  get size(): number {
    return this.txs.size;
  }

  get(idHex: string): TxRecord | undefined {
    return this.txs.get(idHex);
  }

  records(): IterableIterator<TxRecord> {
    return this.txs.values();
  }

  /** A tx was emitted. Registering the same id twice is an error. */
  register(r: Omit<TxRecord, 'verdicts'> & { verdicts?: Map<string, string | null> }): TxRecord {
    if (this.txs.has(r.idHex)) throw new Error(`accounting: tx ${r.idHex} registered twice`);
    const rec: TxRecord = { ...r, verdicts: r.verdicts ?? new Map() };
    this.txs.set(rec.idHex, rec);
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
    if (!rec) return { firstAccept: false, nowRejected: false };
    const before = this.state(rec);
    const hadAccept = this.accepted(rec);
    if (reason === null) this.verdictCounts.accepted++;
    else this.verdictCounts.rejected[reason] = (this.verdictCounts.rejected[reason] ?? 0) + 1;
    // a later verdict from the same target does not override an acceptance
    if (!(rec.verdicts.has(target) && rec.verdicts.get(target) === null)) rec.verdicts.set(target, reason);
    return { rec, firstAccept: !hadAccept && reason === null, nowRejected: before !== 'rejected' && this.state(rec) === 'rejected' };
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
          if (o.included || o.lostTo !== undefined) continue;
          o.lostTo = t.idHex;
          undo.lost.push(other);
        }
      }
    }
    this.undos.push(undo);
    if (this.undos.length > 4096) this.undos.shift();
    return ours;
  }

  /** The latest applied block left the chain. */
  rollbackBlock(key: string): void {
    const u = this.undos.pop();
    if (!u) return;
    if (u.key !== key) throw new Error(`accounting: rollback of ${key.slice(0, 16)} but the latest block is ${u.key.slice(0, 16)}`);
    this.rollbacks++;
    for (const id of u.included) {
      const rec = this.txs.get(id)!;
      rec.included = undefined;
      this.includedCount--;
    }
    for (const id of u.lost) this.txs.get(id)!.lostTo = undefined;
  }

  counts(): Counts {
    const c: Counts = { submitted: this.txs.size, accepted: 0, included: 0, rejected: 0, pending: 0, rejectedByReason: {} };
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
