import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { TSchema } from '@sinclair/typebox';
import { NodeConfigSchema, type NodeConfig } from '../../node/config/schema.ts';
import { loadNodeFiles, POP_CACHE_FILE } from '../../node/config/load.ts';
import { popsDigest } from '../../node/leios/certificate.ts';
import { blsKeygen, blsVerifyPop } from '../../node/crypto/bls.ts';
import { ed25519PublicKey } from '../../node/crypto/ed25519.ts';
import { fromHex, hash224, toHex } from '../../node/crypto/hash.ts';
import { vrfKeygen } from '../../node/crypto/vrf.ts';
import { GenesisSchema, type Genesis } from '../../node/genesis/schema.ts';
import { GeneratorConfigSchema, type GeneratorConfig } from '../../orchestrator/genesis/generator-config.ts';
import { writeHostConfigs, writeHostGeneratorConfig, writeRunFiles, type AddressOf } from '../../orchestrator/genesis/run-files.ts';
import { loadProfile } from '../../orchestrator/profile/load.ts';
import { PlanSchema, type Plan } from '../../orchestrator/profile/plan.ts';
import { resolvePlan } from '../../orchestrator/profile/resolve.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;
const ajv = addFormats(new Ajv({ allErrors: true, strict: false }));
function check(schema: TSchema, value: unknown): void {
  const v = ajv.compile(schema);
  expect(v(value), JSON.stringify(v.errors)).toBe(true);
}

const NOW = new Date('2026-03-01T12:00:00.000Z');
const addressOf: AddressOf = (name) => {
  const i = Number(name.split('-')[1]) + (name.startsWith('relay') ? 500 : 0);
  const host = `127.0.0.${1 + (i % 200)}`;
  return { host, port: 30000 + i, adminHost: host, adminPort: 40000 + i };
};

const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-genesis-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let runs = 0;
function runDir(): string {
  return join(tmp, `run-${++runs}`);
}

const plan = (name: string, sets: string[] = []): Plan => resolvePlan(loadProfile(name, { cwd: REPO, sets }));

