// Offered vs included throughput on ci-bench (10 pools, 1500 B txs) at 150, 250, 300 and 350
// TxkB/s offered — the last above the protocol ceiling — with CPU per node, inclusion p50/p95,
// RB/EB diffusion p95, certification rate and the ceiling for the profile's parameters. It is a
// `leiosnet sweep` (orchestrator/sweep) underneath, so the sweep report (sweep-report.html, with
// the knee) lands in the sweep dir, and an interrupted bench resumes with the same --out.
// Prints figures; asserts nothing.
//
// "included" is every tx the chain took by the end of the run (the drain after the load too) per
// second of load: what the chain absorbed of the load. "sustained" counts only txs included while
// the load ran, after the profile's analysis.warmupSlots: the chain's own rate. Over the ceiling,
// "included" can exceed it (the mempool and the EBs in flight at the load's end get in during the
// drain); a 150 s window holds ~4 certificates of 12 MB, so "sustained" moves ±25 % with the seed.
//
//   npm run bench:throughput -- [--loads 150,250,300,350] [--tx-size 1500] [--profile ci-bench]
//                               [--duration 180] [--drain 200] [--out DIR] [--max-points N]
//                               [--seeds 11,12,13]
//
// --seeds runs every load once per seed (a grid: one leader and EB schedule per seed), prints a
// seed column, a knee per seed and, per load, the included throughput's min / mean / max across
// seeds — one seed's certificate schedule can move a point by tens of TxkB/s.
//
// --max-points runs that many points and stops (run again with the same --out to go on), so each
// invocation can be kept short, e.g. under a shared lock.

import { mkdtempSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadPlan } from '../orchestrator/profile/resolve.ts';
import { describeCeiling, planCeiling } from '../orchestrator/sweep/ceiling.ts';
import { analyseSweep } from '../orchestrator/sweep/report.ts';
import { runSweep } from '../orchestrator/sweep/run.ts';

const { values } = parseArgs({
  options: {
    loads: { type: 'string', default: '150,250,300,350' },
    'tx-size': { type: 'string', default: '1500' },
    profile: { type: 'string', default: 'ci-bench' },
    duration: { type: 'string' },
    drain: { type: 'string' },
    out: { type: 'string' },
    'max-points': { type: 'string' },
    seeds: { type: 'string' },
  },
});
const size = Number(values['tx-size']);
const loads = values.loads.split(',').map(Number);
const tpsList = loads.map((kb) => Math.round(((kb * 1000) / size) * 1000) / 1000);
const sets = [`generator.txSizeBytes=${size}`];
const base = loadPlan(values.profile, { sets });
if (values.duration) sets.push(`generator.durationS=${Number(values.duration)}`);
if (values.duration || values.drain) {
  const dur = Number(values.duration ?? base.generator.durationS ?? 180);
  const baseSlots = 'slots' in base.scenario.duration ? base.scenario.duration.slots : 380;
  const drain = values.drain !== undefined ? Number(values.drain) : baseSlots * base.genesis.slotLengthS - (base.generator.durationS ?? dur);
  sets.push(`scenario.duration.slots=${Math.ceil((dur + drain) / base.genesis.slotLengthS)}`);
}
const out = resolve(values.out ?? join(mkdtempSync(join(tmpdir(), 'leiosnet-throughput-')), 'sweep'));
const t0 = Date.now();
// Ctrl-C / SIGTERM: the current point tears its testnet down, the sweep stays resumable
const abort = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => abort.abort());

const seeds = values.seeds ? values.seeds.split(',').map(Number) : [];
const r = await runSweep({
  profile: values.profile,
  vary: [`generator.tps=${tpsList.join(',')}`, ...(seeds.length ? [`seed=${seeds.join(',')}`] : [])],
  sets,
  out,
  maxPoints: values['max-points'] !== undefined ? Number(values['max-points']) : undefined,
  log: (l) => console.error(l),
  signal: abort.signal,
});
const a = analyseSweep(r.sweepDir, r.state);
const ceiling = a.ceiling ?? planCeiling(base);

