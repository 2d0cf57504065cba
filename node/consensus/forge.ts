import { makeBlock, type Block, type Body, type EbAnnouncement } from '../chain/block.ts';
import { intervalActiveSlotCoeff, isLeader, leaderSlotsEnabled, vrfLeaderValue, vrfNonceValue } from '../crypto/leader.ts';
import { vrfOutput, vrfProve } from '../crypto/vrf.ts';
import { advanceToEpoch, epochOf, vrfInput, type NonceState } from './nonce.ts';

// Block production: the leader check for a slot and the assembly of a signed RB.

export interface ForgeKeys {
  poolId: string;
  coldVkey: Uint8Array;
  sign: (msg: Uint8Array) => Uint8Array;
  vrfSk: Uint8Array;
  vrfVkey: Uint8Array;
  stake: bigint;
}

export interface LeaderProof {
  slot: number;
  proof: Uint8Array;
  beta: Uint8Array;
  leaderValue: Uint8Array;
  nonceValue: Uint8Array;
}

/**
 * VRF-evaluate `slot` against the epoch nonce seen from `tipNonce`; the proof if we lead.
 * With a leader interval N > 1 (genesis praos.leaderIntervalSlots) only every N-th slot is checked,
 * against the recalibrated f' = N·f (see intervalActiveSlotCoeff).
 */
export function checkLeadership(
  slot: number,
  tipNonce: NonceState,
  keys: ForgeKeys,
  p: { epochLengthSlots: number; f: number; totalStake: bigint; leaderIntervalSlots?: number },
): LeaderProof | undefined {
  const interval = p.leaderIntervalSlots ?? 1;
  if (!leaderSlotsEnabled(slot, interval)) return undefined;
  const nonce = advanceToEpoch(tipNonce, epochOf(slot, p));
  const alpha = vrfInput(slot, nonce.epochNonce);
  // Output first (a third of the proof's cost); the proof only for a won slot.
  const beta = vrfOutput(keys.vrfSk, alpha);
  const leaderValue = vrfLeaderValue(beta);
  if (!isLeader(leaderValue, keys.stake, p.totalStake, intervalActiveSlotCoeff(p.f, interval))) return undefined;
  const proof = vrfProve(keys.vrfSk, alpha);
  return { slot, proof, beta, leaderValue, nonceValue: vrfNonceValue(beta) };
}

export function forgeBlock(
  lp: LeaderProof,
  parent: { hash: Uint8Array; blockNo: number } | null,
  body: Body,
  keys: ForgeKeys,
  protocolVersion: number,
  leios: { ebAnnounce: EbAnnouncement | null; certified: boolean } = { ebAnnounce: null, certified: false },
): Block {
  return makeBlock(
    {
      blockNo: parent ? parent.blockNo + 1 : 1,
      slot: lp.slot,
      prevHash: parent ? parent.hash : null,
      issuerVkey: keys.coldVkey,
      vrfVkey: keys.vrfVkey,
      vrfProof: lp.proof,
      bodyHash: new Uint8Array(32),
      bodySize: 0,
      protocolVersion,
      ebAnnounce: leios.ebAnnounce,
      certified: leios.certified,
    },
    body,
    keys.sign,
  );
}
