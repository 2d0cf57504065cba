// Votes as CIP-164 handles them: verified before they are relayed (in the worker pool, one
// batched pairing product per election and EB), at most one vote per committee member per
// election kept and forwarded, a running tally per EB, and the certificate aggregated as soon
// as the quorum is reached, so a block producer only looks it up.
//
// A batch costs a pairing product (~18 ms of CPU with noble, plus ~0.9 ms a vote), so batches
// are made as large as the latency budget allows: the first vote of a batch waits a short
// window for the rest of its election's burst, and while a batch is being verified the next
// one gathers. One election's votes arrive over a second or more of hops; sent one batch each
// 5 ms they cost a pairing per handful of votes and were most of a light node's CPU.

import { toHex } from '../crypto/hash.ts';
import { ownBytes } from '../codec/cbor.ts';
import { buildCertificate, encodeCertificate } from './certificate.ts';
import type { VoteMsg } from './eb.ts';
import type { CommitteeSelection } from './committee.ts';
import type { WorkerPool } from '../work/pool.ts';

export interface VotePoolDeps {
  pool: WorkerPool;
  committee: (epochNonce: Uint8Array) => CommitteeSelection;
  quorum: number;
  /** Epoch nonce of the election's RB, once its header is known (else the vote waits). */
  electionNonce: (electionId: number, ebHash: Uint8Array) => Uint8Array | undefined;
  /** Verified votes, new here: relay them. */
  onVerified: (votes: { vote: VoteMsg; bytes: Uint8Array; from: string }[]) => void;
  /** A peer sent a vote that failed verification: drop it. */
  onInvalid: (from: string, reason: string) => void;
  /** The EB just reached its quorum; the certificate is ready. */
  onCertificate: (ebHex: string, electionId: number, bytes: Uint8Array, voters: number) => void;
  /** How long the first vote of a batch waits for more (ms; default 5). Each hop adds it to a
   *  vote's diffusion, which has L_diff slots after the voting period to reach a block producer. */
  batchWindowMs?: number;
  /** Batches went to the worker pool (metrics). */
  onBatches?: (count: number) => void;
}

interface Held {
  vote: VoteMsg;
  bytes: Uint8Array;
  from: string;
}

/** Most unverified votes kept for one (election, voter): a forger cannot crowd out the real one. */
const MAX_PENDING_PER_VOTER = 2;
/** Most votes parked per election while its RB header is unknown. */
const MAX_PARKED_PER_ELECTION = 1024;

export class VotePool {
  private readonly d: VotePoolDeps;
  /** electionId → poolId → the verified vote kept for that member (first seen wins). */
  private readonly verified = new Map<number, Map<string, Held>>();
  /** electionId → poolId → unverified candidates (distinct signatures). */
  private readonly pending = new Map<number, Map<string, Held[]>>();
  /** Votes whose election's RB header we have not seen. */
  private readonly parked = new Map<number, Held[]>();
  private readonly batches = new Map<string, { electionId: number; ebHash: Uint8Array; nonce: Uint8Array; votes: Held[] }>();
  private flushTimer: NodeJS.Timeout | undefined;
  /** When the oldest vote waiting in `batches` arrived. */
  private gatheringSince = 0;
  /** Vote batches handed to the worker pool and not yet answered. */
  private inFlight = 0;
  /** ebHex:electionId → certificate bytes. */
  private readonly certs = new Map<string, Uint8Array>();
  /** Counters for metrics/tests. */
  readonly stats = { verified: 0, invalid: 0, duplicate: 0, parked: 0, batches: 0 };

  constructor(d: VotePoolDeps) {
    this.d = d;
  }

  /** Our own vote: valid by construction. */
  addOwn(vote: VoteMsg, bytes: Uint8Array): void {
    if (this.has(vote.electionId, vote.poolId)) return;
    this.keep({ vote, bytes, from: '' });
    this.d.onVerified([{ vote, bytes, from: '' }]);
  }

  has(electionId: number, poolId: string): boolean {
    return !!this.verified.get(electionId)?.has(poolId);
  }

  /** A vote from a peer (already decoded and cheaply checked). Returns false if it was a duplicate. */
  add(vote: VoteMsg, bytes: Uint8Array, from: string): boolean {
    if (this.has(vote.electionId, vote.poolId)) {
      this.stats.duplicate++;
      return false;
    }
    let byVoter = this.pending.get(vote.electionId);
    if (!byVoter) this.pending.set(vote.electionId, (byVoter = new Map()));
    const cands = byVoter.get(vote.poolId) ?? [];
    if (cands.some((c) => Buffer.compare(c.bytes, bytes) === 0) || cands.length >= MAX_PENDING_PER_VOTER) {
      this.stats.duplicate++;
      return false;
    }
    const held = { vote, bytes, from };
    cands.push(held);
    byVoter.set(vote.poolId, cands);
    this.enqueue(held);
    return true;
  }

