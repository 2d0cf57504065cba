// Where the node forges: each slot, the leadership check and, when it leads, the RB it builds
// on the tip — carrying the certificate for the parent's EB when the timing rule and a quorum
// allow (then no txs), else mempool txs — and the EB that RB announces (Linear Leios).
// The pure pieces (VRF leadership, signed block assembly) are consensus/forge.ts.

import { checkLeadershipWith, chooseForgeParent, forgeBlock, leadershipNonce, type ForgeKeys, type LeaderProof } from './consensus/forge.ts';
import { bytesEqual } from './crypto/hash.ts';
import type { Block } from './chain/block.ts';
import { epochOf } from './consensus/nonce.ts';
import { praosParams } from './genesis/schema.ts';
import { toHex } from './crypto/hash.ts';
import { encodeEb, checkEbLimits, type EncodedEb } from './leios/eb.ts';
import type { EbEntry } from './leios/eb-store.ts';
import type { NodeKernel } from './kernel.ts';
import { certAllowed } from './leios/rules.ts';

export class Forger {
  private readonly k: NodeKernel;
  private readonly keys: ForgeKeys;
  /** The forged block is in the tree: run chain selection. */
  private readonly adopt: () => void;
  /** The forged block, before chain selection (the header relay records it). */
  private readonly forged: ((b: Block) => void) | undefined;
  /**
   * The next slot's leadership check, computed after this slot's work (the VRF is milliseconds,
   * tens of them on a loaded machine): at the slot's start only the tip's nonce is compared.
   */
  private ahead: { slot: number; epochNonce: Uint8Array; lp: LeaderProof | undefined } | undefined;
  private aheadTimer: NodeJS.Immediate | undefined;

  constructor(k: NodeKernel, keys: ForgeKeys, adopt: () => void, forged?: (b: Block) => void) {
    this.k = k;
    this.keys = keys;
    this.adopt = adopt;
    this.forged = forged;
  }

  get poolId(): string {
    return this.keys.poolId;
  }

  /** A slot began (`missed`: slots the clock skipped before it). Forges if we lead and are following. */
  onSlot(slot: number, missed: number): void {
    const { metrics, tracer, chain, genesis, mempool, leios } = this.k;
    if (!this.k.following) return;
    metrics.leadershipChecks.inc();
    if (missed > 0) {
      metrics.leadershipChecksMissed.inc(missed);
      tracer.emit({ type: 'SlotMissed', slot: slot - missed, count: missed });
    }
    // cardano-node: a tip in this very slot by another pool → an alternative on its predecessor.
    const fp = chooseForgeParent(chain.tip(), slot, toHex(this.keys.coldVkey), (key) => chain.get(key));
    if (!fp) return;
    const tip = fp.parent ?? undefined;
    const t0 = performance.now();
    const lp = this.leadership(slot, tip ? tip.data.nonce : chain.genesisNonce);
    this.prepareNext(slot + 1);
    if (!lp) return;
    const epoch = epochOf(slot, genesis);
    const pv = this.k.protocolVersionAt(epoch);
    const tLead = performance.now();
    mempool.syncWithLedger(this.k.ledger);
    const leiosEra = this.k.isLeiosEpoch(epoch);
    // Linear Leios: certify the parent's EB if the timing rule and a quorum allow (then no txs).
    let cert: Uint8Array | undefined;
    let certTxIds = new Set<string>();
    const ann = tip?.data.header.ebAnnounce;
    let certSpent: Set<string> | undefined;
    if (leiosEra && tip && ann && !fp.alternative) {
      cert = leios.certificateFor({ slot: tip.slot, ebHash: ann.hash }, slot);
      const adv = this.k.adversary;
      if (adv.any) {
        const allowed = certAllowed(tip.slot, slot, genesis.leios) && !!leios.get(ann.hash)?.complete;
        cert = adv.certificate({ parentSlot: tip.slot, ebHash: ann.hash, slot, allowed, real: cert, persistentSeats: leios.committee(tip.data.nonce.epochNonce).persistent.length });
      }
      const e = cert ? leios.get(ann.hash) : undefined;
      const certTxs = (e && leios.decodedTxs(e)) ?? [];
      certTxIds = new Set(certTxs.map((t) => t.idHex));
      // The new EB extends the ledger after the certified EB: nothing may spend what it spent.
      certSpent = new Set(certTxs.flatMap((t) => t.body.inputs.map((i) => `${toHex(i.txId)}#${i.index}`)));
    }
    // An alternative block carries nothing: the mempool was validated against the other tip.
    const txs = cert || fp.alternative ? [] : mempool.takeForBlock(genesis.protocolParams.maxBlockBodySize);
    let eb;
    let tSelect = performance.now();
    if (leiosEra && !fp.alternative) {
      const exclude = new Set([...certTxIds, ...txs.map((t) => t.idHex)]);
      tSelect = performance.now();
      eb = this.makeEb(slot, exclude, certSpent);
    }
    const tEb = performance.now();
    const block = forgeBlock(
      lp,
      tip ? { hash: tip.data.hash, blockNo: tip.blockNo } : null,
      { txs: txs.map((t) => t.bytes), cert: cert ?? null },
      this.keys,
      pv,
      { ebAnnounce: eb ? { hash: eb.hash, size: eb.bytes.length, txBytes: eb.txBytes } : null, certified: !!cert },
    );
    const node = chain.addHeader(block.header, block.headerBytes, { leaderValue: lp.leaderValue, nonceValue: lp.nonceValue, poolId: this.keys.poolId });
    chain.addBody(block);
    node.data.validated = true; // built from mempool txs validated against this tip
    this.k.noteTxsOf(node.data.block!, txs);
    metrics.rbForged.inc();
    tracer.rbGenerated({
      id: toHex(block.hash),
      slot,
      size_bytes: block.bytes.length,
      tx_payload_bytes: block.bodyBytes.length,
      parent: tip ? tip.key : null,
      endorsement: cert && ann ? toHex(ann.hash) : null,
      announced_eb: eb ? toHex(eb.hash) : null,
      block_no: block.header.blockNo,
      tx_count: txs.length,
    });
    leios.noteHeader(block.header.issuerVkey, slot, toHex(block.hash), eb ? { ebHash: eb.hash, epochNonce: node.data.nonce.epochNonce } : undefined);
    this.forged?.(block);
    this.adopt();
    // Where the time from the slot's start to the relayed header went: a header later than L_hdr
    // gets no votes, and on a loaded machine each phase can take tens of ms.
    const tEnd = performance.now();
    const delayS = Math.max(0, (this.k.clock.nowMs() - this.k.clock.slotStartMs(slot)) / 1000);
    metrics.rbForgeDelay.observe({ kind: cert ? 'cert' : 'tx' }, delayS);
    const ms = (a: number, b: number) => Math.round((b - a) * 10) / 10;
    this.k.log.info(
      { slot, kind: cert ? 'cert' : 'tx', txs: txs.length, ebTxs: eb?.eb.txs.length ?? 0, sinceSlotStartMs: Math.round(delayS * 1000), lateStartMs: Math.round(delayS * 1000 - (tEnd - t0)), leadershipMs: ms(t0, tLead), selectMs: ms(tLead, tSelect), ebMs: ms(tSelect, tEb), blockMs: ms(tEb, tEnd) },
      'forged',
    );
  }

