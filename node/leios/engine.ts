import { EventEmitter } from 'node:events';
import { toHex } from '../crypto/hash.ts';
import type { CommitteeSelection } from './committee.ts';
import { decodeEb, decodeVote, checkEbLimits, type EncodedEb, type VoteMsg } from './eb.ts';
import { certAllowed, ebIsFresh, certificationWindowSlots, type LeiosTiming } from './rules.ts';
import { EbStore, type EbEntry } from './eb-store.ts';
import { VotePool } from './vote-pool.ts';
import { CommitteeCache } from './committee-cache.ts';
import { EquivocationDetector } from './equivocation.ts';
import { checkWitnesses, decodedTxs, LedgerCheck } from './eb-validation.ts';
import { certificateVoters, verifyCertificate } from './certificate-check.ts';
import { ownBytes, tryDecodeTx, type Ledger, type Tx } from '../ledger/index.ts';
import type { Mempool } from '../mempool/index.ts';
import type { Genesis } from '../genesis/schema.ts';
import type { NodeMetrics } from '../obs/metrics.ts';
import { attachFunnel } from '../obs/funnel.ts';
import type { TraceWriter } from '../obs/trace.ts';
import type { WorkerPool } from '../work/pool.ts';
import type { Logger } from 'pino';

/** How long a vote batch gathers, in slots (see vote-pool.ts). */
const VOTE_BATCH_WINDOW_SLOTS = 0.1;

export type { EbEntry };

// The node's Leios side (CIP-164 Linear Leios), as one facade over its parts: endorser blocks
// (EbStore: closures, disk) and their diffusion (received, completed, served), their checks
// (eb-validation.ts), committee votes (VotePool: verified before relay, one per member and
// election, quorum → certificate), committees (committee-cache.ts), RB header equivocation
// (equivocation.ts) and received certificates (certificate-check.ts). Deciding and casting our
// own votes is leios/voter.ts; building our EBs is node/forger.ts. The network layer asks the
// engine what to fetch and feeds it what arrived.

/** Slot before which elections, EB closures (in memory) and headers are forgotten: past every certificate window. */
export function leiosHorizonSlot(currentSlot: number, p: LeiosTiming): number {
  return currentSlot - 4 * certificationWindowSlots(p) - 50;
}

interface EbEvents {
  /** An EB's closure became complete here: offer it to peers (before full validation, as the CIP says). */
  'eb-complete': [hash: Uint8Array, slot: number, size: number];
  /** Verified votes (ours or first seen) to relay. */
  votes: [votes: Uint8Array[], slot: number];
  /** A peer relayed a vote that failed verification. */
  'invalid-vote': [from: string, reason: string];
  /** A certificate for (EB, election) is ready. */
  certificate: [ebHex: string, electionId: number];
}

export interface LeiosDeps {
  name: string;
  genesis: Genesis;
  dbPath: string;
  mempool: Mempool;
  metrics: NodeMetrics;
  tracer: TraceWriter;
  log: Logger;
  workers: WorkerPool;
  slotStartMs: (slot: number) => number;
  currentSlot: () => number;
  nowMs: () => number;
}

export class LeiosEngine extends EventEmitter<EbEvents> {
  private readonly d: LeiosDeps;
  readonly store = new EbStore();
  private readonly votePool: VotePool;
  private readonly committees: CommitteeCache;
  readonly equivocation = new EquivocationDetector();
  private readonly ledgerCheck: LedgerCheck;
  /** slot:ebHex → epoch nonce of an RB header announcing that EB (for vote verification). */
  private readonly announcements = new Map<string, Uint8Array>();
  /** A fresh EB finished its checks: the node may now validate it against the tip and vote. */
  onChecked: ((e: EbEntry) => void) | undefined;
  onComplete: ((e: EbEntry) => void) | undefined;

