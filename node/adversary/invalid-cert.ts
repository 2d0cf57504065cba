import { Type } from '@sinclair/typebox';
import { decodeCertificate, encodeCertificate } from '../leios/certificate.ts';
import { toHex } from '../crypto/hash.ts';
import { defineBehaviour } from './types.ts';

// A bad certificate: whenever the timing rule lets an RB this node forges certify its parent's
// EB, it carries a certificate with a forged aggregate signature — the real one's voters with
// a wrong signature, or, without a quorum, every persistent seat claimed. Honest nodes verify
// certificates before the block becomes selectable: the RB is never adopted, with the reason
// in a trace; the chain goes on without it.

const enc = new TextEncoder();

export const invalidCert = defineBehaviour({
  name: 'invalid-cert',
  summary: 'certify the parent EB with a forged aggregate signature whenever the timing rule allows',
  expect: 'RBs carrying them are never adopted by honest nodes (CertificateRejected traces); honest nodes agree on the tip',
  params: Type.Object(
    {
      withoutQuorum: Type.Optional(Type.Boolean({ description: 'also forge one when no quorum was reached, claiming every persistent seat (default true)' })),
    },
    { additionalProperties: false },
  ),
  create(p, env) {
    const withoutQuorum = p.withoutQuorum ?? true;
    return {
      certificate(c, current) {
        if (!c.allowed) return current;
        const signature = env.blsSign(enc.encode(`forged-certificate:${c.parentSlot}`));
        if (!signature) return current;
        let forged: Uint8Array | undefined;
        if (current) forged = encodeCertificate({ ...decodeCertificate(current), signature });
        else if (withoutQuorum && c.persistentSeats > 0) {
          const bits = new Uint8Array(Math.ceil(c.persistentSeats / 8));
          for (let i = 0; i < c.persistentSeats; i++) bits[i >> 3]! |= 1 << (i & 7);
          forged = encodeCertificate({ electionId: c.parentSlot, ebHash: c.ebHash, persistentVoters: bits, nonPersistentVoters: [], signature });
        }
        if (!forged) return current;
        env.trace('invalid-cert', 'forged', { eb: toHex(c.ebHash), election: c.parentSlot, slot: c.slot, hadQuorum: !!current });
        return forged;
      },
    };
  },
});
