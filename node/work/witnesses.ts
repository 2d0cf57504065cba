// Ed25519 witness checks in the worker pool, ahead of validation: a tx whose witnesses verified
// there is noted in the ledger's signature cache, so the ledger rules (checkTx, on the event loop)
// find the verdict instead of verifying again. Used for EB closures and for txs from peers: a
// TxSubmission batch of hundreds of txs verified on the event loop held up RB header relay.

import { noteWitnessesVerified, witnessesKnown, type Tx } from '../ledger/index.ts';
import type { WorkerPool } from './pool.ts';
import { packWitnesses } from './tasks.ts';

/**
 * Verify the witnesses of `txs` not verified here before. true: all verify; false: some tx has a
 * bad witness (it is not noted, so the ledger rules refuse it with their reason); undefined: no
 * verdict (the pool closed, or fewer than `minBatch` witnesses to check: not worth a round trip).
 */
export async function verifyWitnessesAhead(txs: readonly Tx[], workers: WorkerPool, minBatch = 1): Promise<boolean | undefined> {
  const todo = txs.filter((t) => t.witnesses.length > 0 && !witnessesKnown(t));
  if (todo.length === 0) return true;
  // A worker round trip costs the event loop ~0.1-0.2 ms (postMessage, the reply), several
  // Ed25519 checks' worth: a small batch is left to the ledger rules on this thread.
  let n = 0;
  for (const t of todo) n += t.witnesses.length;
  if (n < minBatch) return undefined;
  const items = todo.flatMap((t) => t.witnesses.map((w) => ({ vkey: w.vkey, msg: t.id, sig: w.sig })));
  let ok: boolean[];
  try {
    ok = await workers.run({ kind: 'witnesses', packed: packWitnesses(items) });
  } catch {
    return undefined;
  }
  let j = 0;
  let all = true;
  for (const t of todo) {
    let good = true;
    for (let w = 0; w < t.witnesses.length; w++) good = ok[j++] && good;
    if (good) noteWitnessesVerified(t);
    all &&= good;
  }
  return all;
}
