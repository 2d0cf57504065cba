// Helpers the checks share: which node to submit to, funding the check wallet, and waiting
// until every following node reports a tx included (GET /tx/:id).

import type { TxStatus } from '../../../node/admin/hooks.ts';
import { buildTx, type Tx, type TxOut } from '../../../node/ledger/tx.ts';
import type { CheckSpec } from '../../profile/schema.ts';
import { followers } from '../live.ts';
import { nodeStates } from '../view.ts';
import { submitTx, txStatus } from './client.ts';
import type { CheckContext } from './types.ts';
import type { Coin } from './wallet.ts';

export const DEFAULT_WITHIN_S = 60;

export function withinS(spec: CheckSpec): number {
  return spec.withinS ?? DEFAULT_WITHIN_S;
}

/** Following nodes now (running, with a tip, not stopped at a fork). */
export async function followerNames(ctx: CheckContext): Promise<string[]> {
  return followers(await nodeStates(ctx.dep)).map(([n]) => n);
}

/** The node to submit to: the spec's, else the first following node. */
export async function submitNode(ctx: CheckContext, spec: CheckSpec): Promise<string> {
  if (spec.node) return spec.node;
  const f = await followerNames(ctx);
  if (f.length === 0) throw new Error('no running node follows the chain');
  return f[0]!;
}

export interface Inclusion {
  /** every asked node reported it included */
  all: boolean;
  statuses: Record<string, TxStatus | { status: 'error'; message: string }>;
  elapsedS: number;
  /** where the first node saw it */
  where?: { slot: number; blockHash: string; eb?: string };
}

/** Poll GET /tx/:id on `nodes` (default: the followers at each poll) until all say included. */
export async function waitIncluded(ctx: CheckContext, idHex: string, timeoutS: number, nodes?: string[], until?: (s: Inclusion) => boolean): Promise<Inclusion> {
  const start = Date.now();
  for (;;) {
    const names = nodes ?? (await followerNames(ctx));
    const statuses: Inclusion['statuses'] = {};
    await Promise.all(
      names.map(async (n) => {
        try {
          statuses[n] = await txStatus(ctx.dep.node(n).endpoints(), idHex);
        } catch (e) {
          statuses[n] = { status: 'error', message: (e as Error).message };
        }
      }),
    );
    const inc = Object.values(statuses).filter((s): s is Extract<TxStatus, { status: 'included' }> => s.status === 'included');
    const r: Inclusion = {
      all: names.length > 0 && inc.length === names.length,
      statuses,
      elapsedS: Math.round((Date.now() - start) / 100) / 10,
      ...(inc[0] ? { where: { slot: inc[0].slot, blockHash: inc[0].blockHash, ...(inc[0].eb ? { eb: inc[0].eb } : {}) } } : {}),
    };
    if ((until ? until(r) : r.all) || Date.now() - start >= timeoutS * 1000) return r;
    await ctx.sleep(ctx.pollMs);
  }
}

export function summarise(s: Inclusion['statuses']): Record<string, string> {
  return Object.fromEntries(
    Object.entries(s).map(([n, st]) => [n, st.status === 'included' ? `included slot ${st.slot} ${st.blockHash.slice(0, 8)}${st.eb ? ` (EB ${st.eb.slice(0, 8)})` : ''}` : st.status === 'error' ? `error: ${st.message}` : st.status]),
  );
}

/**
 * Make sure the wallet has `n` coins of its own: spend one genesis output into `max(n, 8)`
 * outputs and wait until every follower has it. A genesis output the generator already spent is
 * refused (missing-input / conflict): the next one is tried.
 */
export async function ensureCoins(ctx: CheckContext, node: string, n: number, timeoutS: number): Promise<Record<string, unknown> | undefined> {
  if (ctx.wallet.available >= n) return undefined;
  const tries: Record<string, unknown>[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const f = ctx.wallet.fundingTx(Math.max(n, 8));
    if (!f) break;
    const r = await submitTx(ctx.dep.node(node).endpoints(), f.tx.bytes);
    tries.push({ tx: f.tx.idHex, spends: f.spent.key, accepted: r.accepted, ...(r.accepted ? {} : { reason: r.reason }) });
    if (!r.accepted) continue;
    const inc = await waitIncluded(ctx, f.tx.idHex, timeoutS);
    if (!inc.all) throw new Error(`funding tx ${f.tx.idHex.slice(0, 16)} not included on every node within ${timeoutS} s: ${JSON.stringify(summarise(inc.statuses))}`);
    ctx.wallet.add(f.tx);
    return { funding: tries, fundingIncludedS: inc.elapsedS };
  }
  throw new Error(`could not fund the check wallet: ${JSON.stringify(tries)}`);
}

/** A payment from one of our coins to `outputs` (change back to us), padded to `padToBytes` if set. */
export function payment(coin: Coin, outputs: TxOut[], ctx: CheckContext, padToBytes?: number): Tx {
  return buildTx({
    inputs: [coin],
    outputs,
    changeAddress: ctx.wallet.own.address,
    protocolParams: ctx.wallet.pp,
    signers: [coin.signer],
    ...(padToBytes !== undefined ? { padToBytes } : {}),
  });
}

/** Submit `tx` to `node` and wait until every follower has it included; the common core of the inclusion checks. */
export async function submitAndSeeIncluded(ctx: CheckContext, spec: CheckSpec, node: string, tx: Tx, coin: Coin, extra: Record<string, unknown> = {}): Promise<{ passed: boolean; detail: string; evidence: Record<string, unknown> }> {
  const r = await submitTx(ctx.dep.node(node).endpoints(), tx.bytes);
  const evidence: Record<string, unknown> = { ...extra, tx: tx.idHex, size: tx.size, outputs: tx.body.outputs.length, fee: tx.body.fee, submittedTo: node, reply: r };
  if (!r.accepted) {
    ctx.wallet.giveBack(coin);
    return { passed: false, detail: `${node} refused it: ${r.reason}`, evidence };
  }
  const inc = await waitIncluded(ctx, tx.idHex, withinS(spec));
  evidence.inclusion = { ...summarise(inc.statuses) };
  evidence.includedAfterS = inc.elapsedS;
  if (inc.where) evidence.where = inc.where;
  if (!inc.all) return { passed: false, detail: `not included on every node within ${withinS(spec)} s`, evidence };
  ctx.wallet.add(tx);
  const nodes = Object.keys(inc.statuses).length;
  return { passed: true, detail: `tx ${tx.idHex.slice(0, 12)} (${tx.size} B, ${tx.body.outputs.length} outputs) included on ${nodes} nodes after ${inc.elapsedS} s at slot ${inc.where?.slot}${inc.where?.eb ? ' via a certified EB' : ''}`, evidence };
}
