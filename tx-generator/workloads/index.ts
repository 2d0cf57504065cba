import type { WorkloadConfig } from '../config.ts';
import { burstWorkload } from './burst.ts';
import { conflictWorkload } from './conflict.ts';
import { duplicateWorkload } from './duplicate.ts';
import { poissonWorkload } from './poisson.ts';
import type { Workload, WorkloadParams } from './types.ts';
import { valueWorkload } from './value.ts';

export type { TxShape, Workload, WorkloadParams } from './types.ts';
export { valueWorkload, conflictWorkload, duplicateWorkload, burstWorkload, poissonWorkload };
export { isTwin } from './conflict.ts';

export const WORKLOAD_DEFAULTS = { conflictFraction: 0.1, duplicateFanout: 2, onS: 5, offS: 5 } as const;

/** The workload a config asks for. */
export function makeWorkload(w: WorkloadConfig, p: WorkloadParams): Workload {
  switch (w.kind) {
    case 'value':
      return valueWorkload(p);
    case 'conflict':
      return conflictWorkload({ ...p, conflictFraction: w.conflictFraction ?? WORKLOAD_DEFAULTS.conflictFraction });
    case 'duplicate':
      return duplicateWorkload({ ...p, duplicateFanout: w.duplicateFanout ?? WORKLOAD_DEFAULTS.duplicateFanout });
    case 'burst':
      return burstWorkload({ ...p, onS: w.onS ?? WORKLOAD_DEFAULTS.onS, offS: w.offS ?? WORKLOAD_DEFAULTS.offS });
    case 'poisson':
      return poissonWorkload(p);
  }
}
