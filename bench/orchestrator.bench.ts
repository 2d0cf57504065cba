// Orchestrator figures on the process runtime (prints them; asserts nothing):
//  1. time from `run` to the first block with 10 nodes, split into plan+genesis, up (all nodes
//     healthy), the wait for systemStart, and the first block after systemStart;
//  2. per-node CPU %, RSS and PSS (shared pages counted once, /proc/<pid>/smaps_rollup) at 25, 50
//     and 100 nodes (profile scale-100, 40 % pools, 60 % relays, generator off so the figures are
//     the nodes' own), sampled over a settled window; bring-up time (run → every node /health)
//     and the missed-leadership-check rate of the pools (leios_leadership_checks_missed_total /
//     (checks + missed)) over the window.
//
//   npm run bench:orchestrator -- [--sizes 25,50,100] [--settle 20] [--only first-block|scale]

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getTip } from '../orchestrator/collect/admin.ts';
import { runPipeline } from '../orchestrator/pipeline/run.ts';
import { ProcessRuntime } from '../orchestrator/runtime/process.ts';
import { memoryRollup } from '../orchestrator/runtime/process/pss.ts';
import { parsePrometheus } from '../orchestrator/collect/prometheus.ts';
import type { Deployment } from '../orchestrator/runtime/runtime.ts';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '25,50,100' },
    settle: { type: 'string', default: '20' },
    only: { type: 'string' },
  },
});
const sizes = values.sizes.split(',').map(Number);
const settleS = Number(values.settle);

