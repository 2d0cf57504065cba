import { describe, expect, it } from 'vitest';
import { certAllowed, certificationWindowSlots, voteDecision, voteDeadlineSlot, voteOpenSlot, type VoteSituation } from '../../node/leios/rules.ts';
import { checkEbLimits, decodeEb, encodeEb, decodeVote, encodeVote } from '../../node/leios/eb.ts';
import { EraSchedule } from '../../node/consensus/eras.ts';

const P = { lHdrSlots: 1, lVoteSlots: 4, lDiffSlots: 7 };
const slotStartMs = (s: number) => s * 1000;

const good: VoteSituation = {
  rbSlot: 100,
  slotStartMs,
  nowMs: 103_200,
  headerArrivalMs: 100_300,
  equivocation: false,
  ebValidatedAtMs: 102_000,
  ebExtendsRb: true,
  ebTxCount: 10,
  ebMatchesAnnouncement: true,
  rbIsTip: true,
  inCommittee: true,
  alreadyVoted: false,
};

describe('CIP-164 CertRB timing rule', () => {
  it('allows a certificate exactly 3·L_hdr + L_vote + L_diff slots after the announcing RB, not one slot earlier', () => {
    expect(certAllowed(100, 100 + 3 + 4 + 7, P)).toBe(true);
    expect(certAllowed(100, 100 + 3 + 4 + 7 - 1, P)).toBe(false);
    expect(certAllowed(100, 101, P)).toBe(false);
  });
  it('vote deadline is 3·L_hdr + L_vote after the RB slot', () => {
    expect(voteDeadlineSlot(100, P)).toBe(107);
    expect(voteOpenSlot(100, P)).toBe(103);
    expect(certificationWindowSlots(P)).toBe(14);
  });
});

describe('CIP-164 voting conditions', () => {
  it('votes when every condition holds', () => {
    expect(voteDecision(good, P)).toEqual({ vote: true });
  });
  it('late RB header (after L_hdr)', () => {
    expect(voteDecision({ ...good, headerArrivalMs: 101_001 }, P)).toEqual({ vote: false, reason: 'late-header' });
    expect(voteDecision({ ...good, headerArrivalMs: 101_000 }, P).vote).toBe(true);
  });
  it('equivocating header seen', () => {
    expect(voteDecision({ ...good, equivocation: true }, P)).toEqual({ vote: false, reason: 'equivocation' });
  });
  it('EB validated after 3·L_hdr + L_vote, or not at all', () => {
    expect(voteDecision({ ...good, ebValidatedAtMs: 107_000 }, P)).toEqual({ vote: false, reason: 'eb-late' });
    expect(voteDecision({ ...good, ebValidatedAtMs: undefined }, P)).toEqual({ vote: false, reason: 'eb-late' });
    expect(voteDecision({ ...good, ebValidatedAtMs: 106_999 }, P).vote).toBe(true);
  });
  it('no vote during the equivocation-detection period: refused at 3·L_hdr − ε, accepted at 3·L_hdr', () => {
    expect(voteDecision({ ...good, nowMs: 102_999 }, P)).toEqual({ vote: false, reason: 'too-early' });
    expect(voteDecision({ ...good, nowMs: 100_016 }, P)).toEqual({ vote: false, reason: 'too-early' });
    expect(voteDecision({ ...good, nowMs: 103_000 }, P).vote).toBe(true);
  });
  it('no vote once the voting period is over (3·L_hdr + L_vote)', () => {
    expect(voteDecision({ ...good, nowMs: 106_999 }, P).vote).toBe(true);
    expect(voteDecision({ ...good, nowMs: 107_000 }, P)).toEqual({ vote: false, reason: 'too-late' });
  });
  it('a second vote in the same election is refused, whatever the tip does', () => {
    expect(voteDecision({ ...good, alreadyVoted: true }, P)).toEqual({ vote: false, reason: 'already-voted' });
  });
  it('an EB whose size differs from the RB header announcement gets no vote', () => {
    expect(voteDecision({ ...good, ebMatchesAnnouncement: false }, P)).toEqual({ vote: false, reason: 'eb-size-mismatch' });
  });
  it('EB does not extend the RB validly', () => {
    expect(voteDecision({ ...good, ebExtendsRb: false }, P)).toEqual({ vote: false, reason: 'eb-invalid' });
  });
  it('empty EB', () => {
    expect(voteDecision({ ...good, ebTxCount: 0 }, P)).toEqual({ vote: false, reason: 'eb-empty' });
  });
  it('RB is not the tip', () => {
    expect(voteDecision({ ...good, rbIsTip: false }, P)).toEqual({ vote: false, reason: 'not-tip' });
  });
  it('not a committee member', () => {
    expect(voteDecision({ ...good, inCommittee: false }, P)).toEqual({ vote: false, reason: 'not-in-committee' });
  });
});

