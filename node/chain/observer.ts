// Turns chain switches into what an observer sees: rollback and adoption traces (RBAdopted,
// TxIncluded, CertIncluded with its voters, HardFork, GovernanceAction) and the chain metrics
// (adoptions and their delay, ledger throughput, certificates, height, protocol version).
// No chain state is changed here.

import type { Block } from './block.ts';
import type { BlockInfo, ChainState, SwitchResult } from './chain-state.ts';
import type { Genesis } from '../genesis/schema.ts';
import type { NodeMetrics } from '../obs/metrics.ts';
import type { TraceWriter } from '../obs/trace.ts';
import type { LeiosEngine, EbEntry } from '../leios/engine.ts';
import type { Tx } from '../ledger/index.ts';
import type { GovState } from '../consensus/governance.ts';
import { epochOf } from '../consensus/nonce.ts';
import { toHex } from '../crypto/hash.ts';

export interface ChainObserverDeps {
  genesis: Genesis;
  chain: ChainState<unknown>;
  metrics: NodeMetrics;
  tracer: TraceWriter;
  leios: Pick<LeiosEngine, 'decodedTxs' | 'certificateVoters'>;
  txsOf(b: Block): Tx[] | undefined;
  certifiedEbOf(b: BlockInfo): EbEntry | undefined;
  eraAt(epoch: number, gov: GovState | undefined): { era: string; protocolVersion: number };
  firstProtocolVersion: number;
  /** Start of a slot on the node's clock (ms). */
  slotStartMs(slot: number): number;
}

export class ChainObserver {
  private readonly d: ChainObserverDeps;
  constructor(d: ChainObserverDeps) {
    this.d = d;
  }

  /** `live`: a switch while running (not the replay of the chain DB at start). */
  switched(r: SwitchResult, live: boolean): void {
    const { metrics, tracer, chain } = this.d;
    if (r.rolledBack.length > 0) {
      metrics.rollbacks.inc();
      metrics.rollbackDepth.observe(r.rolledBack.length);
      const newTip = r.adopted[r.adopted.length - 1];
      const anc = r.rolledBack[r.rolledBack.length - 1].header.prevHash;
      tracer.rollback({
        from: toHex(r.rolledBack[0].hash),
        to: newTip ? toHex(newTip.hash) : anc ? toHex(anc) : '',
        depth: r.rolledBack.length,
        intersection: anc ? toHex(anc) : null,
        ...(newTip ? { slot: newTip.header.slot } : {}),
      });
    }
    if (live) for (const a of r.adopted) this.adopted(a);
    const tip = chain.tip();
    metrics.blockHeight.set(chain.blockNo());
    if (tip) metrics.protocolVersion.set(tip.data.header.protocolVersion);
  }

  private adopted(a: BlockInfo): void {
    const { metrics, tracer } = this.d;
    const certEb = a.header.certified ? this.d.certifiedEbOf(a) : undefined;
    const certTxs = (certEb && this.d.leios.decodedTxs(certEb)) ?? [];
    const ebHex = certEb ? toHex(certEb.enc.hash) : undefined;
    metrics.rbAdopted.inc();
    const delay = (Date.now() - this.d.slotStartMs(a.header.slot)) / 1000;
    metrics.rbAdoptionDelay.observe(Math.max(0, delay));
    const txs = this.d.txsOf(a.block!) ?? [];
    metrics.ledgerTxApplied.inc(txs.length + certTxs.length);
    metrics.ledgerTxBytesApplied.inc([...txs, ...certTxs].reduce((s, t) => s + t.size, 0));
    // the funnel's last stage (node/obs/funnel.ts): RB-body txs, then the certified EB's
    metrics.funnel.txsApplied(txs.map((t) => t.idHex));
    if (ebHex) metrics.funnel.txsApplied(certTxs.map((t) => t.idHex), ebHex);
    const parent = a.header.prevHash ? this.d.chain.get(toHex(a.header.prevHash)) : undefined;
    const prevPv = parent ? parent.data.header.protocolVersion : this.d.firstProtocolVersion;
    if (a.header.protocolVersion !== prevPv) {
      const epoch = epochOf(a.header.slot, this.d.genesis);
      tracer.hardFork({ era: this.d.eraAt(epoch, a.gov).era, epoch, slot: a.header.slot, protocolVersion: a.header.protocolVersion });
    }
    for (const t of txs) if (t.body.update) tracer.emit({ type: 'GovernanceAction', kind: t.body.update.kind, poolId: t.body.update.poolId, tx: t.idHex, slot: a.header.slot, adopted: a.gov?.updates.length ?? 0 });
    if (a.header.ebAnnounce) metrics.ebTxBytes.inc(a.header.ebAnnounce.txBytes);
    if (certEb && parent) {
      metrics.certsIncluded.inc();
      metrics.ebCertified.inc();
      metrics.ebCertifiedTxBytes.inc(certTxs.reduce((n, t) => n + t.size, 0));
      metrics.ebCertificationDelay.observe(Math.max(0, (Date.now() - this.d.slotStartMs(parent.slot)) / 1000));
      tracer.certIncluded({ eb: ebHex!, rb: toHex(a.hash), slot: a.header.slot, ebSlot: parent.slot, voters: this.d.leios.certificateVoters(a.block!.body.cert!, parent.data.nonce.epochNonce) });
      if (certTxs.length) tracer.txIncluded({ count: certTxs.length, ids: certTxs.map((t) => t.idHex), rb: toHex(a.hash), eb: ebHex, slot: a.header.slot });
    }
    const id = toHex(a.hash);
    tracer.rbAdopted({ id, slot: a.header.slot, blockNo: a.header.blockNo, parent: a.header.prevHash ? toHex(a.header.prevHash) : null, delayS: delay });
    if (txs.length) tracer.txIncluded({ count: txs.length, ids: txs.map((t) => t.idHex), rb: id, slot: a.header.slot });
  }
}
