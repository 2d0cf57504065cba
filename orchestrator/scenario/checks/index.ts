// The check registry: one file per check, looked up by the name a `check` step gives.
import { badWitnessCheck } from './bad-witness.ts';
import { doubleSpendCheck } from './double-spend.ts';
import { fellOffCheck } from './fell-off.ts';
import { maxSizeCheck } from './max-size.ts';
import { multiOutputCheck } from './multi-output.ts';
import type { CheckName } from './names.ts';
import { paymentCheck } from './payment.ts';
import { peersCheck } from './peers.ts';
import { rollbackCheck } from './rollback.ts';
import { tipsCheck } from './tips.ts';
import type { CheckDef } from './types.ts';

export const CHECK_REGISTRY: Record<CheckName, CheckDef> = {
  payment: paymentCheck,
  'multi-output': multiOutputCheck,
  'max-size': maxSizeCheck,
  'double-spend': doubleSpendCheck,
  'bad-witness': badWitnessCheck,
  rollback: rollbackCheck,
  tips: tipsCheck,
  peers: peersCheck,
  'fell-off': fellOffCheck,
};

export { CHECKS, CHECK_NAMES, type CheckName } from './names.ts';
export { CheckWallet } from './wallet.ts';
export type { CheckContext, CheckDef, CheckResult } from './types.ts';
