// Metrics targets of a run: every node, the generator and the orchestrator itself, each with the
// labels dashboards and the analysis group by (run, node, role, release, region).
//
// The one place that turns a Deployment into targets. Until the runtime seam offers its own
// method, the addresses come from NodeHandle.endpoints() and Deployment.generatorUrl(), and
// role/release/region from the plan (profile.resolved.json) plus upgrades seen since.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Deployment } from '../runtime/runtime.ts';

export type TargetRole = 'pool' | 'relay' | 'generator' | 'orchestrator';

export interface TargetLabels {
  run: string;
  node: string;
  role: TargetRole | string;
  release: string;
  region: string;
  /** more labels a runtime adds (e.g. runtime) */
  [k: string]: string;
}

export interface MetricsTarget {
  /** host:port of the /metrics endpoint (as reachable from the orchestrator's host) */
  address: string;
  /** scheme, default http */
  scheme?: 'http' | 'https';
  metricsPath: string;
  labels: TargetLabels;
}

/** What targets need from the plan: role/release/region per node. */
export interface PlanNodeInfo {
  name: string;
  role?: string;
  release?: string;
  region?: string;
}

export function readPlanNodes(runDir: string): PlanNodeInfo[] {
  try {
    const plan = JSON.parse(readFileSync(join(runDir, 'profile.resolved.json'), 'utf8')) as { nodes?: PlanNodeInfo[] };
    return plan.nodes ?? [];
  } catch {
    return [];
  }
}

export interface TargetsContext {
  /** plan nodes (default: read from <runDir>/profile.resolved.json) */
  planNodes?: PlanNodeInfo[];
  /** release now running per node, when it changed since the plan (upgrades) */
  releaseNow?: ReadonlyMap<string, string>;
  /** the generator's metrics base URL when the deployment cannot tell */
  generatorUrl?: string;
  /** the orchestrator's own metrics base URL (omitted: no orchestrator target) */
  orchestratorUrl?: string;
}

function hostPort(url: string): { address: string; scheme: 'http' | 'https'; path: string } {
  const u = new URL(url);
  const port = u.port || (u.protocol === 'https:' ? '443' : '80');
  const base = u.pathname.replace(/\/$/, '');
  return { address: `${u.hostname}:${port}`, scheme: u.protocol === 'https:' ? 'https' : 'http', path: `${base}/metrics` };
}

/** What a runtime's own `Deployment.targets()` yields (the runtime seam's file_sd input). */
interface RuntimeTarget {
  address: string;
  metricsPath: string;
  labels: Record<string, string>;
}

/** The run's metrics targets, from the deployment's own endpoint resolution. */
export async function metricsTargets(dep: Deployment, ctx: TargetsContext = {}): Promise<MetricsTarget[]> {
  const out: MetricsTarget[] = [];
  const own = (dep as { targets?: () => Promise<RuntimeTarget[]> }).targets;
  if (typeof own === 'function') {
    // the runtime resolves its own targets (nodes and the running generator)
    for (const t of await own.call(dep)) {
      const l = t.labels;
      const node = l.node ?? '';
      out.push({
        address: t.address,
        metricsPath: t.metricsPath,
        labels: { ...l, run: l.run ?? dep.runId, node, role: l.role ?? 'pool', release: ctx.releaseNow?.get(node) ?? l.release ?? '', region: l.region ?? '' },
      });
    }
    if (ctx.generatorUrl && !out.some((t) => t.labels.node === 'generator')) out.push(generatorTarget(dep.runId, ctx.generatorUrl));
    if (ctx.orchestratorUrl) out.push(orchestratorTarget(dep.runId, ctx.orchestratorUrl));
    return out;
  }
  const plan = new Map((ctx.planNodes ?? readPlanNodes(dep.runDir)).map((n) => [n.name, n]));
  for (const h of dep.nodes()) {
    let url: string;
    try {
      url = h.endpoints().adminUrl;
    } catch {
      continue; // its config is gone (run dir removed under us)
    }
    const p = plan.get(h.name);
    const hp = hostPort(url);
    out.push({
      address: hp.address,
      scheme: hp.scheme,
      metricsPath: hp.path,
      labels: { run: dep.runId, node: h.name, role: p?.role ?? 'pool', release: ctx.releaseNow?.get(h.name) ?? p?.release ?? '', region: p?.region ?? '' },
    });
  }
  const gen = (await dep.generatorUrl?.().catch(() => undefined)) ?? ctx.generatorUrl;
  if (gen) out.push(generatorTarget(dep.runId, gen));
  if (ctx.orchestratorUrl) out.push(orchestratorTarget(dep.runId, ctx.orchestratorUrl));
  return out;
}

function generatorTarget(runId: string, url: string): MetricsTarget {
  const hp = hostPort(url);
  return { address: hp.address, scheme: hp.scheme, metricsPath: hp.path, labels: { run: runId, node: 'generator', role: 'generator', release: '', region: '' } };
}

function orchestratorTarget(runId: string, url: string): MetricsTarget {
  const hp = hostPort(url);
  return { address: hp.address, scheme: hp.scheme, metricsPath: hp.path, labels: { run: runId, node: 'orchestrator', role: 'orchestrator', release: '', region: '' } };
}

/** file_sd JSON: one group per target (each has its own labels and path). */
export function fileSd(targets: MetricsTarget[]): { targets: string[]; labels: Record<string, string> }[] {
  return targets.map((t) => ({
    targets: [t.address],
    labels: { ...t.labels, __metrics_path__: t.metricsPath, __scheme__: t.scheme ?? 'http' },
  }));
}
