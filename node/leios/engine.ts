import path from 'node:path';
import { EventEmitter } from 'node:events';
import { BlockStore } from '../storage/blockstore.ts';
import { cborDecode, cborEncode, asArray, asBytes } from '../codec/cbor.ts';
import { fromHex, toHex } from '../crypto/hash.ts';
import { blsKeygen, blsSign, voteMessage } from '../crypto/bls.ts';
import { selectCommittee, proveEligibility, type CommitteeSelection } from '../leios/committee.ts';
import { buildCertificate, decodeCertificate, encodeCertificate, verifyCertificate, type Certificate, type Vote } from '../leios/certificate.ts';
import { decodeEb, decodeVote, encodeEb, encodeVote, checkEbLimits, type EncodedEb, type VoteMsg } from './eb.ts';
import { voteDecision, voteDeadlineSlot, certAllowed } from './rules.ts';
import { tryDecodeTx, verifyWitnessSignatures, type Ledger, type Tx } from '../ledger/index.ts';
import type { Mempool } from '../mempool/index.ts';
import type { Genesis } from '../genesis/schema.ts';
import type { NodeMetrics } from '../obs/metrics.ts';
import type { Tracer } from '../node.ts';
import type { Logger } from 'pino';

// The node's Leios side (CIP-164 Linear Leios): endorser blocks (store, tx closure, validation),
// committee votes, certificates. The network layer asks it what to fetch and feeds it what
// arrived; the forging code asks it for a certificate and for the next EB's transactions.

export interface EbEntry {
  enc: EncodedEb;
  txs: (Uint8Array | undefined)[];
  missing: number;
  complete: boolean;
  stored: boolean;
  /** Announcing RB (hex), if seen. */
  rb?: string;
  rbSlot: number;
  receivedAtMs: number;
  validatedAtMs?: number;
  extendsRb?: boolean;
  /** Decoded closure, cached once complete (applied, traced and indexed several times). */
  decoded?: Tx[];
}

interface EbEvents {
  /** An EB's closure became complete here: offer it to peers. */
  'eb-complete': [hash: Uint8Array, slot: number, size: number];
  /** New votes (ours or first seen) to relay. */
  votes: [votes: Uint8Array[], slot: number];
}

/** Bounded LRU of transaction bodies seen anywhere, so EB closures mostly resolve locally. */
class TxCache {
  private readonly map = new Map<string, Uint8Array>();
  private bytes = 0;
  private readonly maxBytes: number;
  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }
  put(id: string, tx: Uint8Array): void {
    if (this.map.has(id)) return;
    this.map.set(id, tx);
    this.bytes += tx.length;
    for (const [k, v] of this.map) {
      if (this.bytes <= this.maxBytes) break;
      this.map.delete(k);
      this.bytes -= v.length;
    }
  }
  get(id: string): Uint8Array | undefined {
    return this.map.get(id);
  }
}

export interface LeiosDeps {
  name: string;
  poolId?: string;
  blsSeed?: Uint8Array;
  genesis: Genesis;
  dbPath: string;
  mempool: Mempool;
  metrics: NodeMetrics;
  tracer: Tracer;
  log: Logger;
  slotStartMs: (slot: number) => number;
  nowMs: () => number;
}

export class LeiosEngine extends EventEmitter<EbEvents> {
  private readonly d: LeiosDeps;
  private store!: BlockStore;
  readonly ebs = new Map<string, EbEntry>();
  private readonly txCache = new TxCache(64 << 20);
  /** ebHash → poolId → vote */
  private readonly votes = new Map<string, Map<string, VoteMsg>>();
  private readonly voted = new Set<string>();
  private readonly committees = new Map<string, CommitteeSelection>();
  private readonly blsSk?: Uint8Array;
  /** issuer:slot → header hash, to spot equivocation. */
  private readonly headersBySlot = new Map<string, string>();
  readonly equivocating = new Set<string>();

  constructor(d: LeiosDeps) {
    super();
    this.d = d;
    if (d.blsSeed) this.blsSk = blsKeygen(d.blsSeed).sk;
    d.mempool.onAdd((tx) => this.txCache.put(tx.idHex, tx.bytes));
  }

  async open(): Promise<void> {
    // Stored EBs stay on disk and are loaded when a block needs them (replay, rollback).
    this.store = await BlockStore.open(path.join(this.d.dbPath, 'ebs'), { logger: { info: (o, m) => this.d.log.info(o, m), warn: (o, m) => this.d.log.warn(o, m) } });
  }

