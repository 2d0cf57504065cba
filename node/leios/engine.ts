import { EventEmitter } from 'node:events';
import { toHex } from '../crypto/hash.ts';
import { blsKeygen, blsSign, voteMessage } from '../crypto/bls.ts';
import { selectCommittee, proveEligibility, type CommitteeSelection } from '../leios/committee.ts';
import { decodeCertificate, type Certificate } from '../leios/certificate.ts';
import { decodeEb, decodeVote, encodeEb, encodeVote, checkEbLimits, type EncodedEb, type VoteMsg } from './eb.ts';
import { voteDecision, voteDeadlineSlot, certAllowed, ebIsFresh, certificationWindowSlots, type VoteDecision } from './rules.ts';
import { EbStore, type EbEntry } from './eb-store.ts';
import { VotePool } from './vote-pool.ts';
import { tryDecodeTx, noteWitnessesVerified, witnessesKnown, checkTx, inputKeys, type Ledger, type Tx, type TxOut } from '../ledger/index.ts';
import type { Mempool } from '../mempool/index.ts';
import type { Genesis } from '../genesis/schema.ts';
import type { NodeMetrics } from '../obs/metrics.ts';
import type { TraceWriter } from '../obs/trace.ts';
import type { WorkerPool } from '../work/pool.ts';
import { packWitnesses } from '../work/tasks.ts';
import type { Logger } from 'pino';

export type { EbEntry };

// The node's Leios side (CIP-164 Linear Leios): endorser blocks (EbStore: closures, disk),
// committee votes (VotePool: verified before relay, one per member and election, quorum →
// certificate), and the voting decision. The network layer asks it what to fetch and feeds it
// what arrived; the forging code asks it for a certificate and for the next EB's transactions.
// Heavy checks (BLS, EB closure signatures, certificates) run in the worker pool.

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
  poolId?: string;
  blsSeed?: Uint8Array;
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

/** What maybeVote needs to know about the announcing RB. */
export interface VoteCandidate {
  slot: number;
  issuer: Uint8Array;
  ebHash: Uint8Array;
  /** EB size as announced in the RB header. */
  ebSize: number;
  headerArrivalMs: number;
  isTip: boolean;
  epochNonce: Uint8Array;
}

export class LeiosEngine extends EventEmitter<EbEvents> {
  private readonly d: LeiosDeps;
  readonly store = new EbStore();
  private readonly votePool: VotePool;
  private readonly votedElections = new Set<number>();
  private readonly committees = new Map<string, CommitteeSelection>();
  private readonly blsSk?: Uint8Array;
  /** issuer:slot → header hash, to spot equivocation. */
  private readonly headersBySlot = new Map<string, string>();
  readonly equivocating = new Set<string>();
  /** slot:ebHex → epoch nonce of an RB header announcing that EB (for vote verification). */
  private readonly announcements = new Map<string, Uint8Array>();
  /** A fresh EB finished its checks: the node may now validate it against the tip and vote. */
  onChecked: ((e: EbEntry) => void) | undefined;
  onComplete: ((e: EbEntry) => void) | undefined;

