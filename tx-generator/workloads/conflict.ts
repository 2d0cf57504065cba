import { rampedRate, TokenBucket } from '../rate.ts';
import type { TxShape, Workload, WorkloadParams } from './types.ts';

/** Is tx i a twin, for a twin share f (≤ 0.5)? Exactly ⌊(i+1)·f⌋ of the first i+1 txs are. */
export function isTwin(i: number, f: number): boolean {
  return Math.floor((i + 1) * f + 1e-9) > Math.floor(i * f + 1e-9);
}

/**
 * Conflicting txs: a share `conflictFraction` of the txs are twins — they spend exactly the
 * inputs of the fresh tx just before them and go to the next target, so two nodes see two
 * valid but conflicting txs at about the same time (the adversary case "same UTxO spent in
 * parallel"). At most one of each pair can reach the chain.
 */
export function conflictWorkload(p: WorkloadParams & { conflictFraction: number }): Workload {
  const f = Math.min(0.5, Math.max(0, p.conflictFraction));
  let freshCount = 0;
  let lastFreshTarget = 0;
  let lastI = -1;
  return {
    kind: 'conflict',
    arrivals: new TokenBucket(rampedRate(p.tps, p.rampUpS)),
    freshShare: 1 - f,
    shape(i): TxShape {
      // the round-robin position depends on history; shape() is called in order
      if (i !== lastI + 1) throw new RangeError('conflict workload: shape() must be called in order');
      lastI = i;
      if (i > 0 && isTwin(i, f)) return { kind: 'twin', targets: [(lastFreshTarget + 1) % p.targets] };
      lastFreshTarget = freshCount++ % p.targets;
      return { kind: 'fresh', targets: [lastFreshTarget] };
    },
  };
}
