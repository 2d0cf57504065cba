import { Type } from '@sinclair/typebox';
import { chosen, defineBehaviour } from './types.ts';

// Threat model T4, EB withholding: announce the EB in the RB header, never offer or serve it.
// Honest nodes cannot vote for an EB they never get, so it is never certified; the RB itself
// is adopted and the chain goes on; the EB's transactions stay in the mempools.

export const ebWithholding = defineBehaviour({
  name: 'eb-withholding',
  summary: 'announce own EBs in RB headers, never offer or serve them',
  expect: 'withheld EBs are never certified; honest nodes agree on the tip and go on certifying their own EBs',
  params: Type.Object(
    {
      share: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of own EBs withheld, chosen by EB hash (default 1)' })),
      relayed: Type.Optional(Type.Boolean({ description: 'also withhold EBs received from peers (default false)' })),
    },
    { additionalProperties: false },
  ),
  create(p, env) {
    const share = p.share ?? 1;
    const withheld = new Set<string>();
    return {
      ebOffer(eb) {
        if ((!eb.own && !p.relayed) || !chosen(eb.hash, share)) return 'pass';
        withheld.add(eb.hashHex);
        env.trace('eb-withholding', 'withheld', { eb: eb.hashHex, slot: eb.slot });
        return 'drop';
      },
      ebServe: (h) => !withheld.has(h),
    };
  },
});
