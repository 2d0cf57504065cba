// `leiosnet report` at scale: writes a synthetic run dir shaped like a real one (node traces in
// the simulator envelope with batched TxAccepted/TxIncluded ids, RB/EB/vote diffusion, the
// generator's per-tx records, metrics samples with every series, resources, events), then runs
// what `leiosnet report` runs (analyseRun → summary.json → report.md/html) in a child process
// and prints its wall time and peak RSS. Asserts nothing.
//
//   npm run bench:analysis -- [--nodes 50] [--hours 1] [--tps 50] [--scrape-s 2] [--series 150] [--keep DIR [--reuse]] [--repo CHECKOUT]
//
// Default: 50 nodes, 1 hour of 1 s slots, 50 tx/s (every tx accepted and included at every node),
// a scrape every 2 s of 150 series per node. Goal: < 30 s and bounded memory.

import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync, writeSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '50' },
    hours: { type: 'string', default: '1' },
    tps: { type: 'string', default: '50' },
    'scrape-s': { type: 'string', default: '2' },
    series: { type: 'string', default: '150' },
    keep: { type: 'string' },
    reuse: { type: 'boolean', default: false },
    /** a checkout whose orchestrator/analysis and report to time (figures before a change) */
    repo: { type: 'string' },
  },
});
const N = Number(values.nodes);
const durationS = Number(values.hours) * 3600;
const tps = Number(values.tps);
const scrapeS = Number(values['scrape-s']);
const seriesPerNode = Number(values.series);
const REPO = resolve(values.repo ?? resolve(import.meta.dirname, '..'));

const dir = values.keep ? resolve(values.keep) : mkdtempSync(join(tmpdir(), 'leiosnet-analysis-bench-'));

