// max-size: a tx padded to exactly maxTxSize is accepted and included; the same tx one byte
// larger is refused as too-large (the boundary seen from both sides).
import { buildTx, TxBuildError, type Tx } from '../../../node/ledger/tx.ts';
import { submitTx } from './client.ts';
import { ensureCoins, submitAndSeeIncluded, submitNode, withinS } from './common.ts';
import type { CheckDef } from './types.ts';
import type { Coin } from './wallet.ts';

function padded(coin: Coin, size: number, ctx: Parameters<CheckDef['run']>[0], enforce: boolean): Tx {
  const { maxTxSize, ...fees } = ctx.wallet.pp;
  return buildTx({
    inputs: [coin],
    outputs: [{ address: ctx.wallet.own.address, amount: 1_000_000 }],
    changeAddress: ctx.wallet.own.address,
    protocolParams: enforce ? { ...fees, maxTxSize } : fees,
    signers: [coin.signer],
    padToBytes: size,
  });
}

export const maxSizeCheck: CheckDef = {
  name: 'max-size',
  async run(ctx, spec) {
    const node = await submitNode(ctx, spec);
    const funded = await ensureCoins(ctx, node, 2, withinS(spec));
    const max = ctx.wallet.pp.maxTxSize;
    const over = ctx.wallet.take()!;
    const big = padded(over, max + 1, ctx, false);
    const refused = await submitTx(ctx.dep.node(node).endpoints(), big.bytes);
    ctx.wallet.giveBack(over);
    const coin = ctx.wallet.take()!;
    // padding lands on the exact size, or a byte above when a CBOR length head grows: step down
    let tx: Tx | undefined;
    for (let target = max; target > max - 8 && !tx; target--) {
      try {
        const t = padded(coin, target, ctx, true);
        if (t.size <= max) tx = t;
      } catch (e) {
        if (!(e instanceof TxBuildError)) throw e;
      }
    }
    if (!tx) return { passed: false, detail: `could not build a tx of ${max} B`, evidence: { maxTxSize: max } };
    const oversize = { size: big.size, reply: refused };
    const r = await submitAndSeeIncluded(ctx, spec, node, tx, coin, { ...(funded ?? {}), maxTxSize: max, oversize });
    const refusedOk = !refused.accepted && refused.reason === 'too-large';
    if (!refusedOk) return { passed: false, detail: `a ${big.size} B tx (maxTxSize ${max}) was ${refused.accepted ? 'accepted' : `refused as ${refused.reason}`}, want too-large`, evidence: r.evidence };
    return r.passed ? { ...r, detail: `${tx.size} B of maxTxSize ${max}: ${r.detail}; ${big.size} B refused: too-large` } : r;
  },
};
