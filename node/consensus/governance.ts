import { ed25519Verify } from '../crypto/ed25519.ts';
import { toHex } from '../crypto/hash.ts';
import type { Era, Genesis } from '../genesis/schema.ts';
import { proposalId, updateSigningBytes, type Tx, type TxUpdate } from '../ledger/index.ts';
import { epochOf } from './nonce.ts';
import type { StakeView } from './stake.ts';

// On-chain hard-fork governance, the alternative to the genesis era schedule: a pool proposes
// (era, protocol version, earliest epoch) in a transaction; pools endorse it; once endorsing
// stake reaches the genesis `updateThreshold` the update is adopted and takes effect at the
// next epoch boundary (or the proposed epoch, if later). The state is carried per block, so
// a rollback undoes it for free.

export interface Proposal {
  era: Era['era'];
  protocolVersion: number;
  epoch: number;
  endorsers: string[];
  adopted?: boolean;
}

export interface GovState {
  /** Adopted updates, layered over the genesis schedule (EraSchedule.at(epoch, updates)). */
  updates: Era[];
  proposals: Record<string, Proposal>;
}

export const EMPTY_GOV: GovState = Object.freeze({ updates: [], proposals: {} }) as GovState;

/** The pool's cold-key signature on a governance action; null if valid. */
export function checkUpdate(u: TxUpdate, stake: StakeView): string | null {
  const pool = stake.byId(u.poolId);
  if (!pool) return 'update-unknown-pool';
  if (u.kind === 'propose' && u.era !== 'praos' && u.era !== 'leios') return 'update-unknown-era';
  return ed25519Verify(pool.coldVkey, updateSigningBytes(u), u.sig) ? null : 'update-bad-signature';
}

/**
 * Is this action already on the chain whose governance state is `gov`? Governance txs spend no
 * inputs, so the ledger never consumes them and nothing else keeps one from being included twice:
 * the same proposal by the same pool, or a pool endorsing a proposal it already endorsed (the
 * proposer counts as its first endorser).
 */
export function isGovernanceReplay(u: TxUpdate, gov: GovState): boolean {
  if (u.kind === 'propose') return gov.proposals[toHex(proposalId(u))] !== undefined;
  return gov.proposals[toHex(u.proposalId)]?.endorsers.includes(u.poolId) ?? false;
}

export interface GovParams {
  stake: StakeView;
  /** Genesis `updateThreshold`: the endorsing share of total stake that adopts an update. */
  threshold: number;
  epochLengthSlots: number;
}

export function govParams(genesis: Pick<Genesis, 'updateThreshold' | 'epochLengthSlots'>, stake: StakeView): GovParams {
  return { stake, threshold: genesis.updateThreshold, epochLengthSlots: genesis.epochLengthSlots };
}

/** One action on the chain whose state is `gov`: its pool's signature, and not a replay; null if valid. */
export function governanceActionError(u: TxUpdate, gov: GovState, stake: StakeView): string | null {
  return checkUpdate(u, stake) ?? (isGovernanceReplay(u, gov) ? 'update-duplicate' : null);
}

/**
 * The validation rule for governance actions in a block or an EB closure: each one, in order,
 * carries its pool's signature and is not a replay of one already on `gov` or earlier in `txs`
 * (an adversarial forger could otherwise repeat them: nothing in the UTxO ledger stops it).
 * The state after them, or the first reason.
 */
export function checkedGovernance(
  gov: GovState,
  txs: readonly Tx[],
  slot: number,
  p: GovParams,
): { ok: true; gov: GovState } | { ok: false; reason: string } {
  let g = gov;
  for (const tx of txs) {
    const u = tx.body.update;
    if (!u) continue;
    const reason = governanceActionError(u, g, p.stake);
    if (reason) return { ok: false, reason };
    g = applyGovernance(g, [tx], slot, p);
  }
  return { ok: true, gov: g };
}

/**
 * Governance state after the update transactions of a block at `slot` (certified EB content
 * first, then the RB's own), unchecked (blocks we validated before or forged). Returns `gov`
 * itself when the block has none (the common case).
 */
export function applyGovernance(gov: GovState, txs: readonly Tx[], slot: number, p: GovParams): GovState {
  let next: GovState | undefined;
  for (const tx of txs) {
    const u = tx.body.update;
    if (!u) continue;
    next ??= { updates: [...gov.updates], proposals: { ...gov.proposals } };
    let id: string;
    if (u.kind === 'propose') {
      id = toHex(proposalId(u));
      if (!next.proposals[id]) next.proposals[id] = { era: u.era as Era['era'], protocolVersion: u.protocolVersion, epoch: u.epoch, endorsers: [u.poolId] };
    } else {
      id = toHex(u.proposalId);
      const prop = next.proposals[id];
      // An endorsement of a proposal not (yet) on this chain is a no-op, not an invalid block:
      // relay order can put it first. Nodes refuse such endorsements at submission.
      if (!prop) continue;
      if (!prop.endorsers.includes(u.poolId)) next.proposals[id] = { ...prop, endorsers: [...prop.endorsers, u.poolId] };
    }
    const prop = next.proposals[id];
    if (prop.adopted) continue;
    const endorsed = prop.endorsers.reduce((s, pid) => s + (p.stake.byId(pid)?.stake ?? 0n), 0n);
    // endorsed / total ≥ threshold, in integers (threshold as parts per million).
    if (endorsed * 1_000_000n >= p.stake.total * BigInt(Math.round(p.threshold * 1_000_000))) {
      const startEpoch = Math.max(prop.epoch, epochOf(slot, p) + 1);
      next.updates.push({ era: prop.era, protocolVersion: prop.protocolVersion, startEpoch });
      next.proposals[id] = { ...prop, adopted: true };
    }
  }
  return next ?? gov;
}
