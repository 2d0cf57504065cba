// Where the node votes (CIP-164): for the EB its tip announces, once the equivocation-detection
// period (3·L_hdr slots) is over and before the voting period (L_vote more) closes, at most
// once per election (the announcing RB's slot) whatever the tip does later. The rule itself is
// the pure voteDecision (rules.ts); this module gathers its inputs, keeps the window timers and
// the elections voted in, and signs.

import type { Logger } from 'pino';
import type { BlockInfo } from '../chain/chain-state.ts';
import type { TreeNode } from '../consensus/chain-selection.ts';
import { blsSecretKey, blsSign, voteMessage } from '../crypto/bls.ts';
import { toHex } from '../crypto/hash.ts';
import type { Genesis } from '../genesis/schema.ts';
import type { Ledger, Tx } from '../ledger/index.ts';
import type { NodeMetrics } from '../obs/metrics.ts';
import type { TraceWriter } from '../obs/trace.ts';
import { proveEligibility } from './committee.ts';
import { encodeVote, type VoteMsg } from './eb.ts';
import type { LeiosEngine } from './engine.ts';
import { voteDecision, voteDeadlineSlot, voteOpenSlot, type VoteDecision, type VoteRefusal } from './rules.ts';

/** What a vote decision needs to know about the announcing RB. */
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

export interface VoterDeps {
  poolId: string;
  blsSeed: Uint8Array;
  genesis: Genesis;
  /** EB store and checks, committee, equivocation verdicts; our votes go to its vote pool. */
  leios: LeiosEngine;
  ledger: Ledger;
  /** The selected chain's tip. */
  tip: () => TreeNode<BlockInfo> | undefined;
  /** False while not following the chain or outside the Leios era (for an RB at this slot). */
  mayVote: (rbSlot: number) => boolean;
  /** The closure's governance actions are valid on the tip (signatures, no replays: consensus/governance.ts). */
  governanceOk?: (txs: readonly Tx[]) => boolean;
  /** Cast a vote in this election at all (an adversary hook: lazy voter)? Default yes. */
  castVote?: (electionSlot: number) => boolean;
  metrics: NodeMetrics;
  tracer: TraceWriter;
  log: Logger;
  slotStartMs: (slot: number) => number;
  currentSlot: () => number;
  nowMs: () => number;
}

export class Voter {
  private readonly d: VoterDeps;
  private readonly blsSk: Uint8Array;
  /** Elections (RB slots) voted in: one vote per election, whatever the tip does. */
  private readonly voted = new Set<number>();
  /** Elections up to this slot are never voted in: a restarted node cannot know whether it voted before it died. */
  private floorSlot = -1;
  /** Elections with a vote attempt scheduled for the start of their voting period. */
  private readonly timers = new Map<number, NodeJS.Timeout>();
  /** EBs refused as invalid (traced once each). */
  private readonly refused = new Set<string>();
  /** election → the EB we voted for (so a re-decision for it is not counted as skipped). */
  private readonly votedFor = new Map<number, string>();
  /** `${election}:${eb}` refusals already counted in leios_votes_skipped_total. */
  private readonly skipCounted = new Set<string>();

  constructor(d: VoterDeps) {
    this.d = d;
    this.blsSk = blsSecretKey(d.blsSeed);
  }

  /** The node (re)starts: elections so far are out of bounds. */
  open(): void {
    this.floorSlot = this.d.currentSlot();
  }

  close(): void {
    for (const t of this.timers.values()) clearTimeout(t);
  }

  /**
   * Vote for the tip's EB if the CIP-164 conditions hold. Called when the tip changes and when
   * an EB's checks finish; before the voting period opens it schedules itself for that moment,
   * so votes are never cast during equivocation detection.
   */
  tryVote(): void {
    const tip = this.d.tip();
    const ann = tip?.data.header.ebAnnounce;
    if (!tip || !ann || !this.d.mayVote(tip.slot)) return;
    const d = this.decide({
      slot: tip.slot,
      issuer: tip.data.header.issuerVkey,
      ebHash: ann.hash,
      ebSize: ann.size,
      headerArrivalMs: tip.data.headerAtMs,
      isTip: true,
      epochNonce: tip.data.nonce.epochNonce,
    });
    if (d && !d.vote && d.reason === 'too-early' && !this.timers.has(tip.slot)) {
      const at = this.d.slotStartMs(voteOpenSlot(tip.slot, this.d.genesis.leios));
      const slot = tip.slot;
      const t = setTimeout(() => {
        this.timers.delete(slot);
        this.tryVote();
      }, Math.max(0, at - this.d.nowMs()) + 1);
      t.unref();
      this.timers.set(slot, t);
      for (const [s, old] of this.timers) if (s < slot - 100) (clearTimeout(old), this.timers.delete(s));
    }
  }

