import { makeBlock, type Block, type Body, type EbAnnouncement } from '../chain/block.ts';
import { intervalActiveSlotCoeff, isLeader, leaderSlotsEnabled, vrfLeaderValue, vrfNonceValue } from '../crypto/leader.ts';
import { vrfOutput, vrfProve } from '../crypto/vrf.ts';
import { advanceToEpoch, epochOf, vrfInput, type NonceState } from './nonce.ts';
import { KesCredential } from './kes-credential.ts';

// Block production: the leader check for a slot and the assembly of a signed RB.

export interface ForgeKeys {
  poolId: string;
  coldVkey: Uint8Array;
  /** cold-key signer (governance, opcerts); headers are KES-signed with `kes` */
  sign: (msg: Uint8Array) => Uint8Array;
  /** hot KES key + operational certificate; default: KesCredential.derived(sign) */
  kes?: KesCredential;
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
  return checkLeadershipWith(slot, leadershipNonce(slot, tipNonce, p), keys, p);
}

/** The epoch nonce a leadership check of `slot` uses, as seen from a tip with nonce state `tipNonce`. */
export function leadershipNonce(slot: number, tipNonce: NonceState, p: { epochLengthSlots: number }): Uint8Array {
  return advanceToEpoch(tipNonce, epochOf(slot, p)).epochNonce;
}

/** checkLeadership against a known epoch nonce (a precomputed check is keyed by slot and nonce). */
export function checkLeadershipWith(
  slot: number,
  epochNonce: Uint8Array,
  keys: ForgeKeys,
  p: { f: number; totalStake: bigint; leaderIntervalSlots?: number },
): LeaderProof | undefined {
  const interval = p.leaderIntervalSlots ?? 1;
  if (!leaderSlotsEnabled(slot, interval)) return undefined;
  const alpha = vrfInput(slot, epochNonce);
  // Output first (a third of the proof's cost); the proof only for a won slot.
  const beta = vrfOutput(keys.vrfSk, alpha);
  const leaderValue = vrfLeaderValue(beta);
  if (!isLeader(leaderValue, keys.stake, p.totalStake, intervalActiveSlotCoeff(p.f, interval))) return undefined;
  const proof = vrfProve(keys.vrfSk, alpha);
  return { slot, proof, beta, leaderValue, nonceValue: vrfNonceValue(beta) };
}

const derivedCredentials = new WeakMap<ForgeKeys, KesCredential>();

/** The KES credential a forger signs headers with. */
export function kesCredentialOf(keys: ForgeKeys): KesCredential {
  if (keys.kes) return keys.kes;
  let c = derivedCredentials.get(keys);
  if (!c) derivedCredentials.set(keys, (c = KesCredential.derived(keys.sign)));
  return c;
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
      opcert: kesCredentialOf(keys).opcert,
    },
    body,
    (msg) => kesCredentialOf(keys).signAt(lp.slot, msg),
  );
}

/**
 * The block a leader of `slot` builds on (cardano-node): the tip if it is older; if the tip is in
 * this very slot and another pool made it, the tip's predecessor — an alternative block for the
 * same slot, left to the VRF tiebreak — instead of skipping the slot. `undefined`: do not forge
 * (the tip is ours for this slot, or ahead of our clock).
 */
export function chooseForgeParent<N extends { slot: number; prev: string | null; issuer?: string }>(
  tip: N | undefined,
  slot: number,
  ownIssuer: string,
  get: (key: string) => N | undefined,
): { parent: N | null; alternative: boolean } | undefined {
  if (!tip) return { parent: null, alternative: false };
  if (tip.slot < slot) return { parent: tip, alternative: false };
  if (tip.slot > slot || tip.issuer === ownIssuer) return undefined;
  if (tip.prev === null) return { parent: null, alternative: true };
  const p = get(tip.prev);
  return p ? { parent: p, alternative: true } : undefined;
}
