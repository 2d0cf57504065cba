import type { Header } from '../chain/block.ts';
import { encodeHeaderBody } from '../chain/block.ts';
import { bytesEqual, toHex } from '../crypto/hash.ts';
import { kesVerify } from '../crypto/kes.ts';
import { checkOpCert } from '../crypto/opcert.ts';
import { praosParams, type PraosParams } from '../genesis/schema.ts';
import { intervalActiveSlotCoeff, isLeader, leaderSlotsEnabled, vrfLeaderValue, vrfNonceValue } from '../crypto/leader.ts';
import { vrfVerify } from '../crypto/vrf.ts';
import { advanceToEpoch, epochOf, vrfInput, type NonceState } from './nonce.ts';
import type { StakeView } from './stake.ts';

export class HeaderError extends Error {
  readonly reason: string;
  constructor(reason: string, detail: string) {
    super(`${reason}: ${detail}`);
    this.reason = reason;
    this.name = 'HeaderError';
  }
}

export interface ParentInfo {
  hash: Uint8Array;
  slot: number;
  blockNo: number;
  nonce: NonceState;
  /** Highest opcert counter per issuer (cold vkey hex) on the chain up to the parent. */
  counters?: ReadonlyMap<string, number>;
}

export interface HeaderContext {
  stake: StakeView;
  f: number;
  /** genesis praos.leaderIntervalSlots: only every N-th slot may have a leader, at f' = N·f (default 1) */
  leaderIntervalSlots?: number;
  epochLengthSlots: number;
  maxHeaderSize: number;
  currentSlot: number;
  /** Slots a header may be ahead of our clock (clock skew between nodes). */
  futureToleranceSlots: number;
  /** Protocol version the chain must carry at `epoch`. */
  protocolVersionAt: (epoch: number) => number;
  /** KES period length and opcert lifetime (genesis `praos`; defaults when absent). */
  praos?: Partial<PraosParams>;
  /** Randomness stabilisation window (slots); default: nonce.ts's fallback. */
  stabilisationWindowSlots?: number;
}

export interface ValidatedHeader {
  beta: Uint8Array;
  leaderValue: Uint8Array;
  nonceValue: Uint8Array;
  poolId: string;
  /** the header's opcert issue number (the chain's new counter for this issuer) */
  counter: number;
}

/**
 * Full Praos header validation against its parent (null = genesis). Cheap checks first;
 * the VRF proof (the costly one) last.
 */
export function validateHeader(h: Header, headerSize: number, parent: ParentInfo | null, genesisNonce: NonceState, ctx: HeaderContext): ValidatedHeader {
  if (headerSize > ctx.maxHeaderSize) throw new HeaderError('header-too-large', `${headerSize} > ${ctx.maxHeaderSize}`);
  if (parent) {
    if (!h.prevHash || !bytesEqual(h.prevHash, parent.hash)) throw new HeaderError('bad-prev-hash', 'does not extend its parent');
    if (h.blockNo !== parent.blockNo + 1) throw new HeaderError('bad-block-no', `${h.blockNo} after ${parent.blockNo}`);
    if (h.slot <= parent.slot) throw new HeaderError('non-monotonic-slot', `${h.slot} after ${parent.slot}`);
  } else {
    if (h.prevHash !== null) throw new HeaderError('bad-prev-hash', 'first block must not have a parent');
    if (h.blockNo !== 1) throw new HeaderError('bad-block-no', `first block numbered ${h.blockNo}`);
  }
  if (h.slot > ctx.currentSlot + ctx.futureToleranceSlots) throw new HeaderError('future-slot', `slot ${h.slot}, now ${ctx.currentSlot}`);
  const epoch = epochOf(h.slot, { epochLengthSlots: ctx.epochLengthSlots });
  const pv = ctx.protocolVersionAt(epoch);
  if (h.protocolVersion !== pv) throw new HeaderError('bad-protocol-version', `header has ${h.protocolVersion}, epoch ${epoch} requires ${pv}`);
  const interval = ctx.leaderIntervalSlots ?? ctx.praos?.leaderIntervalSlots ?? 1;
  if (!leaderSlotsEnabled(h.slot, interval)) throw new HeaderError('not-leader-slot', `slot ${h.slot} is not a multiple of the leader interval ${interval}`);
  const pool = ctx.stake.byColdKey(h.issuerVkey);
  if (!pool) throw new HeaderError('unknown-issuer', toHex(h.issuerVkey).slice(0, 16));
  if (!bytesEqual(pool.vrfVkey, h.vrfVkey)) throw new HeaderError('wrong-vrf-key', pool.id);
  // Operational certificate and KES signature (ouroboros-consensus validateKESSignature).
  const pp = praosParams({ praos: ctx.praos });
  const last = parent?.counters?.get(toHex(h.issuerVkey)) ?? 0;
  const oc = checkOpCert(h.opcert, h.slot, h.issuerVkey, last, pp);
  if (oc.error !== null) throw new HeaderError(oc.error, `${pool.id}: ${oc.detail}`);
  if (!kesVerify(h.opcert.hotVkey, oc.evolution, encodeHeaderBody(h), h.signature)) throw new HeaderError('bad-kes-signature', `${pool.id} at KES evolution ${oc.evolution}`);
  const nonce = advanceToEpoch(parent ? parent.nonce : genesisNonce, epoch);
  const beta = vrfVerify(h.vrfVkey, h.vrfProof, vrfInput(h.slot, nonce.epochNonce));
  if (!beta) throw new HeaderError('bad-vrf-proof', pool.id);
  const leaderValue = vrfLeaderValue(beta);
  if (!isLeader(leaderValue, pool.stake, ctx.stake.total, intervalActiveSlotCoeff(ctx.f, interval))) throw new HeaderError('not-leader', `${pool.id} in slot ${h.slot}`);
  return { beta, leaderValue, nonceValue: vrfNonceValue(beta), poolId: pool.id, counter: h.opcert.counter };
}
