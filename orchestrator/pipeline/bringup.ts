// The scenario clock vs bring-up. Nodes read the genesis systemStart when they start, so the
// chain's slot 0 is fixed before they exist; if bring-up takes longer than the profile's
// genesis.startDelayS, the chain (and the scenario, timed from systemStart) runs before most
// nodes are there. So the pipeline sets systemStart = now + max(startDelayS, the bring-up it
// expects), from bring-ups it measured earlier on this machine ($LEIOSNET_HOME/bringup.json, per
// runtime and node count), and after `up` it checks: if systemStart passed before every node
// answered /health it says so (event `start-delay`, with the delay that would have been enough).

import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { leiosnetHome, writeJsonAtomic } from '../state.ts';

export interface BringupRecord {
  runtime: string;
  nodes: number;
  /** seconds from `Runtime.up()` to every node healthy */
  seconds: number;
  at: string;
}

/** Used until a runtime has a measurement here: seconds per node (deliberately not optimistic). */
export const PRIOR_S_PER_NODE: Record<string, number> = { process: 0.5, docker: 1, kubernetes: 2 };
/** Margin on an estimate: × this, + MARGIN_S. */
export const MARGIN_FACTOR = 1.25;
export const MARGIN_S = 3;
const KEEP = 50;

export function bringupFile(): string {
  return join(leiosnetHome(), 'bringup.json');
}

export function readBringups(): BringupRecord[] {
  try {
    const v = JSON.parse(readFileSync(bringupFile(), 'utf8')) as { records?: BringupRecord[] };
    return Array.isArray(v.records) ? v.records.filter((r) => r && typeof r.seconds === 'number' && r.nodes > 0) : [];
  } catch {
    return [];
  }
}

export function recordBringup(runtime: string, nodes: number, seconds: number, now = new Date()): void {
  try {
    const records = [...readBringups(), { runtime, nodes, seconds: Math.round(seconds * 100) / 100, at: now.toISOString() }].slice(-KEEP);
    mkdirSync(leiosnetHome(), { recursive: true });
    writeJsonAtomic(bringupFile(), { records });
  } catch {
    /* best effort: an unwritable state dir must not fail a run */
  }
}

/**
 * Expected bring-up of `nodes` nodes: the measurement of this runtime with the closest node
 * count (the latest among equals), scaled linearly to `nodes`; without one, the prior rate.
 */
export function estimateBringupS(records: readonly BringupRecord[], runtime: string, nodes: number): { seconds: number; basis: string } {
  let best: BringupRecord | undefined;
  for (const r of records) {
    if (r.runtime !== runtime) continue;
    if (!best || Math.abs(r.nodes - nodes) <= Math.abs(best.nodes - nodes)) best = r;
  }
  if (best) return { seconds: (best.seconds * nodes) / best.nodes, basis: `measured ${best.seconds} s for ${best.nodes} nodes at ${best.at}` };
  const rate = PRIOR_S_PER_NODE[runtime] ?? 1;
  return { seconds: rate * nodes, basis: `no measurement yet: ${rate} s per node` };
}

export interface StartLead {
  /** the profile's genesis.startDelayS */
  profileDelayS: number;
  /** expected bring-up, with margin */
  neededS: number;
  /** seconds added to the profile's delay (0 if it is long enough) */
  extraS: number;
  basis: string;
}

/** How far to move systemStart beyond the profile's start delay (on top of a runtime's own allowance). */
export function startLead(profileDelayS: number, runtime: string, nodes: number, allowanceS = 0, records = readBringups()): StartLead {
  const est = estimateBringupS(records, runtime, nodes);
  const neededS = Math.ceil(est.seconds * MARGIN_FACTOR + MARGIN_S);
  const extraS = Math.max(0, neededS - profileDelayS - allowanceS);
  return { profileDelayS, neededS, extraS, basis: est.basis };
}

/** After `up`: a sentence if systemStart came before every node was healthy, else undefined. */
export function lateStart(systemStartMs: number, upStartMs: number, upEndMs: number, profileDelayS: number): string | undefined {
  if (upEndMs <= systemStartMs) return undefined;
  const took = (upEndMs - upStartMs) / 1000;
  const late = (upEndMs - systemStartMs) / 1000;
  return (
    `genesis.startDelayS ${profileDelayS} s is too short here: bring-up took ${took.toFixed(1)} s and systemStart passed ` +
    `${late.toFixed(1)} s before every node was healthy (the first slots ran without them); ` +
    `set genesis.startDelayS ≥ ${Math.ceil(took * MARGIN_FACTOR + MARGIN_S)} (later runs here also extend it from this measurement)`
  );
}
