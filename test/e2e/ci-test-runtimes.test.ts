// `leiosnet run ci-test` — the Praos → Leios hard fork under light load — end to end on the
// process runtime and on a real Docker engine: both pass (EBs certified, protocol version 2)
// and write a summary.json of the same shape.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it, beforeAll } from 'vitest';
import { dockerGate } from '../../orchestrator/runtime/docker/testing.ts';

const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/leiosnet.js');
const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-citest-'));
const env = { ...process.env, LEIOSNET_HOME: join(tmp, 'home') };
const gate = await dockerGate('ci-test on docker');

function leiosnet(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => res({ code, out, err }));
  });
}

/** Every key path of an object (objects only; per-node maps are run-specific). */
function shape(o: unknown, prefix = ''): string[] {
  if (!o || typeof o !== 'object' || Array.isArray(o)) return [];
  return Object.entries(o).flatMap(([k, v]) => (k === 'perNode' ? [prefix + k] : [prefix + k, ...shape(v, `${prefix}${k}.`)]));
}

const summaries: Record<string, any> = {};

const started: string[] = [];
afterAll(async () => {
  // `run` tears down itself; this only matters if a run died half-way.
  for (const id of started) await leiosnet(['down', id]);
});

async function runCiTest(runtime: string): Promise<any> {
  const out = join(tmp, runtime);
  const r = await leiosnet(['run', 'ci-test', '--runtime', runtime, '--out', out, '--json']);
  if (existsSync(join(out, 'meta.json'))) started.push(JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')).runId);
  expect(r.code, `${r.err}\n${r.out}`).toBe(0);
  for (const f of ['meta.json', 'profile.resolved.json', 'genesis/genesis.json', 'events.jsonl', 'summary.json', 'report.md', 'report.html', 'generator/summary.json'])
    expect(existsSync(join(out, f)), f).toBe(true);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  expect(s.passed).toBe(true);
  expect(s.run).toMatchObject({ profile: 'ci-test', runtime, nodes: 5 });
  expect(s.leios.ebsCertified).toBeGreaterThanOrEqual(1);
  expect(s.leios.hardForkSlot).toBeGreaterThanOrEqual(60);
  expect(s.throughput.txSubmitted).toBe(s.throughput.txIncluded + s.throughput.txRejected + s.throughput.txPending);
  summaries[runtime] = s;
  return s;
}

describe('leiosnet run ci-test', () => {
  it('passes on the process runtime', { timeout: 240_000 }, async () => {
    await runCiTest('process');
  });

  describe.skipIf(gate.skip)('on docker', () => {
    beforeAll(() => gate.assert());
    it('passes on a real Docker engine with a summary.json of the same shape', { timeout: 420_000 }, async () => {
      await runCiTest('docker');
      expect(shape(summaries.docker).sort()).toEqual(shape(summaries.process).sort());
    });
  });
});
