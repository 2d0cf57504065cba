// Soak benchmark: `leiosnet run <profile>` (default soak-1h; SOAK_PROFILE=soak-ci for the short
// CI variant) while every process of the run — the orchestrator, each node, the generator — has
// its RSS sampled from /proc. After the warm-up (SOAK_WARMUP_S; default: all but the run's last
// hour, and at least 20 % of it — soak-1h is 25 min of load before its measured hour) it
// prints, per process, the least-squares RSS slope (MB/h), the growth from the first to the last
// tenth of the sampled window (the bar: under 10 %), and the sizes of trace and log files.
//
//   npm run bench:soak                       # 88 minutes (soak-1h: 25 min warm-up, an hour measured)
//   SOAK_PROFILE=soak-ci npm run bench:soak  # ~5 minutes
//
// Run it under the shared lock: flock /tmp/leiosnet-heavy.lock npm run bench:soak
//
// Finding a leak: SOAK_HEAPSNAP=pool-1,generator SOAK_HEAPSNAP_AT=90,200 writes heap snapshots of those
// processes (node's --heapsnapshot-signal, SIGUSR2) at those seconds into <base>/heap; then
// `node bench/soak-heapdiff.mjs A.heapsnapshot B.heapsnapshot` shows what grew and what holds it.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RssSampler, rssCurve, rssGrowth, runFileSizes } from '../test/support/rss.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const BIN = path.join(REPO, 'bin/leiosnet.js');
const profile = process.env.SOAK_PROFILE ?? 'soak-1h';
const intervalMs = Number(process.env.SOAK_INTERVAL_S ?? 5) * 1000;
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-soak-'));
const out = path.join(base, 'run');
const env: NodeJS.ProcessEnv = { ...process.env, LEIOSNET_HOME: path.join(base, 'home') };
// SOAK_HEAPSNAP names one process or several, comma-separated (pool-1,generator)
const heapTarget = process.env.SOAK_HEAPSNAP;
const heapNames = new Set((heapTarget ?? '').split(',').filter(Boolean));
const heapAt = (process.env.SOAK_HEAPSNAP_AT ?? '').split(',').filter(Boolean).map(Number);
if (heapTarget) {
  fs.mkdirSync(path.join(base, 'heap'), { recursive: true });
  env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${path.join(base, 'heap')}`.trim();
}

// SOAK_SET="generator.durationS=120;scenario.duration.slots=160" passes --set overrides
const sets = (process.env.SOAK_SET ?? '').split(';').filter(Boolean).flatMap((x) => ['--set', x]);
const child = spawn(process.execPath, [BIN, 'run', profile, ...sets, '--out', out], { cwd: base, env, stdio: ['ignore', 'inherit', 'inherit'] });
const sampler = new RssSampler(out, child.pid!, intervalMs, (tS, procs) => {
  if (!heapTarget || !heapAt.length || tS < heapAt[0]!) return;
  for (const [pid, name] of procs) if (heapNames.has(name)) (process.kill(pid, 'SIGUSR2'), console.log(`heap snapshot of ${name} (pid ${pid}) at ${tS.toFixed(0)} s`));
  heapAt.shift();
});
const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
sampler.stop();
const totalS = sampler.elapsedS();
const warmupS = Number(process.env.SOAK_WARMUP_S ?? Math.max(totalS * 0.2, totalS - 3600));

console.log(`\nsoak ${profile}: exit ${code}, ${totalS.toFixed(0)} s, warm-up ${warmupS.toFixed(0)} s, samples every ${intervalMs / 1000} s`);
console.log('process         samples  rss@warm MB  rss@end MB  max MB   slope MB/h  growth %');
let worst = 0;
for (const [name, s] of [...sampler.series].sort()) {
  const g = rssGrowth(s, warmupS);
  if (!g) {
    console.log(`${name.padEnd(15)} ${String(s.filter((x) => x.tS >= warmupS).length).padStart(7)}  (too few samples after warm-up)`);
    continue;
  }
  worst = Math.max(worst, g.growthPct);
  console.log(
    `${name.padEnd(15)} ${String(g.samples).padStart(7)}  ${g.firstMb.toFixed(1).padStart(11)}  ${g.lastMb.toFixed(1).padStart(10)}  ${g.maxMb.toFixed(1).padStart(6)}  ${g.slopeMbPerH.toFixed(2).padStart(11)}  ${g.growthPct.toFixed(1).padStart(8)}`,
  );
}
console.log(`worst growth after warm-up: ${worst.toFixed(1)} % (bar: < 10 %)`);
// the shape: a series that levels off late fills something bounded; one still climbing leaks
console.log('\nRSS MB at each tenth of the run (time in min)');
for (const [name, s] of [...sampler.series].sort()) console.log(`${name.padEnd(15)} ${rssCurve(s).map((x) => `${(x.tS / 60).toFixed(1)}:${x.rssMb.toFixed(0)}`).join(' ')}`);
// every sample, the generator's too (the run's metrics/resources.jsonl has the nodes only)
const seriesFile = path.join(base, 'rss.jsonl');
fs.writeFileSync(seriesFile, [...sampler.series].flatMap(([name, s]) => s.map((x) => JSON.stringify({ name, ...x }))).join('\n') + '\n');
console.log(`samples: ${seriesFile}`);
console.log('\nlargest trace/log files (bytes; bounds: trace 1 GiB, log 256 MiB per file, metrics/samples.jsonl 64 MiB):');
for (const r of runFileSizes(out).slice(0, 8)) console.log(`  ${String(r.bytes).padStart(12)}  ${r.file}  (${((r.bytes / totalS) * 3600 / 1e6).toFixed(1)} MB/h)`);

// nothing may be left behind, whatever happened
const meta = path.join(out, 'meta.json');
if (fs.existsSync(meta)) {
  const { runId } = JSON.parse(fs.readFileSync(meta, 'utf8')) as { runId: string };
  spawnSync(process.execPath, [BIN, 'down', runId], { cwd: base, env, stdio: 'inherit' });
}
console.log(`run dir: ${out}`);
if (heapTarget) console.log(`heap snapshots: ${path.join(base, 'heap')}`);
