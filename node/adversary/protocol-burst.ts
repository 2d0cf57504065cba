import { Type } from '@sinclair/typebox';
import { defineBehaviour, type EbRef } from './types.ts';

// Protocol burst (threat model, and the Leios team's burst demo): withhold own EBs until
// `count` are held, then release them all at once as soon as an honest RB becomes the tip,
// so their diffusion competes with that RB's. Freshest-first delivery (Praos > fresh Leios >
// stale Leios) must keep the honest RB's diffusion and the chain unharmed; the released EBs
// are stale by then and are not certified.

export const protocolBurst = defineBehaviour({
  name: 'protocol-burst',
  summary: 'withhold own EBs until count are held, release them all at once when an honest RB becomes the tip',
  expect: 'tip agreement holds, RB diffusion stays within bounds, the burst EBs are not certified',
  params: Type.Object(
    {
      count: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'EBs held before a release (default 3)' })),
      repeat: Type.Optional(Type.Boolean({ description: 'hold and release again after each burst (default true)' })),
    },
    { additionalProperties: false },
  ),
  create(p, env) {
    const count = p.count ?? 3;
    const repeat = p.repeat ?? true;
    let held: EbRef[] = [];
    let done = false;
    const release = (why: string) => {
      const burst = held;
      held = [];
      if (burst.length === 0) return;
      env.trace('protocol-burst', 'released', { count: burst.length, why, ebs: burst.map((e) => e.hashHex), slots: burst.map((e) => e.slot) });
      env.log.warn({ count: burst.length, why }, 'adversary: EB burst released');
      for (const e of burst) env.offerEb(e);
      if (!repeat) done = true;
    };
    return {
      ebOffer(eb) {
        if (!eb.own || done) return 'pass';
        held.push(eb);
        env.trace('protocol-burst', 'held', { eb: eb.hashHex, slot: eb.slot, held: held.length });
        return 'taken';
      },
      ebServe: (h) => !held.some((e) => e.hashHex === h),
      tip(t) {
        if (!t.own && held.length >= count) release(`honest RB at slot ${t.slot}`);
      },
      stop: () => release('turned off'),
    };
  },
});
