// Where transactions enter the node: from peers (TxSubmission), clients (admin API) and this
// pool's own governance actions. Governance txs are checked against the stake and the chain's
// proposals first; everything else is the mempool's verdict.

import { governanceActionError } from './consensus/governance.ts';
import { ed25519Sign } from './crypto/ed25519.ts';
import { toHex } from './crypto/hash.ts';
import { tryDecodeTx, signTx, updateSigningBytes, proposalId, type Tx, type TxUpdate } from './ledger/index.ts';
import type { NodeKernel } from './kernel.ts';
import { verifyWitnessesAhead } from './work/witnesses.ts';

export type GovernanceAction = { kind: 'propose'; era: 'praos' | 'leios'; protocolVersion: number; epoch: number } | { kind: 'endorse'; proposalId: string };

/**
 * Below this many witnesses a peer's batch is verified on the event loop (a few ms at most): a
 * worker round trip per small TxSubmission reply cost more main-thread CPU than the checks (in a
 * ci-bench profile, postMessage alone was 6 % of a node's busy samples).
 */
const PEER_BATCH_MIN_WITNESSES = 48;

/**
 * Txs from a peer: their witnesses are verified in the worker pool first (work/witnesses.ts), so
 * admitting a batch of hundreds costs the event loop no signature checks; then submitTxs.
 */
export async function submitPeerTxs(k: NodeKernel, txs: Uint8Array[], decoded: WeakMap<Uint8Array, Tx>): Promise<(string | null)[]> {
  const fresh: Tx[] = [];
  for (const b of txs) {
    const t = decoded.get(b);
    if (t && !k.mempool.has(t.idHex)) fresh.push(t);
  }
  await verifyWitnessesAhead(fresh, k.workers, PEER_BATCH_MIN_WITNESSES);
  return submitTxs(k, txs, decoded);
}

/** Per-tx reject reason or null (accepted). `decoded`: txs the caller already decoded. */
export function submitTxs(k: NodeKernel, txs: Uint8Array[], decoded?: WeakMap<Uint8Array, Tx>): (string | null)[] {
  const out: (string | null)[] = [];
  for (const bytes of txs) {
    const pre = decoded?.get(bytes);
    const d = pre ? ({ ok: true, tx: pre } as const) : tryDecodeTx(bytes);
    const u = d.ok ? d.tx.body.update : undefined;
    const gErr = u ? (governanceActionError(u, k.tipGov(), k.stake) ?? checkEndorsedKnown(k, u)) : null;
    if (gErr) {
      k.metrics.txRejected.inc({ reason: gErr });
      out.push(gErr);
      continue;
    }
    // Decoded once here; mempool.add would decode again (it keeps the size/malformed verdicts).
    const r = d.ok && bytes.length <= k.genesis.protocolParams.maxTxSize ? k.mempool.addTx(d.tx) : k.mempool.add(bytes);
    if (r.ok) {
      k.metrics.txAccepted.inc();
      out.push(null);
    } else {
      k.metrics.txRejected.inc({ reason: r.reason });
      if (k.adversary.any && d.ok) k.adversary.txRefused(d.tx, r.reason);
      out.push(r.reason);
    }
  }
  k.updateMempoolMetrics();
  return out;
}

/** An endorsement must name a proposal on our chain or in our mempool. */
function checkEndorsedKnown(k: NodeKernel, u: TxUpdate): string | null {
  if (u.kind !== 'endorse') return null;
  const id = toHex(u.proposalId);
  if (k.tipGov().proposals[id]) return null;
  for (const t of k.mempool.txs()) if (t.body.update?.kind === 'propose' && toHex(proposalId(t.body.update)) === id) return null;
  return 'update-unknown-proposal';
}

/** Build, sign (with this pool's cold key) and submit a governance action. */
export function governanceTx(k: NodeKernel, pool: { poolId: string; coldSeed: Uint8Array }, a: GovernanceAction): { tx: string; proposalId: string } | { error: string } {
  const poolId = pool.poolId;
  const unsigned: TxUpdate =
    a.kind === 'propose'
      ? { kind: 'propose', protocolVersion: a.protocolVersion, era: a.era, epoch: a.epoch, poolId, sig: new Uint8Array(0) }
      : { kind: 'endorse', proposalId: Buffer.from(a.proposalId, 'hex'), poolId, sig: new Uint8Array(0) };
  const update = { ...unsigned, sig: ed25519Sign(pool.coldSeed, updateSigningBytes(unsigned)) } as TxUpdate;
  const tx = signTx({ inputs: [], outputs: [], fee: 0, update }, []);
  const [reason] = submitTxs(k, [tx.bytes]);
  if (reason) return { error: reason };
  const pid = update.kind === 'propose' ? toHex(proposalId(update)) : toHex(update.proposalId);
  k.log.info({ kind: a.kind, proposalId: pid, tx: tx.idHex }, 'governance action submitted');
  return { tx: tx.idHex, proposalId: pid };
}