const work = mkdtempSync(join(tmpdir(), 'leiosnet-bench-'));
process.env.LEIOSNET_HOME = join(work, 'home');
const rt = new ProcessRuntime({ healthTimeoutMs: 180_000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function up(name: string, profile: string, sets: string[]): Promise<{ dep: Deployment; runDir: string; tStart: number; tUp: number; tGenesis: number }> {
  const tStart = Date.now();
  let tGenesis = 0;
  const progress = {
    setPhase: (p: string) => {
      if (p.startsWith('up')) tGenesis = Date.now();
    },
    log: () => {},
    update: () => {},
    done: () => {},
  };
  const r = await runPipeline({ profile, sets, keepUp: true, out: join(work, name), handleSignals: false, progress: progress as never });
  if (r.exitCode !== 0) throw new Error(`${name}: ${r.status} ${r.error ?? ''}`);
  const tUp = Date.now();
  const dep = (await rt.attach(r.runId))!;
  return { dep, runDir: r.runDir, tStart, tUp, tGenesis };
}

async function firstBlock(): Promise<void> {
  const { dep, runDir, tStart, tUp, tGenesis } = await up('first-block', 'quickstart', ['composition.pools=10', 'generator.enabled=false']);
  try {
    const genesis = JSON.parse(readFileSync(join(runDir, 'genesis', 'genesis.json'), 'utf8')) as { systemStart: string; slotLengthS: number };
    const systemStart = Date.parse(genesis.systemStart);
    let first: { t: number; slot: number } | undefined;
    while (!first && Date.now() - tStart < 300_000) {
      for (const h of dep.nodes()) {
        const tip = await getTip(h.endpoints());
        if (tip && tip.blockNo >= 1) {
          first = { t: Date.now(), slot: tip.slot };
          break;
        }
      }
      if (!first) await sleep(100);
    }
    const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log('\n== run → first block, 10 nodes (quickstart, 10 pools, startDelayS 8, 0.5 s slots, f 0.1)');
    console.log(`plan + genesis        ${s(tGenesis - tStart)}`);
    console.log(`up (all /health)      ${s(tUp - tGenesis)}`);
    console.log(`run → up              ${s(tUp - tStart)}`);
    console.log(`up → systemStart      ${s(Math.max(0, systemStart - tUp))}`);
    if (first) {
      console.log(`systemStart → block 1 ${s(first.t - systemStart)} (slot ${first.slot}, leader luck)`);
      console.log(`run → first block     ${s(first.t - tStart)}`);
    } else console.log('no block within 300 s');
  } finally {
    await rt.down(dep.runId);
  }
}

/** Pids of a process-runtime run's nodes, from its pids.json. */
function pidsOf(runDir: string): Map<string, number> {
  const f = JSON.parse(readFileSync(join(runDir, 'pids.json'), 'utf8')) as { processes: { name: string; pid: number }[] };
  return new Map(f.processes.map((p) => [p.name, p.pid]));
}

/** Leadership checks done and missed, summed over the nodes that answer. */
async function leadership(dep: Deployment): Promise<{ checks: number; missed: number }> {
  let checks = 0;
  let missed = 0;
  await Promise.all(
    dep.nodes().map(async (h) => {
      try {
        const r = await fetch(`${h.endpoints().adminUrl}/metrics`, { signal: AbortSignal.timeout(5_000) });
        for (const m of parsePrometheus(await r.text())) {
          if (m.name === 'leios_leadership_checks_total') checks += m.value;
          else if (m.name === 'leios_leadership_checks_missed_total') missed += m.value;
        }
      } catch {
        /* a node that does not answer counts for nothing */
      }
    }),
  );
  return { checks, missed };
}

async function scale(n: number): Promise<void> {
  const pools = Math.round(n * 0.4);
  const { dep, runDir, tStart, tUp, tGenesis } = await up(`scale-${n}`, 'scale-100', [
    `composition.pools=${pools}`,
    `composition.relays=${n - pools}`,
    'generator.enabled=false',
    'genesis.startDelayS=5',
  ]);
  try {
    // past systemStart (the pipeline may have moved it past the measured bring-up): slot clocks
    // and peer connections running
    const systemStart = Date.parse((JSON.parse(readFileSync(join(runDir, 'genesis', 'genesis.json'), 'utf8')) as { systemStart: string }).systemStart);
    await sleep(Math.max(0, systemStart - Date.now()) + 5_000);
    const pids = pidsOf(runDir);
    const lead0 = await leadership(dep);
    const samples = new Map<string, { cpu: number[]; rss: number[]; pss: number[] }>();
    const rounds = Math.max(2, Math.round(settleS / 5));
    for (let i = 0; i < rounds; i++) {
      const t = Date.now();
      await Promise.all(
        dep.nodes().map(async (h) => {
          const s = await h.stats();
          if (!s) return;
          let e = samples.get(h.name);
          if (!e) samples.set(h.name, (e = { cpu: [], rss: [], pss: [] }));
          e.cpu.push(s.cpuPct);
          e.rss.push(s.rssMb);
          const pid = pids.get(h.name);
          const mem = pid !== undefined ? memoryRollup(pid) : undefined;
          if (mem) e.pss.push(mem.pssBytes / 1024 / 1024);
        }),
      );
      await sleep(Math.max(0, 5_000 - (Date.now() - t)));
    }
    const lead1 = await leadership(dep);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const cpu = [...samples.values()].map((e) => mean(e.cpu));
    const rss = [...samples.values()].map((e) => mean(e.rss));
    const pss = [...samples.values()].map((e) => mean(e.pss)).filter((x) => !Number.isNaN(x));
    const heights = await Promise.all(dep.nodes().map(async (h) => (await getTip(h.endpoints()))?.blockNo ?? -1));
    const checks = lead1.checks - lead0.checks;
    const missed = lead1.missed - lead0.missed;
    const missedPct = checks + missed > 0 ? (100 * missed) / (checks + missed) : NaN;
    const missedTotal = lead1.checks + lead1.missed > 0 ? (100 * lead1.missed) / (lead1.checks + lead1.missed) : NaN;
    const f = (x: number, w: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '–').padStart(w);
    console.log(
      `${String(n).padStart(4)} nodes (${String(pools).padStart(2)} pools)  bring-up ${f((tUp - tStart) / 1000, 5)} s (nodes up ${f((tUp - tGenesis) / 1000, 5)} s)  ` +
        `CPU/node ${f(mean(cpu), 5)} % (max ${f(Math.max(...cpu), 5)})  ` +
        `RSS/node ${f(mean(rss), 4, 0)} MB (max ${f(Math.max(...rss), 4, 0)})  PSS/node ${f(mean(pss), 4, 0)} MB (max ${f(Math.max(...pss), 4, 0)})  ` +
        `total RSS ${f(sum(rss) / 1024, 5, 2)} GB PSS ${f(sum(pss) / 1024, 5, 2)} GB  CPU total ${f(sum(cpu), 4, 0)} %  ` +
        `missed leadership checks ${f(missedPct, 5, 2)} % in the window (${missed}/${checks + missed}), ${f(missedTotal, 5, 2)} % since start  ` +
        `tips ${Math.min(...heights)}..${Math.max(...heights)}`,
    );
  } finally {
    await rt.down(dep.runId);
  }
}

// a bench stopped by a signal still takes its testnets down (they run detached)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void (async () => {
      for (const r of await rt.list()) await rt.down(r.runId).catch(() => {});
      rmSync(work, { recursive: true, force: true });
      process.exit(130);
    })();
  });
}

try {
  if (values.only !== 'scale') await firstBlock();
  if (values.only !== 'first-block') {
    console.log(`\n== per-node resources (scale-100 mix, generator off, ${settleS} s window after systemStart + 5 s; PSS counts shared pages once)`);
    for (const n of sizes) await scale(n);
  }
} finally {
  for (const r of await rt.list()) await rt.down(r.runId);
  rmSync(work, { recursive: true, force: true });
}
