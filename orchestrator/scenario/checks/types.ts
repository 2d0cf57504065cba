// What a functional check gets and gives. A check runs against the live deployment, submits
// over the node admin API (POST /tx, the same path as tx-submission), and returns pass/fail
// (or skipped, when the network cannot show what it checks) with evidence for events.jsonl.

import type { Genesis } from '../../../node/genesis/schema.ts';
import type { EventLog } from '../../pipeline/events.ts';
import type { CheckSpec } from '../../profile/schema.ts';
import type { Deployment } from '../../runtime/runtime.ts';
import type { CheckWallet } from './wallet.ts';

export interface CheckContext {
  dep: Deployment;
  runDir: string;
  genesis: Genesis;
  wallet: CheckWallet;
  events: EventLog;
  /** each node's current release (after upgrades) */
  releases: Record<string, string>;
  slotMs: number;
  pollMs: number;
  signal?: AbortSignal;
  sleep(ms: number): Promise<void>;
}

export interface CheckResult {
  passed: boolean;
  /** the check could not be shown on this network (e.g. no rollback happened): passed, reported as skipped */
  skipped?: boolean;
  detail: string;
  evidence: Record<string, unknown>;
}

export interface CheckDef {
  name: CheckSpec['name'];
  run(ctx: CheckContext, spec: CheckSpec): Promise<CheckResult>;
}
