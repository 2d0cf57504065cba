// multi-output: one input into many outputs (20 by default), included on every node.
import { hash224 } from '../../../node/crypto/hash.ts';
import { ensureCoins, payment, submitAndSeeIncluded, submitNode, withinS } from './common.ts';
import type { CheckDef } from './types.ts';

export const multiOutputCheck: CheckDef = {
  name: 'multi-output',
  async run(ctx, spec) {
    const node = await submitNode(ctx, spec);
    const funded = await ensureCoins(ctx, node, 1, withinS(spec));
    const coin = ctx.wallet.take()!;
    const n = spec.outputs ?? 20;
    const outputs = Array.from({ length: n }, (_, i) => ({ address: hash224(new TextEncoder().encode(`payee/${coin.key}/${i}`)), amount: 1_000_000 + i }));
    const tx = payment(coin, outputs, ctx);
    const r = await submitAndSeeIncluded(ctx, spec, node, tx, coin, funded ?? {});
    return r.passed ? { ...r, detail: `${n} outputs: ${r.detail}` } : r;
  },
};
