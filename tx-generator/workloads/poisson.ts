import { PoissonArrivals, rampedRate } from '../rate.ts';
import type { TxShape, Workload, WorkloadParams } from './types.ts';

/** Poisson arrivals (exponential inter-arrival times, mean 1/tps), seeded. */
export function poissonWorkload(p: WorkloadParams): Workload {
  return {
    kind: 'poisson',
    arrivals: new PoissonArrivals(rampedRate(p.tps, p.rampUpS), p.seed),
    freshShare: 1,
    shape: (i): TxShape => ({ kind: 'fresh', targets: [i % p.targets] }),
  };
}
