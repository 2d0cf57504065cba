import { Type } from '@sinclair/typebox';
import { encodeEb } from '../leios/eb.ts';
import { toHex } from '../crypto/hash.ts';
import { defineBehaviour } from './types.ts';

// EB equivocation: two EBs for one RB slot. The RB header announces EB A; the producer also
// builds a twin B (the same transactions in another order, so another hash) and offers B
// instead of A to half of its peers. Only the announced EB may get votes and a certificate:
// honest nodes fetch A by the header's hash from whoever has it, and never vote for B, which
// no RB announces.

export const ebEquivocation = defineBehaviour({
  name: 'eb-equivocation',
  summary: 'for each own EB build a twin (same txs reordered) and offer it instead of the announced EB to half the peers',
  expect: 'only announced EBs are voted and certified, never a twin; honest nodes agree on the tip',
  params: Type.Object(
    {
      share: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of peers offered the twin instead of the announced EB (default 0.5)' })),
    },
    { additionalProperties: false },
  ),
  create(p, env) {
    const share = p.share ?? 0.5;
    return {
      ebOffer(eb) {
        if (!eb.own) return 'pass';
        const held = env.ebClosure(eb.hashHex);
        if (!held || held.enc.eb.txs.length < 2) return 'pass'; // one tx has one order: nothing to equivocate with
        const order = held.enc.eb.txs.map((_, i) => i).reverse();
        const twin = encodeEb({ ...held.enc.eb, txs: order.map((i) => held.enc.eb.txs[i]!) });
        env.holdEb(twin, order.map((i) => held.txs[i]!));
        const peers = env.peers();
        const cut = Math.round(peers.length * share);
        const toTwin = peers.slice(0, cut);
        const twinRef = { hash: twin.hash, hashHex: toHex(twin.hash), slot: eb.slot, size: twin.bytes.length, own: true };
        env.trace('eb-equivocation', 'twin', { eb: eb.hashHex, twin: twinRef.hashHex, slot: eb.slot, twinTo: toTwin });
        if (toTwin.length) env.offerEb(twinRef, toTwin);
        if (peers.length > cut) env.offerEb(eb, peers.slice(cut));
        return 'taken';
      },
    };
  },
});
