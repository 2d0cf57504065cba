import { rampedRate, TokenBucket } from '../rate.ts';
import type { TxShape, Workload, WorkloadParams } from './types.ts';

/** Default workload: value transfers at a constant (ramped) rate, round robin over targets. */
export function valueWorkload(p: WorkloadParams): Workload {
  return {
    kind: 'value',
    arrivals: new TokenBucket(rampedRate(p.tps, p.rampUpS)),
    freshShare: 1,
    shape: (i): TxShape => ({ kind: 'fresh', targets: [i % p.targets] }),
  };
}
