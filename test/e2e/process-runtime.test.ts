// End to end on the process runtime with the real node: `leiosnet run ci-praos` produces every
// run-dir file; an orchestrator killed with SIGKILL leaves its nodes running, `down --all`
// removes them and none remain (checked in /proc).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/leiosnet.js');
const HAVE_GENERATOR = existsSync(join(ROOT, 'tx-generator/main.ts'));
const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-e2e-'));
const home = join(tmp, 'home');
const env = { ...process.env, LEIOSNET_HOME: home };
const children: ChildProcess[] = [];

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  // never leave nodes behind, whatever failed
  await leiosnet(['down', '--all', '--runtime', 'process']);
  rmSync(tmp, { recursive: true, force: true });
});

function leiosnet(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], { cwd: tmp, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(c);
    let out = '';
    let err = '';
    c.stdout!.on('data', (d) => (out += d));
    c.stderr!.on('data', (d) => (err += d));
    c.on('exit', (code) => resolve({ code, out, err }));
  });
}

/** Pids of live processes whose argv mentions `marker` (a run dir). */
function processesOf(marker: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const state = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.[0];
      if (cmd.includes(marker) && state !== 'Z') out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return cond();
}

const generatorSets = HAVE_GENERATOR ? [] : ['--set', 'generator.enabled=false'];

describe('process runtime, end to end', () => {
  it('leiosnet run ci-praos produces every run-dir file and passes', { timeout: 240_000 }, async () => {
    const out = join(tmp, 'ci-praos');
    // a scenario on top of the profile: a node stopped and brought back, a mark, a polled assertion
    const steps =
      'scenario.steps=[{wait: {slots: 8}}, {fault: {kind: stop, node: pool-3, forS: 3}}, {mark: pool-3 stopped},' +
      ' {assert: {kind: min-blocks, n: 1, withinS: 90}}]';
    const r = await leiosnet(['run', 'ci-praos', '--out', out, '--json', '--set', steps, ...generatorSets]);
    const result = JSON.parse(r.out);
    expect(result.error, r.err).toBeUndefined();
    expect(r.code, r.err).toBe(0);
    expect(result.status).toBe('passed');

    for (const f of ['meta.json', 'profile.resolved.json', 'genesis/genesis.json', 'events.jsonl', 'summary.json', 'report.html', 'report.md', 'pids.json', 'metrics/samples.jsonl', 'metrics/resources.jsonl', 'metrics/tips.json']) {
      expect(existsSync(join(out, f)), f).toBe(true);
    }
    for (const n of ['pool-1', 'pool-2', 'pool-3']) {
      for (const f of ['config.json', 'node.log', 'trace.jsonl']) expect(statSync(join(out, 'nodes', n, f)).size, `${n}/${f}`).toBeGreaterThan(0);
      expect(statSync(join(out, 'nodes', n, 'db')).isDirectory()).toBe(true);
    }
    expect(readdirSync(join(out, 'genesis', 'keys')).length).toBeGreaterThan(0);
    if (HAVE_GENERATOR) {
      for (const f of ['config.json', 'generator.log', 'summary.json']) expect(existsSync(join(out, 'generator', f)), f).toBe(true);
    }

    const meta = JSON.parse(readFileSync(join(out, 'meta.json'), 'utf8'));
    expect(meta).toMatchObject({ profile: 'ci-praos', runtime: 'process', seed: 7, status: 'passed' });
    expect(meta.runId).toMatch(/^ci-praos-\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect(Date.parse(meta.endedAt)).toBeGreaterThan(Date.parse(meta.startedAt));

    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    // the slot length is the profile's (ci-praos extends ci-test, time-scaled)
    const planned = JSON.parse(readFileSync(join(out, 'profile.resolved.json'), 'utf8')) as { genesis: { slotLengthS: number } };
    expect(summary.run).toMatchObject({ id: meta.runId, nodes: 3, slotLengthS: planned.genesis.slotLengthS });
    expect(summary.chain.blocks).toBeGreaterThanOrEqual(4);
    expect(summary.chain.tipAgreement).toBe(true);
    expect(summary.diffusion.rb.samples).toBeGreaterThan(0);
    expect(summary.resources.cpuPctPerNode).toBeGreaterThan(0);
    expect(summary.passed).toBe(true);

    const events = readFileSync(join(out, 'events.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const types = events.map((e) => e.type);
    for (const t of ['run', 'phase', 'up', 'fault', 'fault-undone', 'recovered', 'mark', 'assertion', 'done']) expect(types, t).toContain(t);
    expect(events.find((e) => e.type === 'recovered').recoveryS).toBeGreaterThanOrEqual(0);
    expect(readFileSync(join(out, 'report.md'), 'utf8')).toMatch(/\| pool-3 recovered in [\d.]+ s after stop node=pool-3 forS=3 \|/);
    expect(events.find((e) => e.type === 'assertion')).toMatchObject({ name: 'min-blocks n=1 within 90 s', passed: true });
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('id="fig-diffusion-cdf"');

    // everything is gone: no process, no state record
    expect(processesOf(out)).toEqual([]);
    expect(existsSync(join(home, 'runs')) ? readdirSync(join(home, 'runs')) : []).toEqual([]);
  });

  it('an orchestrator killed with SIGKILL leaves nodes that down --all removes', { timeout: 120_000 }, async () => {
    const out = join(tmp, 'killed');
    // nodes only: what is left behind here is what `down` must find
    const orch = spawn(process.execPath, [BIN, 'run', 'ci-praos', '--out', out, '--set', 'generator.enabled=false'], { cwd: tmp, env, stdio: 'ignore' });
    children.push(orch);
    const upEvent = () => existsSync(join(out, 'events.jsonl')) && readFileSync(join(out, 'events.jsonl'), 'utf8').includes('"type":"up"');
    expect(await until(upEvent, 60_000)).toBe(true);
    orch.kill('SIGKILL');
    await new Promise((r) => orch.once('exit', r));

    // the nodes outlive their orchestrator
    const pids = (JSON.parse(readFileSync(join(out, 'pids.json'), 'utf8')).processes as { pid: number }[]).map((p) => p.pid);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    expect(pids.every((p) => existsSync(`/proc/${p}`))).toBe(true);
    expect(processesOf(out).length).toBeGreaterThanOrEqual(3);

    const ls = await leiosnet(['ls', '--runtime', 'process', '--json']);
    expect(JSON.parse(ls.out).live).toEqual([expect.objectContaining({ runtime: 'process', runDir: out, nodes: 3, running: 3 })]);

    const down = await leiosnet(['down', '--all', '--runtime', 'process']);
    expect(down.code, down.err).toBe(0);
    expect(down.err).toMatch(/removed ci-praos-/);
    expect(processesOf(out)).toEqual([]);
    expect(readdirSync(join(home, 'runs'))).toEqual([]);

    // and again: nothing left to do
    const again = await leiosnet(['down', '--all', '--runtime', 'process']);
    expect(again.code).toBe(0);
    expect(again.err).toContain('nothing to do');
  });
});
