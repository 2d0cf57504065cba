// The run directory's owner: typed paths and validated readers/writers (DESIGN.md "Run directory").
//
//   meta.json  profile.resolved.json  events.jsonl  summary.json  report.{html,md}
//   genesis/genesis.json  genesis/keys/<pool>.{cold,vrf,bls}.skey  genesis/keys/generator.skey
//   nodes/<name>/config.json [config-2.json ...]  node.log  trace.jsonl  db/ (process runtime)
//   generator/config.json [config-2.json ...]  generator.log  summary.json  txs.jsonl
//   metrics/...
//
// Configs are immutable once written: a runtime renders a node's config when it first spawns it
// (config.json) and a new one (config-2.json, config-3.json, ...) whenever the node starts with
// different settings (restartWith another release); the generator likewise per start segment
// (another rate). The newest config is the one in force; the older ones are the history.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { NodeConfigSchema, type NodeConfig } from '../../node/config/schema.ts';
import { GeneratorConfigSchema, type GeneratorConfigInput } from '../../tx-generator/config.ts';

export type KeyKind = 'cold' | 'vrf' | 'bls';

// strictNumbers: a non-finite number (JSON 1e999 parses to Infinity) is refused as the wrong type
const ajv = new Ajv({ allErrors: false, strict: false, strictNumbers: true });
const validNode = ajv.compile(NodeConfigSchema);
// the generator's own schema; defaults are filled in, so the file says every setting in force
const validGenerator = new Ajv({ strict: false, useDefaults: true, strictNumbers: true }).compile(GeneratorConfigSchema);

export class RunDirError extends Error {
  override name = 'RunDirError';
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new RunDirError(`cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new RunDirError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
}

function firstError(errors: { instancePath: string; message?: string }[] | null | undefined): string {
  const e = errors?.[0];
  return e ? `field ${e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)'}: ${e.message}` : 'invalid';
}

/** config.json, config-2.json, ... in `dir`, oldest first. */
function configGenerations(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const gen = (n: string) => (n === 'config.json' ? 1 : Number(/^config-(\d+)\.json$/.exec(n)?.[1] ?? 0));
  return names
    .filter((n) => gen(n) > 0)
    .sort((a, b) => gen(a) - gen(b))
    .map((n) => join(dir, n));
}

/** Write the next config generation (never overwrites: `wx`; mode 0600). Returns its path. */
function writeNextConfig(dir: string, value: unknown): string {
  mkdirSync(dir, { recursive: true });
  const have = configGenerations(dir);
  const text = `${JSON.stringify(value, null, 2)}\n`;
  const last = have.at(-1);
  // starting again with the same settings reuses the config in force
  if (last !== undefined && readFileSync(last, 'utf8') === text) return last;
  const file = join(dir, have.length === 0 ? 'config.json' : `config-${have.length + 1}.json`);
  // 0600: a node config carries its admin token (the generator's is private by the same rule)
  writeFileSync(file, text, { flag: 'wx', mode: 0o600 });
  return file;
}

export class RunDir {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  get metaFile(): string {
    return join(this.root, 'meta.json');
  }
  get planFile(): string {
    return join(this.root, 'profile.resolved.json');
  }
  get eventsFile(): string {
    return join(this.root, 'events.jsonl');
  }
  get summaryFile(): string {
    return join(this.root, 'summary.json');
  }
  get genesisDir(): string {
    return join(this.root, 'genesis');
  }
  get genesisFile(): string {
    return join(this.root, 'genesis', 'genesis.json');
  }
  get keysDir(): string {
    return join(this.root, 'genesis', 'keys');
  }
  keyFile(pool: string, kind: KeyKind): string {
    return join(this.keysDir, `${pool}.${kind}.skey`);
  }
  get generatorKeyFile(): string {
    return join(this.keysDir, 'generator.skey');
  }
  /** The key files a run has, as (file name → path), for runtimes that ship them elsewhere. */
  keyFiles(): Map<string, string> {
    const out = new Map<string, string>();
    for (const n of readdirSync(this.keysDir).sort()) out.set(n, join(this.keysDir, n));
    return out;
  }

  nodeDir(name: string): string {
    return join(this.root, 'nodes', name);
  }
  nodeLog(name: string): string {
    return join(this.nodeDir(name), 'node.log');
  }
  nodeTrace(name: string): string {
    return join(this.nodeDir(name), 'trace.jsonl');
  }
  get generatorDir(): string {
    return join(this.root, 'generator');
  }

  /** Validate and write the next config generation of a node. Returns the file written (or reused). */
  writeNodeConfig(name: string, config: NodeConfig): string {
    if (!validNode(config)) throw new RunDirError(`node ${name}: config ${firstError(validNode.errors)}`);
    return writeNextConfig(this.nodeDir(name), config);
  }

  /** Every config generation of a node, oldest first. */
  nodeConfigFiles(name: string): string[] {
    return configGenerations(this.nodeDir(name));
  }

  /** Read and validate a node config file. */
  readNodeConfig(file: string): NodeConfig {
    const v = readJson(file);
    if (!validNode(v)) throw new RunDirError(`${file}: ${firstError(validNode.errors)}`);
    return v as NodeConfig;
  }

  /** The config in force (the newest generation), if any. */
  currentNodeConfig(name: string): { file: string; config: NodeConfig } | undefined {
    const file = this.nodeConfigFiles(name).at(-1);
    return file === undefined ? undefined : { file, config: this.readNodeConfig(file) };
  }

  /** Validate (the tx-generator's schema), fill its defaults and write the next generation. */
  writeGeneratorConfig(config: GeneratorConfigInput): string {
    const copy = structuredClone(config);
    if (!validGenerator(copy)) throw new RunDirError(`generator config ${firstError(validGenerator.errors)}`);
    return writeNextConfig(this.generatorDir, copy);
  }

  generatorConfigFiles(): string[] {
    return configGenerations(this.generatorDir);
  }

  readGeneratorConfig(file: string): GeneratorConfigInput {
    const v = readJson(file);
    const copy = structuredClone(v);
    if (!validGenerator(copy)) throw new RunDirError(`${file}: ${firstError(validGenerator.errors)}`);
    return v as GeneratorConfigInput;
  }

  /** meta.json's `profile` (or the plan's profile name), for labels; undefined if neither reads. */
  profileName(): string | undefined {
    for (const f of [this.metaFile, this.planFile]) {
      if (!existsSync(f)) continue;
      try {
        const j = readJson(f) as { profile?: string | { name?: unknown } };
        const p = typeof j.profile === 'string' ? j.profile : typeof j.profile?.name === 'string' ? j.profile.name : undefined;
        if (p) return p;
      } catch {
        /* unreadable */
      }
    }
    return undefined;
  }
}
