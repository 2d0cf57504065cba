// Kill anywhere: `leiosnet run` is SIGKILLed at seeded random points (during genesis, up,
// mid-scenario, collect/report); then `leiosnet down <run-id>` must leave nothing of that run:
// no process (checked in /proc), and on Docker no container, network or volume labelled
// io.leiosnet.run=<id>. A second `run` with the same --out refuses clearly (exit 2) and starts
// nothing. CI: one point per phase on processes (and on Docker with LEIOSNET_E2E_DOCKER=1);
// KILL_POINTS=20 for the long variant.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(REPO, 'bin/leiosnet.js');
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-kill-'));
const home = path.join(base, 'home');
fs.mkdirSync(home);
const env = { ...process.env, LEIOSNET_HOME: home };

// small and quick: ci-praos's 3 pools, 0.5 s slots, 40 slots
const profile = path.join(base, 'kill-small.yaml');
fs.writeFileSync(
  profile,
  // the start delay leaves the scenario ~10 s even when bring-up is slow (a loaded machine)
  'extends: ci-praos\ndescription: kill-anywhere test profile\ngenesis:\n  slotLengthS: 0.5\n  startDelayS: 12\ngenerator:\n  tps: 2\nscenario:\n  duration: { slots: 40 }\nanalysis:\n  assertions: []\n',
);

const PHASES = ['genesis', 'up', 'scenario', 'collect'] as const;
type Phase = (typeof PHASES)[number];

function dockerAvailable(): boolean {
  // The Docker points are a long e2e (not yet run here): LEIOSNET_E2E_LONG=1 with LEIOSNET_E2E_DOCKER=1.
  if (process.env.LEIOSNET_E2E_DOCKER !== '1' || process.env.LEIOSNET_E2E_LONG !== '1') return false;
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}
const RUNTIMES = ['process', ...(dockerAvailable() ? ['docker'] : [])];

/** Mulberry32: seeded delays. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POINTS = Number(process.env.KILL_POINTS ?? PHASES.length);
const rand = rng(0x4b111);
/** Each point: the phase whose event arms it, then a delay into it. */
/** How far into each phase a kill may land: genesis and collect are short, up and the scenario long. */
const SPREAD_MS: Record<Phase, number> = { genesis: 300, up: 3000, scenario: 6000, collect: 150 };
const points: { phase: Phase; delayMs: number }[] = Array.from({ length: POINTS }, (_, i) => {
  const phase = PHASES[i % PHASES.length]!;
  return { phase, delayMs: Math.floor(rand() * SPREAD_MS[phase]) };
});

/** pids of live processes whose command line mentions `needle` (our run dir). */
function processesMentioning(needle: string): { pid: number; cmd: string }[] {
  const out: { pid: number; cmd: string }[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (/\) Z /.test(stat)) continue; // a zombie is already dead
      if (cmd.includes(needle)) out.push({ pid: Number(d), cmd });
    } catch {
      /* gone */
    }
  }
  return out;
}

function labelled(kind: 'container' | 'network' | 'volume', runId: string): string[] {
  const args = kind === 'container' ? ['ps', '-aq'] : [kind, 'ls', '-q'];
  return execFileSync('docker', [...args, '--filter', `label=io.leiosnet.run=${runId}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

function phaseSeen(outDir: string, phase: Phase): boolean {
  try {
    const text = fs.readFileSync(path.join(outDir, 'events.jsonl'), 'utf8');
    return text.split('\n').some((l) => {
      if (!l) return false;
      try {
        const e = JSON.parse(l) as { type?: string; kind?: string; event?: string; phase?: string };
        return typeof e.phase === 'string' && e.phase.startsWith(phase);
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

function runIdOf(outDir: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(outDir, 'meta.json'), 'utf8')) as { runId: string }).runId;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

afterAll(() => {
  // belt and braces: nothing of ours may outlive the suite
  for (const p of processesMentioning(base)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  fs.rmSync(base, { recursive: true, force: true });
});

describe.each(RUNTIMES)('kill anywhere (%s)', (runtime) => {
  it.each(points.map((p, i) => [i, p.phase, p.delayMs] as const))('point %i: SIGKILL during %s (+%i ms), down <run-id> leaves nothing, same --out refused', async (i, phase, delayMs) => {
    const out = path.join(base, `${runtime}-${i}`);
    const child = spawn(process.execPath, [BIN, 'run', profile, '--runtime', runtime, '--out', out], { cwd: base, env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    let done = false;
    void exited.then(() => (done = true));
    const deadline = Date.now() + 150_000;
    while (!done && !phaseSeen(out, phase) && Date.now() < deadline) await sleep(50);
    expect(done, `the run ended before ${phase}: ${stderr.slice(-2000)}`).toBe(false);
    await sleep(delayMs);
    if (!done) child.kill('SIGKILL');
    await exited;

    const runId = runIdOf(out);
    expect(runId, 'meta.json names the run').toBeDefined();
    const down = spawnSync(process.execPath, [BIN, 'down', runId!], { cwd: base, env, encoding: 'utf8', timeout: 120_000 });
    expect(down.status, down.stderr).toBe(0);
    // down is idempotent
    expect(spawnSync(process.execPath, [BIN, 'down', runId!], { cwd: base, env, encoding: 'utf8', timeout: 60_000 }).status).toBe(0);

    // processes may take a moment to be reaped after SIGKILL
    let left = processesMentioning(out);
    for (let k = 0; k < 40 && left.length > 0; k++) {
      await sleep(100);
      left = processesMentioning(out);
    }
    expect(left, JSON.stringify(left)).toEqual([]);
    if (runtime === 'docker') {
      for (const kind of ['container', 'network', 'volume'] as const) expect(labelled(kind, runId!), kind).toEqual([]);
    }

    // the same --out again: refused clearly, nothing started
    const again = spawnSync(process.execPath, [BIN, 'run', profile, '--runtime', runtime, '--out', out], { cwd: base, env, encoding: 'utf8', timeout: 60_000 });
    expect(again.status, again.stderr).toBe(2);
    expect(again.stderr).toMatch(/--out: .* exists and is not empty/);
    expect(again.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?$/m);
    expect(processesMentioning(out)).toEqual([]);
    const records = fs.existsSync(path.join(home, 'runs')) ? fs.readdirSync(path.join(home, 'runs')) : [];
    expect(records.filter((f) => f.includes(runId!)), 'the state dir forgot the run').toEqual([]);
  }, 200_000);
});
