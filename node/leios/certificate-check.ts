// A certificate carried by a received RB: the cheap structural check on the event loop, the
// full check (committee, quorum of total active stake, aggregate signature) in the worker
// pool, and its voters for traces.

import { toHex } from '../crypto/hash.ts';
import type { WorkerPool } from '../work/pool.ts';
import { decodeCertificate, type Certificate } from './certificate.ts';
import type { CommitteeSelection } from './committee.ts';

/** Structure only: the certificate decodes and names the election and EB of the RB's parent. */
export function precheckCertificate(bytes: Uint8Array, ebHash: Uint8Array, electionSlot: number): string | null {
  let cert: Certificate;
  try {
    cert = decodeCertificate(bytes);
  } catch (e) {
    return `malformed certificate: ${(e as Error).message}`;
  }
  if (cert.electionId !== electionSlot || toHex(cert.ebHash) !== toHex(ebHash)) return 'certificate is for another EB';
  return null;
}

/** Full check: null = valid, else the reason. */
export async function verifyCertificate(workers: WorkerPool, bytes: Uint8Array, ebHash: Uint8Array, electionSlot: number, epochNonce: Uint8Array, quorum: number): Promise<string | null> {
  const pre = precheckCertificate(bytes, ebHash, electionSlot);
  if (pre) return pre;
  return workers.run({ kind: 'certificate', cert: bytes, epochNonce, quorum });
}

/** Pool ids of a certificate's voters (no cryptography; [] if it does not decode). */
export function certificateVoters(bytes: Uint8Array, committee: () => CommitteeSelection): string[] {
  try {
    const cert = decodeCertificate(bytes);
    const sel = committee();
    const out: string[] = [];
    sel.persistent.forEach((m, i) => {
      if (cert.persistentVoters[i >> 3] & (1 << (i & 7))) out.push(m.poolId);
    });
    for (const v of cert.nonPersistentVoters) {
      const c = sel.nonPersistentCandidates[v.index];
      if (c) out.push(c.poolId);
    }
    return out;
  } catch {
    return [];
  }
}