  private enqueue(h: Held): void {
    const nonce = this.d.electionNonce(h.vote.electionId, h.vote.ebHash);
    if (!nonce) {
      const p = this.parked.get(h.vote.electionId) ?? [];
      if (p.length < MAX_PARKED_PER_ELECTION) {
        p.push(h);
        this.parked.set(h.vote.electionId, p);
        this.stats.parked++;
      }
      return;
    }
    const key = `${h.vote.electionId}:${toHex(h.vote.ebHash)}`;
    if (this.batches.size === 0) this.gatheringSince = performance.now();
    let b = this.batches.get(key);
    if (!b) this.batches.set(key, (b = { electionId: h.vote.electionId, ebHash: h.vote.ebHash, nonce, votes: [] }));
    b.votes.push(h);
    this.schedule();
  }

  /** Flush once the gathering window has passed and the previous batches are answered. */
  private schedule(): void {
    if (this.flushTimer || this.inFlight > 0 || this.batches.size === 0) return;
    const wait = Math.max(0, (this.d.batchWindowMs ?? 5) - (performance.now() - this.gatheringSince));
    this.flushTimer = setTimeout(() => this.flush(), wait);
    this.flushTimer.unref();
  }

  /** The RB header of an election arrived: verify the votes that waited for it. */
  headerKnown(electionId: number): void {
    const p = this.parked.get(electionId);
    if (!p) return;
    this.parked.delete(electionId);
    for (const h of p) this.enqueue(h);
  }

  private flush(): void {
    this.flushTimer = undefined;
    const batches = [...this.batches.values()];
    this.batches.clear();
    this.inFlight += batches.length;
    this.stats.batches += batches.length;
    this.d.onBatches?.(batches.length);
    for (const b of batches) {
      this.d.pool
        .run({ kind: 'votes', epochNonce: b.nonce, electionId: b.electionId, ebHash: b.ebHash, votes: b.votes.map((h) => ({ poolId: h.vote.poolId, sig: h.vote.sig, eligibility: h.vote.eligibility })) })
        .then((ok) => this.verifiedBatch(b, ok))
        .catch(() => {
          // pool closed (shutting down): forget the batch
        })
        .finally(() => {
          this.inFlight--;
          this.schedule();
        });
    }
  }

  private verifiedBatch(b: { electionId: number; ebHash: Uint8Array; nonce: Uint8Array; votes: Held[] }, ok: boolean[]): void {
    const fresh: Held[] = [];
    b.votes.forEach((h, i) => {
      const byVoter = this.pending.get(h.vote.electionId);
      const cands = byVoter?.get(h.vote.poolId);
      if (cands) {
        const j = cands.indexOf(h);
        if (j >= 0) cands.splice(j, 1);
        if (cands.length === 0) byVoter!.delete(h.vote.poolId);
      }
      if (!ok[i]) {
        this.stats.invalid++;
        if (h.from) this.d.onInvalid(h.from, `invalid vote from ${h.vote.poolId} for election ${h.vote.electionId}`);
        return;
      }
      if (this.has(h.vote.electionId, h.vote.poolId)) {
        this.stats.duplicate++;
        return;
      }
      this.keep(h);
      this.stats.verified++;
      fresh.push(h);
    });
    if (fresh.length) this.d.onVerified(fresh);
  }

  private keep(h: Held): void {
    let m = this.verified.get(h.vote.electionId);
    if (!m) this.verified.set(h.vote.electionId, (m = new Map()));
    m.set(h.vote.poolId, h);
    this.maybeCertify(h.vote.electionId, h.vote.ebHash);
  }

  /** Verified votes of one election for one EB. */
  votesFor(electionId: number, ebHash: Uint8Array): VoteMsg[] {
    const m = this.verified.get(electionId);
    if (!m) return [];
    const hex = toHex(ebHash);
    return [...m.values()].filter((h) => toHex(h.vote.ebHash) === hex).map((h) => h.vote);
  }

  private maybeCertify(electionId: number, ebHash: Uint8Array): void {
    const key = `${toHex(ebHash)}:${electionId}`;
    if (this.certs.has(key)) return;
    const nonce = this.d.electionNonce(electionId, ebHash);
    if (!nonce) return;
    const votes = this.votesFor(electionId, ebHash);
    const cert = buildCertificate(
      this.d.committee(nonce),
      votes.map((v) => ({ poolId: v.poolId, sig: v.sig, eligibility: v.eligibility ?? undefined })),
      ebHash,
      electionId,
      this.d.quorum,
      { votesVerified: true },
    );
    if (!cert) return;
    // a copy: the encoder's result is a view into its shared multi-MB buffer, kept until evicted
    const bytes = ownBytes(encodeCertificate(cert));
    this.certs.set(key, bytes);
    this.d.onCertificate(toHex(ebHash), electionId, bytes, votes.length);
  }

  certificate(ebHash: Uint8Array, electionId: number): Uint8Array | undefined {
    return this.certs.get(`${toHex(ebHash)}:${electionId}`);
  }

  /** Forget elections before `slot` (past every certificate window). */
  evict(beforeSlot: number): void {
    for (const m of [this.verified, this.pending, this.parked] as Map<number, unknown>[]) for (const k of m.keys()) if (k < beforeSlot) m.delete(k);
    for (const k of this.certs.keys()) if (Number(k.slice(k.indexOf(':') + 1)) < beforeSlot) this.certs.delete(k);
  }

}
