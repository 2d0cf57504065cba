// double-spend: tx A and tx B spend the same coin. A is accepted; B is refused while A waits in
// the mempool (conflict) and again once A is on chain (the ledger: missing-input).
import { hash224 } from '../../../node/crypto/hash.ts';
import { submitTx } from './client.ts';
import { ensureCoins, payment, summarise, submitNode, waitIncluded, withinS } from './common.ts';
import type { CheckDef } from './types.ts';

export const doubleSpendCheck: CheckDef = {
  name: 'double-spend',
  async run(ctx, spec) {
    const node = await submitNode(ctx, spec);
    const funded = await ensureCoins(ctx, node, 1, withinS(spec));
    const coin = ctx.wallet.take()!;
    const a = payment(coin, [{ address: hash224(new TextEncoder().encode(`a/${coin.key}`)), amount: 1_000_000 }], ctx);
    const b = payment(coin, [{ address: hash224(new TextEncoder().encode(`b/${coin.key}`)), amount: 2_000_000 }], ctx);
    const ep = ctx.dep.node(node).endpoints();
    const ra = await submitTx(ep, a.bytes);
    const rb1 = await submitTx(ep, b.bytes);
    const evidence: Record<string, unknown> = { ...(funded ?? {}), spends: coin.key, submittedTo: node, first: { tx: a.idHex, reply: ra }, secondWhilePending: { tx: b.idHex, reply: rb1 } };
    if (!ra.accepted) {
      ctx.wallet.giveBack(coin);
      return { passed: false, detail: `the first spend was refused: ${ra.reason}`, evidence };
    }
    const inc = await waitIncluded(ctx, a.idHex, withinS(spec));
    evidence.firstInclusion = summarise(inc.statuses);
    if (inc.all) ctx.wallet.add(a);
    const rb2 = await submitTx(ep, b.bytes);
    evidence.secondAfterInclusion = { tx: b.idHex, reply: rb2 };
    const reasons = [rb1, rb2].map((r) => (r.accepted ? 'accepted' : r.reason));
    const passed = !rb1.accepted && !rb2.accepted && inc.all;
    const detail = passed
      ? `second spend of ${coin.key.slice(0, 12)}… refused: ${reasons[0]} (pending), ${reasons[1]} (after inclusion); the first included after ${inc.elapsedS} s`
      : `second spend: ${reasons.join(' / ')}; first included on every node: ${inc.all}`;
    return { passed, detail, evidence };
  },
};
