// CIP-164 timing and voting rules, pure so every negative case is testable on its own.

export interface LeiosTiming {
  lHdrSlots: number;
  lVoteSlots: number;
  lDiffSlots: number;
}

/** A certificate for the EB announced by an RB at `announcedSlot` may go into an RB at `slot`. */
export function certAllowed(announcedSlot: number, slot: number, p: LeiosTiming): boolean {
  return slot - announcedSlot >= 3 * p.lHdrSlots + p.lVoteSlots + p.lDiffSlots;
}

/** Vote deadline: the EB must be validated by 3·L_hdr + L_vote slots after the RB's slot. */
export function voteDeadlineSlot(rbSlot: number, p: LeiosTiming): number {
  return rbSlot + 3 * p.lHdrSlots + p.lVoteSlots;
}

export interface VoteSituation {
  rbSlot: number;
  slotStartMs: (slot: number) => number;
  /** When the announcing RB's header arrived here (our own: when forged). */
  headerArrivalMs: number;
  /** Another header from the same issuer for the same slot was seen. */
  equivocation: boolean;
  /** When the EB (and all its txs) was validated here; undefined = not yet. */
  ebValidatedAtMs: number | undefined;
  /** EB txs apply on top of the ledger after the announcing RB. */
  ebExtendsRb: boolean;
  ebTxCount: number;
  /** The announcing RB is our current tip. */
  rbIsTip: boolean;
  inCommittee: boolean;
}

export type VoteDecision = { vote: true } | { vote: false; reason: 'late-header' | 'equivocation' | 'eb-late' | 'eb-invalid' | 'eb-empty' | 'not-tip' | 'not-in-committee' };

/** The six CIP-164 voting conditions (plus committee membership). */
export function voteDecision(s: VoteSituation, p: LeiosTiming): VoteDecision {
  if (!s.inCommittee) return { vote: false, reason: 'not-in-committee' };
  if (s.headerArrivalMs > s.slotStartMs(s.rbSlot + p.lHdrSlots)) return { vote: false, reason: 'late-header' };
  if (s.equivocation) return { vote: false, reason: 'equivocation' };
  if (s.ebValidatedAtMs === undefined || s.ebValidatedAtMs > s.slotStartMs(voteDeadlineSlot(s.rbSlot, p))) return { vote: false, reason: 'eb-late' };
  if (s.ebTxCount === 0) return { vote: false, reason: 'eb-empty' };
  if (!s.ebExtendsRb) return { vote: false, reason: 'eb-invalid' };
  if (!s.rbIsTip) return { vote: false, reason: 'not-tip' };
  return { vote: true };
}
