import { onOffRate, TokenBucket } from '../rate.ts';
import type { TxShape, Workload, WorkloadParams } from './types.ts';

/** On/off: the target rate for `onS` seconds, silence for `offS`, repeated. */
export function burstWorkload(p: WorkloadParams & { onS: number; offS: number }): Workload {
  return {
    kind: 'burst',
    arrivals: new TokenBucket(onOffRate(p.tps, p.onS, p.offS, p.rampUpS)),
    freshShare: 1,
    shape: (i): TxShape => ({ kind: 'fresh', targets: [i % p.targets] }),
  };
}
