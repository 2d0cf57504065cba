// Validating an EB closure, in the two steps CIP-164 asks before a vote: its transactions'
// witnesses (in the worker pool, fresh EBs only, each tx once per node) and condition 5, the
// closure as a valid extension of the ledger at the announcing RB (read-only, in slices
// between event-loop turns so a 12 MB closure never holds up RB header relay).

import { tryDecodeTx, checkTx, inputKeys, type Ledger, type Tx, type TxOut } from '../ledger/index.ts';
import type { WorkerPool } from '../work/pool.ts';
import { verifyWitnessesAhead } from '../work/witnesses.ts';
import type { EbEntry } from './eb-store.ts';

/** Txs per ledger-check slice; decoding yields every 32 txs. */
const LEDGER_SLICE = 64;

/** The closure decoded (cached once complete); undefined while a tx is missing or one does not decode. */
export function decodedTxs(e: EbEntry): Tx[] | undefined {
  if (e.decoded) return e.decoded;
  const out: Tx[] = [];
  for (let i = 0; i < e.txs.length; i++) {
    const t = e.txs[i];
    if (!t) return undefined;
    const known = e.parts?.[i];
    if (known) {
      out.push(known);
      continue;
    }
    const r = tryDecodeTx(t);
    if (!r.ok) return undefined;
    out.push(r.tx);
  }
  if (e.complete) e.decoded = out;
  return out;
}

/** Decode a closure in slices between event-loop turns (a 12 MB EB is ~8,000 txs). */
async function decodeSliced(e: EbEntry): Promise<Tx[] | undefined> {
  if (e.decoded) return e.decoded;
  const out: Tx[] = [];
  let decodedHere = 0;
  for (let i = 0; i < e.txs.length; i++) {
    const known = e.parts?.[i];
    if (known) {
      out.push(known);
      continue;
    }
    const b = e.txs[i];
    const r = b && tryDecodeTx(b);
    if (!r || !r.ok) return undefined;
    out.push(r.tx);
    if ((++decodedHere & 31) === 0) await new Promise((res) => setImmediate(res));
  }
  e.decoded ??= out;
  e.parts = undefined;
  return e.decoded;
}

/**
 * Every witness of the closure verifies (checked in the worker pool; txs seen in the mempool
 * already were, so they are skipped). undefined: the pool closed (shutting down), no verdict.
 */
export async function checkWitnesses(e: EbEntry, workers: WorkerPool): Promise<boolean | undefined> {
  const txs = await decodeSliced(e);
  if (!txs) return false;
  return verifyWitnessesAhead(txs, workers);
}

export class LedgerCheck {
  private readonly nowMs: () => number;
  private readonly running = new WeakSet<EbEntry>();

  constructor(nowMs: () => number) {
    this.nowMs = nowMs;
  }

  /**
   * Condition 5: do the EB's txs form a valid extension of the ledger, which must be at the
   * announcing RB (the caller's tip)? Read-only (an overlay of the EB's own outputs and spends
   * over the ledger) and sliced; witnesses were checked in the worker pool first
   * (signature-cache hits here). Aborts if the ledger moves on meanwhile (the RB is no longer
   * the tip). `governanceOk`: the closure's governance actions against the tip's governance
   * state (signatures, no replays), which the UTxO ledger knows nothing of. Sets `extendsRb` and
   * `validatedAtMs`; `done` runs when a verdict is in.
   */
  run(e: EbEntry, ledger: Ledger, done: () => void, governanceOk?: (txs: readonly Tx[]) => boolean): void {
    if (e.extendsRb !== undefined || e.sigsOk === undefined || this.running.has(e)) return;
    const txs = e.sigsOk ? decodedTxs(e) : undefined;
    if (!txs) {
      e.extendsRb = false;
      e.validatedAtMs = this.nowMs();
      done();
      return;
    }
    this.running.add(e);
    const version = ledger.version;
    const produced = new Map<string, TxOut>();
    const spent = new Set<string>();
    const lookup = (k: string): TxOut | undefined => (spent.has(k) ? undefined : (produced.get(k) ?? ledger.get(k)));
    let i = 0;
    const step = (): void => {
      if (ledger.version !== version) {
        this.running.delete(e); // the tip moved: validate again against the new one if it still announces this EB
        return;
      }
      const end = Math.min(txs.length, i + LEDGER_SLICE);
      for (; i < end; i++) {
        const tx = txs[i];
        const keys = inputKeys(tx);
        if (checkTx(tx, lookup, ledger.params, 'validate', keys) !== null) {
          i = -1;
          break;
        }
        for (const k of keys) spent.add(k);
        tx.body.outputs.forEach((o, j) => produced.set(`${tx.idHex}#${j}`, o));
      }
      if (i !== -1 && i < txs.length) {
        setImmediate(step);
        return;
      }
      this.running.delete(e);
      e.extendsRb = i !== -1 && (governanceOk?.(txs) ?? true);
      e.validatedAtMs = this.nowMs();
      done();
    };
    step();
  }
}
