// Kill-anywhere benchmark: 20 seeded SIGKILL points of `leiosnet run` per runtime (4 each in
// genesis, up, scenario, collect and report), each followed by `down <run-id>`, a count of what is
// left of that run (processes naming its run dir; containers, networks, volumes labelled
// io.leiosnet.run=<id>; its state record) and a second `run` with the same --out (refuses clearly,
// or starts clean). Prints one line per point, then a table by phase.
//
//   npm run bench:kill                                   # processes and Docker (if it answers), 20 points each
//   KILL_RUNTIMES=kubernetes npm run bench:kill          # the cluster of $KUBECONFIG (bash .ci/k8s-setup.sh)
//   KILL_RUNTIMES=docker KILL_FROM=0 KILL_TO=7 npm run bench:kill   # a chunk: points 0..7 only
//   KILL_RESULTS=/tmp/kill.jsonl ...                     # append outcomes; the table covers the whole file
//
// Runs use a LEIOSNET_HOME private to the bench (KILL_BASE, default a temp dir), so nothing else's
// runs are seen or touched. Run it under the shared lock: flock -o /tmp/leiosnet-heavy.lock npm run bench:kill

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CI_KUBECONFIG } from '../orchestrator/runtime/kubernetes/testing.ts';
import { dockerAvailable, killAt, killPoints, PHASES, processesMentioning, writeKillProfile, type KillOutcome } from '../test/e2e/kill-anywhere-helpers.ts';

const count = Number(process.env.KILL_POINTS ?? 20);
const from = Number(process.env.KILL_FROM ?? 0);
const to = Number(process.env.KILL_TO ?? count - 1);
const seed = Number(process.env.KILL_SEED ?? 0x4b111);
const runtimes = (process.env.KILL_RUNTIMES ?? ['process', ...(dockerAvailable() ? ['docker'] : [])].join(',')).split(',').filter(Boolean);
const base = process.env.KILL_BASE ?? fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-killbench-'));
const home = path.join(base, 'home');
fs.mkdirSync(home, { recursive: true });
const profile = writeKillProfile(base);
const resultsFile = process.env.KILL_RESULTS;
// the test cluster's kubeconfig, for this process (leftover counts) and the CLIs it spawns
if (runtimes.includes('kubernetes') && !process.env.KUBECONFIG && fs.existsSync(CI_KUBECONFIG)) process.env.KUBECONFIG = CI_KUBECONFIG;

let stopping = false;
process.on('SIGINT', () => (stopping = true));
process.on('SIGTERM', () => (stopping = true));

const pad = (s: string | number, n: number) => String(s).padEnd(n);

function line(o: KillOutcome): string {
  const l = o.left;
  const left = `${l.processes}p ${l.containers}c ${l.networks}n ${l.volumes}v ${l.stateRecords}r ${l.k8sObjects ?? 0}k`;
  return `${pad(o.runtime, 8)} #${pad(o.point.index, 3)} arm ${pad(o.point.phase, 9)} +${pad(o.point.delayMs, 5)} landed ${pad(o.killed ? (o.landedIn ?? '(none)') : `(exited: ${o.landedIn ?? '?'})`, 28)} at ${pad((o.killedAtMs / 1000).toFixed(1) + ' s', 8)} down ${o.downStatus}/${o.downAgainStatus} ${pad((o.downMs / 1000).toFixed(1) + ' s', 7)} left ${pad(left, 16)} again: ${o.again.verdict} (exit ${o.again.status})`;
}

const outcomes: KillOutcome[] = [];
const points = killPoints(count, PHASES, seed).filter((p) => p.index >= from && p.index <= to);
console.log(`kill-anywhere bench: runtimes ${runtimes.join(', ')}; points ${from}..${to} of ${count} (seed ${seed}); base ${base}`);
for (const runtime of runtimes) {
  for (const point of points) {
    if (stopping) break;
    const out = path.join(base, `${runtime}-${point.index}`);
    fs.rmSync(out, { recursive: true, force: true });
    const o = await killAt({ runtime, point, profile, out, home, cwd: base });
    outcomes.push(o);
    console.log(line(o));
    for (const d of o.leftDetail) console.log(`    left: ${d}`);
    if (o.again.verdict === 'failed') console.log(`    second run: ${o.again.message}`);
    if (o.endedEarly) console.log(`    the run ended before ${point.phase}: ${o.runEndedEarlyStderr?.split('\n').slice(-3).join(' | ')}`);
    if (resultsFile) fs.appendFileSync(resultsFile, JSON.stringify(o) + '\n');
  }
}

// the table: this chunk, or everything in KILL_RESULTS
const all: KillOutcome[] = resultsFile && fs.existsSync(resultsFile) ? fs.readFileSync(resultsFile, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as KillOutcome) : outcomes;
const landed = (o: KillOutcome) => (o.killed ? (o.landedIn ?? '(none)').replace(/ \(.*$/, '') : 'exited first');
console.log(`\nby runtime and armed phase (${all.length} points${resultsFile ? ` in ${resultsFile}` : ''}):`);
console.log(`${pad('runtime', 8)} ${pad('phase', 9)} ${pad('points', 6)} ${pad('landed in', 40)} ${pad('left p/c/n/v/r/k8s', 20)} second run`);
for (const runtime of [...new Set(all.map((o) => o.runtime))]) {
  for (const phase of PHASES) {
    const rows = all.filter((o) => o.runtime === runtime && o.point.phase === phase);
    if (rows.length === 0) continue;
    const by = new Map<string, number>();
    for (const o of rows) by.set(landed(o), (by.get(landed(o)) ?? 0) + 1);
    const sum = (k: keyof KillOutcome['left']) => rows.reduce((s, o) => s + (o.left[k] ?? 0), 0);
    const verdicts = new Map<string, number>();
    for (const o of rows) verdicts.set(o.again.verdict, (verdicts.get(o.again.verdict) ?? 0) + 1);
    console.log(
      `${pad(runtime, 8)} ${pad(phase, 9)} ${pad(rows.length, 6)} ${pad([...by].map(([k, v]) => `${k} ×${v}`).join(', '), 40)} ${pad(`${sum('processes')}/${sum('containers')}/${sum('networks')}/${sum('volumes')}/${sum('stateRecords')}/${sum('k8sObjects')}`, 20)} ${[...verdicts].map(([k, v]) => `${k} ×${v}`).join(', ')}`,
    );
  }
  const rows = all.filter((o) => o.runtime === runtime);
  const bad = rows.filter((o) => Object.values(o.left).some((n) => (n ?? 0) > 0) || o.downStatus !== 0 || o.again.verdict === 'failed');
  console.log(`${pad(runtime, 8)} total     ${rows.length} points; ${bad.length} with something left, a failed down or a failed second run`);
}
const stray = processesMentioning(base);
if (stray.length) console.log(`\nWARNING: ${stray.length} processes still name ${base}`);
if (!process.env.KILL_BASE) fs.rmSync(base, { recursive: true, force: true });
