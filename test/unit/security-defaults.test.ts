// Security defaults: admin tokens random per run (never from the seed), node configs, key files,
// pids.json and state records owner-only (0600), non-finite numbers refused by every config
// loader's schema (Ajv strictNumbers), and the readiness identity rule (name + run id).

import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadGenesis, loadNodeFiles } from '../../node/config/load.ts';
import type { NodeConfig } from '../../node/config/schema.ts';
import { writeHostConfigs, writeRunFiles, type AddressOf } from '../../orchestrator/genesis/run-files.ts';
import { loadProfile } from '../../orchestrator/profile/load.ts';
import { resolvePlan } from '../../orchestrator/profile/resolve.ts';
import { RunDir, RunDirError } from '../../orchestrator/rundir/index.ts';
import { identityProblem } from '../../orchestrator/runtime/identity.ts';
import { reservationLive } from '../../orchestrator/runtime/process/addresses.ts';
import { readProcStat } from '../../orchestrator/runtime/process/procfs.ts';
import { leiosnetHome, writeJsonAtomic, writeRunRecord } from '../../orchestrator/state.ts';
import { GeneratorConfigError, resolveGeneratorConfig } from '../../tx-generator/config.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const NOW = new Date('2026-03-01T12:00:00.000Z');
const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-security-'));
let savedHome: string | undefined;
beforeAll(() => {
  savedHome = process.env.LEIOSNET_HOME;
  process.env.LEIOSNET_HOME = join(tmp, 'home');
});
afterAll(() => {
  if (savedHome === undefined) delete process.env.LEIOSNET_HOME;
  else process.env.LEIOSNET_HOME = savedHome;
  rmSync(tmp, { recursive: true, force: true });
});

const plan = (sets: string[] = []) => resolvePlan(loadProfile('ci-praos', { cwd: REPO, sets }));
const addressOf: AddressOf = (name) => {
  const i = Number(name.split('-')[1]);
  return { host: `127.0.0.${10 + i}`, port: 30000 + i, adminHost: `127.0.0.${10 + i}`, adminPort: 40000 + i };
};
const mode = (file: string) => statSync(file).mode & 0o777;
let dirs = 0;
const runDir = () => join(tmp, `run-${++dirs}`);

describe('admin tokens and file modes', () => {
  it('two genesis runs of the same plan (same seed, same now) give every node a different random token', () => {
    const p = plan();
    const a = writeRunFiles(p, runDir(), { now: NOW });
    const b = writeRunFiles(plan(), runDir(), { now: NOW });
    const tokens = [...a, ...b].map((s) => s.template.adminToken);
    for (const t of tokens) expect(t).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(tokens).size).toBe(tokens.length);
    // and the token is not derivable from the plan: it appears nowhere in the files written
    const planText = readFileSync(join(new RunDir(join(tmp, `run-${dirs}`)).planFile), 'utf8');
    for (const t of tokens) expect(planText).not.toContain(t);
  });

  it('node configs, key files, generator config, pids.json-style files and state records are 0600', () => {
    const dir = runDir();
    const specs = writeRunFiles(plan(), dir, { now: NOW });
    const configs = writeHostConfigs(specs, dir, addressOf);
    const rd = new RunDir(dir);
    for (const s of specs) {
      const file = rd.nodeConfigFiles(s.name).at(-1)!;
      expect(mode(file), file).toBe(0o600);
      expect(configs.get(s.name)!.admin.token).toBe(s.template.adminToken);
    }
    for (const [, file] of rd.keyFiles()) expect(mode(file), file).toBe(0o600);
    const gen = rd.writeGeneratorConfig({ networkMagic: 42, genesisFile: rd.genesisFile, paymentSkeyFile: rd.generatorKeyFile, targets: [{ name: 'pool-1', host: '127.0.0.11', port: 30001 }], tps: 1 } as never);
    expect(mode(gen)).toBe(0o600);

    const pids = join(dir, 'pids.json');
    writeJsonAtomic(pids, { nodes: specs.map((s) => ({ name: s.name, template: s.template })) });
    expect(mode(pids)).toBe(0o600);

    writeRunRecord({ runId: 'sec-1', runtime: 'process', runDir: dir, createdAt: NOW.toISOString(), pids: [] });
    const rec = join(leiosnetHome(), 'runs', 'sec-1.json');
    expect(mode(rec)).toBe(0o600);
    expect(mode(join(leiosnetHome(), 'runs'))).toBe(0o700);
  });

  it('a node config names its run id when the runtime renders it with one', () => {
    const dir = runDir();
    const specs = writeRunFiles(plan(), dir, { now: NOW });
    const cfg = writeHostConfigs(specs, dir, addressOf).get('pool-1')!;
    expect(cfg.runId).toBeUndefined(); // host-form configs for tools: no run
    const loaded = loadNodeFiles(join(dir, 'nodes', 'pool-1', 'config.json'));
    expect(loaded.config.name).toBe('pool-1');
  });
});

