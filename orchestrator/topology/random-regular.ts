import type { LinkShape } from '../../node/config/schema.ts';
import type { Rng } from '../profile/rng.ts';
import { fullMeshEdges } from './full-mesh.ts';
import { TopologyError, undirected, type Edge } from './types.ts';

// A connected random d-regular graph. Pairing with rejection (Steger–Wormald) gives a simple
// graph quickly; a disconnected result is retried a few times with fresh seeded streams and
// then repaired by double-edge swaps between components, which keep every degree at d.

const ATTEMPTS = 20;

type Adj = Set<number>[];

function pairing(n: number, d: number, rng: Rng): Adj | undefined {
  const adj: Adj = Array.from({ length: n }, () => new Set<number>());
  const stubs: number[] = [];
  for (let v = 0; v < n; v++) for (let k = 0; k < d; k++) stubs.push(v);
  while (stubs.length > 0) {
    let found = false;
    for (let tries = 0; tries < 200 && !found; tries++) {
      const i = rng.int(0, stubs.length);
      const j = rng.int(0, stubs.length);
      const u = stubs[i]!;
      const v = stubs[j]!;
      if (i === j || u === v || adj[u]!.has(v)) continue;
      adj[u]!.add(v);
      adj[v]!.add(u);
      for (const idx of [Math.max(i, j), Math.min(i, j)]) {
        stubs[idx] = stubs[stubs.length - 1]!;
        stubs.pop();
      }
      found = true;
    }
    if (!found) return undefined;
  }
  return adj;
}

/** Connected components, each a sorted list of vertices, ordered by smallest vertex. */
export function components(adj: readonly ReadonlySet<number>[]): number[][] {
  const seen = new Array<boolean>(adj.length).fill(false);
  const out: number[][] = [];
  for (let s = 0; s < adj.length; s++) {
    if (seen[s]) continue;
    const comp: number[] = [];
    const queue = [s];
    seen[s] = true;
    while (queue.length > 0) {
      const v = queue.shift()!;
      comp.push(v);
      for (const w of [...adj[v]!].sort((a, b) => a - b)) {
        if (!seen[w]) {
          seen[w] = true;
          queue.push(w);
        }
      }
    }
    out.push(comp.sort((a, b) => a - b));
  }
  return out;
}

/** An edge lying on a cycle (so removing it keeps the component connected): a DFS back edge. */
function cycleEdge(adj: Adj, start: number): [number, number] {
  const parent = new Map<number, number>([[start, -1]]);
  const stack = [start];
  while (stack.length > 0) {
    const v = stack.pop()!;
    for (const w of [...adj[v]!].sort((a, b) => a - b)) {
      if (w === parent.get(v)) continue;
      if (parent.has(w)) return [v, w];
      parent.set(w, v);
      stack.push(w);
    }
  }
  throw new Error('component without a cycle'); // impossible with every degree ≥ 2
}

function repair(adj: Adj): void {
  for (let comps = components(adj); comps.length > 1; comps = components(adj)) {
    const [u, v] = cycleEdge(adj, comps[0]![0]!);
    const [x, y] = cycleEdge(adj, comps[1]![0]!);
    adj[u]!.delete(v);
    adj[v]!.delete(u);
    adj[x]!.delete(y);
    adj[y]!.delete(x);
    adj[u]!.add(x);
    adj[x]!.add(u);
    adj[v]!.add(y);
    adj[y]!.add(v);
  }
}

export function randomRegularEdges(names: readonly string[], degree: number, rng: Rng, link: LinkShape): Edge[] {
  const n = names.length;
  if (degree > n - 1) throw new TopologyError(`degree ${degree} needs at least ${degree + 1} nodes, the profile has ${n}`, 'degree');
  if ((n * degree) % 2 !== 0) throw new TopologyError(`nodes × degree must be even, got ${n} × ${degree}`, 'degree');
  if (degree === n - 1) return fullMeshEdges(names, link);
  if (degree < 2) throw new TopologyError(`degree ${degree} cannot connect ${n} nodes; use at least 2`, 'degree');
  let graph: Adj | undefined;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const g = pairing(n, degree, rng.fork(`attempt-${attempt}`));
    if (!g) continue;
    graph = g;
    if (components(g).length === 1) break;
  }
  if (!graph) throw new TopologyError(`could not build a ${degree}-regular graph on ${n} nodes`, 'degree');
  repair(graph);
  const edges: Edge[] = [];
  for (let u = 0; u < n; u++) {
    for (const v of [...graph[u]!].sort((a, b) => a - b)) if (u < v) edges.push(undirected(names[u]!, names[v]!, link));
  }
  return edges;
}
