import { Type } from '@sinclair/typebox';
import { decodeVote } from '../leios/eb.ts';
import { defineBehaviour } from './types.ts';

// Withheld votes: votes are cast (and count here) but never sent; with `relayed`, the node
// also stops relaying other voters' votes (a black hole in vote diffusion).

export const withholdVotes = defineBehaviour({
  name: 'withhold-votes',
  summary: 'cast votes but never send them; optionally relay no one else\'s either',
  expect: 'honest votes reach a quorum around the black hole; tip agreement holds',
  params: Type.Object(
    {
      relayed: Type.Optional(Type.Boolean({ description: 'also drop other voters\' votes instead of relaying them (default true)' })),
    },
    { additionalProperties: false },
  ),
  create(p, env) {
    const relayed = p.relayed ?? true;
    return {
      votesOut(votes, slot) {
        const keep = relayed ? [] : votes.filter((b) => decodeVote(b).poolId !== env.poolId);
        if (keep.length !== votes.length) env.trace('withhold-votes', 'dropped', { election: slot, votes: votes.length - keep.length });
        return keep;
      },
    };
  },
});
