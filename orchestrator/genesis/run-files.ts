import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NodeConfig, PeerConfig } from '../../node/config/schema.ts';
import type { Genesis } from '../../node/genesis/schema.ts';
import type { Plan, PlanNode } from '../profile/plan.ts';
import { releaseInfo, type ReleaseName } from '../profile/releases.ts';
import { RunDir, type KeyKind } from '../rundir/index.ts';
import type { Endpoint, GeneratorSpec, NodeAddress, NodeSpec, NodeTemplate } from '../runtime/runtime.ts';
import { buildGenesis, runKeys, type RunKeys } from './genesis.ts';
import { GENERATOR_RUN_DIR_PATHS, renderGeneratorConfig, type GeneratorConfig, type GeneratorTemplate } from './generator-config.ts';
import { keyFileText } from './keys.ts';
import { opCertFileText } from '../../node/crypto/opcert.ts';
import { popsDigest, validatePoolPops } from '../../node/leios/certificate.ts';

// Plan → run directory: genesis/genesis.json, genesis/keys/*, profile.resolved.json, and the
// runtime-neutral spec of every node (peers by name, link shapes, keys, release, resources) and of
// the generator (targets by name). Node and generator configs are rendered by the runtime when it
// spawns (renderNodeConfig / renderGeneratorConfig with its resolver and its paths) and written
// through orchestrator/rundir, immutable once written.

export type { NodeAddress } from '../runtime/runtime.ts';
export type AddressOf = (nodeName: string) => NodeAddress;

export interface RunFileOptions {
  /** The only non-deterministic input: systemStart = now + genesis.startDelayS. */
  now: Date;
}

function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** The nodes `name` fetches from: upstreams of directed edges, both ends of undirected ones. */
export function peersOf(plan: Plan, name: string): { peer: string; link: PeerConfig['link'] }[] {
  const out = new Map<string, PeerConfig['link']>();
  for (const e of plan.topology.edges) {
    const peer = e.to === name ? e.from : !e.directed && e.from === name ? e.to : undefined;
    if (peer !== undefined && !out.has(peer)) out.set(peer, { ...e.link });
  }
  return [...out].map(([peer, link]) => ({ peer, link }));
}

/**
 * A fresh admin API token (128 random bits, hex) for one node of one run. Never derived from the
 * plan or its seed: the seed is in profile.resolved.json and often in the profile itself, so a
 * seeded token would be known to anyone who can read either. The token lives only in the node's
 * config (nodes/<name>/config.json, mode 0600) and the runtime's private records (pids.json,
 * 0600), reaches the node through that file (never argv or env), and is never logged.
 */
export function adminToken(): string {
  return randomBytes(16).toString('hex');
}

/** The runtime-neutral settings of one node (with a fresh admin token: see adminToken). */
export function nodeTemplate(plan: Plan, node: PlanNode, genesisPopsVerified?: string): NodeTemplate {
  return {
    name: node.name,
    role: node.role,
    release: node.release,
    adminToken: adminToken(),
    ...(node.role === 'pool' ? { poolId: node.name } : {}),
    peers: peersOf(plan, node.name).map(({ peer, link }) => ({ name: peer, ...(link ? { link } : {}) })),
    ...(plan.node.logLevel !== undefined ? { logLevel: plan.node.logLevel } : {}),
    mempoolCapacityBytes: plan.node.mempoolCapacityBytes,
    clockOffsetMs: 0,
    ...(node.adversary ? { adversary: structuredClone(node.adversary) } : {}),
    ...(genesisPopsVerified ? { genesisPopsVerified } : {}),
  };
}

/** Where a rendered config points: genesis, keys, chain DB, trace and log, as the node sees them. */
export interface NodePaths {
  genesisFile: string;
  keyFile(pool: string, kind: KeyKind): string;
  dbPath: string;
  traceFile: string;
  logFile: string;
}

