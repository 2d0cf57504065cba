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

/** host:port of a listener. */
export interface Endpoint {
  host: string;
  port: number;
}

/**
 * Where one node listens or is reached: node-to-node (tx submission, chain sync) and admin/metrics
 * HTTP. The one address type of the seam: runtimes resolve node names to it.
 */
export interface NodeAddress {
  host: string;
  /** node-to-node listener */
  port: number;
  adminHost: string;
  /** admin/metrics HTTP */
  adminPort: number;
}

/**
 * A runtime's view of addresses: node name → where it binds (inside its own environment), how
 * another node of the run dials it, and how the orchestrator reaches it. Process: 127.0.0.x;
 * docker: container names on the run network / container IPs; kubernetes: pod IPs.
 */
export interface Resolver {
  /** Where `name` binds its listeners. */
  bind(name: string): NodeAddress;
  /** `name` as another node (or the generator) of the run dials it. */
  fromNode(name: string): Endpoint;
  /** `name` as the orchestrator reaches it (undefined while it has no address, e.g. not running). */
  fromOrchestrator(name: string): NodeAddress | undefined;
}

/** Runtime-neutral node settings: peers by NAME, no addresses, no paths (runtimes render them). */
export interface NodeTemplate {
  name: string;
  role: 'pool' | 'relay';
  /** release name, e.g. "praos-1.0" or "leios-2.0" */
  release: string;
  adminToken: string;
  /** pool id in genesis (pools only): keys are genesis/keys/<id>.{cold,vrf,bls}.skey */
  poolId?: string;
  peers: { name: string; link?: import('../../node/config/schema.ts').LinkShape }[];
  logLevel?: string;
  mempoolCapacityBytes?: number;
  clockOffsetMs: number;
  adversary?: Record<string, unknown>;
  /** popsDigest of the genesis pools, verified once by the genesis step (node config genesisPopsVerified) */
  genesisPopsVerified?: string;
}

/** One node to start, fully resolved by the planner/genesis step, independent of the runtime. */
export interface NodeSpec {
  name: string;
  /** nodes/<name> in the run dir: configs, node.log, trace.jsonl land here. */
  dir: string;
  template: NodeTemplate;
  release: string;
  /** the plan's region of the node (topology import), a label for metrics */
  region?: string;
  resources?: { cpus?: number; memoryMb?: number };
}

/** The generator to start: its config without addresses (targets by node name). */
export interface GeneratorSpec {
  name: string;
  /** generator/ in the run dir */
  dir: string;
  template: import('../genesis/generator-config.ts').GeneratorTemplate;
}

/** One Prometheus scrape target (file_sd: `targets: [address]`, `labels`). */
export interface MetricsTarget {
  /** host:port as reachable from the orchestrator */
  address: string;
  metricsPath: '/metrics';
  labels: { run: string; node: string; role: 'pool' | 'relay' | 'generator'; release: string; region: string; runtime: string };
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
  /** proportional set size (shared pages divided among their users), where the runtime can see it */
  pssMb?: number;
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
  /**
   * Copy the node's artifacts (node.log, trace.jsonl) into its run-dir directory, for runtimes
   * where they live elsewhere (kubernetes: in the pod). A no-op where they are written in place.
   */
  fetchArtifacts(): Promise<void>;
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
  /**
   * Every node's (and the running generator's) metrics endpoint as reachable from the
   * orchestrator, with labels: the input of Prometheus file_sd. Nodes without an address (not
   * running) are left out; call again after faults.
   */
  targets(): Promise<MetricsTarget[]>;
  /**
   * The orchestrator lets go of a testnet it leaves running (`leiosnet up`): runtimes with a
   * dead-orchestrator safeguard (kubernetes) extend it. Optional.
   */
  release?(): Promise<void>;
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
  /**
   * Seconds `up` typically takes for n nodes beyond what a profile's genesis.startDelayS covers
   * (pod scheduling, image start): the pipeline moves the chain's system start by this much, so
   * the chain begins once the nodes run. Absent = 0.
   */
  startupAllowanceS?(nodes: number): number;
  /**
   * Make ready what `up` and later upgrades will need (node images: built or checked), before the
   * pipeline sets the chain's system start — an image build must not eat the start delay or count
   * as bring-up. Absent = nothing to prepare.
   */
  prepare?(releases: string[]): Promise<void>;
  /**
   * Refuse up front (UserError → exit 2) a plan this runtime's environment cannot run, e.g. node
   * resources larger than a cluster has. Called by the pipeline right after the capability check,
   * before the image check, genesis and any run dir or runtime object exist. Absent = admits all.
   */
  admit?(plan: { nodes: AdmitNode[] }): Promise<unknown>;
}

/** What admission looks at of a planned node (a Plan's node and a NodeSpec both are one). */
export type AdmitNode = Pick<NodeSpec, 'name' | 'resources'>;
