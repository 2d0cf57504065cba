// What the verifier needs from a run dir besides the traces: protocol parameters and stake
// (genesis/genesis.json), which nodes are honest (profile.resolved.json: adversary behaviours,
// clock faults; events.jsonl: `leiosnet attack`), and the node list (nodes/<name>/trace.jsonl). A missing or unreadable run dir is
// bad input (exit 2); a missing parameter only makes the rules that need it "not checkable".

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.ts';
import { runNodes } from '../analysis/traces.ts';
import { adversarialNodes } from '../analysis/adversary.ts';

export interface VerifyParams {
  slotLengthS?: number;
  /** k: maximum rollback in blocks */
  k?: number;
  lHdr?: number;
  lVote?: number;
  lDiff?: number;
  /** τ, a share of the total active stake (CIP-164 Step 4) */
  quorum?: number;
  committee?: { kind: string; sigmaC?: number; seats?: number };
}

export interface VerifyContext {
  runDir: string;
  nodes: string[];
  params: VerifyParams;
  /** pool id → stake (lovelace) */
  stake: Map<string, number>;
  totalStake: number;
  /** Voting committee by CIP-164 stake truncation; undefined = every pool (fait-accompli: an upper bound) */
  committee?: Set<string>;
  /** nodes running an adversary behaviour at some point of the run */
  adversaries: Set<string>;
  /** nodes whose clock was shifted by a fault (their slot clock is not the trace clock) */
  clockFaulted: Set<string>;
}

function readJson(file: string): unknown {
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

const numOr = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** CIP-164 "Committee Selection": pools by stake descending, taken until cumulative ≥ σ_c of the total. */
export function truncationCommittee(stake: Map<string, number>, sigmaC: number): Set<string> {
  const ranked = [...stake].filter(([, s]) => s > 0).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  const total = ranked.reduce((a, [, s]) => a + s, 0);
  const out = new Set<string>();
  let cum = 0;
  for (const [id, s] of ranked) {
    if (cum >= sigmaC * total) break;
    out.add(id);
    cum += s;
  }
  return out;
}

export function loadContext(runDir: string): VerifyContext {
  if (!existsSync(runDir) || !statSync(runDir).isDirectory()) throw new UserError(`run dir ${runDir}: not a directory`);
  const nodes = runNodes(runDir).filter((n) => existsSync(join(runDir, 'nodes', n, 'trace.jsonl')));
  if (nodes.length === 0) throw new UserError(`run dir ${runDir}: no nodes/<name>/trace.jsonl`);
  const genesis = obj(readJson(join(runDir, 'genesis', 'genesis.json')));
  if (!genesis) throw new UserError(`run dir ${runDir}: genesis/genesis.json missing`);
  const plan = obj(readJson(join(runDir, 'profile.resolved.json')));
  const leios = obj(genesis.leios) ?? obj(obj(plan?.genesis)?.leios) ?? {};
  const committee = obj(leios.committee);
  const params: VerifyParams = {
    slotLengthS: numOr(genesis.slotLengthS),
    k: numOr(genesis.securityParam),
    lHdr: numOr(leios.lHdrSlots),
    lVote: numOr(leios.lVoteSlots),
    lDiff: numOr(leios.lDiffSlots),
    quorum: numOr(leios.quorum),
    committee: committee && typeof committee.kind === 'string' ? { kind: committee.kind, sigmaC: numOr(committee.sigmaC), seats: numOr(committee.seats) } : undefined,
  };
  const stake = new Map<string, number>();
  for (const p of Array.isArray(genesis.pools) ? genesis.pools : []) {
    const o = obj(p);
    if (o && typeof o.id === 'string' && typeof o.stake === 'number') stake.set(o.id, o.stake);
  }
  const totalStake = [...stake.values()].reduce((a, b) => a + b, 0);
  // the plan's adversaries and those `leiosnet attack` turned on (events.jsonl), as the analysis sees them
  const adversaries = adversarialNodes(runDir, plan ?? {});
  const clockFaulted = new Set<string>();
  for (const s of Array.isArray(obj(plan?.scenario)?.steps) ? (obj(plan!.scenario)!.steps as unknown[]) : []) {
    const fault = obj(obj(s)?.fault);
    if (fault && fault.kind === 'clock' && typeof fault.node === 'string' && fault.offsetMs !== 0) clockFaulted.add(fault.node);
  }
  const comm =
    params.committee?.kind === 'truncation' && params.committee.sigmaC !== undefined && stake.size > 0
      ? truncationCommittee(stake, params.committee.sigmaC)
      : undefined;
  return { runDir, nodes, params, stake, totalStake, committee: comm, adversaries, clockFaulted };
}
