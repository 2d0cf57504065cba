import type { Arrivals } from '../rate.ts';
import type { WorkloadKind } from '../config.ts';

// One interface for every workload: *when* txs arrive (`arrivals`, open loop) and *what*
// each arrival is (`shape`). The generator builds and signs the tx, never reusing a pending
// input except where a shape says so (a conflict twin).

/** What the i-th tx of the benchmark is. Targets are indices into the config's targets. */
export type TxShape =
  /** A tx on fresh inputs, offered to each of `targets` (more than one = the same tx to
   *  several nodes). */
  | { kind: 'fresh'; targets: number[] }
  /** A different tx spending exactly the inputs of the latest fresh tx (a double spend),
   *  offered to `targets`. */
  | { kind: 'twin'; targets: number[] };

export interface Workload {
  readonly kind: WorkloadKind;
  readonly arrivals: Arrivals;
  /** Shape of tx number i (0-based, in arrival order). Deterministic. */
  shape(i: number): TxShape;
  /** Share of txs that need fresh inputs (UTxO planning). */
  readonly freshShare: number;
}

export interface WorkloadParams {
  /** number of targets (≥ 1) */
  targets: number;
  /** target tx/s */
  tps: number;
  rampUpS: number;
  seed: number;
}
