import { Type } from '@sinclair/typebox';
import { chosen, defineBehaviour } from './types.ts';
import { hash256 } from '../crypto/hash.ts';

// Lazy voter: a committee member that does not vote (in a share of elections). Its stake is
// missing from every quorum; with enough honest stake EBs are still certified.

export const lazyVoter = defineBehaviour({
  name: 'lazy-voter',
  summary: 'a committee member that casts no votes (in a share of elections)',
  expect: 'EBs are still certified while the honest voters hold the quorum; tip agreement holds',
  params: Type.Object(
    {
      share: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of elections skipped, chosen by election slot (default 1)' })),
    },
    { additionalProperties: false },
  ),
  create(p, env) {
    const share = p.share ?? 1;
    return {
      castVote(slot) {
        if (!chosen(hash256(new TextEncoder().encode(`lazy:${slot}`)), share)) return true;
        env.trace('lazy-voter', 'skipped', { election: slot });
        return false;
      },
    };
  },
});
