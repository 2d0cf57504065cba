import { Type } from '@sinclair/typebox';
import { decodeVote, encodeVote } from '../leios/eb.ts';
import { chosen, defineBehaviour } from './types.ts';

// Invalid votes (threat model T3, vote flooding with bad signatures): this node's own votes go
// out with a signature over the wrong message (a real curve point, so only the pairing check
// refuses it). Honest nodes verify votes before relaying them: the vote is never relayed nor
// counted, votes_invalid counts it and the sender's connection is closed.

const enc = new TextEncoder();

export const invalidVotes = defineBehaviour({
  name: 'invalid-votes',
  summary: 'send own votes with a bad BLS signature',
  expect: 'honest nodes refuse them (leios_votes_invalid_total), never relay them, drop the sender; certificates come from honest votes',
  params: Type.Object(
    {
      share: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of own votes corrupted, chosen by election (default 1)' })),
    },
    { additionalProperties: false },
  ),
  create(p, env) {
    const share = p.share ?? 1;
    return {
      votesOut(votes, slot) {
        return votes.map((b) => {
          const v = decodeVote(b);
          if (v.poolId !== env.poolId || !chosen(v.ebHash, share)) return b;
          const sig = env.blsSign(enc.encode(`forged:${v.electionId}`));
          if (!sig) return b;
          env.trace('invalid-votes', 'sent', { election: v.electionId, slot });
          return encodeVote({ ...v, sig });
        });
      },
    };
  },
});
