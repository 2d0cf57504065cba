import { rampedRate, TokenBucket } from '../rate.ts';
import type { TxShape, Workload, WorkloadParams } from './types.ts';

/** The same tx to `duplicateFanout` consecutive targets (the first rotates). */
export function duplicateWorkload(p: WorkloadParams & { duplicateFanout: number }): Workload {
  const k = Math.max(1, Math.min(p.duplicateFanout, p.targets));
  return {
    kind: 'duplicate',
    arrivals: new TokenBucket(rampedRate(p.tps, p.rampUpS)),
    freshShare: 1,
    shape: (i): TxShape => ({ kind: 'fresh', targets: Array.from({ length: k }, (_, j) => (i + j) % p.targets) }),
  };
}
