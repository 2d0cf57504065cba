// bad-witness: a payment whose signature is flipped in one bit is refused as bad-witness, and so
// is one signed by a key that does not own the input; the coin stays spendable.
import { hash224 } from '../../../node/crypto/hash.ts';
import { makeSigner, signTx } from '../../../node/ledger/tx.ts';
import { submitTx } from './client.ts';
import { ensureCoins, payment, submitNode, withinS } from './common.ts';
import type { CheckDef } from './types.ts';

export const badWitnessCheck: CheckDef = {
  name: 'bad-witness',
  async run(ctx, spec) {
    const node = await submitNode(ctx, spec);
    const funded = await ensureCoins(ctx, node, 1, withinS(spec));
    const coin = ctx.wallet.take()!;
    const good = payment(coin, [{ address: hash224(new TextEncoder().encode(`w/${coin.key}`)), amount: 1_000_000 }], ctx);
    // same body, one bit of the signature flipped: tx = [body, [[vkey, sig]]], so sig is the last 64 bytes
    const corrupt = new Uint8Array(good.bytes);
    const sigAt = corrupt.length - 64;
    corrupt[sigAt] = corrupt[sigAt]! ^ 1;
    const stranger = signTx(good.body, [makeSigner(new Uint8Array(32).fill(7))]);
    const ep = ctx.dep.node(node).endpoints();
    const r1 = await submitTx(ep, corrupt);
    const r2 = await submitTx(ep, stranger.bytes);
    ctx.wallet.giveBack(coin);
    const evidence = { ...(funded ?? {}), submittedTo: node, spends: coin.key, flippedSignature: { tx: good.idHex, reply: r1 }, wrongKey: { tx: stranger.idHex, reply: r2 } };
    const reasons = [r1, r2].map((r) => (r.accepted ? 'accepted' : r.reason));
    const passed = reasons.every((x) => x === 'bad-witness');
    return { passed, detail: `flipped signature: ${reasons[0]}; signed by another key: ${reasons[1]} (want bad-witness)`, evidence };
  },
};