  constructor(d: LeiosDeps) {
    super();
    this.d = d;
    this.committees = new CommitteeCache(d.genesis.pools, d.genesis.leios.committee);
    this.ledgerCheck = new LedgerCheck(d.nowMs);
    d.mempool.onAdd((tx) => this.store.txCache.put(tx.idHex, tx.bytes));
    // the Leios funnel's stage latencies (node/obs/funnel.ts): mempool arrivals, EBs complete here, certificates formed here
    attachFunnel(d.metrics.funnel, { mempool: d.mempool, leios: this });
    this.votePool = new VotePool({
      pool: d.workers,
      committee: (n) => this.committee(n),
      quorum: d.genesis.leios.quorum,
      electionNonce: (slot, eb) => this.announcements.get(`${slot}:${toHex(eb)}`),
      // a tenth of a slot per hop: votes have L_diff slots after the voting period to spread
      batchWindowMs: VOTE_BATCH_WINDOW_SLOTS * d.genesis.slotLengthS * 1000,
      onBatches: (n) => this.d.metrics.voteBatches.inc(n),
      onVerified: (vs) => {
        const received = vs.filter((v) => v.from);
        for (const v of received) {
          this.d.metrics.votesReceived.inc();
          this.d.tracer.vtBundleReceived({ id: `${toHex(v.vote.ebHash)}:${v.vote.poolId}`, sender: v.from, slot: v.vote.electionId, election_id: v.vote.electionId, voter: v.vote.poolId });
        }
        this.emit('votes', vs.map((v) => v.bytes), Math.max(...vs.map((v) => v.vote.electionId)));
      },
      onInvalid: (from, reason) => {
        this.d.metrics.votesInvalid.inc();
        this.emit('invalid-vote', from, reason);
      },
      onCertificate: (ebHex, electionId, bytes, voters) => {
        this.d.tracer.certCreated({ eb: ebHex, slot: electionId, voters, sizeBytes: bytes.length });
        this.emit('certificate', ebHex, electionId);
      },
    });
  }

  get ebs(): Map<string, EbEntry> {
    return this.store.mem;
  }

  get voteStats() {
    return this.votePool.stats;
  }