  /** An EB in memory, else its stored closure from disk (kept in memory again). */
  private entry(key: string): EbEntry | undefined {
    const e = this.ebs.get(key);
    if (e || !this.store?.has(key)) return e;
    const rec = this.store.get(key);
    if (!rec) return undefined;
    const a = asArray(cborDecode(rec), 'eb record', 2);
    const enc = decodeEb(asBytes(a[0], 'eb'));
    const txs = asArray(a[1], 'eb txs').map((t) => asBytes(t, 'eb tx'));
    const loaded: EbEntry = { enc, txs, missing: 0, complete: true, stored: true, rbSlot: enc.eb.slot, receivedAtMs: 0 };
    this.ebs.set(key, loaded);
    return loaded;
  }

  async close(): Promise<void> {
    await this.store?.close();
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

  /** Record a validated RB header; flags equivocation (same issuer, same slot, other header). */
  noteHeader(issuer: Uint8Array, slot: number, hash: string): void {
    const k = `${toHex(issuer)}:${slot}`;
    const first = this.headersBySlot.get(k);
    if (first === undefined) this.headersBySlot.set(k, hash);
    else if (first !== hash) this.equivocating.add(k);
  }

  isEquivocation(issuer: Uint8Array, slot: number): boolean {
    return this.equivocating.has(`${toHex(issuer)}:${slot}`);
  }

  // ---- EB production ----------------------------------------------------------------------

  /** Build the EB for a new RB from mempool txs not in the RB (never an empty one). */
  makeEb(slot: number, exclude: ReadonlySet<string>): EncodedEb | undefined {
    const txs = this.d.mempool.takeForEb(this.p.ebMaxRefBytes - 64, this.p.ebMaxTxBytes, { exclude });
    if (txs.length === 0) return undefined;
    const enc = encodeEb({ slot, producer: this.d.poolId ?? this.d.name, txs: txs.map((t) => ({ id: t.id, size: t.size })) });
    if (checkEbLimits(enc, this.p)) return undefined;
    const e: EbEntry = { enc, txs: txs.map((t) => t.bytes), missing: 0, complete: true, stored: false, rbSlot: slot, receivedAtMs: this.d.nowMs(), validatedAtMs: this.d.nowMs(), extendsRb: true, decoded: txs };
    this.ebs.set(toHex(enc.hash), e);
    this.persist(e);
    this.d.metrics.ebForged.inc();
    this.d.tracer.emit('EBGenerated', { id: toHex(enc.hash), slot, producer: this.d.name, size_bytes: enc.bytes.length, pipeline: 0, input_blocks: [], endorser_blocks: [], tx_count: txs.length, tx_bytes: enc.txBytes });
    this.emit('eb-complete', enc.hash, slot, enc.bytes.length);
    return enc;
  }

  private persist(e: EbEntry): void {
    if (e.stored || !e.complete) return;
    e.stored = true;
    void this.store.append({ hash: e.enc.hash, prevHash: null, slot: e.enc.eb.slot, blockNo: 0, bytes: cborEncode([e.enc.bytes, e.txs]) });
  }

  // ---- EB diffusion -----------------------------------------------------------------------

  has(hash: Uint8Array): boolean {
    const key = toHex(hash);
    return this.ebs.has(key) || !!this.store?.has(key);
  }

  get(hash: Uint8Array): EbEntry | undefined {
    return this.entry(toHex(hash));
  }

  /** Serve an EB to a peer (only once we hold its whole closure: we offered it). */
  serveEb(hash: Uint8Array): { bytes: Uint8Array; slot: number } | undefined {
    const e = this.entry(toHex(hash));
    return e ? { bytes: e.enc.bytes, slot: e.enc.eb.slot } : undefined;
  }

  serveEbTxs(hash: Uint8Array, indices: number[]): Uint8Array[] | undefined {
    const e = this.entry(toHex(hash));
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
    const have = this.entry(key);
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
    const txs = enc.eb.txs.map((r) => {
      const id = toHex(r.id);
      return this.d.mempool.get(id)?.bytes ?? this.txCache.get(id);
    });
    const e: EbEntry = { enc, txs, missing: txs.filter((t) => !t).length, complete: false, stored: false, rbSlot, receivedAtMs: now };
    this.ebs.set(key, e);
    this.d.metrics.ebReceived.inc();
    this.d.metrics.ebArrivalDelay.observe(Math.max(0, (now - this.d.slotStartMs(enc.eb.slot)) / 1000));
    this.d.tracer.emit('EBReceived', { id: key, slot: enc.eb.slot, sender: from, recipient: this.d.name });
    if (e.missing === 0) this.completed(e);
    return txs.flatMap((t, i) => (t ? [] : [i]));
  }

  /** Transactions of an EB arrived (in the order of `indices`). */
  receiveEbTxs(hash: Uint8Array, indices: number[], txs: Uint8Array[]): string | null {
    const e = this.ebs.get(toHex(hash));
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
      this.txCache.put(r.tx.idHex, txs[j]);
      e.missing--;
    }
    if (e.missing === 0 && !e.complete) this.completed(e);
    return null;
  }