  /** Vote for the EB announced by `rb` if every CIP-164 condition holds; the decision says why not (e.g. too early). */
  decide(rb: VoteCandidate): VoteDecision | undefined {
    const { leios, poolId } = this.d;
    const p = this.d.genesis.leios;
    const ebKey = toHex(rb.ebHash);
    const e = leios.get(rb.ebHash);
    if (!e || !e.complete) return undefined;
    if (rb.isTip && e.extendsRb === undefined) {
      // Validation first (in slices); the vote is decided once it is done.
      leios.validateAgainst(e, this.d.ledger, () => this.tryVote(), this.d.governanceOk);
      if (e.extendsRb === undefined) return undefined;
    }
    const sel = leios.committee(rb.epochNonce);
    const member = sel.byPoolId.get(poolId);
    let eligibility: Uint8Array | null = null;
    let inCommittee = !!member && member.role === 'persistent';
    if (member && member.role !== 'persistent') {
      const proof = proveEligibility(sel, poolId, this.blsSk, rb.slot);
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
        equivocation: leios.isEquivocation(rb.issuer, rb.slot),
        ebValidatedAtMs: e.validatedAtMs,
        ebExtendsRb: e.extendsRb === true,
        ebTxCount: e.enc.eb.txs.length,
        ebMatchesAnnouncement: rb.ebSize === e.enc.bytes.length,
        rbIsTip: rb.isTip,
        inCommittee,
        alreadyVoted: this.voted.has(rb.slot) || rb.slot <= this.floorSlot,
      },
      p,
    );
    if (!d.vote) {
      if (d.reason !== 'not-in-committee' && d.reason !== 'too-early') this.d.log.debug({ eb: ebKey.slice(0, 16), reason: d.reason }, 'not voting');
      this.countSkip(rb.slot, ebKey, d.reason);
      if (d.reason === 'eb-invalid' && !this.refused.has(ebKey)) {
        if (this.refused.size > 1000) this.refused.clear();
        this.refused.add(ebKey);
        this.d.tracer.emit({ type: 'EBRejected', id: ebKey, slot: rb.slot, reason: e.sigsOk === false ? 'bad-witness' : 'invalid-tx' });
      }
      return d;
    }
    if (this.d.castVote && !this.d.castVote(rb.slot)) {
      this.voted.add(rb.slot);
      return { vote: false, reason: 'already-voted' };
    }
    this.voted.add(rb.slot);
    this.votedFor.set(rb.slot, ebKey);
    const v: VoteMsg = { electionId: rb.slot, ebHash: rb.ebHash, poolId, sig: blsSign(this.blsSk, voteMessage(rb.slot, rb.ebHash)), eligibility };
    // Signing takes milliseconds (more on a loaded machine): a vote finished after the voting
    // period closed is not cast.
    if (this.d.nowMs() >= this.d.slotStartMs(voteDeadlineSlot(rb.slot, p))) {
      this.countSkip(rb.slot, ebKey, 'too-late');
      return { vote: false, reason: 'too-late' };
    }
    const bytes = encodeVote(v);
    this.d.metrics.votesCast.inc();
    this.d.tracer.vtBundleGenerated({ id: `${ebKey}:${poolId}`, slot: rb.slot, size_bytes: bytes.length, votes: { [ebKey]: 1 }, election_id: rb.slot, voter: poolId, vote_slot: this.d.currentSlot() });
    leios.addOwnVote(v, bytes);
    return d;
  }

  /**
   * Count a refusal once per election and EB: the tip changes and EB checks re-run the decision.
   * too-early only defers (a timer retries at the window's start); already-voted for the EB we
   * voted for is the normal case, not a skip.
   */
  private countSkip(slot: number, ebKey: string, reason: VoteRefusal): void {
    if (reason === 'too-early') return;
    if (reason === 'already-voted' && this.votedFor.get(slot) === ebKey) return;
    const key = `${slot}:${ebKey}`;
    if (this.skipCounted.has(key)) return;
    if (this.skipCounted.size > 4096) this.skipCounted.clear();
    this.skipCounted.add(key);
    this.d.metrics.votesSkipped.inc({ reason });
  }

  /** Forget elections before `slot` (past every certificate window). */
  evict(beforeSlot: number): void {
    for (const s of this.voted) if (s < beforeSlot) this.voted.delete(s);
    for (const s of this.votedFor.keys()) if (s < beforeSlot) this.votedFor.delete(s);
  }
}
