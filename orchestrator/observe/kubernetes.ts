// Prometheus on Kubernetes: what a run's pods need to be scraped with the same labels as on the
// other runtimes (run, node, role, release, region).
//   - the Prometheus Operator is installed (CRD podmonitors.monitoring.coreos.com): one PodMonitor
//     per run selecting its pods by `leiosnet.io/run`, relabelling pod labels to our labels;
//   - otherwise: the conventional `prometheus.io/*` pod annotations, plus a scrape config
//     (kubernetes_sd_configs, role pod) for a Prometheus of one's own that honours them.
// Pure data: the kubernetes runtime (or the Helm chart) applies it.

/**
 * Pod labels the kubernetes runtime sets (DESIGN.md: leiosnet.io/run, leiosnet.io/node), keyed by
 * the Prometheus label they become. `role` comes from leiosnet.io/metrics-role (pool | relay |
 * generator, the same values as the file_sd targets of every runtime); leiosnet.io/role is the
 * pod's kind (node | generator | safeguard), which does not tell pools from relays.
 */
export const POD_LABELS = {
  run: 'leiosnet.io/run',
  node: 'leiosnet.io/node',
  role: 'leiosnet.io/metrics-role',
  release: 'leiosnet.io/release',
  region: 'leiosnet.io/region',
} as const;

export const PODMONITOR_CRD = 'podmonitors.monitoring.coreos.com';
/** The PodMonitor API as CustomObjectsApi addresses it. */
export const PODMONITOR_API = { group: 'monitoring.coreos.com', version: 'v1', plural: 'podmonitors' } as const;

export interface ScrapeOptions {
  /** container port name or number serving /metrics (node admin: 12798) */
  port: number;
  portName?: string;
  /** several named container ports, one podMetricsEndpoint each (pods without one are skipped for it) */
  portNames?: string[];
  path?: string;
  intervalS?: number;
}

/** Pod annotations for annotation-based discovery (no operator). */
export function scrapeAnnotations(o: ScrapeOptions): Record<string, string> {
  return {
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': String(o.port),
    'prometheus.io/path': o.path ?? '/metrics',
    'prometheus.io/scheme': 'http',
  };
}

/** Pod labels for one node (or the generator), so relabelling finds our labels. Values are sanitised for Kubernetes. */
export function podMetricLabels(l: { run: string; node: string; role: string; release?: string; region?: string }): Record<string, string> {
  const clean = (v: string) => v.replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '').slice(0, 63);
  const out: Record<string, string> = { [POD_LABELS.run]: clean(l.run), [POD_LABELS.node]: clean(l.node), [POD_LABELS.role]: clean(l.role) };
  if (l.release) out[POD_LABELS.release] = clean(l.release);
  if (l.region) out[POD_LABELS.region] = clean(l.region);
  return out;
}

/** Kubernetes SD meta label of a pod label: leiosnet.io/run → __meta_kubernetes_pod_label_leiosnet_io_run */
export function podLabelMeta(label: string): string {
  return `__meta_kubernetes_pod_label_${label.replace(/[^A-Za-z0-9_]/g, '_')}`;
}

const relabelToOurs = (metaKey: 'sourceLabels' | 'source_labels', targetKey: 'targetLabel' | 'target_label') =>
  (Object.entries(POD_LABELS) as [string, string][]).map(([ours, podLabel]) => ({ [metaKey]: [podLabelMeta(podLabel)], [targetKey]: ours, action: 'replace' }));

/** A PodMonitor (monitoring.coreos.com/v1) for a run, when the operator's CRD exists. */
export function podMonitor(runId: string, namespace: string, o: ScrapeOptions & { prometheusSelector?: Record<string, string> }): Record<string, unknown> {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PodMonitor',
    metadata: {
      name: `leiosnet-${runId}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63).replace(/-+$/, ''),
      namespace,
      labels: { [POD_LABELS.run]: podMetricLabels({ run: runId, node: 'x', role: 'x' })[POD_LABELS.run]!, ...(o.prometheusSelector ?? {}) },
    },
    spec: {
      selector: { matchLabels: { [POD_LABELS.run]: podMetricLabels({ run: runId, node: 'x', role: 'x' })[POD_LABELS.run]! } },
      namespaceSelector: { matchNames: [namespace] },
      podMetricsEndpoints: (o.portNames?.length ? o.portNames.map((n) => ({ port: n })) : [o.portName ? { port: o.portName } : { targetPort: o.port }]).map((p) => ({
        ...p,
        path: o.path ?? '/metrics',
        interval: `${o.intervalS ?? 2}s`,
        honorLabels: true,
        relabelings: relabelToOurs('sourceLabels', 'targetLabel'),
      })),
    },
  };
}

/** A scrape config (for prometheus.yml) that discovers annotated pods of a run's namespace. */
export function annotationScrapeConfig(runId: string, namespace: string, intervalS = 2): Record<string, unknown> {
  return {
    job_name: `leiosnet-${runId}`,
    scrape_interval: `${intervalS}s`,
    honor_labels: true,
    kubernetes_sd_configs: [{ role: 'pod', namespaces: { names: [namespace] } }],
    relabel_configs: [
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'], action: 'keep', regex: 'true' },
      { source_labels: [podLabelMeta(POD_LABELS.run)], action: 'keep', regex: runId.replace(/[^A-Za-z0-9_.-]/g, '-') },
      { source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_path'], action: 'replace', target_label: '__metrics_path__', regex: '(.+)' },
      {
        source_labels: ['__address__', '__meta_kubernetes_pod_annotation_prometheus_io_port'],
        action: 'replace',
        regex: '([^:]+)(?::\\d+)?;(\\d+)',
        replacement: '$1:$2',
        target_label: '__address__',
      },
      ...relabelToOurs('source_labels', 'target_label'),
    ],
  };
}

/**
 * What to apply for a run: a PodMonitor when the operator is there, else annotations (to put on
 * every pod) and the scrape config for a self-run Prometheus.
 */
export function kubernetesMonitoring(
  runId: string,
  namespace: string,
  o: ScrapeOptions & { operator: boolean },
): { podMonitor?: Record<string, unknown>; annotations: Record<string, string>; scrapeConfig: Record<string, unknown> } {
  return {
    podMonitor: o.operator ? podMonitor(runId, namespace, o) : undefined,
    annotations: o.operator ? {} : scrapeAnnotations(o),
    scrapeConfig: annotationScrapeConfig(runId, namespace, o.intervalS),
  };
}