  async open(): Promise<void> {
    // Stored EBs stay on disk and are loaded when a block needs them (replay, rollback).
    await this.store.open(this.d.dbPath, this.d.log);
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private get p() {
    return this.d.genesis.leios;
  }

  committee(epochNonce: Uint8Array): CommitteeSelection {
    return this.committees.get(epochNonce);
  }

  /** Record a validated RB header: equivocation (same issuer, same slot, other header) and the EB it announces. */
  noteHeader(issuer: Uint8Array, slot: number, hash: string, announced?: { ebHash: Uint8Array; epochNonce: Uint8Array }): void {
    this.equivocation.note(issuer, slot, hash);
    if (announced) {
      this.announcements.set(`${slot}:${toHex(announced.ebHash)}`, announced.epochNonce);
      this.votePool.headerKnown(slot);
    }
  }

  isEquivocation(issuer: Uint8Array, slot: number): boolean {
    return this.equivocation.isEquivocation(issuer, slot);
  }

  // ---- EB diffusion -----------------------------------------------------------------------

  /** Our own EB (node/forger.ts built it): held, stored and offered at once. */
  addOwnEb(e: EbEntry): void {
    // encodeEb's bytes are a view into cbor-x's shared encode buffer (MBs): held for the EB's
    // life in memory, they would keep that whole buffer alive
    e.enc.bytes = ownBytes(e.enc.bytes);
    this.store.set(e);
    this.store.persist(e);
    this.emit('eb-complete', e.enc.hash, e.enc.eb.slot, e.enc.bytes.length);
  }

  has(hash: Uint8Array): boolean {
    return this.store.has(toHex(hash));
  }

  get(hash: Uint8Array): EbEntry | undefined {
    return this.store.get(toHex(hash));
  }

  /** Serve an EB to a peer (only once we hold its whole closure: we offered it). */
  serveEb(hash: Uint8Array): { bytes: Uint8Array; slot: number } | undefined {
    const e = this.store.get(toHex(hash));
    return e ? { bytes: e.enc.bytes, slot: e.enc.eb.slot } : undefined;
  }

  serveEbTxs(hash: Uint8Array, indices: number[]): Uint8Array[] | undefined {
    const e = this.store.get(toHex(hash));
    if (!e) return undefined;
    const out: Uint8Array[] = [];
    for (const i of indices) {
      const t = e.txs[i];
      if (!t) return undefined;
      out.push(t);
    }
    return out;
  }

  /** An EB body arrived. Returns the indices of transactions we still need. */
  receiveEb(bytes: Uint8Array, expected: Uint8Array, rbSlot: number, from: string): number[] | { error: string } {
    const key = toHex(expected);
    const have = this.store.get(key);
    if (have) return have.txs.flatMap((t, i) => (t ? [] : [i]));
    let enc: EncodedEb;
    try {
      // the EB is held in memory until evicted: not as a view into the whole fetch message
      enc = decodeEb(ownBytes(bytes));
    } catch (e) {
      return { error: `undecodable EB: ${(e as Error).message}` };
    }
    if (toHex(enc.hash) !== key) return { error: 'EB hash mismatch' };
    const lim = checkEbLimits(enc, this.p);
    if (lim) return { error: lim };
    const now = this.d.nowMs();
    const parts: (Tx | undefined)[] = new Array(enc.eb.txs.length);
    const txs = enc.eb.txs.map((r, i) => {
      const id = toHex(r.id);
      const m = this.d.mempool.get(id);
      if (m) parts[i] = m;
      return m?.bytes ?? this.store.txCache.get(id);
    });
    const e: EbEntry = { enc, txs, parts, missing: txs.filter((t) => !t).length, complete: false, stored: false, rbSlot, receivedAtMs: now };
    this.store.set(e);
    this.d.metrics.ebReceived.inc();
    this.d.metrics.ebArrivalDelay.observe(Math.max(0, (now - this.d.slotStartMs(enc.eb.slot)) / 1000));
    this.d.tracer.ebReceived({ id: key, slot: enc.eb.slot, sender: from });
    if (e.missing === 0) this.completed(e);
    return txs.flatMap((t, i) => (t ? [] : [i]));
  }

  /** Transactions of an EB arrived (in the order of `indices`); decoded in slices between event-loop turns. */
  async receiveEbTxs(hash: Uint8Array, indices: number[], txs: Uint8Array[]): Promise<string | null> {
    const e = this.store.mem.get(toHex(hash));
    if (!e) return 'unknown EB';
    if (txs.length !== indices.length) return 'wrong number of transactions';
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j];
      const ref = e.enc.eb.txs[i];
      if (!ref) return 'index out of range';
      if (e.txs[i]) continue;
      const r = tryDecodeTx(txs[j]);
      if (!r.ok || r.tx.idHex !== toHex(ref.id)) return 'transaction does not match its reference';
      // r.tx.bytes owns its memory (decodeTx copies a view): the closure and the cache must not
      // keep the whole fetch message alive through views of it
      e.txs[i] = r.tx.bytes;
      (e.parts ??= new Array(e.txs.length))[i] = r.tx;
      this.store.txCache.put(r.tx.idHex, r.tx.bytes);
      e.missing--;
      if ((j & 31) === 31) await new Promise((res) => setImmediate(res));
    }
    if (e.missing === 0 && !e.complete) this.completed(e);
    return null;
  }

  /**
   * The closure is complete: offer and store it at once (EBs are forwarded before complete
   * validity checks), then — only for a fresh EB, which may still get votes — check its
   * witnesses in the worker pool. A stale closure is never signature-checked: it matters
   * only if certified, and certified content is applied without re-validation.
   */
  private completed(e: EbEntry): void {
    if (e.complete) return;
    e.complete = true;
    this.store.persist(e);
    this.emit('eb-complete', e.enc.hash, e.enc.eb.slot, e.enc.bytes.length);
    this.onComplete?.(e);
    if (ebIsFresh(e.enc.eb.slot, this.d.currentSlot(), this.p)) void this.checkSignatures(e);
  }

  private async checkSignatures(e: EbEntry): Promise<void> {
    const ok = await checkWitnesses(e, this.d.workers);
    if (ok === undefined) return; // shutting down
    e.sigsOk = ok;
    this.onChecked?.(e);
  }

  /** The closure decoded (undefined while incomplete or undecodable). */
  decodedTxs(e: EbEntry): Tx[] | undefined {
    return decodedTxs(e);
  }

  /** Condition 5 against `ledger` (the announcing RB's), sliced; see eb-validation.ts. `done` runs when a verdict is in. */
  validateAgainst(e: EbEntry, ledger: Ledger, done: () => void, governanceOk?: (txs: readonly Tx[]) => boolean): void {
    this.ledgerCheck.run(e, ledger, done, governanceOk);
  }

  // ---- votes ------------------------------------------------------------------------------

  /** Our own vote (leios/voter.ts signed it): valid by construction, relayed at once. */
  addOwnVote(v: VoteMsg, bytes: Uint8Array): void {
    // held until the election's horizon: own the bytes (an encoded vote is a view into cbor-x's
    // shared encode buffer — the soak's heap snapshots showed 100-byte votes keeping 5.5 MB alive)
    this.votePool.addOwn(v, ownBytes(bytes));
  }

  /** Votes from a peer: cheap checks here; signatures are verified (batched, in the worker pool) before relay. */
  receiveVotes(raw: Uint8Array[], from: string, currentSlot: number): string | null {
    for (const r of raw) {
      // held until the election's horizon: own the bytes, not a view into the peer's message
      const b = ownBytes(r);
      let v: VoteMsg;
      try {
        v = decodeVote(b);
      } catch (e) {
        return `undecodable vote: ${(e as Error).message}`;
      }
      if (!this.d.genesis.pools.some((p) => p.id === v.poolId)) return `vote from unknown pool ${v.poolId}`;
      if (v.electionId > currentSlot + 2) return 'vote from the future';
      if (currentSlot - v.electionId > 3 * certificationWindowSlots(this.p)) continue; // stale: drop silently
      this.votePool.add(v, b, from);
    }
    return null;
  }

  /** Verified votes of an election for an EB (tests, admin). */
  votesFor(electionId: number, ebHash: Uint8Array): VoteMsg[] {
    return this.votePool.votesFor(electionId, ebHash);
  }

  /**
   * Age-based eviction: votes past any certificate window, and EB closures (already on disk,
   * reloaded on demand) older than `keepFromSlot` — the caller passes the slot of the block k
   * back, so rollbacks within k find them in memory. Returns the horizon (the voter forgets its
   * elections before it too).
   */
  evict(currentSlot: number, keepFromSlot = currentSlot): number {
    const horizon = leiosHorizonSlot(currentSlot, this.p);
    this.store.evict(horizon, Math.min(horizon, keepFromSlot));
    this.votePool.evict(horizon);
    for (const k of this.announcements.keys()) if (Number(k.slice(0, k.indexOf(':'))) < horizon) this.announcements.delete(k);
    this.equivocation.evict(horizon);
    return horizon;
  }

  // ---- certificates -----------------------------------------------------------------------

  /** The certificate for the EB announced by `parent`, if the timing rule allows and a quorum was reached. */
  certificateFor(parent: { slot: number; ebHash: Uint8Array }, slot: number): Uint8Array | undefined {
    if (!certAllowed(parent.slot, slot, this.p)) return undefined;
    if (!this.get(parent.ebHash)?.complete) return undefined;
    return this.votePool.certificate(parent.ebHash, parent.slot);
  }

  /** Full check of a certificate carried by an RB whose parent announced `ebHash` at `electionSlot` (in the worker pool). */
  verifyCertificate(bytes: Uint8Array, ebHash: Uint8Array, electionSlot: number, epochNonce: Uint8Array): Promise<string | null> {
    return verifyCertificate(this.d.workers, bytes, ebHash, electionSlot, epochNonce, this.p.quorum);
  }

  /** Pool ids of a certificate's voters (traces; no cryptography). */
  certificateVoters(bytes: Uint8Array, epochNonce: Uint8Array): string[] {
    return certificateVoters(bytes, () => this.committee(epochNonce));
  }
}
