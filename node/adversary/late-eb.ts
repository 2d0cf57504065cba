import { Type } from '@sinclair/typebox';
import { defineBehaviour } from './types.ts';

// Late EB: offer (and serve) own EBs only `delayMs` after their closure is complete. Past the
// voting period (3·L_hdr + L_vote slots after the RB) honest nodes no longer vote for it; a
// shorter delay only eats into the voters' validation time.

export const lateEb = defineBehaviour({
  name: 'late-eb',
  summary: 'offer and serve own EBs only delayMs after forging them',
  expect: 'an EB released after its voting period is not certified; honest nodes agree on the tip',
  params: Type.Object(
    {
      delayMs: Type.Optional(Type.Number({ minimum: 0, maximum: 600_000, description: 'delay before the EB is offered and served (default 3000)' })),
    },
    { additionalProperties: false },
  ),
  create(p, env) {
    const delayMs = p.delayMs ?? 3000;
    const held = new Map<string, NodeJS.Timeout>();
    return {
      ebOffer(eb) {
        if (!eb.own) return 'pass';
        const t = setTimeout(() => {
          held.delete(eb.hashHex);
          env.trace('late-eb', 'released', { eb: eb.hashHex, slot: eb.slot, delayMs });
          env.offerEb(eb);
        }, delayMs);
        t.unref();
        held.set(eb.hashHex, t);
        return 'taken';
      },
      ebServe: (h) => !held.has(h),
      stop() {
        for (const t of held.values()) clearTimeout(t);
        held.clear();
      },
    };
  },
});
