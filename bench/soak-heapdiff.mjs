// Heap snapshot diff for soak leaks (see bench/soak.bench.ts, SOAK_HEAPSNAP):
//   node bench/soak-heapdiff.mjs A.heapsnapshot B.heapsnapshot [topN]
// Groups self size by (type, name) in each snapshot, prints the biggest growth, and for the top
// groups a few retainer paths (first strong retainer, towards the GC roots) from snapshot B.
// GROUPS="native:system / JSArrayBufferData" MINSIZE=30000 lists the large instances of a group.
// HOLDERS=1 adds, per group, its B size by holder: the first field of a named class on each
// instance's retainer path (e.g. `ChainFollower.chain`), so growth is attributed, not sampled.
import fs from 'node:fs';

function load(file) {
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  const m = j.snapshot.meta;
  const nf = m.node_fields.length;
  const ef = m.edge_fields.length;
  const nodeTypes = m.node_fields.indexOf('type');
  const types = m.node_types[nodeTypes];
  const edgeTypes = m.edge_types[m.edge_fields.indexOf('type')];
  const iType = nodeTypes, iName = m.node_fields.indexOf('name'), iSize = m.node_fields.indexOf('self_size'), iEdges = m.node_fields.indexOf('edge_count'), iId = m.node_fields.indexOf('id');
  const eType = m.edge_fields.indexOf('type'), eName = m.edge_fields.indexOf('name_or_index'), eTo = m.edge_fields.indexOf('to_node');
  return { j, nf, ef, types, edgeTypes, iType, iName, iSize, iEdges, iId, eType, eName, eTo, strings: j.strings, nodes: j.nodes, edges: j.edges };
}

function keyOf(s, i) {
  const t = s.types[s.nodes[i + s.iType]];
  let name = s.strings[s.nodes[i + s.iName]];
  if (t === 'string' || t === 'concatenated string' || t === 'sliced string') name = '';
  if (t === 'code' || t === 'closure') name = name.slice(0, 40);
  return `${t}:${name.slice(0, 60)}`;
}

function groups(s) {
  const g = new Map();
  for (let i = 0; i < s.nodes.length; i += s.nf) {
    const k = keyOf(s, i);
    const r = g.get(k) ?? { n: 0, size: 0 };
    r.n++;
    r.size += s.nodes[i + s.iSize];
    g.set(k, r);
  }
  return g;
}

const [a, b, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 25);
const A = load(a);
const gA = groups(A);
A.j = null;
const B = load(b);
const gB = groups(B);
const tot = (g) => [...g.values()].reduce((x, y) => x + y.size, 0);
console.log(`total self size A ${(tot(gA) / 1e6).toFixed(1)} MB, B ${(tot(gB) / 1e6).toFixed(1)} MB`);
const rows = [...gB].map(([k, r]) => ({ k, n: r.n, size: r.size, dn: r.n - (gA.get(k)?.n ?? 0), ds: r.size - (gA.get(k)?.size ?? 0) }));
rows.sort((x, y) => y.ds - x.ds);
console.log('Δ MB     Δcount    B MB    B count  group');
for (const r of rows.slice(0, top)) console.log(`${(r.ds / 1e6).toFixed(2).padStart(7)} ${String(r.dn).padStart(9)} ${(r.size / 1e6).toFixed(2).padStart(7)} ${String(r.n).padStart(9)}  ${r.k}`);

// retainers in B
const N = B.nodes.length / B.nf;
const firstEdge = new Uint32Array(N + 1);
for (let n = 0, e = 0; n < N; n++) {
  firstEdge[n] = e;
  e += B.nodes[n * B.nf + B.iEdges] * B.ef;
}
const retCount = new Uint32Array(N);
const edgeCount = B.edges.length / B.ef;
for (let e = 0; e < B.edges.length; e += B.ef) retCount[B.edges[e + B.eTo] / B.nf]++;
const retStart = new Uint32Array(N + 1);
for (let n = 0, acc = 0; n < N; n++) (retStart[n] = acc), (acc += retCount[n]);
retStart[N] = edgeCount;
const retFrom = new Uint32Array(edgeCount);
const retEdge = new Uint32Array(edgeCount);
const fill = retStart.slice();
for (let n = 0; n < N; n++) {
  const c = B.nodes[n * B.nf + B.iEdges];
  for (let k = 0; k < c; k++) {
    const e = firstEdge[n] + k * B.ef;
    const to = B.edges[e + B.eTo] / B.nf;
    retFrom[fill[to]] = n;
    retEdge[fill[to]++] = e;
  }
}
const ename = (e) => {
  const t = B.edgeTypes[B.edges[e + B.eType]];
  const v = B.edges[e + B.eName];
  return t === 'element' || t === 'hidden' ? `[${v}]` : `.${B.strings[v]}`;
};
function pathOf(n) {
  const out = [];
  const seen = new Set();
  let cur = n;
  for (let d = 0; d < 14; d++) {
    seen.add(cur);
    let pick = -1, pe = -1;
    for (let r = retStart[cur]; r < retStart[cur + 1]; r++) {
      const t = B.edgeTypes[B.edges[retEdge[r] + B.eType]];
      if (t === 'weak' || t === 'shortcut') continue;
      const from = retFrom[r];
      if (seen.has(from)) continue;
      const ft = B.types[B.nodes[from * B.nf + B.iType]];
      if (ft === 'synthetic' && pick >= 0) continue;
      pick = from; pe = retEdge[r];
      if (ft !== 'synthetic') break;
    }
    if (pick < 0) break;
    out.push(`${keyOf(B, pick * B.nf)}${ename(pe)}`);
    cur = pick;
  }
  return out.join(' <- ');
}
const want = process.env.GROUPS ? process.env.GROUPS.split('|') : rows.slice(0, 6).map((r) => r.k);
for (const g of want) {
  const inst = [];
  for (let n = 0; n < N; n++) if (keyOf(B, n * B.nf) === g) inst.push(n);
  // largest few and a few random
  inst.sort((x, y) => B.nodes[y * B.nf + B.iSize] - B.nodes[x * B.nf + B.iSize]);
  const minSz = Number(process.env.MINSIZE ?? 0);
  const sample = minSz ? inst.filter((n) => B.nodes[n * B.nf + B.iSize] >= minSz).slice(0, 40) : [...inst.slice(0, 3), ...[0.3, 0.6, 0.9].map((f) => inst[Math.floor(inst.length * f)])].filter((x) => x !== undefined);
  console.log(`\n== ${g} (${inst.length})`);
  for (const n of sample) console.log(`  [${B.nodes[n * B.nf + B.iSize]}] ${pathOf(n)}`);
  if (!process.env.HOLDERS) continue;
  const generic = /^(Object|Array|Uint8Array|ArrayBuffer|Buffer|Map|Set|Int8Array|Uint32Array|Promise|Function)$/;
  const by = new Map();
  for (const n of inst) {
    let holder = '(none)';
    for (const step of pathOf(n).split(' <- ')) {
      const m = /^object:([A-Za-z_$][\w$]*)\.([#\w$]+)$/.exec(step);
      if (m && !generic.test(m[1])) {
        holder = `${m[1]}.${m[2]}`;
        break;
      }
    }
    const r = by.get(holder) ?? { n: 0, size: 0 };
    r.n++;
    r.size += B.nodes[n * B.nf + B.iSize];
    by.set(holder, r);
  }
  for (const [h, r] of [...by].sort((x, y) => y[1].size - x[1].size).slice(0, 12)) console.log(`  holder ${(r.size / 1e6).toFixed(2).padStart(7)} MB ${String(r.n).padStart(8)}  ${h}`);
}
