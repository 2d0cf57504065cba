// The ledger rules of a ranking block, as chain selection applies them (the LedgerPort):
// body size, protocol version by era, Leios content only in the Leios era, EB announcement
// limits, and a certified RB (CIP-164 step 5): a certificate for the EB its parent announced,
// no earlier than the certification window, no transactions of its own, the certified EB's
// transactions applied first without re-validation. Governance actions are checked (signature,
// no replay) and folded into the block's governance state.

import type { Block } from './block.ts';
import type { LedgerPort } from './chain-state.ts';
import type { Genesis } from '../genesis/schema.ts';
import type { Ledger, Tx, UndoRecord } from '../ledger/index.ts';
import { bodySize } from '../ledger/index.ts';
import type { StakeView } from '../consensus/stake.ts';
import type { LeiosEngine } from '../leios/engine.ts';
import { epochOf } from '../consensus/nonce.ts';
import { applyGovernance, checkedGovernance, EMPTY_GOV, govParams, type GovState } from '../consensus/governance.ts';
import { certAllowed } from '../leios/rules.ts';

export interface BlockRulesDeps {
  genesis: Genesis;
  ledger: Ledger;
  stake: StakeView;
  leios: Pick<LeiosEngine, 'get' | 'decodedTxs'>;
  /** A block's transactions, decoded (undefined: a tx does not decode). */
  txsOf(b: Block): Tx[] | undefined;
  eraAt(epoch: number, gov: GovState): { era: string; protocolVersion: number };
}

export function blockRules(d: BlockRulesDeps): LedgerPort<UndoRecord[]> {
  const { genesis, ledger } = d;
  const gp = govParams(genesis, d.stake);
  return {
    applyBlock: (info, parent, level) => {
      const b = info.block!;
      const txs = d.txsOf(b);
      if (!txs) return { ok: false, reason: 'malformed' };
      if (bodySize(txs) > genesis.protocolParams.maxBlockBodySize) return { ok: false, reason: 'body-too-large' };
      const h = b.header;
      const parentGov = parent ? (parent.gov ?? EMPTY_GOV) : EMPTY_GOV;
      const epoch = epochOf(h.slot, genesis);
      const era = d.eraAt(epoch, parentGov);
      if (h.protocolVersion !== era.protocolVersion) return { ok: false, reason: 'bad-protocol-version' };
      if (era.era !== 'leios' && (h.ebAnnounce || h.certified || b.body.cert)) return { ok: false, reason: 'leios-content-before-leios-era' };
      if (h.ebAnnounce && (h.ebAnnounce.size > genesis.leios.ebMaxRefBytes || h.ebAnnounce.txBytes > genesis.leios.ebMaxTxBytes))
        return { ok: false, reason: 'eb-too-large' };
      const undo: UndoRecord[] = [];
      if (h.certified !== (b.body.cert !== null)) return { ok: false, reason: 'certified-flag-mismatch' };
      let certTxs: Tx[] = [];
      if (h.certified) {
        const ann = parent?.header.ebAnnounce;
        if (!parent || !ann) return { ok: false, reason: 'certificate-without-eb' };
        if (!certAllowed(parent.header.slot, h.slot, genesis.leios)) return { ok: false, reason: 'certificate-too-early' };
        if (txs.length > 0) return { ok: false, reason: 'certified-rb-with-txs' };
        const e = d.leios.get(ann.hash);
        const ebTxs = e?.complete ? d.leios.decodedTxs(e) : undefined;
        if (!ebTxs) return { ok: false, reason: 'certified-eb-unavailable' };
        // Verified in the worker pool when the body arrived (LeiosNode.receiveBlock); blocks from
        // our DB or our own forge need no check.
        if (level === 'validate' && info.certCheck !== undefined && info.certCheck !== 'ok') return { ok: false, reason: info.certCheck };
        // Certified EB content is applied without re-validation.
        const r = ledger.applyBody(ebTxs, 'trusted');
        if (!r.ok) return { ok: false, reason: r.reason };
        undo.push(r.undo);
        certTxs = ebTxs;
      }
      const r = ledger.applyBody(txs, level);
      if (!r.ok) {
        for (const u of undo.reverse()) ledger.undo(u);
        return { ok: false, reason: r.reason };
      }
      undo.push(r.undo);
      // Certified content was checked when it was voted on; the RB's own actions are checked here.
      const afterCert = certTxs.length ? applyGovernance(parentGov, certTxs, h.slot, gp) : parentGov;
      if (level === 'validate') {
        const g = checkedGovernance(afterCert, txs, h.slot, gp);
        if (!g.ok) {
          for (const u of undo.reverse()) ledger.undo(u);
          return { ok: false, reason: g.reason };
        }
        info.gov = g.gov;
      } else info.gov = applyGovernance(afterCert, txs, h.slot, gp);
      return { ok: true, undo };
    },
    undoBlock: (u) => {
      for (let i = u.length - 1; i >= 0; i--) ledger.undo(u[i]);
    },
  };
}
