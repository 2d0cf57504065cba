// CIP-164 timing and voting rules, pure so every negative case is testable on its own.
// Slots are counted from the announcing RB's slot s:
//   [s, s + 3·L_hdr)                  equivocation-detection period: no votes yet
//   [s + 3·L_hdr, s + 3·L_hdr + L_vote) voting period: validated EBs get their votes
//   s + 3·L_hdr + L_vote + L_diff ≤ slot of an RB that may carry the certificate

export interface LeiosTiming {
  lHdrSlots: number;
  lVoteSlots: number;
  lDiffSlots: number;
}

/** Slots from an announcing RB to the first slot whose RB may carry its EB's certificate. */
export function certificationWindowSlots(p: LeiosTiming): number {
  return 3 * p.lHdrSlots + p.lVoteSlots + p.lDiffSlots;
}

/** A certificate for the EB announced by an RB at `announcedSlot` may go into an RB at `slot`. */
export function certAllowed(announcedSlot: number, slot: number, p: LeiosTiming): boolean {
  return slot - announcedSlot >= certificationWindowSlots(p);
}

/** First slot of the voting period (the equivocation-detection period is over). */
export function voteOpenSlot(rbSlot: number, p: LeiosTiming): number {
  return rbSlot + 3 * p.lHdrSlots;
}

/** End of the voting period (exclusive): validation and the vote itself happen before this slot starts. */
export function voteDeadlineSlot(rbSlot: number, p: LeiosTiming): number {
  return rbSlot + 3 * p.lHdrSlots + p.lVoteSlots;
}

/** An EB is fresh (relayed with Leios-fresh priority, signature-checked) until its certificate window has passed. */
export function ebIsFresh(ebSlot: number, currentSlot: number, p: LeiosTiming): boolean {
  return currentSlot - ebSlot <= certificationWindowSlots(p);
}

export interface VoteSituation {
  rbSlot: number;
  slotStartMs: (slot: number) => number;
  /** Now (same clock as slotStartMs). */
  nowMs: number;
  /** When the announcing RB's header arrived here (our own: when forged). */
  headerArrivalMs: number;
  /** Another header from the same issuer for the same slot was seen. */
  equivocation: boolean;
  /** When the EB (and all its txs) was validated here; undefined = not yet. */
  ebValidatedAtMs: number | undefined;
  /** EB txs apply on top of the ledger after the announcing RB. */
  ebExtendsRb: boolean;
  ebTxCount: number;
  /** The EB's size matches what the RB header announced. */
  ebMatchesAnnouncement: boolean;
  /** The announcing RB is our current tip. */
  rbIsTip: boolean;
  inCommittee: boolean;
  /** We already voted in this election (slot), for this or any other EB. */
  alreadyVoted: boolean;
}

/** Every reason a vote is not cast, in the order voteDecision checks them. */
export const VOTE_REFUSALS = [
  'not-in-committee',
  'already-voted',
  'too-early',
  'too-late',
  'late-header',
  'equivocation',
  'eb-size-mismatch',
  'eb-empty',
  'eb-late',
  'eb-invalid',
  'not-tip',
] as const;
export type VoteRefusal = (typeof VOTE_REFUSALS)[number];

export type VoteDecision = { vote: true } | { vote: false; reason: VoteRefusal };

/** The six CIP-164 voting conditions, the voting period, and one vote per election. */
export function voteDecision(s: VoteSituation, p: LeiosTiming): VoteDecision {
  if (!s.inCommittee) return { vote: false, reason: 'not-in-committee' };
  if (s.alreadyVoted) return { vote: false, reason: 'already-voted' };
  if (s.nowMs < s.slotStartMs(voteOpenSlot(s.rbSlot, p))) return { vote: false, reason: 'too-early' };
  const deadline = s.slotStartMs(voteDeadlineSlot(s.rbSlot, p));
  if (s.nowMs >= deadline) return { vote: false, reason: 'too-late' };
  if (s.headerArrivalMs > s.slotStartMs(s.rbSlot + p.lHdrSlots)) return { vote: false, reason: 'late-header' };
  if (s.equivocation) return { vote: false, reason: 'equivocation' };
  if (!s.ebMatchesAnnouncement) return { vote: false, reason: 'eb-size-mismatch' };
  if (s.ebTxCount === 0) return { vote: false, reason: 'eb-empty' };
  if (s.ebValidatedAtMs === undefined || s.ebValidatedAtMs >= deadline) return { vote: false, reason: 'eb-late' };
  if (!s.ebExtendsRb) return { vote: false, reason: 'eb-invalid' };
  if (!s.rbIsTip) return { vote: false, reason: 'not-tip' };
  return { vote: true };
}
