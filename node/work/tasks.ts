// The heavy, state-free checks a node hands to its worker threads, and how each is computed.
// One function per task so the worker and an in-thread fallback run the very same code.

import { blsVerifyVotesBatch, voteMessage } from '../crypto/bls.ts';
import { ed25519Verify } from '../crypto/ed25519.ts';
import { verifyEligibility, type CommitteeSelection } from '../leios/committee.ts';
import { CommitteeCache } from '../leios/committee-cache.ts';
import { decodeCertificate, verifyCertificate } from '../leios/certificate.ts';
import type { Committee, Pool } from '../genesis/schema.ts';

export type Task =
  /** Votes of one election on one EB: committee membership, eligibility proof (non-persistent
   *  seats) and BLS signature, per-vote verdicts. */
  | { kind: 'votes'; epochNonce: Uint8Array; electionId: number; ebHash: Uint8Array; votes: { poolId: string; sig: Uint8Array; eligibility: Uint8Array | null }[] }
  /** A certificate against the election's committee: null = valid, else the reason. */
  | { kind: 'certificate'; cert: Uint8Array; epochNonce: Uint8Array; quorum: number }
  /** Ed25519 witnesses packed 128 bytes each (vkey 32 ‖ msg = tx id 32 ‖ sig 64), so one
   *  buffer crosses to the worker instead of thousands of views: per-item verdicts. */
  | { kind: 'witnesses'; packed: Uint8Array };

export type TaskResult<T extends Task> = T extends { kind: 'certificate' } ? string | null : boolean[];

/** Genesis facts a worker needs for committee-dependent tasks. */
export interface WorkerInit {
  pools: Pool[];
  committee: Committee;
}

export class TaskRunner {
  private readonly committees: CommitteeCache;
  constructor(init: WorkerInit) {
    this.committees = new CommitteeCache(init.pools, init.committee);
  }

  private committee(nonce: Uint8Array): CommitteeSelection {
    return this.committees.get(nonce);
  }

  run(t: Task): boolean[] | string | null {
    switch (t.kind) {
      case 'votes':
        return checkVotes(this.committee(t.epochNonce), t);
      case 'witnesses': {
        const n = t.packed.length >> 7;
        const out = new Array<boolean>(n);
        for (let i = 0; i < n; i++) {
          const o = i << 7;
          out[i] = ed25519Verify(t.packed.subarray(o, o + 32), t.packed.subarray(o + 32, o + 64), t.packed.subarray(o + 64, o + 128));
        }
        return out;
      }
      case 'certificate': {
        let cert;
        try {
          cert = decodeCertificate(t.cert);
        } catch (e) {
          return `malformed certificate: ${(e as Error).message}`;
        }
        const v = verifyCertificate(cert, this.committee(t.epochNonce), t.quorum);
        return v.ok ? null : `certificate rejected: ${v.reason}`;
      }
    }
  }
}

/** Per-vote verdict: a committee member, with a seat-granting proof if non-persistent, whose
 *  signature verifies (batched: one pairing product when all are valid). */
export function checkVotes(sel: CommitteeSelection, t: Extract<Task, { kind: 'votes' }>): boolean[] {
  const ok = new Array<boolean>(t.votes.length).fill(false);
  const items: { i: number; pk: Uint8Array; sig: Uint8Array }[] = [];
  const np: { i: number; index: number; proof: Uint8Array }[] = [];
  t.votes.forEach((v, i) => {
    const m = sel.byPoolId.get(v.poolId);
    if (!m || v.sig.length !== 48) return;
    if (m.role === 'persistent') items.push({ i, pk: sel.persistent[m.index].pk, sig: v.sig });
    else if (v.eligibility) np.push({ i, index: m.index, proof: v.eligibility });
  });
  for (const c of np) {
    // One claim at a time: a bad proof must not sink the others.
    if (verifyEligibility(sel, t.electionId, [{ index: c.index, proof: c.proof }]).ok) items.push({ i: c.i, pk: sel.nonPersistentCandidates[c.index].pk, sig: t.votes[c.i].sig });
  }
  const v = blsVerifyVotesBatch(voteMessage(t.electionId, t.ebHash), items);
  items.forEach((it, j) => (ok[it.i] = v[j]));
  return ok;
}

/** Pack witnesses for the 'witnesses' task. */
export function packWitnesses(items: { vkey: Uint8Array; msg: Uint8Array; sig: Uint8Array }[]): Uint8Array {
  const out = new Uint8Array(items.length * 128);
  items.forEach((w, i) => {
    if (w.vkey.length !== 32 || w.msg.length !== 32 || w.sig.length !== 64) return; // left zero: verifies as false
    out.set(w.vkey, i * 128);
    out.set(w.msg, i * 128 + 32);
    out.set(w.sig, i * 128 + 64);
  });
  return out;
}