const f = (x: number | null | undefined, w: number, d = 1) => (x === null || x === undefined ? '–' : x.toFixed(d)).padStart(w);
console.log(`\n== throughput on ${values.profile} (${size} B txs), ${r.state.points.filter((p) => p.status === 'done').length}/${r.state.points.length} points, ${((Date.now() - t0) / 60000).toFixed(1)} min this run`);
console.log(`machine: ${cpus().length} cores, load average ${loadavg().map((x) => x.toFixed(1)).join(' / ')} (1/5/15 min) at the end of this invocation`);
if (ceiling) console.log(describeCeiling(ceiling));
const seedCol = seeds.length > 0;
console.log(
  [...(seedCol ? ['seed'] : []), 'offered TxkB/s', 'submitted', 'included', 'sustained', 'incl/offered', 'incl/ceiling', 'CPU/node %', 'RSS/node MB', 'incl p50 s', 'incl p95 s', 'RB p95 ms', 'EB p95 ms', 'certRate', 'rejected'].map((h, i) => h.padStart(h === 'seed' ? 6 : h.startsWith('offered') ? 14 : 12)).join(' '),
);
const seedOf = (p: (typeof r.state.points)[number]) => (seedCol ? [String(p.values['seed']).padStart(6)] : []);
for (const p of r.state.points) {
  const m = p.metrics;
  if (!m) {
    console.log([...seedOf(p), `${f((p.values['generator.tps']! * size) / 1000, 14)} ${p.status}${p.error ? `: ${p.error.split('\n')[0]}` : ''}`].join(' '));
    continue;
  }
  console.log(
    [
      ...seedOf(p),
      f(m.offeredTxkbPerS, 14),
      f(m.submittedTxkbPerS, 12),
      f(m.includedTxkbPerS, 12),
      f(m.sustainedTxkbPerS, 12),
      m.efficiency === null ? '–'.padStart(12) : `${(m.efficiency * 100).toFixed(0)} %`.padStart(12),
      ceiling && m.includedTxkbPerS !== null ? `${((100 * m.includedTxkbPerS) / ceiling.txkbPerS).toFixed(0)} %`.padStart(12) : '–'.padStart(12),
      f(m.cpuPctPerNode, 12),
      f(m.rssMbPerNode, 12, 0),
      f(m.inclusionP50S, 12),
      f(m.inclusionP95S, 12),
      f(m.rbP95Ms, 12, 0),
      f(m.ebP95Ms, 12, 0),
      f(m.certRate, 12, 2),
      m.rejectedShare === null ? '–'.padStart(12) : `${(m.rejectedShare * 100).toFixed(1)} %`.padStart(12),
    ].join(' '),
  );
}
type Metrics = NonNullable<(typeof r.state.points)[number]['metrics']>;
if (seedCol) {
  for (const [label, pick] of [
    ['included', (m: Metrics) => m.includedTxkbPerS],
    ['sustained', (m: Metrics) => m.sustainedTxkbPerS ?? null],
  ] as const) {
    console.log(`\n${label} TxkB/s across seeds, per load:`);
    for (const tps of tpsList) {
      const xs = r.state.points.filter((p) => p.values['generator.tps'] === tps && p.metrics && pick(p.metrics) !== null).map((p) => pick(p.metrics!)!);
      if (xs.length === 0) continue;
      const mean = xs.reduce((x, y) => x + y, 0) / xs.length;
      const share = ceiling ? ` (mean ${((100 * mean) / ceiling.txkbPerS).toFixed(0)} % of the ceiling)` : '';
      console.log(`  offered ${f((tps * size) / 1000, 6)}: ${xs.length} seeds, min ${f(Math.min(...xs), 6)} / mean ${f(mean, 6)} / max ${f(Math.max(...xs), 6)}${share}`);
    }
  }
}
for (const g of a.groups) console.log(`knee${g.label ? ` (${g.label})` : ''}: ${g.knee.explanation}`);
console.log(`sweep dir ${r.sweepDir}${r.complete ? '' : ` (incomplete: run again with --out ${r.sweepDir})`}\nreport ${r.report.html}`);