/** Paths relative to nodes/<name>/config.json inside the run dir (the process runtime's form). */
export const RUN_DIR_PATHS: NodePaths = {
  genesisFile: '../../genesis/genesis.json',
  keyFile: (pool, kind) => `../../genesis/keys/${pool}.${kind}.skey`,
  dbPath: 'db',
  traceFile: 'trace.jsonl',
  logFile: 'node.log',
};

export interface RenderContext {
  /** where this node binds */
  bind: NodeAddress;
  /** a peer as this node dials it */
  peer(name: string): Endpoint;
  paths: NodePaths;
  /** the release to run (default the template's): restartWith renders with another */
  release?: string;
  /** the run the node belongs to: it reports it on /health, so readiness knows it reached this run's node */
  runId?: string;
}

/** A node config from its template, a runtime's addresses and paths (pure). */
export function renderNodeConfig(t: NodeTemplate, ctx: RenderContext): NodeConfig {
  const release = releaseInfo((ctx.release ?? t.release) as ReleaseName);
  const p = ctx.paths;
  return {
    name: t.name,
    ...(ctx.runId !== undefined ? { runId: ctx.runId } : {}),
    genesisFile: p.genesisFile,
    release: { version: release.version, maxProtocolVersion: release.maxProtocolVersion },
    listen: { host: ctx.bind.host, port: ctx.bind.port },
    admin: { host: ctx.bind.adminHost, port: ctx.bind.adminPort, token: t.adminToken },
    ...(t.poolId !== undefined
      ? { pool: { id: t.poolId, coldSkeyFile: p.keyFile(t.poolId, 'cold'), vrfSkeyFile: p.keyFile(t.poolId, 'vrf'), blsSkeyFile: p.keyFile(t.poolId, 'bls') } }
      : {}),
    peers: t.peers.map(({ name, link }) => {
      const a = ctx.peer(name);
      return { name, host: a.host, port: a.port, ...(link ? { link } : {}) };
    }),
    dbPath: p.dbPath,
    traceFile: p.traceFile,
    logFile: p.logFile,
    ...(t.logLevel !== undefined ? { logLevel: t.logLevel } : {}),
    ...(t.mempoolCapacityBytes !== undefined ? { mempoolCapacityBytes: t.mempoolCapacityBytes } : {}),
    clockOffsetMs: t.clockOffsetMs,
    ...(t.adversary ? { adversary: structuredClone(t.adversary) } : {}),
    ...(t.genesisPopsVerified ? { genesisPopsVerified: t.genesisPopsVerified } : {}),
  };
}

/**
 * Render and write host-form configs (every node on its own address from `addressOf`, run-dir
 * relative paths) for tools and tests that start nodes themselves; returns name → config.
 */
export function writeHostConfigs(specs: NodeSpec[], runDir: string, addressOf: AddressOf): Map<string, NodeConfig> {
  const rd = new RunDir(runDir);
  const out = new Map<string, NodeConfig>();
  for (const s of specs) {
    const cfg = renderNodeConfig(s.template, { bind: addressOf(s.name), peer: (n) => addressOf(n), paths: RUN_DIR_PATHS });
    rd.writeNodeConfig(s.name, cfg);
    out.set(s.name, cfg);
  }
  return out;
}

function writeKeys(dir: string, keys: RunKeys): void {
  mkdirSync(dir, { recursive: true });
  for (const [pool, k] of keys.pools) {
    writeFileSync(join(dir, `${pool}.cold.skey`), keyFileText('ColdSigningKey', k.cold.seed), { mode: 0o600 });
    writeFileSync(join(dir, `${pool}.vrf.skey`), keyFileText('VrfSigningKey', k.vrf.seed), { mode: 0o600 });
    writeFileSync(join(dir, `${pool}.bls.skey`), keyFileText('BlsSigningKey', k.bls.seed), { mode: 0o600 });
    // hot key and operational certificate (node/consensus/kes-credential.ts kesFilesBeside)
    writeFileSync(join(dir, `${pool}.kes.skey`), keyFileText('KesSigningKey', k.kes.seed), { mode: 0o600 });
    writeFileSync(join(dir, `${pool}.opcert.json`), opCertFileText(k.opcert), { mode: 0o600 }); // not secret, but the keys dir is 0600 throughout
  }
  writeFileSync(join(dir, 'generator.skey'), keyFileText('PaymentSigningKey', keys.generator.seed), { mode: 0o600 });
}