  constructor(d: LeiosDeps) {
    super();
    this.d = d;
    if (d.blsSeed) this.blsSk = blsKeygen(d.blsSeed).sk;
    d.mempool.onAdd((tx) => this.store.txCache.put(tx.idHex, tx.bytes));
    this.votePool = new VotePool({
      pool: d.workers,
      committee: (n) => this.committee(n),
      quorum: d.genesis.leios.quorum,
      electionNonce: (slot, eb) => this.announcements.get(`${slot}:${toHex(eb)}`),
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

  /** Elections up to this slot are never voted in: a restarted node cannot know whether it voted before it died. */
  private voteFloorSlot = -1;

  async open(): Promise<void> {
    // Stored EBs stay on disk and are loaded when a block needs them (replay, rollback).
    await this.store.open(this.d.dbPath, this.d.log);
    this.voteFloorSlot = this.d.currentSlot();
  }

  async close(): Promise<void> {
    await this.store.close();
  }

  private get p() {
    return this.d.genesis.leios;
  }

  committee(epochNonce: Uint8Array): CommitteeSelection {
    const k = toHex(epochNonce);
    let c = this.committees.get(k);
    if (!c) {
      c = selectCommittee(this.d.genesis.pools, this.p.committee, epochNonce);
      if (this.committees.size > 8) this.committees.clear();
      this.committees.set(k, c);
    }
    return c;
  }

  /** Record a validated RB header: equivocation (same issuer, same slot, other header) and the EB it announces. */
  noteHeader(issuer: Uint8Array, slot: number, hash: string, announced?: { ebHash: Uint8Array; epochNonce: Uint8Array }): void {
    const k = `${toHex(issuer)}:${slot}`;
    const first = this.headersBySlot.get(k);
    if (first === undefined) this.headersBySlot.set(k, hash);
    else if (first !== hash) this.equivocating.add(k);
    if (announced) {
      this.announcements.set(`${slot}:${toHex(announced.ebHash)}`, announced.epochNonce);
      this.votePool.headerKnown(slot);
    }
  }

  isEquivocation(issuer: Uint8Array, slot: number): boolean {
    return this.equivocating.has(`${toHex(issuer)}:${slot}`);
  }

  // ---- EB production ----------------------------------------------------------------------

  /**
   * Build the EB for a new RB from mempool txs not in the RB (never an empty one). `spent`:
   * inputs consumed by a certified EB this RB applies first, so the new EB extends the ledger
   * after it (a mempool tx conflicting with it is left out, with its dependents).
   */
  makeEb(slot: number, exclude: ReadonlySet<string>, spent?: ReadonlySet<string>): EncodedEb | undefined {
    const txs = this.d.mempool.takeForEb(this.p.ebMaxRefBytes - 64, this.p.ebMaxTxBytes, { exclude, spent });
    if (txs.length === 0) return undefined;
    const enc = encodeEb({ slot, producer: this.d.poolId ?? this.d.name, txs: txs.map((t) => ({ id: t.id, size: t.size })) });
    if (checkEbLimits(enc, this.p)) return undefined;
    const now = this.d.nowMs();
    const e: EbEntry = { enc, txs: txs.map((t) => t.bytes), missing: 0, complete: true, stored: false, rbSlot: slot, receivedAtMs: now, sigsOk: true, validatedAtMs: now, extendsRb: true, decoded: txs };
    this.store.set(e);
    this.store.persist(e);
    this.d.metrics.ebForged.inc();
    this.d.tracer.ebGenerated({ id: toHex(enc.hash), slot, size_bytes: enc.bytes.length, tx_count: txs.length, tx_payload_bytes: enc.txBytes });
    this.emit('eb-complete', enc.hash, slot, enc.bytes.length);
    return enc;
  }

  // ---- EB diffusion -----------------------------------------------------------------------

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
      enc = decodeEb(bytes);
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
      e.txs[i] = txs[j];
      (e.parts ??= new Array(e.txs.length))[i] = r.tx;
      this.store.txCache.put(r.tx.idHex, txs[j]);
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

  /** Decode a closure in slices between event-loop turns (a 12 MB EB is ~8,000 txs). */
  private async decodeSliced(e: EbEntry): Promise<Tx[] | undefined> {
    if (e.decoded) return e.decoded;
    const out: Tx[] = [];
    let decodedHere = 0;
    for (let i = 0; i < e.txs.length; i++) {
      const known = e.parts?.[i];
      if (known) {
        out.push(known);
        continue;
      }
      const b = e.txs[i];
      const r = b && tryDecodeTx(b);
      if (!r || !r.ok) return undefined;
      out.push(r.tx);
      if ((++decodedHere & 31) === 0) await new Promise((res) => setImmediate(res));
    }
    e.decoded ??= out;
    e.parts = undefined;
    return e.decoded;
  }

  private async checkSignatures(e: EbEntry): Promise<void> {
    const txs = await this.decodeSliced(e);
    if (!txs) {
      e.sigsOk = false;
      this.onChecked?.(e);
      return;
    }
    // Signatures are checked once per tx per node: those seen in the mempool already were.
    const todo = txs.filter((t) => !witnessesKnown(t));
    const items = todo.flatMap((t) => t.witnesses.map((w) => ({ vkey: w.vkey, msg: t.id, sig: w.sig })));
    let ok: boolean[] = [];
    if (items.length > 0) {
      try {
        ok = await this.d.workers.run({ kind: 'witnesses', packed: packWitnesses(items) });
      } catch {
        return; // shutting down
      }
    }
    let j = 0;
    let all = true;
    for (const t of todo) {
      let good = true;
      for (let w = 0; w < t.witnesses.length; w++) good = ok[j++] && good;
      if (good) noteWitnessesVerified(t);
      all &&= good;
    }
    e.sigsOk = all;
    this.onChecked?.(e);
  }

  decodedTxs(e: EbEntry): Tx[] | undefined {
    if (e.decoded) return e.decoded;
    const out: Tx[] = [];
    for (let i = 0; i < e.txs.length; i++) {
      const t = e.txs[i];
      if (!t) return undefined;
      const known = e.parts?.[i];
      if (known) {
        out.push(known);
        continue;
      }
      const r = tryDecodeTx(t);
      if (!r.ok) return undefined;
      out.push(r.tx);
    }
    if (e.complete) e.decoded = out;
    return out;
  }

  private readonly validating = new WeakSet<EbEntry>();

  /**
   * Condition 5: do the EB's txs form a valid extension of the ledger, which must be at the
   * announcing RB (the caller's tip)? Read-only (an overlay of the EB's own outputs and spends
   * over the ledger) and in slices between event-loop turns, so a 12 MB closure never holds
   * up header relay; witnesses were checked in the worker pool first (signature-cache hits
   * here). Aborts if the ledger moves on meanwhile (the RB is no longer the tip). `done` runs
   * when a verdict is in.
   */
  validateAgainst(e: EbEntry, ledger: Ledger, done: () => void): void {
    if (e.extendsRb !== undefined || e.sigsOk === undefined || this.validating.has(e)) return;
    const txs = e.sigsOk ? this.decodedTxs(e) : undefined;
    if (!txs) {
      e.extendsRb = false;
      e.validatedAtMs = this.d.nowMs();
      done();
      return;
    }
    this.validating.add(e);
    const version = ledger.version;
    const produced = new Map<string, TxOut>();
    const spent = new Set<string>();
    const lookup = (k: string): TxOut | undefined => (spent.has(k) ? undefined : (produced.get(k) ?? ledger.get(k)));
    const SLICE = 64;
    let i = 0;
    const step = (): void => {
      if (ledger.version !== version) {
        this.validating.delete(e); // the tip moved: validate again against the new one if it still announces this EB
        return;
      }
      const end = Math.min(txs.length, i + SLICE);
      for (; i < end; i++) {
        const tx = txs[i];
        const keys = inputKeys(tx);
        if (checkTx(tx, lookup, ledger.params, 'validate', keys) !== null) {
          i = -1;
          break;
        }
        for (const k of keys) spent.add(k);
        tx.body.outputs.forEach((o, j) => produced.set(`${tx.idHex}#${j}`, o));
      }
      if (i !== -1 && i < txs.length) {
        setImmediate(step);
        return;
      }
      this.validating.delete(e);
      e.extendsRb = i !== -1;
      e.validatedAtMs = this.d.nowMs();
      done();
    };
    step();
  }

  // ---- votes ------------------------------------------------------------------------------

  /** Vote for the EB announced by `rb` if every CIP-164 condition holds; the decision says why not (e.g. too early). */
  maybeVote(rb: VoteCandidate, ledger: Ledger): VoteDecision | undefined {
    if (!this.blsSk || !this.d.poolId) return undefined;
    const ebKey = toHex(rb.ebHash);
    const e = this.store.get(ebKey);
    if (!e || !e.complete) return undefined;
    if (rb.isTip && e.extendsRb === undefined) {
      // Validation first (in slices); the vote is decided once it is done.
      this.validateAgainst(e, ledger, () => this.onChecked?.(e));
      if (e.extendsRb === undefined) return undefined;
    }
    const sel = this.committee(rb.epochNonce);
    const member = sel.byPoolId.get(this.d.poolId);
    let eligibility: Uint8Array | null = null;
    let inCommittee = !!member && member.role === 'persistent';
    if (member && member.role !== 'persistent') {
      const proof = proveEligibility(sel, this.d.poolId, this.blsSk, rb.slot);
      if (proof) {
        eligibility = proof.proof;
        inCommittee = true;
      }
    }
    const d = voteDecision(
      {
        rbSlot: rb.slot,
        slotStartMs: this.d.slotStartMs,
        nowMs: this.d.nowMs(),
        headerArrivalMs: rb.headerArrivalMs,
        equivocation: this.isEquivocation(rb.issuer, rb.slot),
        ebValidatedAtMs: e.validatedAtMs,
        ebExtendsRb: e.extendsRb === true,
        ebTxCount: e.enc.eb.txs.length,
        ebMatchesAnnouncement: rb.ebSize === e.enc.bytes.length,
        rbIsTip: rb.isTip,
        inCommittee,
        alreadyVoted: this.votedElections.has(rb.slot) || rb.slot <= this.voteFloorSlot,
      },
      this.p,
    );
    if (!d.vote) {
      if (d.reason !== 'not-in-committee' && d.reason !== 'too-early') this.d.log.debug({ eb: ebKey.slice(0, 16), reason: d.reason }, 'not voting');
      return d;
    }
    this.votedElections.add(rb.slot);
    const v: VoteMsg = { electionId: rb.slot, ebHash: rb.ebHash, poolId: this.d.poolId, sig: blsSign(this.blsSk, voteMessage(rb.slot, rb.ebHash)), eligibility };
    // Signing takes milliseconds (more on a loaded machine): a vote finished after the voting
    // period closed is not cast.
    if (this.d.nowMs() >= this.d.slotStartMs(voteDeadlineSlot(rb.slot, this.p))) return { vote: false, reason: 'too-late' };
    const bytes = encodeVote(v);
    this.d.metrics.votesCast.inc();
    this.d.tracer.vtBundleGenerated({ id: `${ebKey}:${this.d.poolId}`, slot: rb.slot, size_bytes: bytes.length, votes: { [ebKey]: 1 }, election_id: rb.slot, voter: this.d.poolId, vote_slot: this.d.currentSlot() });
    this.votePool.addOwn(v, bytes);
    return d;
  }

  /** Votes from a peer: cheap checks here; signatures are verified (batched, in the worker pool) before relay. */
  receiveVotes(raw: Uint8Array[], from: string, currentSlot: number): string | null {
    for (const b of raw) {
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
   * back, so rollbacks within k find them in memory.
   */
  evict(currentSlot: number, keepFromSlot = currentSlot): void {
    const horizon = currentSlot - 4 * certificationWindowSlots(this.p) - 50;
    this.store.evict(horizon, Math.min(horizon, keepFromSlot));
    this.votePool.evict(horizon);
    for (const s of this.votedElections) if (s < horizon) this.votedElections.delete(s);
    for (const k of this.announcements.keys()) if (Number(k.slice(0, k.indexOf(':'))) < horizon) this.announcements.delete(k);
    for (const k of this.headersBySlot.keys()) if (Number(k.slice(k.indexOf(':') + 1)) < horizon) this.headersBySlot.delete(k);
  }

  // ---- certificates -----------------------------------------------------------------------

  /** The certificate for the EB announced by `parent`, if the timing rule allows and a quorum was reached. */
  certificateFor(parent: { slot: number; ebHash: Uint8Array }, slot: number): Uint8Array | undefined {
    if (!certAllowed(parent.slot, slot, this.p)) return undefined;
    if (!this.get(parent.ebHash)?.complete) return undefined;
    return this.votePool.certificate(parent.ebHash, parent.slot);
  }

  /** Structural check of a certificate carried by an RB whose parent announced `ebHash` at `electionSlot`. */
  private precheck(bytes: Uint8Array, ebHash: Uint8Array, electionSlot: number): string | null {
    let cert: Certificate;
    try {
      cert = decodeCertificate(bytes);
    } catch (e) {
      return `malformed certificate: ${(e as Error).message}`;
    }
    if (cert.electionId !== electionSlot || toHex(cert.ebHash) !== toHex(ebHash)) return 'certificate is for another EB';
    return null;
  }

  /** Full certificate check (structure, committee, quorum of total active stake, aggregate signature), in the worker pool. */
  async verifyCertificate(bytes: Uint8Array, ebHash: Uint8Array, electionSlot: number, epochNonce: Uint8Array): Promise<string | null> {
    const pre = this.precheck(bytes, ebHash, electionSlot);
    if (pre) return pre;
    return this.d.workers.run({ kind: 'certificate', cert: bytes, epochNonce, quorum: this.p.quorum });
  }

  /** Pool ids of a certificate's voters (traces; no cryptography). */
  certificateVoters(bytes: Uint8Array, epochNonce: Uint8Array): string[] {
    try {
      const cert = decodeCertificate(bytes);
      const sel = this.committee(epochNonce);
      const out: string[] = [];
      sel.persistent.forEach((m, i) => {
        if (cert.persistentVoters[i >> 3] & (1 << (i & 7))) out.push(m.poolId);
      });
      for (const v of cert.nonPersistentVoters) {
        const c = sel.nonPersistentCandidates[v.index];
        if (c) out.push(c.poolId);
      }
      return out;
    } catch {
      return [];
    }
  }
}