/** Every file under dir, relative path → bytes. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return out;
}

describe('plan', () => {
  it('validates against PlanSchema and survives a JSON round trip', () => {
    for (const name of ['ci-test', 'ci-bench', 'pt-cluster-52']) {
      const p = plan(name);
      check(PlanSchema, p);
      expect(JSON.parse(JSON.stringify(p))).toEqual(p);
    }
  });

  it('is deterministic from the seed; another seed changes the random parts', () => {
    const sets = ['composition.pools=12', 'composition.topology={kind: random-regular, degree: 4}', 'composition.stake={kind: pareto}'];
    const a = plan('quickstart', sets);
    expect(plan('quickstart', sets)).toEqual(a);
    const b = plan('quickstart', [...sets, 'seed=2']);
    expect(b.topology.edges).not.toEqual(a.topology.edges);
    expect(b.nodes.map((n) => n.stake)).not.toEqual(a.nodes.map((n) => n.stake));
    expect(b.genesis.initialNonce).not.toBe(a.genesis.initialNonce);
  });

  it('splits stake exactly: equal, pareto (skewed), explicit', () => {
    const total = (p: Plan) => p.nodes.reduce((s, n) => s + n.stake, 0);
    const eq = plan('quickstart', ['composition.pools=3', 'composition.stake={kind: equal, total: 1000}']);
    expect(eq.nodes.map((n) => n.stake)).toEqual([334, 333, 333]);
    const par = plan('quickstart', ['composition.pools=20', 'composition.stake={kind: pareto, alpha: 1.16, total: 1000000}']);
    expect(total(par)).toBe(1_000_000);
    expect(Math.max(...par.nodes.map((n) => n.stake))).toBeGreaterThan(3 * Math.min(...par.nodes.map((n) => n.stake)));
    const ex = plan('quickstart', ['composition.stake={kind: explicit, stakes: [4, 3, 2, 1]}']);
    expect(ex.nodes.map((n) => n.stake)).toEqual([4, 3, 2, 1]);
    expect(() => plan('quickstart', ['composition.stake={kind: explicit, stakes: [1, 2]}'])).toThrow(/one stake per pool \(4\), got 2/);
  });

  it('resolves derived values: txkbPerS → tps, targets "all", mempool size, duration', () => {
    const p = plan('ci-bench', ['generator.txkbPerS=20']);
    expect(p.generator.tps).toBeCloseTo(20_000 / 1500);
    expect(p.generator.targets).toEqual(p.nodes.map((n) => n.name));
    expect(p.node.mempoolCapacityBytes).toBe(2 * (90_112 + 12_000_000));
    expect(p.scenario.estimatedDurationS).toBe(380);
    expect(plan('ci-test', ['scenario.duration={blocks: 10}']).scenario.estimatedDurationS).toBe(40); // 10 blocks × 0.2 s / 0.05
  });
});

describe('genesis and run files', () => {
  it('writes a genesis that validates, with keys that match the key files', () => {
    const p = plan('ci-test', ['composition.relays=2']);
    const dir = runDir();
    const specs = writeRunFiles(p, dir, { now: NOW });
    const genesis = JSON.parse(readFileSync(join(dir, 'genesis/genesis.json'), 'utf8')) as Genesis;
    check(GenesisSchema, genesis);
    expect(genesis.systemStart).toBe('2026-03-01T12:00:06.000Z'); // now + startDelayS 6
    expect(genesis.pools.map((x) => x.id)).toEqual(['pool-1', 'pool-2', 'pool-3', 'pool-4', 'pool-5']);
    expect(genesis.pools.reduce((s, x) => s + x.stake, 0)).toBe(1_000_000_000_000);
    expect(genesis.eras).toEqual(p.genesis.eras);
    expect(genesis.leios).toEqual({ lHdrSlots: 1, lVoteSlots: 4, lDiffSlots: 7, ebMaxRefBytes: 512_000, ebMaxTxBytes: 12_000_000, quorum: 0.75, committee: { kind: 'truncation', sigmaC: 0.99 } });
    expect(genesis.protocolParams.maxBlockBodySize).toBe(4096); // ci-test scales RBs down with time

    const key = (file: string, type: string) => {
      const k = JSON.parse(readFileSync(join(dir, 'genesis/keys', file), 'utf8')) as { type: string; hex: string };
      expect(k.type).toBe(type);
      expect(statSync(join(dir, 'genesis/keys', file)).mode & 0o077).toBe(0);
      return fromHex(k.hex);
    };
    for (const pool of genesis.pools) {
      expect(toHex(ed25519PublicKey(key(`${pool.id}.cold.skey`, 'ColdSigningKey')))).toBe(pool.coldVkey);
      expect(toHex(vrfKeygen(key(`${pool.id}.vrf.skey`, 'VrfSigningKey')).pk)).toBe(pool.vrfVkey);
      const bls = blsKeygen(key(`${pool.id}.bls.skey`, 'BlsSigningKey'));
      expect(toHex(bls.pk)).toBe(pool.blsVkey);
      expect(blsVerifyPop(bls.pk, fromHex(pool.blsPop))).toBe(true);
    }
    const genAddr = toHex(hash224(ed25519PublicKey(key('generator.skey', 'PaymentSigningKey'))));
    expect(genesis.initialUtxo).toHaveLength(500);
    expect(genesis.initialUtxo.every((u) => u.address === genAddr)).toBe(true);
    expect(new Set(genesis.initialUtxo.map((u) => `${u.txId}#${u.index}`)).size).toBe(500);
    expect(genesis.initialUtxo.reduce((s, u) => s + u.amount, 0)).toBe(p.genesis.utxo.generatorFunds);
    expect(specs).toHaveLength(7);
  });

  it('writes node configs that validate and that the node itself loads', () => {
    const p = plan('ci-test', ['composition.relays=2', 'node.releases.pool-3=praos-1.0', 'node.adversaries.pool-2={eb-withholding: {}}']);
    const dir = runDir();
    const specs = writeRunFiles(p, dir, { now: NOW });
    // the specs are runtime-neutral (peers by name); host-form configs rendered with addressOf
    const configs = writeHostConfigs(specs, dir, addressOf);
    const config = (name: string) => configs.get(name)!;
    for (const spec of specs) {
      expect(spec.dir).toBe(join(dir, 'nodes', spec.name));
      expect(spec.template.peers.every((x) => !('host' in x))).toBe(true);
      const onDisk = JSON.parse(readFileSync(join(spec.dir, 'config.json'), 'utf8')) as NodeConfig;
      expect(onDisk).toEqual(config(spec.name));
      check(NodeConfigSchema, onDisk);
      const a = addressOf(spec.name);
      expect(onDisk.listen).toEqual({ host: a.host, port: a.port });
      expect(onDisk.admin).toMatchObject({ host: a.host, port: a.adminPort });
      expect(onDisk.admin.token).toMatch(/^[0-9a-f]{32}$/);
      expect(onDisk.dbPath).toBe('db');
      expect(onDisk.traceFile).toBe('trace.jsonl');
      expect(onDisk.logFile).toBe('node.log');
      // the node's own loader: schema, genesis, key files, pool id
      const loaded = loadNodeFiles(join(spec.dir, 'config.json'));
      expect(loaded.config.dbPath).toBe(join(dir, 'nodes', spec.name, 'db'));
      expect(Boolean(loaded.keys)).toBe(spec.name.startsWith('pool'));
      // the genesis step checked every PoP once and pins those keys: the node does not re-check
      // them (nor needs its DB's memory of a check)
      expect(onDisk.genesisPopsVerified).toBe(popsDigest(loaded.genesis.pools));
      expect(existsSync(join(spec.dir, 'db', POP_CACHE_FILE))).toBe(false);
    }
    const byName = new Map(specs.map((s) => [s.name, s]));
    expect(byName.get('pool-3')!.release).toBe('praos-1.0');
    expect(config('pool-3').release).toEqual({ version: '1.0.0', maxProtocolVersion: 1 });
    expect(config('pool-1').release).toEqual({ version: '2.0.0', maxProtocolVersion: 2 });
    expect(config('relay-1').pool).toBeUndefined();
    expect(config('pool-2').adversary).toEqual({ 'eb-withholding': {} });
    expect(new Set(specs.map((s) => config(s.name).admin.token)).size).toBe(specs.length);

    // peers: both ends of every undirected edge, with the edge's link shape
    for (const e of p.topology.edges) {
      const peerOfTo = config(e.to).peers.find((x) => x.name === e.from);
      const peerOfFrom = config(e.from).peers.find((x) => x.name === e.to);
      expect(peerOfTo).toEqual({ name: e.from, host: addressOf(e.from).host, port: addressOf(e.from).port, link: e.link });
      expect(peerOfFrom?.link).toEqual(e.directed ? undefined : e.link);
    }
  });

  it('directed topologies give peers only to the downstream end', () => {
    const p = plan('ci-test', ['composition.topology={kind: uni-circle}']);
    const specs = writeRunFiles(p, runDir(), { now: NOW });
    expect(specs.map((s) => s.template.peers.map((x) => x.name))).toEqual([['pool-5'], ['pool-1'], ['pool-2'], ['pool-3'], ['pool-4']]);
  });

  it('is byte-identical for the same plan and now; another seed or now differs', () => {
    const p = plan('ci-test');
    const a = runDir();
    const b = runDir();
    writeRunFiles(p, a, { now: NOW });
    writeRunFiles(plan('ci-test'), b, { now: NOW });
    const sa = snapshot(a);
    expect(sa.size).toBeGreaterThan(10);
    expect(snapshot(b)).toEqual(sa);

    const c = runDir();
    writeRunFiles(plan('ci-test', ['seed=8']), c, { now: NOW });
    const sc = snapshot(c);
    expect(sc.get('genesis/genesis.json')).not.toBe(sa.get('genesis/genesis.json'));
    expect(sc.get('genesis/keys/pool-1.cold.skey')).not.toBe(sa.get('genesis/keys/pool-1.cold.skey'));

    const d = runDir();
    writeRunFiles(p, d, { now: new Date(NOW.getTime() + 1000) });
    const sd = snapshot(d);
    expect(sd.get('genesis/genesis.json')).not.toBe(sa.get('genesis/genesis.json'));
    expect(sd.get('genesis/keys/pool-1.bls.skey')).toBe(sa.get('genesis/keys/pool-1.bls.skey'));
    expect(JSON.parse(sa.get('profile.resolved.json')!)).toEqual(p);
  });

  it('writes a generator config that validates against GeneratorConfigSchema', () => {
    const p = plan('ci-bench', ['generator.targets=[pool-1, pool-2]', 'generator.workload=burst', 'generator.burst={onS: 5, offS: 5}', 'generator.txkbPerS=20']);
    const dir = runDir();
    writeRunFiles(p, dir, { now: NOW });
    const written = writeHostGeneratorConfig(p, dir, { addressOf, metrics: { host: '127.0.0.1', port: 39999 } });
    expect(written.file).toBe(join(dir, 'generator', 'config.json'));
    const spec = { dir: join(dir, 'generator') };
    const cfg = JSON.parse(readFileSync(written.file, 'utf8')) as GeneratorConfig;
    check(GeneratorConfigSchema, cfg);
    expect(cfg.targets).toEqual([
      { name: 'pool-1', ...{ host: addressOf('pool-1').host, port: addressOf('pool-1').port } },
      { name: 'pool-2', ...{ host: addressOf('pool-2').host, port: addressOf('pool-2').port } },
    ]);
    expect(cfg.tps).toBeCloseTo(20_000 / 1500);
    expect(cfg.burst).toEqual({ onS: 5, offS: 5 });
    expect(readFileSync(join(spec.dir, cfg.genesisFile), 'utf8')).toContain('"initialUtxo"');
    expect(JSON.parse(readFileSync(join(spec.dir, cfg.paymentSkeyFile), 'utf8')).type).toBe('PaymentSigningKey');
    expect(() => plan('ci-bench', ['generator.workload=burst'])).toThrow(/workload burst needs burst/);
  });
});