  onComplete: ((e: EbEntry) => void) | undefined;

  private readonly completing = new WeakSet<EbEntry>();

  private completed(e: EbEntry): void {
    if (this.completing.has(e)) return;
    this.completing.add(e);
    // Verify the closure's signatures in slices first (results are cached), so the atomic
    // ledger check at vote time is cheap and RB header relays are never stalled behind it.
    void this.preverify(e).then(() => this.markComplete(e));
  }

  private async preverify(e: EbEntry): Promise<void> {
    const SLICE = 64;
    const decoded: Tx[] = [];
    for (let i = 0; i < e.txs.length; i += SLICE) {
      for (const b of e.txs.slice(i, i + SLICE)) {
        const r = b && tryDecodeTx(b);
        if (!r || !r.ok) return; // left incomplete-decoded; validation will reject it
        verifyWitnessSignatures(r.tx);
        decoded.push(r.tx);
      }
      await new Promise((res) => setImmediate(res));
    }
    e.decoded = decoded;
  }

  private markComplete(e: EbEntry): void {
    e.complete = true;
    this.persist(e);
    this.emit('eb-complete', e.enc.hash, e.enc.eb.slot, e.enc.bytes.length);
    this.onComplete?.(e);
  }

  decodedTxs(e: EbEntry): Tx[] | undefined {
    if (e.decoded) return e.decoded;
    const out: Tx[] = [];
    for (const t of e.txs) {
      if (!t) return undefined;
      const r = tryDecodeTx(t);
      if (!r.ok) return undefined;
      out.push(r.tx);
    }
    if (e.complete) e.decoded = out;
    return out;
  }

  /** Condition 4: do the EB's txs apply on top of the ledger (which must be at the announcing RB)? */
  validateAgainst(e: EbEntry, ledger: Ledger): boolean {
    if (e.extendsRb !== undefined) return e.extendsRb;
    const txs = this.decodedTxs(e);
    if (!txs) return false;
    const r = ledger.applyBody(txs, 'validate');
    if (r.ok) ledger.undo(r.undo);
    e.extendsRb = r.ok;
    e.validatedAtMs = this.d.nowMs();
    return r.ok;
  }

  // ---- votes ------------------------------------------------------------------------------

