import { hash256 } from '../crypto/hash.ts';

// Praos epoch-nonce evolution, carried per block so a rollback restores it for free.
// evolving' = H(evolving || nonceValue(vrf)) for every block; the candidate nonce follows
// evolving until the stability point (2/3 of the epoch) and is then frozen; at an epoch
// boundary epochNonce' = H(epochNonce || candidate).

export interface NonceState {
  epoch: number;
  epochNonce: Uint8Array;
  evolving: Uint8Array;
  candidate: Uint8Array;
}

export interface EpochParams {
  epochLengthSlots: number;
}

export function initialNonceState(initialNonce: Uint8Array): NonceState {
  return { epoch: 0, epochNonce: initialNonce, evolving: initialNonce, candidate: initialNonce };
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

/** The state as seen from `epoch` (≥ s.epoch) before any block of that epoch. */
export function advanceToEpoch(s: NonceState, epoch: number): NonceState {
  let st = s;
  while (st.epoch < epoch) {
    st = { epoch: st.epoch + 1, epochNonce: hash256(cat(st.epochNonce, st.candidate)), evolving: st.evolving, candidate: st.candidate };
  }
  return st;
}

/** State after a block at `slot` whose VRF nonce contribution is `nonceValue`. */
export function applyBlockNonce(prev: NonceState, slot: number, nonceValue: Uint8Array, p: EpochParams): NonceState {
  const epoch = epochOf(slot, p);
  const s = advanceToEpoch(prev, epoch);
  const evolving = hash256(cat(s.evolving, nonceValue));
  const freezeAt = epoch * p.epochLengthSlots + Math.floor((2 * p.epochLengthSlots) / 3);
  return { epoch, epochNonce: s.epochNonce, evolving, candidate: slot < freezeAt ? evolving : s.candidate };
}

/** VRF input for the leader check of `slot`: slot (8 bytes BE) || epoch nonce. */
export function vrfInput(slot: number, epochNonce: Uint8Array): Uint8Array {
  const o = new Uint8Array(8 + epochNonce.length);
  new DataView(o.buffer).setBigUint64(0, BigInt(slot));
  o.set(epochNonce, 8);
  return o;
}
