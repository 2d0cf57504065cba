// Per-node recovery time after a fault. The clock starts when the fault is undone (a killed node
// restarted, a partition healed) or, for faults that end by themselves (restart, start, resume)
// and upgrades (a restart on a new release), when the restart began. A node has
// recovered once it has adopted a block forged after that moment (tip slot past the slot of the
// undo) that also covers the chain it missed (block number above the best tip any other node
// had at that moment), and is on the common chain
// (its tip hash is another follower's, or it is within one block of the best). So an outage in
// which nothing was forged is not "recovered in 0 s": the node must see the next block.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeState } from '../analysis/assertions.ts';
import type { RunEvent } from '../pipeline/events.ts';
import type { Fault } from '../profile/schema.ts';

/** Nodes that are up and still follow the chain (an old release past the fork does not). */
export function followers(states: Record<string, NodeState>): [string, NodeState][] {
  return Object.entries(states).filter(([, s]) => s.running !== false && s.blockNo !== undefined && s.stoppedFollowing !== true);
}

/** Nodes whose recovery a fault calls for. */
export function affectedNodes(f: Fault): string[] {
  if (f.kind === 'partition') return [...new Set(f.groups.flat())];
  if (f.kind === 'clock') return [];
  return [f.node];
}

/** Faults that are over once the step returns (no undo to wait for). */
export function endsByItself(f: Fault): boolean {
  return f.kind === 'restart' || f.kind === 'start' || f.kind === 'resume';
}

export interface RecoveryBaseline {
  /** when the clock started, ms since the epoch */
  atMs: number;
  /** the slot in progress then: a block forged after the restart has a higher slot */
  slot: number;
  /** best block number among the other followers then: the chain the node missed */
  missedTo: number;
}

export function baseline(node: string, states: Record<string, NodeState>, atMs: number, slot: number): RecoveryBaseline {
  const others = followers(states).filter(([n]) => n !== node);
  const own = states[node]?.blockNo ?? 0;
  return { atMs, slot, missedTo: Math.max(own, ...others.map(([, s]) => s.blockNo ?? 0)) };
}

/** Has `node` recovered relative to `b`, given the current states? */
export function hasRecovered(node: string, b: RecoveryBaseline, states: Record<string, NodeState>): boolean {
  const s = states[node];
  if (!s || s.running === false || s.blockNo === undefined || s.slot === undefined || s.stoppedFollowing) return false;
  if (s.slot <= b.slot || s.blockNo <= b.missedTo) return false;
  const others = followers(states).filter(([n]) => n !== node);
  if (others.length === 0) return true;
  const best = Math.max(...others.map(([, o]) => o.blockNo ?? 0));
  return others.some(([, o]) => o.hash !== undefined && o.hash === s.hash) || best - s.blockNo <= 1;
}

/** The fault label of an upgrade (a restart on a new release), for recovery rows. */
export function upgradeLabel(node: string, release: string): string {
  return `upgrade ${node} → ${release}`;
}

/** One row of the report's recovery table (and summary.faults). */
export interface FaultRow {
  fault: string;
  node: string | null;
  step: number | null;
  /** seconds from the run start */
  atS: number | null;
  undoneAtS: number | null;
  recoveryS: number | null;
  /** blocks the other nodes were ahead when the clock started */
  missedBlocks: number | null;
  status: 'recovered' | 'not recovered' | 'not measured';
  detail?: string;
}

/**
 * The uniform per-node fault table from events.jsonl: one row per (fault, affected node), in
 * fault order, with the recovery measured by the scenario engine (`recovered` events).
 */
export function faultTable(events: readonly RunEvent[], runStartMs?: number): FaultRow[] {
  const t0 = runStartMs ?? (events.length ? Date.parse(events[0]!.t) : 0);
  const rel = (t: string) => Math.round((Date.parse(t) - t0) / 100) / 10;
  const rows: FaultRow[] = [];
  const open = new Map<string, FaultRow[]>();
  const upgradeStart = new Map<string, number>();
  for (const e of events) {
    if (e.type === 'fault') {
      const f = e.fault as Fault | undefined;
      const label = String(e.description ?? '');
      const nodes = f ? affectedNodes(f) : [];
      const made = (nodes.length ? nodes : [null]).map(
        (node): FaultRow => ({ fault: label, node, step: typeof e.index === 'number' ? e.index + 1 : null, atS: rel(e.t), undoneAtS: null, recoveryS: null, missedBlocks: null, status: 'not measured' }),
      );
      rows.push(...made);
      // The same fault may recur (a campaign kills a node twice): rows queue up under its label.
      open.set(label, [...(open.get(label) ?? []), ...made]);
    } else if (e.type === 'upgrade' && e.phase === 'start' && typeof e.node === 'string') {
      upgradeStart.set(e.node, rel(e.t));
    } else if (e.type === 'upgrade' && e.phase === 'done' && typeof e.node === 'string') {
      // an upgrade restarts the node on the new release: from the stop (at) to the start (undone)
      const label = upgradeLabel(e.node, String(e.release));
      const row: FaultRow = { fault: label, node: e.node, step: typeof e.index === 'number' ? e.index + 1 : null, atS: upgradeStart.get(e.node) ?? rel(e.t), undoneAtS: rel(e.t), recoveryS: null, missedBlocks: null, status: 'not measured' };
      rows.push(row);
      open.set(label, [...(open.get(label) ?? []), row]);
    } else if (e.type === 'fault-undone') {
      const pending = (open.get(String(e.fault)) ?? []).filter((r) => r.undoneAtS === null);
      const first = pending[0]?.step;
      for (const r of pending) if (r.step === first) r.undoneAtS = rel(e.t);
    } else if (e.type === 'recovered') {
      const rs = open.get(String(e.fault)) ?? [];
      const r = rs.find((x) => x.node === (e.node ?? null) && x.status === 'not measured') ?? (e.node === undefined ? rs.find((x) => x.status === 'not measured') : undefined);
      if (!r) continue;
      r.recoveryS = typeof e.recoveryS === 'number' ? e.recoveryS : null;
      r.missedBlocks = typeof e.missedBlocks === 'number' ? e.missedBlocks : null;
      r.status = r.recoveryS === null ? 'not recovered' : 'recovered';
      if (typeof e.detail === 'string') r.detail = e.detail;
    }
  }
  return rows;
}

/** events.jsonl of a run dir (torn or bad lines skipped; none if there is no file). */
export function readRunEvents(runDir: string): RunEvent[] {
  try {
    return readFileSync(join(runDir, 'events.jsonl'), 'utf8')
      .split('\n')
      .filter((l) => l.trim())
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as RunEvent];
        } catch {
          return [];
        }
      });
  } catch {
    return [];
  }
}
