// Shared pieces of the leiosnet dashboards: the Prometheus datasource variable, the run/node
// variables, the label selector every query uses, panel helpers, fault/upgrade annotations.
// Metric names: DESIGN.md "Metric names" (node/obs/metrics.ts, tx-generator/metrics.ts) and
// orchestrator/observe/orchestrator-metrics.ts.

import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as heatmap from '@grafana/grafana-foundation-sdk/heatmap';
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as statetimeline from '@grafana/grafana-foundation-sdk/statetimeline';

export const DATASOURCE_UID = 'leiosnet-prometheus';
/** Every panel queries the datasource chosen in the dashboard's `datasource` variable. */
export const DS = { type: 'prometheus', uid: '${datasource}' };

/** Nodes of the selected runs (the generator and the orchestrator have their own targets). */
export const SEL = 'run=~"$run", node=~"$node", role=~"pool|relay"';
export const RUN = 'run=~"$run"';

export function q(expr: string, legend = '{{node}}'): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder().datasource(DS).expr(expr).legendFormat(legend).range();
}

/** An instant query (tables, stats, bar gauges). */
export function qi(expr: string, legend = '{{node}}'): prometheus.DataqueryBuilder {
  return new prometheus.DataqueryBuilder().datasource(DS).expr(expr).legendFormat(legend).instant();
}

export function ts(title: string, unit: string, targets: prometheus.DataqueryBuilder[], description?: string): timeseries.PanelBuilder {
  const p = new timeseries.PanelBuilder().title(title).datasource(DS).unit(unit).lineWidth(1).fillOpacity(8).height(8).span(12);
  if (description) p.description(description);
  for (const t of targets) p.withTarget(t);
  return p;
}

export function statPanel(title: string, unit: string, target: prometheus.DataqueryBuilder, description?: string): stat.PanelBuilder {
  const p = new stat.PanelBuilder().title(title).datasource(DS).unit(unit).height(4).span(4).withTarget(target);
  if (description) p.description(description);
  return p;
}

export function bars(title: string, unit: string, targets: prometheus.DataqueryBuilder[], description?: string): bargauge.PanelBuilder {
  const p = new bargauge.PanelBuilder().title(title).datasource(DS).unit(unit).height(8).span(12);
  if (description) p.description(description);
  for (const t of targets) p.withTarget(t);
  return p;
}

export function states(title: string, targets: prometheus.DataqueryBuilder[], description?: string): statetimeline.PanelBuilder {
  const p = new statetimeline.PanelBuilder().title(title).datasource(DS).height(6).span(12);
  if (description) p.description(description);
  for (const t of targets) p.withTarget(t);
  return p;
}

/** A heatmap of a Prometheus histogram: per-bucket increases (Grafana reads `le` buckets). */
export function histogramHeatmap(title: string, metric: string, description?: string): heatmap.PanelBuilder {
  const p = new heatmap.PanelBuilder()
    .title(title)
    .datasource(DS)
    .height(9)
    .span(12)
    .calculate(false)
    .unit('s')
    .withTarget(
      new prometheus.DataqueryBuilder()
        .datasource(DS)
        .expr(`sum by (le) (increase(${metric}_bucket{${SEL}}[$__rate_interval]))`)
        .legendFormat('{{le}}')
        .format(prometheus.PromQueryFormat.Heatmap)
        .range(),
    );
  if (description) p.description(description);
  return p;
}

export function row(title: string): dashboard.RowBuilder {
  return new dashboard.RowBuilder(title);
}

/** datasource, run, node variables. */
export function variables(d: dashboard.DashboardBuilder): dashboard.DashboardBuilder {
  return d
    .withVariable(new dashboard.DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'))
    .withVariable(
      new dashboard.QueryVariableBuilder('run')
        .label('Run')
        .datasource(DS)
        .query('label_values(leios_slot, run)')
        .definition('label_values(leios_slot, run)')
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.AlphabeticalDesc)
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    )
    .withVariable(
      new dashboard.QueryVariableBuilder('node')
        .label('Node')
        .datasource(DS)
        .query('label_values(leios_slot{run=~"$run"}, node)')
        .definition('label_values(leios_slot{run=~"$run"}, node)')
        .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
        .sort(dashboard.VariableSort.NaturalAsc)
        .multi(true)
        .includeAll(true)
        .allValue('.*'),
    );
}

/** Faults, upgrades and scenario marks from the orchestrator's own metrics, as annotations. */
export function orchestratorAnnotations(d: dashboard.DashboardBuilder): dashboard.DashboardBuilder {
  const a = (name: string, color: string, expr: string, title: string) =>
    new dashboard.AnnotationQueryBuilder()
      .name(name)
      .datasource(DS)
      .enable(true)
      .iconColor(color)
      .expr(expr)
      .step('$__interval')
      .titleFormat(title)
      .tagKeys('run');
  return d
    .annotation(a('Faults', 'red', `sum by (run, kind, node) (changes(leios_orchestrator_faults_total{${RUN}}[$__interval])) > 0`, 'fault {{kind}} {{node}}'))
    .annotation(a('Faults undone', 'orange', `sum by (run, kind, node) (changes(leios_orchestrator_faults_undone_total{${RUN}}[$__interval])) > 0`, 'undone {{kind}} {{node}}'))
    .annotation(a('Upgrades', 'blue', `sum by (run, node, release, phase) (changes(leios_orchestrator_upgrades_total{${RUN}}[$__interval])) > 0`, 'upgrade {{node}} → {{release}} ({{phase}})'))
    .annotation(a('Marks', 'purple', `sum by (run, label) (changes(leios_orchestrator_marks_total{${RUN}}[$__interval])) > 0`, '{{label}}'));
}

export function base(uid: string, title: string, description: string): dashboard.DashboardBuilder {
  const d = new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(['leiosnet'])
    .editable()
    .refresh('5s')
    .time({ from: 'now-15m', to: 'now' })
    .timezone('browser');
  return orchestratorAnnotations(variables(d));
}

export { dashboard, prometheus };
