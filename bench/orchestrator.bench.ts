// Orchestrator figures on the process runtime (prints them; asserts nothing):
//  1. time from `run` to the first block with 10 nodes, split into plan+genesis, up (all nodes
//     healthy), the wait for systemStart, and the first block after systemStart;
//  2. per-node CPU % and RSS at 25, 50 and 100 nodes (profile scale-100, 40 % pools, 60 % relays,
//     generator off so the figures are the nodes' own), sampled over a settled window.
//
//   npm run bench:orchestrator -- [--sizes 25,50,100] [--settle 20] [--only first-block|scale]

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { getTip } from '../orchestrator/collect/admin.ts';
import { runPipeline } from '../orchestrator/pipeline/run.ts';
import { ProcessRuntime } from '../orchestrator/runtime/process.ts';
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

async function scale(n: number): Promise<void> {
  const pools = Math.round(n * 0.4);
  const { dep, tStart, tUp } = await up(`scale-${n}`, 'scale-100', [
    `composition.pools=${pools}`,
    `composition.relays=${n - pools}`,
    'generator.enabled=false',
    'genesis.startDelayS=5',
  ]);
  try {
    await sleep(5_000); // past systemStart: slot clocks and peer connections running
    const samples = new Map<string, { cpu: number[]; rss: number[] }>();
    const rounds = Math.max(2, Math.round(settleS / 5));
    for (let i = 0; i < rounds; i++) {
      const t = Date.now();
      await Promise.all(
        dep.nodes().map(async (h) => {
          const s = await h.stats();
          if (!s) return;
          let e = samples.get(h.name);
          if (!e) samples.set(h.name, (e = { cpu: [], rss: [] }));
          e.cpu.push(s.cpuPct);
          e.rss.push(s.rssMb);
        }),
      );
      await sleep(Math.max(0, 5_000 - (Date.now() - t)));
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const cpu = [...samples.values()].map((e) => mean(e.cpu));
    const rss = [...samples.values()].map((e) => mean(e.rss));
    const heights = await Promise.all(dep.nodes().map(async (h) => (await getTip(h.endpoints()))?.blockNo ?? -1));
    console.log(
      `${String(n).padStart(4)} nodes (${pools} pools)  up ${((tUp - tStart) / 1000).toFixed(1).padStart(6)} s  ` +
        `CPU/node mean ${mean(cpu).toFixed(1).padStart(5)} % max ${Math.max(...cpu).toFixed(1).padStart(5)} %  ` +
        `RSS/node mean ${mean(rss).toFixed(0).padStart(4)} MB max ${Math.max(...rss).toFixed(0).padStart(4)} MB  ` +
        `total RSS ${(rss.reduce((a, b) => a + b, 0) / 1024).toFixed(2)} GB  CPU total ${cpu.reduce((a, b) => a + b, 0).toFixed(0)} %  ` +
        `tips ${Math.min(...heights)}..${Math.max(...heights)}`,
    );
  } finally {
    await rt.down(dep.runId);
  }
}

try {
  if (values.only !== 'scale') await firstBlock();
  if (values.only !== 'first-block') {
    console.log(`\n== per-node resources (scale-100 mix, generator off, ${settleS} s window after systemStart + 5 s)`);
    for (const n of sizes) await scale(n);
  }
} finally {
  for (const r of await rt.list()) await rt.down(r.runId);
  rmSync(work, { recursive: true, force: true });
}
