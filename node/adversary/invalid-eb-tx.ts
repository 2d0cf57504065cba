import { Type } from '@sinclair/typebox';
import { finalizeTx, signTx, type Tx } from '../ledger/index.ts';
import { hash224, hash256 } from '../crypto/hash.ts';
import { ed25519PublicKey } from '../crypto/ed25519.ts';
import { chosen, defineBehaviour } from './types.ts';

// Invalid data in an EB: every EB this node forges also references one transaction that is
// not valid (it spends an output that does not exist, or its witness signature is wrong).
// The tx decodes and matches its reference, so honest nodes fetch the closure and only the
// validity checks before voting (witnesses in the worker pool, then the ledger extension)
// refuse it: no honest vote, no certificate, and the RB itself is adopted as usual.

const enc = new TextEncoder();

export const invalidEbTx = defineBehaviour({
  name: 'invalid-eb-tx',
  summary: 'each own EB also references an invalid tx (missing input, or a bad witness)',
  expect: 'such EBs get no honest votes and are never certified; honest nodes keep forging and agree',
  params: Type.Object(
    {
      kind: Type.Optional(Type.Union([Type.Literal('missing-input'), Type.Literal('bad-witness')], { description: 'what is wrong with the tx (default missing-input)' })),
      share: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of own EBs made invalid, chosen by slot (default 1)' })),
    },
    { additionalProperties: false },
  ),
  create(p, env) {
    const kind = p.kind ?? 'missing-input';
    const share = p.share ?? 1;
    const seed = hash256(enc.encode(`adversary:${env.name}:payment`));
    const address = hash224(ed25519PublicKey(seed));
    return {
      ebTxs(txs: Tx[], slot: number): Tx[] {
        if (!chosen(hash256(enc.encode(`invalid-eb-tx:${slot}`)), share)) return txs;
        const body = { inputs: [{ txId: hash256(enc.encode(`adversary:${env.name}:nowhere:${slot}`)), index: 0 }], outputs: [{ address, amount: 1_000_000 }], fee: 10_000 };
        let bad = signTx(body, [seed]);
        if (kind === 'bad-witness') {
          const sig = new Uint8Array(bad.witnesses[0]!.sig);
          sig[0]! ^= 0xff;
          bad = finalizeTx({ body: bad.body, witnesses: [{ vkey: bad.witnesses[0]!.vkey, sig }] });
        }
        env.trace('invalid-eb-tx', 'injected', { slot, tx: bad.idHex, kind });
        return [...txs, bad];
      },
    };
  },
});
