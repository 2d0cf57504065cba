// The dashboards, built from their sources: `npm run dashboards` writes dashboards/<uid>.json
// (committed; test/unit/dashboards.test.ts keeps them current) — see build.ts.
import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import * as diffusion from './diffusion.ts';
import * as funnel from './leios-funnel.ts';
import * as resources from './node-resources.ts';
import * as overview from './overview.ts';
import * as txgen from './tx-generator.ts';

export interface DashboardSource {
  /** file name under dashboards/ */
  file: string;
  build(): Dashboard;
}

const src = (m: { uid: string; build(): { build(): Dashboard } }, file: string): DashboardSource => ({ file, build: () => m.build().build() });

export const DASHBOARDS: DashboardSource[] = [
  src(overview, 'overview.json'),
  src(funnel, 'leios-funnel.json'),
  src(diffusion, 'diffusion.json'),
  src(resources, 'node-resources.json'),
  src(txgen, 'tx-generator.json'),
];

/** The JSON text committed for a dashboard (stable: 2-space indent, trailing newline). */
export function render(d: DashboardSource): string {
  return JSON.stringify(d.build(), null, 2) + '\n';
}

/** Every PromQL expression of a dashboard: panel targets (also inside rows) and annotations. */
export function queriesOf(d: Dashboard): { panel: string; expr: string; kind: 'panel' | 'annotation' }[] {
  const out: { panel: string; expr: string; kind: 'panel' | 'annotation' }[] = [];
  const visit = (p: { title?: string; targets?: unknown[]; panels?: unknown[] }) => {
    for (const t of (p.targets ?? []) as { expr?: string }[]) if (t.expr) out.push({ panel: p.title ?? '', expr: t.expr, kind: 'panel' });
    for (const c of (p.panels ?? []) as (typeof p)[]) visit(c);
  };
  for (const p of (d.panels ?? []) as { title?: string }[]) visit(p);
  for (const a of (d.annotations?.list ?? []) as { name?: string; expr?: string }[]) if (a.expr) out.push({ panel: a.name ?? '', expr: a.expr, kind: 'annotation' });
  return out;
}

/** Grafana's variables in a query replaced by concrete values (to run it on Prometheus). */
export function concrete(expr: string, vars: { run: string; node?: string; rateInterval?: string; interval?: string }): string {
  return expr
    .replaceAll('$__rate_interval', vars.rateInterval ?? '10s')
    .replaceAll('${__rate_interval}', vars.rateInterval ?? '10s')
    .replaceAll('$__interval', vars.interval ?? '2s')
    .replaceAll('${__interval}', vars.interval ?? '2s')
    .replaceAll('$run', vars.run)
    .replaceAll('$node', vars.node ?? '.*');
}
