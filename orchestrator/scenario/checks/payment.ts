// payment: one input, one output to a fresh address (plus change), included on every node.
import { hash224 } from '../../../node/crypto/hash.ts';
import { ensureCoins, payment, submitAndSeeIncluded, submitNode, withinS } from './common.ts';
import type { CheckDef } from './types.ts';

export const paymentCheck: CheckDef = {
  name: 'payment',
  async run(ctx, spec) {
    const node = await submitNode(ctx, spec);
    const funded = await ensureCoins(ctx, node, 1, withinS(spec));
    const coin = ctx.wallet.take()!;
    const to = hash224(new TextEncoder().encode(`payee/${coin.key}`));
    const tx = payment(coin, [{ address: to, amount: 1_000_000 }], ctx);
    return submitAndSeeIncluded(ctx, spec, node, tx, coin, funded ?? {});
  },
};
