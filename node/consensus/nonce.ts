import { hash256 } from '../crypto/hash.ts';

// Praos epoch-nonce evolution as ouroboros-consensus runs it (Protocol/Praos.hs), carried per
// block so a rollback restores it for free:
//   every block:     evolving' = evolving ⭒ nonceValue(vrf);  lab' = the block's prevHash
//                    candidate' = evolving'  if slot + window < first slot of the next epoch
//                                 (window = randomness stabilisation window, 4k/f slots),
//                    else candidate (frozen for the rest of the epoch)
//   epoch boundary:  epochNonce' = candidate ⭒ lastEpochBlock;  lastEpochBlock' = lab
// where a ⭒ b = Blake2b-256(a ‖ b) and the neutral nonce (null: no block yet) is its identity.

export interface NonceState {
  epoch: number;
  epochNonce: Uint8Array;
  evolving: Uint8Array;
  candidate: Uint8Array;
  /** prevHash of the last applied block ("lab" nonce); null = neutral */
  lab: Uint8Array | null;
  /** lab as of the last epoch boundary; null = neutral */
  lastEpochBlock: Uint8Array | null;
}

export interface EpochParams {
  epochLengthSlots: number;
  /** slots before the epoch end from which the candidate nonce is frozen (4k/f); default 2/3 of the epoch's complement */
  stabilisationWindowSlots?: number;
}

/** The randomness stabilisation window of current Praos: ⌈4k/f⌉ slots. */
export function randomnessStabilisationWindow(k: number, f: number): number {
  return Math.ceil((4 * k) / f);
}

/**
 * Why an epoch is too short for Praos randomness (undefined if it is fine): with an epoch shorter
 * than the 4k/f window the candidate nonce never follows the evolving nonce, and the epoch nonce
 * changes only through the previous epoch's last block hash.
 */
export function nonceWindowProblem(g: { epochLengthSlots: number; securityParam: number; activeSlotCoeff: number }): string | undefined {
  const w = randomnessStabilisationWindow(g.securityParam, g.activeSlotCoeff);
  if (g.epochLengthSlots > w) return undefined;
  return `epochLengthSlots ${g.epochLengthSlots} ≤ the randomness stabilisation window 4k/f = ${w} slots (k ${g.securityParam}, f ${g.activeSlotCoeff}): the candidate nonce never takes in VRF output`;
}

export function initialNonceState(initialNonce: Uint8Array): NonceState {
  return { epoch: 0, epochNonce: initialNonce, evolving: initialNonce, candidate: initialNonce, lab: null, lastEpochBlock: null };
}

export function epochOf(slot: number, p: EpochParams): number {
  return Math.floor(slot / p.epochLengthSlots);
}

function cat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length);
  o.set(a, 0);
  o.set(b, a.length);
  return o;
}

/** a ⭒ b with null as the neutral nonce. */
export function combineNonces(a: Uint8Array | null, b: Uint8Array | null): Uint8Array | null {
  if (a === null) return b;
  if (b === null) return a;
  return hash256(cat(a, b));
}

/** The state as seen from `epoch` (≥ s.epoch) before any block of that epoch. */
export function advanceToEpoch(s: NonceState, epoch: number): NonceState {
  let st = s;
  while (st.epoch < epoch) {
    st = {
      epoch: st.epoch + 1,
      epochNonce: combineNonces(st.candidate, st.lastEpochBlock)!,
      evolving: st.evolving,
      candidate: st.candidate,
      lab: st.lab,
      lastEpochBlock: st.lab,
    };
  }
  return st;
}

function windowOf(p: EpochParams): number {
  return p.stabilisationWindowSlots ?? p.epochLengthSlots - Math.floor((2 * p.epochLengthSlots) / 3);
}

/** State after a block at `slot` (parent `prevHash`) whose VRF nonce contribution is `nonceValue`. */
export function applyBlockNonce(prev: NonceState, slot: number, nonceValue: Uint8Array, p: EpochParams, prevHash: Uint8Array | null = null): NonceState {
  const epoch = epochOf(slot, p);
  const s = advanceToEpoch(prev, epoch);
  const evolving = hash256(cat(s.evolving, nonceValue));
  const firstSlotNextEpoch = (epoch + 1) * p.epochLengthSlots;
  const candidate = slot + windowOf(p) < firstSlotNextEpoch ? evolving : s.candidate;
  return { epoch, epochNonce: s.epochNonce, evolving, candidate, lab: prevHash, lastEpochBlock: s.lastEpochBlock };
}

/** VRF input for the leader check of `slot` (cardano mkInputVRF): Blake2b-256(slot (8 B BE) ‖ epoch nonce). */
export function vrfInput(slot: number, epochNonce: Uint8Array): Uint8Array {
  const o = new Uint8Array(8 + epochNonce.length);
  new DataView(o.buffer).setBigUint64(0, BigInt(slot));
  o.set(epochNonce, 8);
  return hash256(o);
}
