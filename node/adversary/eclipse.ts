import { Type } from '@sinclair/typebox';
import { defineBehaviour } from './types.ts';

// Eclipse: a victim whose every peer is adversarial sees only what they choose to show it. Each
// eclipsing node serves its victims nothing new while it is on: ChainSync stops at what they
// already have (no roll-forward, no relayed headers), no EB offers, no votes, no txs. The victim
// keeps its connections (nothing looks broken) but its chain stalls, it cannot vote on EBs it
// never hears of, and what it forges itself stays on a fork. Honest nodes that are not eclipsed
// must still agree and certify EBs; once the eclipse ends the victim must catch up (Praos: a
// fork of at most k blocks is rolled back).

export const eclipse = defineBehaviour({
  name: 'eclipse',
  summary: 'serve the victim peers nothing new (no headers, blocks, EB offers, votes or txs) while on; with every peer of a victim doing it, the victim is eclipsed',
  expect: 'the other honest nodes agree and certify EBs; the victim stalls while eclipsed and catches up with the honest chain once the eclipse ends',
  params: Type.Object(
    {
      victims: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { uniqueItems: true, description: 'peer names to starve (default: none, so the behaviour does nothing)' })),
    },
    { additionalProperties: false },
  ),
  create(p, env) {
    const victims = new Set(p.victims ?? []);
    if (victims.size) env.trace('eclipse', 'eclipsing', { victims: [...victims] });
    return {
      serves: (peer) => !victims.has(peer),
      tip(t) {
        // each block the victims are not shown
        if (victims.size) env.trace('eclipse', 'withheld', { slot: t.slot, victims: [...victims] });
      },
    };
  },
});
