// Names, labels and annotations of everything the kubernetes runtime creates. `down`, `ls` and
// `attach` find a run from these alone (no state on the orchestrator's machine).

export const LABEL = {
  run: 'leiosnet.io/run',
  node: 'leiosnet.io/node',
  role: 'leiosnet.io/role', // node | generator | safeguard
  /** what a pod's metrics are, the `role` label of Prometheus targets: pool | relay | generator */
  metricsRole: 'leiosnet.io/metrics-role',
  /** the plan's region of a node (sanitised), for relabelling */
  region: 'leiosnet.io/region',
  /** what a Secret holds: node-template (a node's template, with its admin token) | keys */
  secret: 'leiosnet.io/secret',
  release: 'leiosnet.io/release',
  managedBy: 'app.kubernetes.io/managed-by',
} as const;

export const ANNOTATION = {
  /** renewed by the orchestrator; the safeguard deletes the namespace when it stops changing */
  heartbeat: 'leiosnet.io/heartbeat',
  /** seconds without a heartbeat change after which the safeguard deletes the namespace */
  heartbeatTtlS: 'leiosnet.io/heartbeat-ttl-s',
  runDir: 'leiosnet.io/run-dir',
  profile: 'leiosnet.io/profile',
  nodeDir: 'leiosnet.io/node-dir',
  region: 'leiosnet.io/region',
  /**
   * Runs of earlier versions only: the node's template (JSON, with its admin token) as a pod
   * annotation. Now it is in the per-node Secret templateSecretName(node), so no token is
   * readable from a pod's metadata; attach still reads the annotation of an older run.
   */
  template: 'leiosnet.io/template',
} as const;

export const MANAGED_BY = 'leiosnet';

/** Ports inside every pod (each pod has its own IP). */
export const N2N_PORT = 3001;
export const ADMIN_PORT = 12798;
export const GENERATOR_METRICS_PORT = 12799;

/** Inside the containers. */
export const DATA_DIR = '/data'; // emptyDir: chain DB, node.log, trace.jsonl, generator output
export const CONTROL_DIR = '/run/leiosnet'; // emptyDir: config.json in force, supervisor control files
export const GENESIS_DIR = '/genesis'; // ConfigMap genesis
export const KEYS_DIR = '/keys'; // Secret keys-<owner>

/** A DNS-1123 label (≤ 63, [a-z0-9-], alphanumeric at both ends); long names keep a hash suffix. */
export function dnsLabel(s: string, max = 63): string {
  let out = s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '');
  if (out.length > max) {
    let h = 0;
    for (const c of s) h = (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0;
    const suffix = h.toString(36).slice(0, 6);
    out = `${out.slice(0, max - suffix.length - 1).replace(/-+$/, '')}-${suffix}`;
  }
  return out || 'x';
}

export const namespaceName = (prefix: string, runId: string) => dnsLabel(`${prefix}${runId}`);
export const nodePodName = (node: string) => dnsLabel(`node-${node}`);
export const generatorPodName = (name: string) => dnsLabel(`gen-${name}`);
export const keySecretName = (owner: string) => dnsLabel(`keys-${owner}`);
/** Per-node Secret with the node's template (peers by name, admin token): key TEMPLATE_KEY. */
export const templateSecretName = (node: string) => dnsLabel(`template-${node}`);
export const TEMPLATE_KEY = 'template.json';
export const GENESIS_CONFIGMAP = 'genesis';
export const SAFEGUARD = 'leiosnet-safeguard';
/** Cluster-scoped RBAC of one run's safeguard (owned by its namespace, labelled with the run). */
export const safeguardClusterName = (namespace: string) => dnsLabel(`leiosnet-safeguard-${namespace}`, 253);

/** Label values: ≤ 63 chars of [A-Za-z0-9_.-], alphanumeric at both ends. */
export function labelValue(s: string): string {
  const v = s.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 63).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return v;
}

export function runLabels(runId: string, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const out: Record<string, string> = { [LABEL.run]: labelValue(runId), [LABEL.managedBy]: MANAGED_BY };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = labelValue(v);
  return out;
}

export const runSelector = (runId?: string) => (runId === undefined ? `${LABEL.run},${LABEL.managedBy}=${MANAGED_BY}` : `${LABEL.run}=${labelValue(runId)}`);
