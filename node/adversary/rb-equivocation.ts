import { Type } from '@sinclair/typebox';
import { makeBlock, type Block, type Body, type HeaderBody } from '../chain/block.ts';
import { toHex } from '../crypto/hash.ts';
import { chosen, defineBehaviour } from './types.ts';

// RB header equivocation (CIP-164 "Equivocation Detection"; Praos): for a slot it leads, the
// pool signs a second, different block — same slot, parent and VRF proof, another body — with
// the same KES key and opcert, and sends its header to every peer through the ChainSync header
// relay (RelayHeader) while the first block goes out as usual. Both headers are valid, so
// honest nodes see two headers for one (slot, issuer): they trace RBHeaderEquivocation, count
// it, relay the pair (so nodes not connected to the equivocator learn it) and keep following
// the chain they have; the twin is never fetched or adopted.

/** How the twin's body differs: it is a valid block either way. */
export type TwinVariant = 'one-tx-fewer' | 'no-certificate' | 'no-eb';

/**
 * A second valid block for `b`'s slot, signed with `sign(slot, msg)` (the pool's KES key):
 * the body without its last tx, else without its certificate, else the header without its EB
 * announcement. `undefined` for an empty block (nothing to vary).
 */
export function twinBlock(b: Block, sign: (slot: number, msg: Uint8Array) => Uint8Array): { block: Block; variant: TwinVariant } | undefined {
  const { signature: _sig, ...hb } = b.header;
  const header: HeaderBody = { ...hb, bodyHash: new Uint8Array(32), bodySize: 0 };
  let body: Body;
  let variant: TwinVariant;
  if (b.body.txs.length > 0) {
    body = { txs: b.body.txs.slice(0, -1), cert: b.body.cert };
    variant = 'one-tx-fewer';
  } else if (b.body.cert) {
    body = { txs: [], cert: null };
    header.certified = false;
    variant = 'no-certificate';
  } else if (b.header.ebAnnounce) {
    body = b.body;
    header.ebAnnounce = null;
    variant = 'no-eb';
  } else return undefined;
  return { block: makeBlock(header, body, (msg) => sign(b.header.slot, msg)), variant };
}

export const rbEquivocation = defineBehaviour({
  name: 'rb-equivocation',
  summary: 'for each RB this pool forges, sign a second different block for the same slot and relay its header to every peer',
  expect: 'every honest node detects the equivocation (RBHeaderEquivocation, leios_rb_equivocations_total), relays the pair, and honest nodes agree on the tip',
  params: Type.Object(
    {
      share: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of own RBs equivocated, chosen by block hash (default 1)' })),
      delayMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000, description: 'send the twin header this long after forging (default 0)' })),
    },
    { additionalProperties: false },
  ),
  create(p, env) {
    const share = p.share ?? 1;
    const delayMs = p.delayMs ?? 0;
    const timers = new Set<ReturnType<typeof setTimeout>>();
    return {
      rbForged(b) {
        if (!chosen(b.hash, share)) return;
        const sign = env.signHeader;
        if (!sign) return; // not a pool
        const rb = toHex(b.hash);
        const twin = twinBlock(b, sign);
        if (!twin) {
          env.trace('rb-equivocation', 'skipped', { rb, slot: b.header.slot, why: 'empty block: no second body to sign' });
          return;
        }
        const send = () => {
          env.relayHeaders([twin.block.headerBytes]);
          env.trace('rb-equivocation', 'equivocated', { rb, twin: toHex(twin.block.hash), slot: b.header.slot, variant: twin.variant });
        };
        if (delayMs === 0) send();
        else {
          const t = setTimeout(() => {
            timers.delete(t);
            send();
          }, delayMs);
          timers.add(t);
        }
      },
      stop() {
        for (const t of timers) clearTimeout(t);
        timers.clear();
      },
    };
  },
});
