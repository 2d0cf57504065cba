// Soak benchmark: `leiosnet run <profile>` (default soak-1h; SOAK_PROFILE=soak-ci for the short
// CI variant) while every process of the run — the orchestrator, each node, the generator — has
// its RSS sampled from /proc. After the warm-up (SOAK_WARMUP_S, default 20 % of the run) it
// prints, per process, the least-squares RSS slope (MB/h), the growth from the first to the last
// tenth of the sampled window (the bar: under 10 %), and the sizes of trace and log files.
//
//   npm run bench:soak                       # one hour (soak-1h)
//   SOAK_PROFILE=soak-ci npm run bench:soak  # ~5 minutes
//
// Run it under the shared lock: flock /tmp/leiosnet-heavy.lock npm run bench:soak
//
// Finding a leak: SOAK_HEAPSNAP=pool-1 SOAK_HEAPSNAP_AT=90,200 writes heap snapshots of that
// process (node's --heapsnapshot-signal, SIGUSR2) at those seconds into <base>/heap; then
// `node bench/soak-heapdiff.mjs A.heapsnapshot B.heapsnapshot` shows what grew and what holds it.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const BIN = path.join(REPO, 'bin/leiosnet.js');
const profile = process.env.SOAK_PROFILE ?? 'soak-1h';
const intervalMs = Number(process.env.SOAK_INTERVAL_S ?? 5) * 1000;
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-soak-'));
const out = path.join(base, 'run');
const env: NodeJS.ProcessEnv = { ...process.env, LEIOSNET_HOME: path.join(base, 'home') };
const heapTarget = process.env.SOAK_HEAPSNAP;
const heapAt = (process.env.SOAK_HEAPSNAP_AT ?? '').split(',').filter(Boolean).map(Number);
if (heapTarget) {
  fs.mkdirSync(path.join(base, 'heap'), { recursive: true });
  env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ''} --heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${path.join(base, 'heap')}`.trim();
}

interface Sample {
  tS: number;
  rssMb: number;
}

function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Processes of the run: command lines mentioning the run dir, named by what they run. */
function runProcesses(orchestrator: number): Map<number, string> {
  const found = new Map<number, string>([[orchestrator, 'orchestrator']]);
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === orchestrator) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      const line = cmd.join(' ');
      if (!line.includes(out)) continue;
      const config = cmd.find((a) => a.endsWith('config.json')) ?? '';
      const name = /nodes\/([^/]+)\//.exec(config)?.[1] ?? (line.includes('tx-generator') || config.includes('generator') ? 'generator' : `pid-${d}`);
      found.set(Number(d), name);
    } catch {
      /* gone */
    }
  }
  return found;
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function dirSizes(): { file: string; bytes: number }[] {
  const rows: { file: string; bytes: number }[] = [];
  const walk = (d: string) => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'db') walk(p);
      } else if (/\.(jsonl|log)$/.test(e.name)) rows.push({ file: path.relative(out, p), bytes: fs.statSync(p).size });
    }
  };
  walk(out);
  return rows.sort((a, b) => b.bytes - a.bytes);
}

const t0 = Date.now();
// SOAK_SET="generator.durationS=120;scenario.duration.slots=160" passes --set overrides
const sets = (process.env.SOAK_SET ?? '').split(';').filter(Boolean).flatMap((x) => ['--set', x]);
const child = spawn(process.execPath, [BIN, 'run', profile, ...sets, '--out', out], { cwd: base, env, stdio: ['ignore', 'inherit', 'inherit'] });
const samples = new Map<string, Sample[]>();
const timer = setInterval(() => {
  const tS = (Date.now() - t0) / 1000;
  const procs = runProcesses(child.pid!);
  if (heapTarget && heapAt.length && tS >= heapAt[0]!) {
    for (const [pid, name] of procs) if (name === heapTarget) (process.kill(pid, 'SIGUSR2'), console.log(`heap snapshot of ${name} (pid ${pid}) at ${tS.toFixed(0)} s`));
    heapAt.shift();
  }
  for (const [pid, name] of procs) {
    const r = rssMb(pid);
    if (r === undefined) continue;
    // a restarted node is a new pid under the same name: its series goes on
    const s = samples.get(name) ?? [];
    s.push({ tS, rssMb: r });
    samples.set(name, s);
  }
}, intervalMs);

const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
clearInterval(timer);
const totalS = (Date.now() - t0) / 1000;
const warmupS = Number(process.env.SOAK_WARMUP_S ?? totalS * 0.2);

console.log(`\nsoak ${profile}: exit ${code}, ${totalS.toFixed(0)} s, warm-up ${warmupS.toFixed(0)} s, samples every ${intervalMs / 1000} s`);
console.log('process         samples  rss@warm MB  rss@end MB  max MB   slope MB/h  growth %');
let worst = 0;
for (const [name, s] of [...samples].sort()) {
  const w = s.filter((x) => x.tS >= warmupS);
  if (w.length < 4) {
    console.log(`${name.padEnd(15)} ${String(w.length).padStart(7)}  (too few samples after warm-up)`);
    continue;
  }
  const k = Math.max(1, Math.floor(w.length / 10));
  const first = w.slice(0, k).reduce((a, b) => a + b.rssMb, 0) / k;
  const last = w.slice(-k).reduce((a, b) => a + b.rssMb, 0) / k;
  const growth = ((last - first) / first) * 100;
  worst = Math.max(worst, growth);
  const sl = slope(w.map((x) => x.tS / 3600), w.map((x) => x.rssMb));
  const max = Math.max(...w.map((x) => x.rssMb));
  console.log(
    `${name.padEnd(15)} ${String(w.length).padStart(7)}  ${first.toFixed(1).padStart(11)}  ${last.toFixed(1).padStart(10)}  ${max.toFixed(1).padStart(6)}  ${sl.toFixed(2).padStart(11)}  ${growth.toFixed(1).padStart(8)}`,
  );
}
console.log(`worst growth after warm-up: ${worst.toFixed(1)} % (bar: < 10 %)`);
console.log('\nlargest trace/log files (bytes; bounds: trace 1 GiB, log 256 MiB per file, metrics/samples.jsonl 64 MiB):');
for (const r of dirSizes().slice(0, 8)) console.log(`  ${String(r.bytes).padStart(12)}  ${r.file}  (${((r.bytes / totalS) * 3600 / 1e6).toFixed(1)} MB/h)`);

// nothing may be left behind, whatever happened
const meta = path.join(out, 'meta.json');
if (fs.existsSync(meta)) {
  const { runId } = JSON.parse(fs.readFileSync(meta, 'utf8')) as { runId: string };
  spawnSync(process.execPath, [BIN, 'down', runId], { cwd: base, env, stdio: 'inherit' });
}
console.log(`run dir: ${out}`);
if (heapTarget) console.log(`heap snapshots: ${path.join(base, 'heap')}`);
