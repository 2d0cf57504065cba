// `leiosnet run fault-campaign`: every Leios pool SIGKILLed twice at seeded moments in the Leios
// era, with a Praos-only node left behind as after an upgrade, under steady load. Every Leios
// node must end on the common tip, reopen its chain DB each time, and the accounting must close;
// each kill gets a recovery time (until the restarted node adopted a block forged after it came
// back). On processes, and on a real Docker engine when one is available.
//
// The run is the library profile with its scenario cut from 420 to 320 slots (210 -> 160 s): the
// campaign's last kill comes ~95 s in (a 15 s wait, then ten seeded gaps of 4-10 s; slot ~190
// when bring-up is on time), and what followed was ~115 s in which nothing happens once the last
// node recovered (2-31 s measured). A recovery still being measured when the run ends counts as
// 'not recovered', so the cut keeps blocks to recover on: seed 21's leader schedule is fixed (the
// seeded keys and nonce) and forges at slots 215, 236, 247, 297, 311, 313 and 319 after the last
// kill, four of them even if bring-up ran 40 s past systemStart and pushed every kill later. (A
// new seed in the profile needs this rechecked.) 7 certificates land by slot 320 in a quiet run.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerGate } from '../../orchestrator/runtime/docker/testing.ts';
import { tempDir } from '../support/tmp.ts';

const REPO = resolve(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/leiosnet.js');
const tmp = tempDir('leiosnet-campaign-');
const env = { ...process.env, LEIOSNET_HOME: join(tmp, 'home') };
const gate = await dockerGate('fault-campaign on docker');

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

const started: string[] = [];
afterAll(async () => {
  for (const id of started) await leiosnet(['down', id]);
});

const LEIOS = ['pool-1', 'pool-2', 'pool-3', 'pool-4', 'pool-5'];

async function campaign(runtime: string): Promise<void> {
  const out = join(tmp, runtime);
  const r = await leiosnet(['run', 'fault-campaign', '--runtime', runtime, '--out', out, '--json', '--set', 'scenario.duration.slots=320']);
  if (existsSync(join(out, 'meta.json'))) started.push(JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8')).runId);
  const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  expect(r.code, `${JSON.stringify(s.assertions, null, 1)}\n${r.err.slice(-2000)}`).toBe(0);
  expect(s.passed).toBe(true);
  // The plan's campaign: two SIGKILLs per Leios pool.
  const plan = JSON.parse(readFileSync(join(out, 'profile.resolved.json'), 'utf8'));
  const kills = plan.scenario.steps.filter((st: any) => st.fault?.kind === 'kill');
  expect(kills).toHaveLength(10);
  expect(new Set(kills.map((k: any) => k.fault.node))).toEqual(new Set(LEIOS));
  // Every kill was recovered from; recovery is measured (until the node adopted a block forged
  // after its restart) for every node, and is never zero.
  const faults = s.faults.filter((f: any) => /kill/.test(f.fault));
  expect(faults).toHaveLength(10);
  for (const f of faults) expect(f.status, JSON.stringify(f)).not.toBe('not recovered');
  for (const f of faults.filter((x: any) => x.status === 'recovered')) expect(f.recoveryS, JSON.stringify(f)).toBeGreaterThan(0);
  for (const n of LEIOS) expect(faults.some((f: any) => f.node === n && f.status === 'recovered'), n).toBe(true);
  // Each restart reopened the chain DB (no corrupt DB: the node came back with its height).
  for (const n of LEIOS) {
    const log = readFileSync(join(out, 'nodes', n, 'node.log'), 'utf8');
    const opened = log.split('\n').filter((l) => l.includes('chain DB opened'));
    expect(opened.length, n).toBeGreaterThanOrEqual(3);
    expect(log).not.toMatch(/fatal/);
  }
  // (summary.chain.tipAgreement counts pool-6 too, which stopped following by design; the
  // profile's tip-agreement assertion over the Leios pools passed with s.passed above.)
  expect(s.assertions.find((a: any) => a.name.startsWith('tip-agreement'))?.passed).toBe(true);
  expect(s.leios.ebsCertified).toBeGreaterThanOrEqual(1);
  expect(s.conformance.violations).toBe(0);
  expect(s.throughput.txSubmitted).toBeGreaterThan(0);
  expect(s.throughput.txSubmitted).toBe(s.throughput.txIncluded + s.throughput.txRejected + s.throughput.txPending);
}

describe('leiosnet run fault-campaign', () => {
  it('every Leios pool survives two SIGKILLs and rejoins (processes)', { timeout: 420_000 }, async () => {
    await campaign('process');
  });

  // The Docker campaign is a long e2e (about 5 minutes): LEIOSNET_E2E_LONG=1.
  describe.skipIf(gate.skip || process.env.LEIOSNET_E2E_LONG !== '1')('on docker', () => {
    beforeAll(() => gate.assert());
    it('the same campaign on a real Docker engine', { timeout: 480_000 }, async () => {
      await campaign('docker');
    });
  });
});
