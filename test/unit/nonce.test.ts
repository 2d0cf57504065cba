import { describe, expect, it } from 'vitest';
import { hash256 } from '../../node/crypto/hash.ts';
import {
  advanceToEpoch,
  applyBlockNonce,
  combineNonces,
  initialNonceState,
  nonceWindowProblem,
  randomnessStabilisationWindow,
  vrfInput,
} from '../../node/consensus/nonce.ts';

const b = (x: number) => new Uint8Array(32).fill(x);
const cat = (...a: Uint8Array[]) => new Uint8Array(a.flatMap((x) => [...x]));

describe('Praos nonces', () => {
  it('the randomness stabilisation window is 4k/f', () => {
    expect(randomnessStabilisationWindow(2160, 0.05)).toBe(172_800); // mainnet: 2 of the 5 days
    expect(randomnessStabilisationWindow(10, 0.05)).toBe(800);
    expect(nonceWindowProblem({ epochLengthSlots: 432_000, securityParam: 2160, activeSlotCoeff: 0.05 })).toBeUndefined();
    expect(nonceWindowProblem({ epochLengthSlots: 100, securityParam: 10, activeSlotCoeff: 0.05 })).toMatch(/epochLengthSlots 100 ≤ .* 800 slots/);
  });

  it('the candidate follows the evolving nonce until slot + window reaches the next epoch, then freezes', () => {
    const p = { epochLengthSlots: 1000, stabilisationWindowSlots: 300 };
    let s = initialNonceState(b(0));
    s = applyBlockNonce(s, 10, b(1), p, null);
    expect(s.candidate).toEqual(s.evolving);
    s = applyBlockNonce(s, 699, b(2), p, b(0xa)); // 699 + 300 < 1000: still follows
    expect(s.candidate).toEqual(s.evolving);
    const frozen = s.candidate;
    s = applyBlockNonce(s, 700, b(3), p, b(0xb)); // 700 + 300 = 1000: frozen
    expect(s.evolving).toEqual(hash256(cat(applyBlockNonce(applyBlockNonce(initialNonceState(b(0)), 10, b(1), p), 699, b(2), p).evolving, b(3))));
    expect(s.candidate).toEqual(frozen);
    s = applyBlockNonce(s, 999, b(4), p, b(0xc));
    expect(s.candidate).toEqual(frozen);
    // Epoch 1: its nonce is the frozen candidate ⭒ the last-epoch-block nonce (neutral in epoch 0).
    const e1 = advanceToEpoch(s, 1);
    expect(e1.epochNonce).toEqual(frozen);
    expect(e1.lastEpochBlock).toEqual(b(0xc)); // lab = prevHash of the epoch's last block
    // A block in epoch 1, then epoch 2: candidate ⭒ lastEpochBlock.
    const s2 = applyBlockNonce(e1, 1005, b(5), p, b(0xd));
    expect(s2.candidate).toEqual(s2.evolving);
    const e2 = advanceToEpoch(s2, 2);
    expect(e2.epochNonce).toEqual(hash256(cat(s2.candidate, b(0xc))));
    expect(e2.lastEpochBlock).toEqual(b(0xd));
  });

  it('an epoch shorter than the window never takes VRF output into the candidate', () => {
    const p = { epochLengthSlots: 100, stabilisationWindowSlots: 800 };
    let s = initialNonceState(b(0));
    for (let slot = 0; slot < 100; slot += 7) s = applyBlockNonce(s, slot, b(slot), p, b(slot + 1));
    expect(s.candidate).toEqual(b(0));
    expect(s.evolving).not.toEqual(b(0));
  });

  it('a block applied after skipped epochs ticks through each boundary', () => {
    const p = { epochLengthSlots: 10, stabilisationWindowSlots: 3 };
    const s = applyBlockNonce(initialNonceState(b(0)), 1, b(1), p, b(9));
    const later = applyBlockNonce(s, 35, b(2), p, b(8));
    expect(later.epoch).toBe(3);
    expect(later.epochNonce).toEqual(advanceToEpoch(s, 3).epochNonce);
    // epoch 2 and 3 nonces mix in the lab of the block at slot 1
    expect(advanceToEpoch(s, 2).epochNonce).toEqual(hash256(cat(s.candidate, b(9))));
  });

  it('⭒ has the neutral nonce as identity', () => {
    expect(combineNonces(null, b(1))).toEqual(b(1));
    expect(combineNonces(b(1), null)).toEqual(b(1));
    expect(combineNonces(null, null)).toBeNull();
    expect(combineNonces(b(1), b(2))).toEqual(hash256(cat(b(1), b(2))));
  });

  it('VRF input is Blake2b-256(slot (8 B BE) ‖ η), as cardano mkInputVRF', () => {
    const eta = b(7);
    const raw = new Uint8Array(40);
    raw[7] = 0x2a;
    raw.set(eta, 8);
    expect(vrfInput(42, eta)).toEqual(hash256(raw));
    expect(vrfInput(42, eta).length).toBe(32);
    expect(vrfInput(43, eta)).not.toEqual(vrfInput(42, eta));
  });
});
