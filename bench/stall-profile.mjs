#!/usr/bin/env node
// What holds a node's event loop: reads V8 .cpuprofile files (LEIOSNET_NODE_CPU_PROF=<dir>) and
// finds the busy stretches — consecutive non-idle samples — longer than a threshold, then says
// which functions those stretches spent their samples in (self, and the first project frame on
// the stack). A stall of the event loop is exactly such a stretch; an average profile hides it
// among the short tasks.
//
// Usage: node bench/stall-profile.mjs [--min-ms 100] [--top 25] file.cpuprofile…
// Figures are in samples (the sampling interval, ~1 ms quiet): on a loaded machine time deltas
// include descheduling, so counts rank causes better than milliseconds do.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
let minMs = 100;
let top = 25;
const files = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--min-ms') minMs = Number(args[++i]);
  else if (args[i] === '--top') top = Number(args[++i]);
  else files.push(args[i]);
}
if (!files.length || !Number.isFinite(minMs)) {
  console.error('usage: node bench/stall-profile.mjs [--min-ms 100] [--top 25] file.cpuprofile…');
  process.exit(2);
}

const IDLE = new Set(['(idle)', '(program)', '(garbage collector)']);
const selfBy = new Map();
const projectBy = new Map();
const stretchLens = [];
let busyInStalls = 0;
let totalBusy = 0;
let gcInStalls = 0;
const add = (m, k, n = 1) => m.set(k, (m.get(k) ?? 0) + n);

for (const f of files) {
  const p = JSON.parse(readFileSync(f, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = (n) => `${n.callFrame.functionName || '(anonymous)'} ${String(n.callFrame.url).replace(/^.*\/(node|orchestrator|tx-generator|node_modules)\//, '$1/')}:${n.callFrame.lineNumber + 1}`;
  const projectFrame = (id) => {
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const u = String(byId.get(cur).callFrame.url);
      if (/\/(node|orchestrator|tx-generator)\//.test(u) && !u.includes('node_modules')) return label(byId.get(cur));
    }
    return '(no project frame)';
  };
  // A stretch: samples whose node is not idle/program; GC samples inside a stretch count (a GC
  // pause stalls the loop too) but do not start or end one.
  let stretch = [];
  let ms = 0;
  const flush = () => {
    const busy = stretch.filter((s) => s.kind === 'busy').length;
    if (ms >= minMs && busy > 0) {
      stretchLens.push(ms);
      for (const s of stretch) {
        busyInStalls++;
        if (s.kind === 'gc') {
          gcInStalls++;
          continue;
        }
        add(selfBy, label(byId.get(s.id)));
        add(projectBy, projectFrame(s.id));
      }
    }
    stretch = [];
    ms = 0;
  };
  for (let i = 0; i < p.samples.length; i++) {
    const n = byId.get(p.samples[i]);
    const name = n.callFrame.functionName;
    const dt = (p.timeDeltas[i + 1] ?? p.timeDeltas[i] ?? 0) / 1000;
    if (name === '(garbage collector)') {
      if (stretch.length) (stretch.push({ kind: 'gc', id: n.id }), (ms += dt));
      continue;
    }
    if (IDLE.has(name)) {
      flush();
      continue;
    }
    totalBusy++;
    stretch.push({ kind: 'busy', id: n.id });
    ms += dt;
  }
  flush();
}

stretchLens.sort((a, b) => a - b);
const q = (x) => (stretchLens.length ? stretchLens[Math.min(stretchLens.length - 1, Math.floor(x * stretchLens.length))].toFixed(0) : '-');
console.log(`${files.length} profile(s): ${stretchLens.length} busy stretches ≥ ${minMs} ms (p50 ${q(0.5)} ms, p90 ${q(0.9)} ms, max ${q(1)} ms)`);
console.log(`samples in those stretches: ${busyInStalls} of ${totalBusy} busy samples (${totalBusy ? ((100 * busyInStalls) / totalBusy).toFixed(1) : 0} %), GC ${gcInStalls}`);
const show = (title, m) => {
  console.log(`\n${title}`);
  const rows = [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [k, n] of rows) console.log(`${String(n).padStart(7)}  ${((100 * n) / Math.max(1, busyInStalls)).toFixed(1).padStart(5)} %  ${k}`);
};
show('self time in stalls (samples)', selfBy);
show('first project frame on the stack in stalls (samples)', projectBy);
