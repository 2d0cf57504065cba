import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { NodeConfig, PeerConfig } from '../../node/config/schema.ts';
import type { Genesis } from '../../node/genesis/schema.ts';
import type { Plan, PlanNode } from '../profile/plan.ts';
import { releaseInfo, type ReleaseName } from '../profile/releases.ts';
import { Rng } from '../profile/rng.ts';
import type { GeneratorSpec, NodeSpec } from '../runtime/runtime.ts';
import { buildGenesis, runKeys, type RunKeys } from './genesis.ts';
import type { GeneratorConfig } from './generator-config.ts';
import { keyFileText } from './keys.ts';

// Plan → run directory: genesis/genesis.json, genesis/keys/*, nodes/<name>/config.json,
// profile.resolved.json; and generator/config.json. Paths inside configs are relative to the
// config file, so a run dir can be moved or mounted elsewhere as a whole.

export interface NodeAddress {
  host: string;
  /** node-to-node listener */
  port: number;
  /** admin/metrics HTTP */
  adminPort: number;
}

export type AddressOf = (nodeName: string) => NodeAddress;

export interface RunFileOptions {
  /** The only non-deterministic input: systemStart = now + genesis.startDelayS. */
  now: Date;
  /** Where each node listens, as the runtime allocated it. */
  addressOf: AddressOf;
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

/** Admin API token of a node: from the seeded RNG, so re-planning gives the same token. */
export function adminToken(plan: Plan, name: string): string {
  return new Rng(plan.seed, `admin-token/${name}`).hex(16);
}

export function nodeConfig(plan: Plan, node: PlanNode, addressOf: AddressOf): NodeConfig {
  const self = addressOf(node.name);
  const release = releaseInfo(node.release as ReleaseName);
  return {
    name: node.name,
    genesisFile: '../../genesis/genesis.json',
    release: { version: release.version, maxProtocolVersion: release.maxProtocolVersion },
    listen: { host: self.host, port: self.port },
    admin: { host: self.host, port: self.adminPort, token: adminToken(plan, node.name) },
    ...(node.role === 'pool'
      ? {
          pool: {
            id: node.name,
            coldSkeyFile: `../../genesis/keys/${node.name}.cold.skey`,
            vrfSkeyFile: `../../genesis/keys/${node.name}.vrf.skey`,
            blsSkeyFile: `../../genesis/keys/${node.name}.bls.skey`,
          },
        }
      : {}),
    peers: peersOf(plan, node.name).map(({ peer, link }) => {
      const a = addressOf(peer);
      return { name: peer, host: a.host, port: a.port, link };
    }),
    dbPath: 'db',
    traceFile: 'trace.jsonl',
    logFile: 'node.log',
    ...(plan.node.logLevel !== undefined ? { logLevel: plan.node.logLevel } : {}),
    mempoolCapacityBytes: plan.node.mempoolCapacityBytes,
    clockOffsetMs: 0,
    ...(node.adversary ? { adversary: structuredClone(node.adversary) } : {}),
  };
}

function writeKeys(dir: string, keys: RunKeys): void {
  mkdirSync(dir, { recursive: true });
  for (const [pool, k] of keys.pools) {
    writeFileSync(join(dir, `${pool}.cold.skey`), keyFileText('ColdSigningKey', k.cold.seed), { mode: 0o600 });
    writeFileSync(join(dir, `${pool}.vrf.skey`), keyFileText('VrfSigningKey', k.vrf.seed), { mode: 0o600 });
    writeFileSync(join(dir, `${pool}.bls.skey`), keyFileText('BlsSigningKey', k.bls.seed), { mode: 0o600 });
  }
  writeFileSync(join(dir, 'generator.skey'), keyFileText('PaymentSigningKey', keys.generator.seed), { mode: 0o600 });
}

/**
 * Write genesis, keys, node configs and profile.resolved.json into runDir; return what the runtime
 * starts. Byte-identical output for the same plan and `now`.
 */
export function writeRunFiles(plan: Plan, runDir: string, opts: RunFileOptions): NodeSpec[] {
  const root = resolve(runDir);
  const keys = runKeys(plan);
  const genesis: Genesis = buildGenesis(plan, opts.now, keys);
  mkdirSync(join(root, 'genesis'), { recursive: true });
  writeJson(join(root, 'profile.resolved.json'), plan);
  writeJson(join(root, 'genesis', 'genesis.json'), genesis);
  writeKeys(join(root, 'genesis', 'keys'), keys);
  return plan.nodes.map((node) => {
    const dir = join(root, 'nodes', node.name);
    mkdirSync(dir, { recursive: true });
    const config = nodeConfig(plan, node, opts.addressOf);
    writeJson(join(dir, 'config.json'), config);
    return {
      name: node.name,
      dir,
      config,
      release: node.release,
      ...(node.resources ? { resources: { ...node.resources } } : {}),
    };
  });
}

export interface GeneratorFileOptions {
  addressOf: AddressOf;
  /** Where the generator serves /metrics, if the runtime allocated a port for it. */
  metrics?: { host: string; port: number };
}

export function generatorConfig(plan: Plan, opts: GeneratorFileOptions): GeneratorConfig {
  const g = plan.generator;
  return {
    name: 'generator',
    genesisFile: '../genesis/genesis.json',
    paymentSkeyFile: '../genesis/keys/generator.skey',
    networkMagic: plan.genesis.networkMagic,
    targets: g.targets.map((name) => {
      const a = opts.addressOf(name);
      return { name, host: a.host, port: a.port };
    }),
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
    ...(opts.metrics ? { metrics: { ...opts.metrics } } : {}),
    logFile: 'generator.log',
    summaryFile: 'summary.json',
  };
}

/** Write generator/config.json (the genesis and keys come from writeRunFiles). */
export function writeGeneratorConfig(plan: Plan, runDir: string, opts: GeneratorFileOptions): GeneratorSpec {
  const dir = join(resolve(runDir), 'generator');
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, 'config.json');
  writeJson(configFile, generatorConfig(plan, opts));
  return { name: 'generator', dir, configFile };
}
