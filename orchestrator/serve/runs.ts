// What serve knows of runs: live ones through the runtimes (state dir, labels), finished ones
// through their run dirs (runs/ under the serve cwd, plus any run dir a live run recorded), and
// the run-dir files (meta.json, profile.resolved.json, summary.json, events.jsonl, report.html).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { findRunDir, listLiveRuns, listRunDirs, type FinishedRun, type LiveRun } from '../cli/runs.ts';
import type { Plan } from '../profile/plan.ts';
import { readRunRecord } from '../state.ts';

export interface RunListing {
  live: LiveRun[];
  finished: FinishedRun[];
  problems: string[];
}

export async function listRuns(cwd: string): Promise<RunListing> {
  const { runs, problems } = await listLiveRuns();
  const liveIds = new Set(runs.map((r) => r.runId));
  const finished = listRunDirs(cwd).filter((r) => !liveIds.has(r.runId));
  return { live: runs, finished, problems };
}

/** The run dir of a run id (live or finished) or undefined. Run ids are checked by the caller. */
export function runDirOf(runId: string, cwd: string): string | undefined {
  const rec = readRunRecord(runId);
  if (rec?.runDir && existsSync(rec.runDir)) return rec.runDir;
  try {
    return findRunDir(runId, cwd);
  } catch {
    /* a run dir whose name is not its run id */
  }
  return listRunDirs(cwd).find((r) => r.runId === runId)?.runDir;
}

export function readJsonFile<T = unknown>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readPlan(runDir: string): Plan | undefined {
  return readJsonFile<Plan>(join(runDir, 'profile.resolved.json'));
}

export function readMeta(runDir: string): Record<string, unknown> | undefined {
  return readJsonFile(join(runDir, 'meta.json'));
}

export function readSummaryFile(runDir: string): Record<string, unknown> | undefined {
  return readJsonFile(join(runDir, 'summary.json'));
}

/** genesis systemStart in ms (trace times are seconds from it). */
export function systemStartMs(runDir: string): number | undefined {
  const g = readJsonFile<{ systemStart?: string }>(join(runDir, 'genesis', 'genesis.json'));
  const t = g?.systemStart ? Date.parse(g.systemStart) : NaN;
  return Number.isFinite(t) ? t : undefined;
}

/** events.jsonl lines from index `since` on (at most `limit`), skipping lines that do not parse. */
export function readEvents(runDir: string, since = 0, limit = 5_000): { events: Record<string, unknown>[]; next: number } {
  let text: string;
  try {
    text = readFileSync(join(runDir, 'events.jsonl'), 'utf8');
  } catch {
    return { events: [], next: since };
  }
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const out: Record<string, unknown>[] = [];
  for (let i = since; i < lines.length && out.length < limit; i++) {
    try {
      out.push(JSON.parse(lines[i]!) as Record<string, unknown>);
    } catch {
      out.push({ type: 'unparsable', line: i });
    }
  }
  return { events: out, next: Math.min(lines.length, since + out.length) };
}

/** Plan nodes and edges as the page draws them; without a full plan, the nodes/ dirs of the run. */
export function topologyOf(plan: Plan | undefined, runDir?: string): {
  nodes: { name: string; role: string; release: string; region?: string; stake: number; adversary?: string[] }[];
  edges: { from: string; to: string; directed: boolean; link: Record<string, unknown> }[];
} {
  const planNodes = Array.isArray(plan?.nodes) ? plan.nodes : undefined;
  const nodes = planNodes
    ? planNodes.map((n) => ({
        name: n.name,
        role: n.role,
        release: n.release,
        ...(n.region ? { region: n.region } : {}),
        stake: n.stake,
        ...(n.adversary ? { adversary: Object.keys(n.adversary) } : {}),
      }))
    : nodeDirs(runDir).map((name) => ({ name, role: 'pool', release: '?', stake: 0 }));
  const edges = Array.isArray(plan?.topology?.edges) ? plan.topology.edges : [];
  return { nodes, edges: edges.map((e) => ({ from: e.from, to: e.to, directed: e.directed, link: { ...e.link } })) };
}

function nodeDirs(runDir: string | undefined): string[] {
  if (!runDir) return [];
  try {
    return readdirSync(join(runDir, 'nodes'), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  } catch {
    return [];
  }
}

export function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
}