describe('non-finite numbers are refused by every config loader (Ajv strictNumbers)', () => {
  // JSON.parse('1e999') is Infinity: the only way a non-finite number gets into a JSON config
  const INF = '1e999';

  function nodeConfigText(dir: string, patch: (c: NodeConfig) => void): string {
    const specs = writeRunFiles(plan(), dir, { now: NOW });
    const c = writeHostConfigs(specs, dir, addressOf).get('pool-1')!;
    patch(c);
    return JSON.stringify(c, null, 2);
  }

  it('node config: clockOffsetMs 1e999 and a link latency 1e999 name the field', () => {
    const dir = runDir();
    const file = join(dir, 'bad.json');
    writeFileSync(file, nodeConfigText(dir, (c) => (c.clockOffsetMs = 7777777)).replace('7777777', INF));
    expect(() => loadNodeFiles(file)).toThrow(ConfigError);
    expect(() => loadNodeFiles(file)).toThrow(/field clockOffsetMs: must be number/);
    // the run dir's reader (what runtimes use) refuses it too
    expect(() => new RunDir(dir).readNodeConfig(file)).toThrow(RunDirError);
    expect(() => new RunDir(dir).readNodeConfig(file)).toThrow(/clockOffsetMs/);

    const dir2 = runDir();
    const file2 = join(dir2, 'bad-link.json');
    writeFileSync(
      file2,
      nodeConfigText(dir2, (c) => {
        c.peers[0]!.link = { latencyMs: 8888888, loss: 0, down: false };
      }).replace('8888888', INF),
    );
    expect(() => loadNodeFiles(file2)).toThrow(/field peers\.0\.link\.latencyMs: must be number/);
  });

  it('genesis: slotLengthS 1e999 is refused, naming the field', () => {
    const dir = runDir();
    writeRunFiles(plan(), dir, { now: NOW });
    const rd = new RunDir(dir);
    const g = JSON.parse(readFileSync(rd.genesisFile, 'utf8')) as { slotLengthS: number };
    g.slotLengthS = 6666666;
    const bad = join(dir, 'genesis-bad.json');
    writeFileSync(bad, JSON.stringify(g).replace('6666666', INF));
    expect(() => loadGenesis(bad)).toThrow(ConfigError);
    expect(() => loadGenesis(bad)).toThrow(/field slotLengthS: must be number/);
    expect(() => loadGenesis(rd.genesisFile)).not.toThrow();
  });

  it('generator config: tps Infinity / NaN refused, naming the field', () => {
    const base = { networkMagic: 42, genesisFile: '/g.json', paymentSkeyFile: '/k.skey', targets: [{ name: 'pool-1', host: '127.0.0.1', port: 3001 }] };
    for (const tps of [Infinity, -Infinity, NaN]) {
      expect(() => resolveGeneratorConfig({ ...base, tps })).toThrow(GeneratorConfigError);
      expect(() => resolveGeneratorConfig({ ...base, tps })).toThrow(/field tps: must be number/);
    }
    expect(resolveGeneratorConfig({ ...base, tps: 5 }).tps).toBe(5);
    // and from a file, as the generator reads it
    const dir = runDir();
    mkdirSync(dir, { recursive: true });
    const rd = new RunDir(dir);
    expect(() => rd.writeGeneratorConfig({ ...base, tps: Infinity } as never)).toThrow(/tps/);
  });
});

describe('readiness identity', () => {
  it('an answer counts only from the node of this run', () => {
    expect(identityProblem({ ok: true, name: 'pool-1', runId: 'r1' }, { name: 'pool-1', runId: 'r1' })).toBeUndefined();
    expect(identityProblem({ ok: true, name: 'pool-1', runId: 'r2' }, { name: 'pool-1', runId: 'r1' })).toMatch(/run "r2"/);
    expect(identityProblem({ ok: true, name: 'pool-2', runId: 'r1' }, { name: 'pool-1', runId: 'r1' })).toMatch(/"pool-2"/);
    expect(identityProblem({ ok: true, name: 'pool-1', runId: null }, { name: 'pool-1', runId: 'r1' })).toMatch(/run null/);
    // a config without a run id (an older run): the name is enough
    expect(identityProblem({ ok: true, name: 'pool-1' }, { name: 'pool-1' })).toBeUndefined();
  });

  it('a reservation holds while its orchestrator lives, and not after', () => {
    const me = { pid: process.pid, startTicks: readProcStat(process.pid)!.startTicks };
    const rec = { runId: 'x', runtime: 'process', runDir: '/nowhere', createdAt: '', pids: [], addresses: [] };
    expect(reservationLive({ ...rec, owner: me })).toBe(true);
    expect(reservationLive({ ...rec, owner: { ...me, startTicks: me.startTicks + 1 } })).toBe(false); // a recycled pid
    expect(reservationLive({ ...rec, owner: { pid: 2 ** 22 + 1, startTicks: 1 } })).toBe(false);
  });
});
