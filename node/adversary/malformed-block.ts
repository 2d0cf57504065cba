import { Type } from '@sinclair/typebox';
import { encodeBlock, encodeBody, type Body } from '../chain/block.ts';
import { toHex } from '../crypto/hash.ts';
import { chosen, defineBehaviour } from './types.ts';

// A malformed block body: the pool forges and announces its RBs as usual (the header is valid
// and diffuses header-first), but serves a body that does not match it to every peer that
// fetches it — the same header with another body (one tx fewer, or no certificate), or, for an
// empty block, bytes that do not decode. Honest nodes must refuse it with a trace naming why
// (BlockRejected: body-hash-mismatch / undecodable), drop the connection that sent it, never
// adopt the block, and keep forging and agreeing on their own chain.

export const malformedBlock = defineBehaviour({
  name: 'malformed-block',
  summary: 'serve own RBs with a body that does not match the header (another body, or undecodable bytes) to every peer that fetches them',
  expect: 'honest nodes refuse the body (BlockRejected with the reason), never adopt the block, keep forging and agree on the tip',
  params: Type.Object(
    {
      share: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of own RBs served malformed, chosen by block hash (default 1)' })),
    },
    { additionalProperties: false },
  ),
  create(p, env) {
    const share = p.share ?? 1;
    const traced = new Set<string>();
    return {
      blockOut(b, own) {
        if (!own || !chosen(b.hash, share)) return undefined;
        let bytes: Uint8Array;
        let variant: string;
        if (b.body.txs.length > 0 || b.body.cert) {
          const body: Body = b.body.txs.length > 0 ? { txs: b.body.txs.slice(0, -1), cert: b.body.cert } : { txs: [], cert: null };
          bytes = encodeBlock(b.headerBytes, encodeBody(body)).slice();
          variant = 'other-body';
        } else {
          bytes = b.bytes.slice(0, Math.max(1, b.bytes.length - 3));
          variant = 'truncated';
        }
        const rb = toHex(b.hash);
        if (!traced.has(rb)) {
          traced.add(rb);
          if (traced.size > 1000) traced.delete(traced.values().next().value!);
          env.trace('malformed-block', 'served', { rb, slot: b.header.slot, variant });
        }
        return bytes;
      },
    };
  },
});