// deterministic pseudo-random numbers (mulberry32)
let seed = 42;
function rand(): number {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const hex = (bytes: number) => randomBytes(bytes).toString('hex');

class Out {
  private fd: number;
  private buf: string[] = [];
  private len = 0;
  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }
  line(s: string): void {
    this.buf.push(s, '\n');
    this.len += s.length + 1;
    if (this.len > 4 << 20) this.flush();
  }
  flush(): void {
    if (this.buf.length) writeSync(this.fd, this.buf.join(''));
    this.buf = [];
    this.len = 0;
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

function generate(): void {
  const t0 = Date.now();
  const systemStart = Math.floor(Date.now() / 1000) - durationS - 600;
  const nodes = Array.from({ length: N }, (_, i) => `pool-${i + 1}`);
  mkdirSync(join(dir, 'genesis'), { recursive: true });
  mkdirSync(join(dir, 'metrics'), { recursive: true });
  mkdirSync(join(dir, 'generator'), { recursive: true });
  const iso = (s: number) => new Date(s * 1000).toISOString();
  writeFileSync(join(dir, 'genesis', 'genesis.json'), JSON.stringify({ systemStart: iso(systemStart), slotLengthS: 1, eras: [{ era: 'leios', startEpoch: 0, protocolVersion: 2 }] }));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ runId: 'bench-analysis', profile: 'pt-cluster-52', runtime: 'process', seed: 1, startedAt: iso(systemStart - 10), endedAt: iso(systemStart + durationS + 30) }));
  writeFileSync(
    join(dir, 'profile.resolved.json'),
    JSON.stringify({
      name: 'pt-cluster-52',
      genesis: { slotLengthS: 1, activeSlotCoeff: 0.05, leios: { lHdrSlots: 1, lVoteSlots: 4, lDiffSlots: 7, ebMaxTxBytes: 12_000_000 }, protocolParams: { maxBlockBodySize: 90_112 } },
      generator: { tps, txSizeBytes: 1500, enabled: true },
      analysis: { diffusionWithinS: 5, assertions: [{ kind: 'tip-agreement', maxBlocksApart: 1 }, { kind: 'certified-ebs', min: 5 }] },
    }),
  );

  // the global timeline: txs, blocks, votes
  const txCount = Math.round(durationS * tps);
  const txIds: string[] = new Array(txCount);
  const txT: number[] = new Array(txCount);
  for (let i = 0; i < txCount; i++) {
    txIds[i] = hex(32);
    txT[i] = (i + rand()) / tps;
  }
  const gen = new Out(join(dir, 'generator', 'txs.jsonl'));
  for (let i = 0; i < txCount; i++) gen.line(JSON.stringify({ id: txIds[i], submitTime: systemStart + txT[i]!, target: nodes[i % N], kind: 'value', size: 1500, inputs: [`${txIds[Math.max(0, i - 1000)]}#1`], state: 'included', verdict: 'accepted' }));
  gen.close();
  writeFileSync(join(dir, 'generator', 'summary.json'), JSON.stringify({ submitted: txCount, accepted: txCount, rejected: 0, startedAt: iso(systemStart), endedAt: iso(systemStart + durationS) }));

  interface Block {
    slot: number;
    id: string;
    producer: number;
    blockNo: number;
    eb?: string;
    certifies?: string;
    /** txs included by this RB: [from, to) indices */
    txFrom: number;
    txTo: number;
    arrive: number[];
    ebArrive: number[];
    voters: number[];
  }
  const blocks: Block[] = [];
  let lastEb: { eb: string; slot: number } | undefined;
  let txNext = 0;
  for (let slot = 0; slot < durationS; slot++) {
    if (rand() >= 0.05) continue;
    const producer = Math.floor(rand() * N);
    const id = hex(32);
    const certifies = lastEb && slot - lastEb.slot >= 14 ? lastEb.eb : undefined;
    let txTo = txNext;
    while (txTo < txCount && txT[txTo]! < slot - 2) txTo++;
    const b: Block = {
      slot,
      id,
      producer,
      blockNo: blocks.length + 1,
      eb: rand() < 0.9 ? hex(32) : undefined,
      ...(certifies ? { certifies } : {}),
      txFrom: txNext,
      txTo,
      arrive: nodes.map(() => slot + 0.1 + rand() * 1.5),
      ebArrive: nodes.map(() => slot + 0.3 + rand() * 3),
      voters: nodes.map((_, i) => i).filter(() => rand() < 0.8),
    };
    txNext = txTo;
    lastEb = b.eb ? { eb: b.eb, slot } : undefined;
    blocks.push(b);
  }
  const f3 = (x: number) => Math.round(x * 1000) / 1000;

  for (let ni = 0; ni < N; ni++) {
    const node = nodes[ni]!;
    mkdirSync(join(dir, 'nodes', node), { recursive: true });
    const out = new Out(join(dir, 'nodes', node, 'trace.jsonl'));
    const ev = (t: number, m: Record<string, unknown>) => out.line(JSON.stringify({ time_s: f3(t), message: { ...m, node } }));
    let bi = 0;
    let ti = 0;
    for (let sec = 0; sec < durationS; sec++) {
      // mempool: one TxAccepted batch per second (the trace writer's flush)
      const ids: string[] = [];
      const first = ti < txCount ? txT[ti]! : 0;
      while (ti < txCount && txT[ti]! < sec + 1) ids.push(txIds[ti++]!);
      if (ids.length) ev(first + 0.05, { type: 'TxAccepted', count: ids.length, ids, spanS: 1 });
      while (bi < blocks.length && blocks[bi]!.slot === sec) {
        const b = blocks[bi++]!;
        const mine = b.producer === ni;
        const at = mine ? b.slot + 0.01 : b.arrive[ni]!;
        if (mine) {
          ev(at, { type: 'RBGenerated', id: b.id, slot: b.slot, producer: node, size_bytes: 90_000, parent: null, endorsement: b.certifies ? { eb: { id: b.certifies } } : null, ...(b.eb ? { announced_eb: { id: b.eb } } : {}), block_no: b.blockNo });
          if (b.eb) ev(at + 0.01, { type: 'EBGenerated', id: b.eb, slot: b.slot, producer: node, size_bytes: 20_000, pipeline: 0, input_blocks: [], endorser_blocks: [], tx_count: b.txTo - b.txFrom });
        } else {
          ev(at, { type: 'RBReceived', id: b.id, recipient: node, sender: nodes[(ni + 1) % N], slot: b.slot });
          if (b.eb) ev(b.ebArrive[ni]!, { type: 'EBReceived', id: b.eb, recipient: node, sender: nodes[(ni + 1) % N], slot: b.slot });
        }
        ev(at + 0.02, { type: 'RBAdopted', id: b.id, slot: b.slot, blockNo: b.blockNo, parent: null, delayS: f3(at - b.slot) });
        const inc = txIds.slice(b.txFrom, b.txTo);
        if (b.certifies) {
          ev(at + 0.03, { type: 'CertIncluded', eb: b.certifies, rb: b.id, slot: b.slot });
          if (inc.length) ev(at + 0.04, { type: 'TxIncluded', count: inc.length, ids: inc, rb: b.id, eb: b.certifies, slot: b.slot });
        } else if (inc.length) ev(at + 0.04, { type: 'TxIncluded', count: inc.length, ids: inc, rb: b.id, slot: b.slot });
        if (b.eb) {
          if (b.voters.includes(ni)) ev(b.slot + 3.5, { type: 'VTBundleGenerated', id: `${b.eb}:${node}`, slot: b.slot, producer: node, size_bytes: 150, pipeline: 0, votes: { [b.eb]: 1 } });
          for (const v of b.voters) if (v !== ni) ev(b.slot + 3.6 + rand(), { type: 'VTBundleReceived', id: `${b.eb}:${nodes[v]}`, recipient: node, sender: nodes[v], slot: b.slot });
        }
      }
    }
    out.close();
  }

  // metrics: every series, one sample per node per round
  const samples = new Out(join(dir, 'metrics', 'samples.jsonl'));
  const res = new Out(join(dir, 'metrics', 'resources.jsonl'));
  const extraKeys = Array.from({ length: Math.max(0, seriesPerNode - 8) }, (_, i) => `leios_eb_arrival_delay_seconds_bucket{le="${(i % 20) / 4}",x="${Math.floor(i / 20)}"}`);
  let round = 0;
  for (let s = 0; s < durationS; s += scrapeS, round++) {
    const height = blocks.filter((b) => b.slot <= s).length;
    const applied = Math.min(txCount, Math.round(s * tps * 0.97));
    for (let ni = 0; ni < N; ni++) {
      const values: Record<string, number> = {
        leios_slot: s,
        leios_block_height: height,
        leios_protocol_version: 2,
        leios_ledger_tx_applied_total: applied,
        leios_ledger_tx_bytes_applied_total: applied * 1500,
        leios_mempool_txs: Math.round(rand() * 200),
        process_cpu_seconds_total: s * 0.05,
        process_resident_memory_bytes: 150e6,
      };
      for (const k of extraKeys) values[k] = Math.round(rand() * 1000);
      const t = systemStart + s + rand() * 0.2;
      samples.line(JSON.stringify({ t, round, node: nodes[ni], labels: { run: 'bench', node: nodes[ni]! }, values }));
      res.line(JSON.stringify({ t, node: nodes[ni], cpuPct: Math.round(rand() * 300) / 10, rssMb: 150 + Math.round(rand() * 100) / 10 }));
    }
  }
  samples.close();
  res.close();
  const last = blocks[blocks.length - 1]!;
  writeFileSync(join(dir, 'metrics', 'tips.json'), JSON.stringify({ collectedAt: iso(systemStart + durationS), tips: Object.fromEntries(nodes.map((n) => [n, { slot: last.slot, blockNo: last.blockNo, hash: last.id }])) }));
  const evs = new Out(join(dir, 'events.jsonl'));
  evs.line(JSON.stringify({ t: iso(systemStart - 10), type: 'phase', phase: 'scenario' }));
  evs.line(JSON.stringify({ t: iso(systemStart + durationS), type: 'mark', label: 'end' }));
  evs.close();
  console.log(`generated ${dir}: ${N} nodes, ${durationS} s, ${txCount} txs, ${blocks.length} RBs, ${blocks.filter((b) => b.certifies).length} certificates, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

function du(path: string): number {
  let total = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    total += e.isDirectory() ? du(p) : statSync(p).size;
  }
  return total;
}

if (!(values.reuse && values.keep)) generate();
console.log(`run dir size ${(du(dir) / 1e9).toFixed(2)} GB (traces ${(du(join(dir, 'nodes')) / 1e9).toFixed(2)} GB, metrics ${(du(join(dir, 'metrics')) / 1e6).toFixed(0)} MB)`);

// what `leiosnet report <run-dir>` does, alone in a child process (its peak RSS is the report's)
const script = `
const t0 = performance.now();
const c0 = process.cpuUsage();
const { analyseRun, writeSummary } = await import(${JSON.stringify(join(REPO, 'orchestrator/analysis/analyse.ts'))});
const { writeReports } = await import(${JSON.stringify(join(REPO, 'orchestrator/report/index.ts'))});
const tImport = performance.now();
const a = await analyseRun(process.argv[1]);
const tAnalyse = performance.now();
writeSummary(process.argv[1], a.summary);
writeReports(process.argv[1], a);
const tEnd = performance.now();
const s = a.summary;
console.log(JSON.stringify({ importS: (tImport - t0) / 1000, analyseS: (tAnalyse - tImport) / 1000, reportS: (tEnd - tAnalyse) / 1000, totalS: (tEnd - t0) / 1000, cpuS: (process.cpuUsage(c0).user + process.cpuUsage(c0).system) / 1e6, maxRssMb: process.resourceUsage().maxRSS / 1024,
  check: { blocks: s.chain.blocks, txIncluded: s.throughput.txIncluded, txkbPerS: s.throughput.txkbPerS, inclP95: s.latency.inclusionP95S, rbP95: s.diffusion.rb.p95Ms, ebP95: s.diffusion.eb.p95Ms, certified: s.leios.ebsCertified, votes: s.leios.votesCast } }));
`;
const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, dir], { cwd: REPO, encoding: 'utf8', maxBuffer: 1 << 24 });
if (r.status !== 0) {
  console.error(r.stderr);
  process.exitCode = 1;
} else {
  const m = JSON.parse(r.stdout.trim().split('\n').pop()!) as { cpuS: number; totalS: number; analyseS: number; reportS: number; importS: number; maxRssMb: number; check: unknown };
  console.log(`\n== leiosnet report of ${N} nodes × ${durationS / 3600} h (${tps} tx/s)`);
  console.log(`total ${m.totalS.toFixed(1)} s wall, ${m.cpuS.toFixed(1)} s CPU (import ${m.importS.toFixed(1)}, analyse ${m.analyseS.toFixed(1)}, write reports ${m.reportS.toFixed(1)})  peak RSS ${m.maxRssMb.toFixed(0)} MB  (load average now ${(await import('node:os')).loadavg()[0]!.toFixed(1)} on ${(await import('node:os')).cpus().length} cores)`);
  console.log(`report.html ${(statSync(join(dir, 'report.html')).size / 1e6).toFixed(1)} MB; figures ${JSON.stringify(m.check)}`);
}
if (!values.keep) rmSync(dir, { recursive: true, force: true });