  private leadershipParams() {
    const g = this.k.genesis;
    return { epochLengthSlots: g.epochLengthSlots, f: g.activeSlotCoeff, totalStake: this.k.stake.total, leaderIntervalSlots: praosParams(g).leaderIntervalSlots };
  }

  /** Do we lead `slot` (seen from a tip with this nonce state)? The precomputed answer when it applies. */
  private leadership(slot: number, tipNonce: Parameters<typeof leadershipNonce>[1]): LeaderProof | undefined {
    const p = this.leadershipParams();
    const epochNonce = leadershipNonce(slot, tipNonce, p);
    const a = this.ahead;
    if (a && a.slot === slot && bytesEqual(a.epochNonce, epochNonce)) return a.lp;
    return checkLeadershipWith(slot, epochNonce, this.keys, p);
  }

  /** Check `slot` ahead, once the event loop has done what this slot brought. */
  private prepareNext(slot: number): void {
    if (this.aheadTimer) clearImmediate(this.aheadTimer);
    this.aheadTimer = setImmediate(() => {
      this.aheadTimer = undefined;
      const tip = this.k.chain.tip();
      const p = this.leadershipParams();
      const epochNonce = leadershipNonce(slot, tip ? tip.data.nonce : this.k.chain.genesisNonce, p);
      this.ahead = { slot, epochNonce, lp: checkLeadershipWith(slot, epochNonce, this.keys, p) };
    });
  }

  /**
   * The EB for a new RB, from mempool txs not in the RB (never an empty one). `spent`: inputs
   * consumed by a certified EB this RB applies first, so the new EB extends the ledger after it
   * (a mempool tx conflicting with it is left out, with its dependents).
   */
  private makeEb(slot: number, exclude: ReadonlySet<string>, spent?: ReadonlySet<string>): EncodedEb | undefined {
    const p = this.k.genesis.leios;
    const txs = this.k.adversary.ebTxs(this.k.mempool.takeForEb(p.ebMaxRefBytes - 64, p.ebMaxTxBytes, { exclude, spent }), slot);
    if (txs.length === 0) return undefined;
    const enc = encodeEb({ slot, producer: this.keys.poolId, txs: txs.map((t) => ({ id: t.id, size: t.size })) });
    if (checkEbLimits(enc, p)) return undefined;
    const now = Date.now();
    const e: EbEntry = { enc, txs: txs.map((t) => t.bytes), missing: 0, complete: true, stored: false, rbSlot: slot, receivedAtMs: now, sigsOk: true, validatedAtMs: now, extendsRb: true, decoded: txs };
    this.k.metrics.ebForged.inc();
    this.k.tracer.ebGenerated({ id: toHex(enc.hash), slot, size_bytes: enc.bytes.length, tx_count: txs.length, tx_payload_bytes: enc.txBytes });
    this.k.leios.addOwnEb(e);
    return enc;
  }
}