/**
 * Write genesis, keys and profile.resolved.json into runDir; return the runtime-neutral specs the
 * runtime starts. Byte-identical files for the same plan and `now`; the specs' admin tokens are
 * fresh per call (they are written later, with the node configs, 0600).
 */
export function writeRunFiles(plan: Plan, runDir: string, opts: RunFileOptions): NodeSpec[] {
  const rd = new RunDir(runDir);
  const keys = runKeys(plan);
  const genesis: Genesis = buildGenesis(plan, opts.now, keys);
  mkdirSync(rd.genesisDir, { recursive: true });
  writeJson(rd.planFile, plan);
  writeJson(rd.genesisFile, genesis);
  writeKeys(rd.keysDir, keys);
  // Every PoP checked here once, so the nodes need not each check them all at their first start
  // (52 nodes × 1.4 s of CPU at pt-cluster-52's bring-up): their configs pin the verified keys.
  const rogue = validatePoolPops(genesis.pools);
  if (rogue.length) throw new Error(`genesis: BLS proof of possession does not verify for ${rogue.join(', ')}`);
  const popsVerified = popsDigest(genesis.pools);
  return plan.nodes.map((node) => {
    const dir = rd.nodeDir(node.name);
    mkdirSync(dir, { recursive: true });
    return {
      name: node.name,
      dir,
      template: nodeTemplate(plan, node, popsVerified),
      release: node.release,
      ...(node.region !== undefined ? { region: node.region } : {}),
      ...(node.resources ? { resources: { ...node.resources } } : {}),
    };
  });
}

/** The generator's settings from the plan, targets by node name (runtime-neutral). */
export function generatorTemplate(plan: Plan): GeneratorTemplate {
  const g = plan.generator;
  return {
    name: 'generator',
    networkMagic: plan.genesis.networkMagic,
    targets: [...g.targets],
    enabled: g.enabled,
    tps: g.tps,
    txSizeBytes: g.txSizeBytes,
    inputs: g.inputs,
    outputs: g.outputs,
    workload: g.workload,
    ...(g.conflictFraction !== undefined ? { conflictFraction: g.conflictFraction } : {}),
    ...(g.burst ? { burst: { ...g.burst } } : {}),
    ...(g.rampUpS !== undefined ? { rampUpS: g.rampUpS } : {}),
    ...(g.durationS !== undefined ? { durationS: g.durationS } : {}),
    seed: g.seed,
  };
}

/** The generator spec of a run (its config is rendered by the runtime at each start). */
export function generatorSpec(plan: Plan, runDir: string): GeneratorSpec {
  const dir = new RunDir(runDir).generatorDir;
  mkdirSync(dir, { recursive: true });
  return { name: 'generator', dir, template: generatorTemplate(plan) };
}

export interface GeneratorFileOptions {
  addressOf: AddressOf;
  /** Where the generator serves /metrics. */
  metrics?: { host: string; port: number };
}

/** Host-form generator config (run-dir relative paths), for tools and tests; returns its file. */
export function writeHostGeneratorConfig(plan: Plan, runDir: string, opts: GeneratorFileOptions): { file: string; config: GeneratorConfig } {
  const config = renderGeneratorConfig(generatorTemplate(plan), {
    target: (n) => opts.addressOf(n),
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    paths: GENERATOR_RUN_DIR_PATHS,
  });
  const rd = new RunDir(resolve(runDir));
  const file = rd.writeGeneratorConfig(config);
  return { file, config: rd.readGeneratorConfig(file) };
}