  /** Vote for the EB announced by the tip RB, if every CIP-164 condition holds. */
  maybeVote(rb: { key: string; slot: number; issuer: Uint8Array; ebHash: Uint8Array; headerArrivalMs: number; isTip: boolean; epochNonce: Uint8Array }, ledger: Ledger): void {
    if (!this.blsSk || !this.d.poolId) return;
    const ebKey = toHex(rb.ebHash);
    if (this.voted.has(ebKey)) return;
    const e = this.ebs.get(ebKey);
    if (!e || !e.complete) return;
    if (rb.isTip) this.validateAgainst(e, ledger);
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
        headerArrivalMs: rb.headerArrivalMs,
        equivocation: this.isEquivocation(rb.issuer, rb.slot),
        ebValidatedAtMs: e.validatedAtMs,
        ebExtendsRb: e.extendsRb === true,
        ebTxCount: e.enc.eb.txs.length,
        rbIsTip: rb.isTip,
        inCommittee,
      },
      this.p,
    );
    if (!d.vote) {
      if (d.reason !== 'not-in-committee') this.d.log.debug({ eb: ebKey.slice(0, 16), reason: d.reason }, 'not voting');
      return;
    }
    this.voted.add(ebKey);
    const v: VoteMsg = { electionId: rb.slot, ebHash: rb.ebHash, poolId: this.d.poolId, sig: blsSign(this.blsSk, voteMessage(rb.slot, rb.ebHash)), eligibility };
    const bytes = encodeVote(v);
    this.addVote(v);
    this.d.metrics.votesCast.inc();
    this.d.tracer.emit('VTBundleGenerated', { id: `${ebKey}:${this.d.poolId}`, slot: rb.slot, producer: this.d.name, size_bytes: bytes.length, pipeline: 0, votes: { [ebKey]: 1 } });
    this.emit('votes', [bytes], rb.slot);
  }

  private addVote(v: VoteMsg): boolean {
    const k = toHex(v.ebHash);
    let m = this.votes.get(k);
    if (!m) this.votes.set(k, (m = new Map()));
    if (m.has(v.poolId)) return false;
    m.set(v.poolId, v);
    return true;
  }

  /** Votes from a peer: cheap checks only (signatures are checked in aggregate, at certificate time). */
  receiveVotes(raw: Uint8Array[], from: string, currentSlot: number): string | null {
    const fresh: Uint8Array[] = [];
    let slot = 0;
    for (const b of raw) {
      let v: VoteMsg;
      try {
        v = decodeVote(b);
      } catch (e) {
        return `undecodable vote: ${(e as Error).message}`;
      }
      if (!this.d.genesis.pools.some((p) => p.id === v.poolId)) return `vote from unknown pool ${v.poolId}`;
      if (v.electionId > currentSlot + 2) return 'vote from the future';
      if (currentSlot - v.electionId > 3 * voteDeadlineSlot(0, this.p) + this.p.lDiffSlots) continue; // stale: drop silently
      if (this.addVote(v)) {
        fresh.push(b);
        slot = Math.max(slot, v.electionId);
        this.d.metrics.votesReceived.inc();
        this.d.tracer.emit('VTBundleReceived', { id: `${toHex(v.ebHash)}:${v.poolId}`, sender: from, recipient: this.d.name, slot: v.electionId });
      }
    }
    if (fresh.length) this.emit('votes', fresh, slot);
    return null;
  }

  /**
   * Age-based eviction: votes past any certificate window, and EB closures (already on disk,
   * reloaded on demand) older than `keepFromSlot` — the caller passes the slot of the block k
   * back, so rollbacks within k find them in memory.
   */
  evict(currentSlot: number, keepFromSlot = currentSlot): void {
    const horizon = currentSlot - 4 * (3 * this.p.lHdrSlots + this.p.lVoteSlots + this.p.lDiffSlots) - 50;
    const ebHorizon = Math.min(horizon, keepFromSlot);
    for (const [k, e] of this.ebs) {
      if (e.stored && e.complete && e.enc.eb.slot < ebHorizon) this.ebs.delete(k);
      else if (!e.complete && e.enc.eb.slot < horizon) this.ebs.delete(k); // never completed: no longer useful
    }
    for (const [k, m] of this.votes) {
      const first = m.values().next().value as VoteMsg | undefined;
      if (!first || first.electionId < horizon) {
        this.votes.delete(k);
        this.voted.delete(k);
      }
    }
  }

  // ---- certificates -----------------------------------------------------------------------

  /** A certificate for the EB announced by `parent`, if the timing rule and quorum allow. */
  certificateFor(parent: { slot: number; ebHash: Uint8Array; epochNonce: Uint8Array }, slot: number): Uint8Array | undefined {
    if (!certAllowed(parent.slot, slot, this.p)) return undefined;
    const ebKey = toHex(parent.ebHash);
    const e = this.ebs.get(ebKey);
    if (!e?.complete) return undefined;
    const m = this.votes.get(ebKey);
    if (!m) return undefined;
    const sel = this.committee(parent.epochNonce);
    const votes: Vote[] = [...m.values()].filter((v) => v.electionId === parent.slot).map((v) => ({ poolId: v.poolId, sig: v.sig, eligibility: v.eligibility ?? undefined }));
    const cert = buildCertificate(sel, votes, parent.ebHash, parent.slot, this.p.quorum);
    if (!cert) return undefined;
    const bytes = encodeCertificate(cert);
    this.d.tracer.emit('CertCreated', { eb: ebKey, slot: parent.slot, voters: votes.length, sizeBytes: bytes.length });
    return bytes;
  }

  /** Check a certificate carried by an RB whose parent announced `ebHash` at `electionSlot`. */
  checkCertificate(bytes: Uint8Array, ebHash: Uint8Array, electionSlot: number, epochNonce: Uint8Array): string | null {
    let cert: Certificate;
    try {
      cert = decodeCertificate(bytes);
    } catch (e) {
      return `malformed certificate: ${(e as Error).message}`;
    }
    if (cert.electionId !== electionSlot || toHex(cert.ebHash) !== toHex(ebHash)) return 'certificate is for another EB';
    const v = verifyCertificate(cert, this.committee(epochNonce), this.p.quorum);
    return v.ok ? null : `certificate rejected: ${v.reason}`;
  }

  static fromHex = fromHex;
}
