// The seam between the orchestrator and where nodes run (process | docker | kubernetes).
// Shape after zombienet-sdk: Runtime (a kind) → Deployment (one run id) → NodeHandle.

/** What a runtime can do, as data, so a profile is refused up front rather than midway. */
export interface RuntimeCapabilities {
  pause: boolean;
  restartWith: boolean; // swap release/image keeping the chain DB (upgrades)
  partition: boolean; // disconnect from the network at the runtime level
  resourceLimits: boolean;
  requiresImage: boolean;
}

/** One node to start, fully resolved by the planner/genesis step. */
export interface NodeSpec {
  name: string;
  /** Directory in the run dir holding config.json (+ keys); the runtime decides how to mount it. */
  dir: string;
  /** Node config as written to dir/config.json for the process runtime; other runtimes rewrite addresses. */
  config: import('../../node/config/schema.ts').NodeConfig;
  release: string; // release name, e.g. "praos-1.0" or "leios-2.0"
  resources?: { cpus?: number; memoryMb?: number };
}

export interface GeneratorSpec {
  name: string;
  dir: string; // holds generator config.json
  configFile: string;
}

export interface Endpoints {
  /** Base URL of the admin/metrics HTTP server as reachable from the orchestrator. */
  adminUrl: string;
  adminToken: string;
  /** host:port of the node-to-node listener as reachable from the orchestrator (tx submission). */
  n2n: { host: string; port: number };
}

export interface NodeStats {
  cpuPct: number;
  rssMb: number;
}

export interface NodeHandle {
  readonly name: string;
  endpoints(): Endpoints;
  stats(): Promise<NodeStats | undefined>;
  logs(): Promise<string>;
  stop(): Promise<void>; // graceful (SIGTERM)
  kill(): Promise<void>; // SIGKILL, no cleanup
  start(): Promise<void>; // after stop/kill, same release and DB
  pause(): Promise<void>;
  resume(): Promise<void>;
  /** Upgrade/downgrade: stop, swap release, start with the same chain DB. */
  restartWith(release: string): Promise<void>;
  running(): Promise<boolean>;
  /** Runtime-level partition (e.g. docker network disconnect), where capabilities.partition. */
  partition?(isolated: boolean): Promise<void>;
}

export interface Deployment {
  readonly runId: string;
  readonly runDir: string;
  nodes(): NodeHandle[];
  node(name: string): NodeHandle;
  startGenerator(spec: GeneratorSpec): Promise<void>;
  stopGenerator(): Promise<void>;
  /** Base URL of the generator's metrics endpoint as reachable from the orchestrator. */
  generatorUrl?(): Promise<string | undefined>;
  /** Remove everything of this run (processes, containers, networks, volumes). Idempotent. */
  down(): Promise<void>;
}

export interface RunInfo {
  runId: string;
  runtime: string;
  profile?: string;
  runDir?: string;
  nodes: number;
  running: number;
}

export interface Runtime {
  readonly name: 'process' | 'docker' | 'kubernetes';
  readonly capabilities: RuntimeCapabilities;
  /** Start all nodes of a run; resolves once every node answers /health. */
  up(runId: string, runDir: string, nodes: NodeSpec[]): Promise<Deployment>;
  /** Re-attach to a run started earlier (possibly by a dead orchestrator). */
  attach(runId: string): Promise<Deployment | undefined>;
  /** Runs this runtime knows of, found from labels/state alone. */
  list(): Promise<RunInfo[]>;
  /** Remove everything of a run, found by label/state, even without a live orchestrator. */
  down(runId: string): Promise<void>;
}
