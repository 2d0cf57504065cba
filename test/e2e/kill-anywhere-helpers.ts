// Kill anywhere, shared by test/e2e/kill-anywhere.test.ts (a bounded variant in the default suite)
// and bench/kill-anywhere.bench.ts (20 points per runtime, figures printed): start `leiosnet run`
// on a small profile, SIGKILL the orchestrator at a seeded random point of a phase, then
// `down <run-id>` and count what is left of that run (processes naming its run dir; containers,
// networks and volumes labelled io.leiosnet.run=<id>; on Kubernetes its namespace and safeguard
// RBAC; its state record), then run again with the
// same --out and see whether it refuses clearly or starts clean.
//
// Every run uses a LEIOSNET_HOME private to the caller, so nothing here can see (or remove) anyone
// else's runs; cleanup is always `down <run-id>`.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = path.join(REPO, 'bin/leiosnet.js');

/** Phases of `run` a kill is armed by: the first `phase` event whose name starts with it. */
export const PHASES = ['genesis', 'up', 'scenario', 'collect', 'report'] as const;
export type Phase = (typeof PHASES)[number];

/** How far into each phase a kill may land (ms): genesis, collect and report are short. */
export const SPREAD_MS: Record<Phase, number> = { genesis: 300, up: 3000, scenario: 6000, collect: 150, report: 100 };

/** Mulberry32: seeded delays. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface KillPoint {
  index: number;
  phase: Phase;
  delayMs: number;
}

/** `count` points, phases round-robin over `phases`, delays seeded. */
export function killPoints(count: number, phases: readonly Phase[], seed = 0x4b111): KillPoint[] {
  const rand = rng(seed);
  return Array.from({ length: count }, (_, index) => {
    const phase = phases[index % phases.length]!;
    return { index, phase, delayMs: Math.floor(rand() * SPREAD_MS[phase]) };
  });
}

/** The small profile every point runs: ci-praos's 3 pools, 0.5 s slots, 10 s of scenario. */
export function writeKillProfile(dir: string): string {
  const file = path.join(dir, 'kill-small.yaml');
  fs.writeFileSync(
    file,
    // The scenario lasts 10 s after the testnet is up and the generator runs, however slow bring-up
    // is (a loaded machine): a wait step starts then (not before systemStart), where the duration
    // alone is timed from systemStart. Scenario points land within SPREAD_MS.scenario (6 s) of it.
    // (It was startDelayS 12 and 40 slots: ~32 s before collect even on a quiet machine.)
    'extends: ci-praos\ndescription: kill-anywhere test profile\ngenesis:\n  slotLengthS: 0.5\ngenerator:\n  tps: 2\nscenario:\n  duration: { slots: 20 }\n  steps:\n    - { wait: { seconds: 10 } }\nanalysis:\n  assertions: []\n',
  );
  return file;
}