describe('endorser blocks', () => {
  const ref = (i: number, size = 1500) => ({ id: new Uint8Array(32).fill(i), size });
  it('round-trips and hashes deterministically', () => {
    const e = encodeEb({ slot: 7, producer: 'pool-1', txs: [ref(1), ref(2)] });
    const d = decodeEb(e.bytes);
    expect(d.eb).toEqual(e.eb);
    expect(Buffer.from(d.hash).equals(Buffer.from(e.hash))).toBe(true);
    expect(d.txBytes).toBe(3000);
  });
  it('enforces never-empty, S_EB and S_EB-tx', () => {
    const lim = { ebMaxRefBytes: 512_000, ebMaxTxBytes: 12_000_000 };
    expect(checkEbLimits(encodeEb({ slot: 1, producer: 'p', txs: [] }), lim)).toBe('eb-empty');
    expect(checkEbLimits(encodeEb({ slot: 1, producer: 'p', txs: [ref(1)] }), lim)).toBeNull();
    const many = Array.from({ length: 15_000 }, (_, i) => ref(i % 250));
    expect(checkEbLimits(encodeEb({ slot: 1, producer: 'p', txs: many }), lim)).toBe('eb-too-large');
    expect(checkEbLimits(encodeEb({ slot: 1, producer: 'p', txs: [ref(1, 8_000_000), ref(2, 5_000_000)] }), lim)).toBe('eb-txs-too-large');
  });
  it('rejects malformed EBs and votes', () => {
    expect(() => decodeEb(new Uint8Array([0x83, 0x01]))).toThrow();
    expect(() => decodeVote(new Uint8Array([1, 2, 3]))).toThrow();
    const v = { electionId: 5, ebHash: new Uint8Array(32), poolId: 'pool-1', sig: new Uint8Array(48), eligibility: null };
    expect(decodeVote(encodeVote(v))).toEqual(v);
  });
});

describe('era schedule', () => {
  const s = new EraSchedule([
    { era: 'praos', startEpoch: 0, protocolVersion: 1 },
    { era: 'leios', startEpoch: 2, protocolVersion: 2 },
  ]);
  it('transitions by the genesis schedule', () => {
    expect(s.at(0).era).toBe('praos');
    expect(s.at(1).protocolVersion).toBe(1);
    expect(s.at(2).era).toBe('leios');
    expect(s.at(9).protocolVersion).toBe(2);
  });
  it('an adopted update overrides the schedule from its epoch on', () => {
    const updates = [{ era: 'leios' as const, startEpoch: 1, protocolVersion: 2 }];
    expect(s.at(0, updates).era).toBe('praos');
    expect(s.at(1, updates).era).toBe('leios');
    expect(s.leiosStart(updates)).toBe(1);
  });
  it('must start at epoch 0', () => {
    expect(() => new EraSchedule([{ era: 'leios', startEpoch: 1, protocolVersion: 2 }])).toThrow(/epoch 0/);
  });
});
