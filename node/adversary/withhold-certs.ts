import { Type } from '@sinclair/typebox';
import { defineBehaviour } from './types.ts';

// Withheld certificates: when this node forges the RB that could certify its parent's EB, it
// leaves the certificate out (and fills the RB with transactions instead). The EB's
// transactions stay in the mempools for a later EB or RB.

export const withholdCerts = defineBehaviour({
  name: 'withhold-certs',
  summary: 'never put a certificate into the RBs this node forges',
  expect: 'other producers still certify EBs; the withheld EBs\' transactions reach the ledger later',
  params: Type.Object({}, { additionalProperties: false }),
  create(_p, env) {
    return {
      certificate(c, current) {
        if (current) env.trace('withhold-certs', 'withheld', { eb: Buffer.from(c.ebHash).toString('hex'), election: c.parentSlot, slot: c.slot });
        return undefined;
      },
    };
  },
});
