// The Grafana dashboards are generated from dashboards/src/*.ts (grafana-foundation-sdk): the
// committed JSON must be what the sources build (run `npm run dashboards` after editing them),
// and every metric a query names must exist in what the node, the tx-generator and the
// orchestrator export.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DASHBOARDS, queriesOf, render } from '../../dashboards/src/index.ts';
import { DATASOURCE_UID } from '../../dashboards/src/common.ts';
import { createNodeMetrics } from '../../node/obs/metrics.ts';
import { makeMetrics } from '../../tx-generator/metrics.ts';
import { OrchestratorMetrics } from '../../orchestrator/observe/orchestrator-metrics.ts';

const DIR = resolve(import.meta.dirname, '../../dashboards');

async function exportedNames(): Promise<Set<string>> {
  const names = new Set<string>();
  const registries = [createNodeMetrics('n').registry, makeMetrics(true).registry, new OrchestratorMetrics().registry];
  for (const r of registries) {
    for (const m of await r.getMetricsAsJSON()) {
      names.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(m.name + s);
      if (String(m.type) === 'summary') for (const s of ['_sum', '_count']) names.add(m.name + s);
    }
  }
  return names;
}

/** Metric names in a PromQL expression (identifiers directly followed by a selector). */
function metricsIn(expr: string): string[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{/g)].map((m) => m[1]!).filter((n) => !['by', 'without', 'on', 'ignoring'].includes(n));
}

describe('dashboards', () => {
  it('the committed JSON is what dashboards/src builds (npm run dashboards)', () => {
    for (const d of DASHBOARDS) expect(readFileSync(join(DIR, d.file), 'utf8'), `dashboards/${d.file} is stale: npm run dashboards`).toBe(render(d));
  });

  it('has the five dashboards with unique uids, every panel on the datasource variable', () => {
    const built = DASHBOARDS.map((d) => d.build());
    expect(built.map((d) => d.title)).toEqual(['leiosnet / Overview', 'leiosnet / Leios funnel', 'leiosnet / Diffusion', 'leiosnet / Node resources', 'leiosnet / tx-generator']);
    expect(new Set(built.map((d) => d.uid)).size).toBe(built.length);
    for (const d of built) {
      const names = (d.templating?.list ?? []).map((v) => v.name);
      expect(names).toEqual(['datasource', 'run', 'node']);
      for (const p of (d.panels ?? []) as { type: string; title: string; datasource?: { uid?: string }; targets?: { expr?: string }[] }[]) {
        if (p.type === 'row') continue;
        expect(p.datasource?.uid, `${d.title} / ${p.title}`).toBe('${datasource}');
        expect(p.targets?.length, `${d.title} / ${p.title} has queries`).toBeGreaterThan(0);
        for (const t of p.targets!) expect(t.expr, `${d.title} / ${p.title}`).toMatch(/\S/);
      }
    }
  });

  it('every metric a query names is exported by the node, the tx-generator or the orchestrator', async () => {
    const names = await exportedNames();
    const missing: string[] = [];
    for (const d of DASHBOARDS) for (const q of queriesOf(d.build())) for (const m of metricsIn(q.expr)) if (!names.has(m)) missing.push(`${d.file} ${q.panel}: ${m}`);
    expect(missing).toEqual([]);
  });

  it('the funnel, diffusion heatmaps and annotations are there', () => {
    const all = DASHBOARDS.map((d) => d.build());
    const diffusion = all.find((d) => d.uid === 'leiosnet-diffusion')!;
    const heatmaps = (diffusion.panels as { type: string; targets?: { expr: string; format?: string }[] }[]).filter((p) => p.type === 'heatmap');
    expect(heatmaps.map((p) => p.targets![0]!.expr.match(/leios_\w+_bucket/)![0])).toEqual(['leios_rb_adoption_delay_seconds_bucket', 'leios_eb_arrival_delay_seconds_bucket']);
    for (const h of heatmaps) expect(h.targets![0]!.format).toBe('heatmap');
    const funnelExprs = queriesOf(all.find((d) => d.uid === 'leiosnet-leios-funnel')!).map((q) => q.expr).join('\n');
    for (const m of ['leios_txgen_submitted_total', 'leios_tx_accepted_total', 'leios_eb_forged_total', 'leios_eb_certified_total', 'leios_ledger_tx_applied_total', 'leios_votes_cast_total'])
      expect(funnelExprs).toContain(m);
    // latency per stage from the node's funnel histogram; bytes per link (node → peer) by mini-protocol
    expect(funnelExprs).toMatch(/histogram_quantile\(0\.95, sum by \(run, stage, le\) \(rate\(leios_tx_stage_latency_seconds_bucket/);
    const diffusionExprs = queriesOf(diffusion).map((q) => q.expr);
    for (const m of ['leios_net_bytes_sent_total', 'leios_net_bytes_received_total']) expect(diffusionExprs).toContainEqual(expect.stringContaining(`sum by (node, peer, protocol) (rate(${m}`));
    for (const d of all) expect(queriesOf(d).filter((q) => q.kind === 'annotation').map((q) => q.panel)).toEqual(['Faults', 'Faults undone', 'Upgrades', 'Marks']);
  });

  it('provisioning: a Prometheus datasource with the dashboards’ uid and a file provider in a folder', () => {
    const ds = parseYaml(readFileSync(join(DIR, 'provisioning/datasources/leiosnet.yaml'), 'utf8'));
    expect(ds.datasources[0]).toMatchObject({ type: 'prometheus', uid: DATASOURCE_UID });
    const prov = parseYaml(readFileSync(join(DIR, 'provisioning/dashboards/leiosnet.yaml'), 'utf8'));
    expect(prov.providers[0]).toMatchObject({ type: 'file', folder: 'leiosnet' });
    expect(prov.providers[0].options.path).toMatch(/dashboards/);
  });
});
