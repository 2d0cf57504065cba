import fs from 'node:fs';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import type { NodeConfig } from './schema.ts';
import type { Genesis } from '../genesis/schema.ts';
// compiled ahead from NodeConfigSchema and GenesisSchema by `npm run schemas` (allErrors,
// useDefaults, strictNumbers: non-finite numbers, JSON's 1e999 = Infinity, are the wrong type)
import { validateConfig, validateGenesis } from './validators.generated.js';
import type { NodeKeys } from '../node.ts';
import { fromHex } from '../crypto/hash.ts';
import { popsDigest, validatePoolPops } from '../leios/certificate.ts';

// Reads and checks everything a node starts from: config, genesis, keys. Relative paths in
// the config are relative to the config file.

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function describe(file: string, errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return `${file}: invalid`;
  const field = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)';
  const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
  return `${file}: field ${field}: ${e.message}${extra}`;
}

function readJson(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${what} ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
}

export function readKeyFile(file: string, type: string): Uint8Array {
  const k = readJson(file, 'key file') as { type?: unknown; hex?: unknown };
  if (k.type !== type) throw new ConfigError(`${file}: field type: expected "${type}", got ${JSON.stringify(k.type)}`);
  if (typeof k.hex !== 'string' || !/^[0-9a-f]{64}$/.test(k.hex)) throw new ConfigError(`${file}: field hex: expected 64 hex characters`);
  return fromHex(k.hex);
}

export interface LoadGenesisOptions {
  /** The node's DB dir: remembers that these exact pool keys' proofs of possession verified. */
  popCacheDir?: string;
  /**
   * The config's `genesisPopsVerified`: the digest (popsDigest) of the pool keys its writer
   * verified. A genesis with exactly those keys is not re-checked, as a node trusts a genesis
   * whose hash its config pins.
   */
  verifiedPopsDigest?: string;
  /** false for readers that never check BLS signatures (the tx-generator). */
  verifyPops?: boolean;
}

/**
 * Read and validate a genesis file. The PoP check is one pairing product over every pool (1.4 s
 * of CPU at 52 pools, the largest cost of a node's first start): it is skipped when the config
 * pins the verified keys, or on a restart whose DB remembers them.
 */
export function loadGenesis(file: string, opts: LoadGenesisOptions = {}): Genesis {
  const g = readJson(file, 'genesis');
  if (!validateGenesis(g)) throw new ConfigError(describe(file, validateGenesis.errors));
  const genesis = g as Genesis;
  if (opts.verifyPops === false) return genesis;
  const cacheFile = opts.popCacheDir && path.join(opts.popCacheDir, POP_CACHE_FILE);
  const digest = cacheFile || opts.verifiedPopsDigest ? popsDigest(genesis.pools) : '';
  if (opts.verifiedPopsDigest !== undefined && opts.verifiedPopsDigest === digest) return genesis;
  if (cacheFile && readCachedDigest(cacheFile) === digest) return genesis;
  // A BLS key without a valid proof of possession would allow rogue-key aggregation.
  const rogue = validatePoolPops(genesis.pools);
  if (rogue.length) throw new ConfigError(`${file}: field pools: BLS proof of possession does not verify for ${rogue.join(', ')}`);
  if (cacheFile) {
    try {
      fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
      fs.writeFileSync(cacheFile, digest + '\n', { mode: 0o600 });
    } catch {
      /* a cache: not fatal */
    }
  }
  return genesis;
}

/** In the node's DB dir: the digest of the genesis pool keys whose PoPs were verified. */
export const POP_CACHE_FILE = 'genesis-pops.verified';


function readCachedDigest(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function loadNodeFiles(configFile: string): { config: NodeConfig; genesis: Genesis; keys?: NodeKeys } {
  const raw = readJson(configFile, 'config');
  if (!validateConfig(raw)) throw new ConfigError(describe(configFile, validateConfig.errors));
  const dir = path.dirname(path.resolve(configFile));
  const abs = (p: string) => path.resolve(dir, p);
  const c = raw as NodeConfig;
  const config: NodeConfig = {
    ...c,
    genesisFile: abs(c.genesisFile),
    dbPath: abs(c.dbPath),
    traceFile: c.traceFile ? abs(c.traceFile) : undefined,
    logFile: c.logFile ? abs(c.logFile) : undefined,
    pool: c.pool && {
      ...c.pool,
      coldSkeyFile: abs(c.pool.coldSkeyFile),
      vrfSkeyFile: abs(c.pool.vrfSkeyFile),
      blsSkeyFile: abs(c.pool.blsSkeyFile),
    },
  };
  const genesis = loadGenesis(config.genesisFile, { popCacheDir: config.dbPath, verifiedPopsDigest: config.genesisPopsVerified });
  const keys = config.pool && {
    poolId: config.pool.id,
    coldSeed: readKeyFile(config.pool.coldSkeyFile, 'ColdSigningKey'),
    vrfSeed: readKeyFile(config.pool.vrfSkeyFile, 'VrfSigningKey'),
    blsSeed: readKeyFile(config.pool.blsSkeyFile, 'BlsSigningKey'),
  };
  if (keys && !genesis.pools.some((p) => p.id === keys.poolId)) throw new ConfigError(`${configFile}: field pool.id: "${keys.poolId}" is not a pool in genesis`);
  return { config, genesis, keys };
}