export function dockerAvailable(): boolean {
  return spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

/** Live processes whose command line mentions `needle` (our run dir). */
export function processesMentioning(needle: string): { pid: number; cmd: string }[] {
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

export function labelled(kind: 'container' | 'network' | 'volume', runId: string): string[] {
  const args = kind === 'container' ? ['ps', '-aq'] : [kind, 'ls', '-q'];
  return execFileSync('docker', [...args, '--filter', `label=io.leiosnet.run=${runId}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

/**
 * Kubernetes objects labelled with the run that `down` must remove: its namespace (everything of
 * the run lives in it: pods, services, secrets, config maps, monitors) and the cluster-scoped
 * safeguard RBAC. A namespace still Terminating counts as left.
 */
export async function k8sLabelled(runId: string): Promise<string[]> {
  const { KubernetesRuntime } = await import('../../orchestrator/runtime/kubernetes.ts');
  const { runSelector } = await import('../../orchestrator/runtime/kubernetes/names.ts');
  const rt = new KubernetesRuntime();
  const labelSelector = runSelector(runId);
  const [nss, roles, bindings] = await Promise.all([rt.core.listNamespace({ labelSelector }), rt.rbac.listClusterRole({ labelSelector }), rt.rbac.listClusterRoleBinding({ labelSelector })]);
  return [
    ...nss.items.map((n) => `namespace ${n.metadata?.name} (${n.status?.phase})`),
    ...roles.items.map((r) => `clusterrole ${r.metadata?.name}`),
    ...bindings.items.map((b) => `clusterrolebinding ${b.metadata?.name}`),
  ];
}

function phaseEvents(outDir: string): string[] {
  try {
    return fs
      .readFileSync(path.join(outDir, 'events.jsonl'), 'utf8')
      .split('\n')
      .flatMap((l) => {
        if (!l) return [];
        try {
          const e = JSON.parse(l) as { type?: string; phase?: unknown };
          return e.type === 'phase' && typeof e.phase === 'string' ? [e.phase] : [];
        } catch {
          return [];
        }
      });
  } catch {
    return [];
  }
}

export function runIdOf(outDir: string): string | undefined {
  try {
    return (JSON.parse(fs.readFileSync(path.join(outDir, 'meta.json'), 'utf8')) as { runId: string }).runId;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How long `down` may take on Kubernetes: it waits until the namespace is gone (pod termination:
 * 40-95 s on a quiet cluster, past 120 s at load 20+), and KubernetesRuntime.down gives up itself
 * after 300 s with an error naming what is left. The bound is above that, so a slow down is
 * reported by the runtime's own error, not cut short by this one's timeout.
 */
export const K8S_DOWN_BOUND_MS = 330_000;

/**
 * How long to wait for the armed phase to begin. On Kubernetes the report phase begins only after
 * `down` (bring-up, the scenario, collect, then up to the 300 s namespace deletion): past 150 s.
 */
export function armBoundMs(runtime: string): number {
  return runtime === 'kubernetes' ? 600_000 : 150_000;
}

export interface KillOutcome {
  point: KillPoint;
  runtime: string;
  /** the run ended on its own before the arming phase (a failed point) */
  endedEarly: boolean;
  runEndedEarlyStderr?: string;
  /** the last phase the run had entered when it was killed (from events.jsonl) */
  landedIn: string | undefined;
  /** false: the run had already exited by the time the kill was due */
  killed: boolean;
  /** ms from the start of `run` to the kill */
  killedAtMs: number;
  runId: string | undefined;
  downStatus: number | null;
  downStderr: string;
  downAgainStatus: number | null;
  downMs: number;
  /** k8sObjects: absent in results written before Kubernetes was counted (bench KILL_RESULTS files); killAt always sets it */
  left: { processes: number; containers: number; networks: number; volumes: number; stateRecords: number; k8sObjects?: number };
  leftDetail: string[];
  again: { status: number | null; verdict: 'refused' | 'started clean' | 'failed'; message: string; stackTrace: boolean; processesAfter: number };
}

/**
 * One point: `run` until `point.phase` began, + delayMs, SIGKILL; `down <run-id>` (twice:
 * idempotent); what is left; the same --out again.
 */
export async function killAt(opts: { runtime: string; point: KillPoint; profile: string; out: string; home: string; cwd: string; armTimeoutMs?: number }): Promise<KillOutcome> {
  const { runtime, point, profile, out, home, cwd } = opts;
  const env = { ...process.env, LEIOSNET_HOME: home };
  const t0 = Date.now();
  const child = spawn(process.execPath, [BIN, 'run', profile, '--runtime', runtime, '--out', out], { cwd, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let done = false;
  void exited.then(() => (done = true));
  const deadline = Date.now() + (opts.armTimeoutMs ?? armBoundMs(runtime));
  while (!done && !phaseEvents(out).some((p) => p.startsWith(point.phase)) && Date.now() < deadline) await sleep(25);
  const endedEarly = done;
  await sleep(point.delayMs);
  const landedIn = phaseEvents(out).at(-1);
  const killedAtMs = Date.now() - t0;
  const killed = !done;
  if (killed) child.kill('SIGKILL');
  await exited;

  const runId = runIdOf(out);
  const d0 = Date.now();
  const downBoundMs = runtime === 'kubernetes' ? K8S_DOWN_BOUND_MS : 120_000;
  const down = runId ? spawnSync(process.execPath, [BIN, 'down', runId], { cwd, env, encoding: 'utf8', timeout: downBoundMs }) : undefined;
  const downAgain = runId ? spawnSync(process.execPath, [BIN, 'down', runId], { cwd, env, encoding: 'utf8', timeout: 60_000 }) : undefined;
  const downMs = Date.now() - d0;

  // processes may take a moment to be reaped after SIGKILL
  let procs = processesMentioning(out);
  for (let k = 0; k < 40 && procs.length > 0; k++) {
    await sleep(100);
    procs = processesMentioning(out);
  }
  const docker = runtime === 'docker' && runId;
  const containers = docker ? labelled('container', runId) : [];
  const networks = docker ? labelled('network', runId) : [];
  const volumes = docker ? labelled('volume', runId) : [];
  const k8sObjects = runtime === 'kubernetes' && runId ? await k8sLabelled(runId) : [];
  const records = runId && fs.existsSync(path.join(home, 'runs')) ? fs.readdirSync(path.join(home, 'runs')).filter((f) => f.includes(runId)) : [];

  // the same --out again
  const again = spawnSync(process.execPath, [BIN, 'run', profile, '--runtime', runtime, '--out', out], { cwd, env, encoding: 'utf8', timeout: 240_000 });
  const refused = again.status === 2 && /--out: .* exists and is not empty/.test(again.stderr);
  const againId = runIdOf(out);
  const startedClean = !refused && again.status === 0;
  // whatever the second run did, take it down too
  if (againId && againId !== runId) spawnSync(process.execPath, [BIN, 'down', againId], { cwd, env, timeout: downBoundMs });
  const processesAfter = processesMentioning(out).length;

  return {
    point,
    runtime,
    endedEarly,
    ...(endedEarly ? { runEndedEarlyStderr: stderr.slice(-2000) } : {}),
    landedIn,
    killed,
    killedAtMs,
    runId,
    downStatus: down?.status ?? null,
    downStderr: down?.stderr ?? 'no run id (meta.json missing)',
    downAgainStatus: downAgain?.status ?? null,
    downMs,
    left: { processes: procs.length, containers: containers.length, networks: networks.length, volumes: volumes.length, stateRecords: records.length, k8sObjects: k8sObjects.length },
    leftDetail: [...procs.map((p) => `pid ${p.pid}: ${p.cmd}`), ...containers.map((c) => `container ${c}`), ...networks.map((n) => `network ${n}`), ...volumes.map((v) => `volume ${v}`), ...records.map((r) => `record ${r}`), ...k8sObjects],
    again: {
      status: again.status,
      verdict: refused ? 'refused' : startedClean ? 'started clean' : 'failed',
      message: (again.stderr.trim().split('\n').find((l) => /--out|error/.test(l)) ?? again.stderr.trim().split('\n').at(-1) ?? '').slice(0, 200),
      stackTrace: /\n\s+at .+:\d+:\d+\)?$/m.test(again.stderr),
      processesAfter,
    },
  };
}
