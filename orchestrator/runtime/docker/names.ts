// Names and labels of everything the docker runtime creates. Cleanup and `list` use the labels
// only, so they work without the orchestrator that created the run.

/** Ports inside every node container (all nodes have their own IP on the run network). */
export const N2N_PORT = 3001;
export const ADMIN_PORT = 12798;
/** Inside the container: chain DB volume and the rewritten config. */
export const DATA_DIR = '/data';
export const CONFIG_PATH = '/config/config.json';

export const LABEL = {
  run: 'io.leiosnet.run',
  node: 'io.leiosnet.node',
  runtime: 'io.leiosnet.runtime',
  role: 'io.leiosnet.role', // node | generator
  profile: 'io.leiosnet.profile',
  runDir: 'io.leiosnet.run-dir',
  nodeDir: 'io.leiosnet.node-dir',
  release: 'io.leiosnet.release',
  configFile: 'io.leiosnet.config-file', // generator: its config file (host path)
  metricsPort: 'io.leiosnet.metrics-port', // generator: its /metrics port in the container
} as const;

function clean(s: string): string {
  // Docker names: [a-zA-Z0-9][a-zA-Z0-9_.-]*
  return s.replace(/[^A-Za-z0-9_.-]/g, '-');
}

export const networkName = (runId: string) => `leiosnet-${clean(runId)}`;
export const containerName = (runId: string, node: string) => `leiosnet-${clean(runId)}-${clean(node)}`;
export const volumeName = (runId: string, node: string) => `leiosnet-${clean(runId)}-${clean(node)}-db`;

export function runLabels(runId: string, extra: Record<string, string | undefined> = {}): Record<string, string> {
  const out: Record<string, string> = { [LABEL.run]: runId, [LABEL.runtime]: 'docker' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) out[k] = v;
  return out;
}

/** Engine list filter for one run, or for every leiosnet docker run. */
export function runFilter(runId?: string): { label: string[] } {
  return { label: runId === undefined ? [`${LABEL.runtime}=docker`] : [`${LABEL.run}=${runId}`] };
}
