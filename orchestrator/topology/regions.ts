import type { LinkShape } from '../../node/config/schema.ts';
import { apportion } from '../profile/apportion.ts';
import type { Rng } from '../profile/rng.ts';
import { fullMeshEdges } from './full-mesh.ts';
import { randomRegularEdges } from './random-regular.ts';
import { TopologyError, type Edge, type TopologyNode } from './types.ts';

export interface RegionsSpec {
  regions: { name: string; share: number }[];
  latencyMs: number[][];
  degree: number;
}

/**
 * Nodes spread over regions by share (pools and relays each apportioned, in order), connected by a
 * random regular graph (full mesh if degree ≥ N-1); each link's latency is that of its region pair.
 */
export function regionsTopology(nodes: TopologyNode[], spec: RegionsSpec, rng: Rng, link: LinkShape): { nodes: TopologyNode[]; edges: Edge[] } {
  const r = spec.regions.length;
  if (spec.latencyMs.length !== r) throw new TopologyError(`latencyMs must be a ${r}×${r} matrix (one row per region), got ${spec.latencyMs.length} rows`, 'latencyMs');
  spec.latencyMs.forEach((row, i) => {
    if (row.length !== r) throw new TopologyError(`latencyMs row ${i} (${spec.regions[i]!.name}) must have ${r} entries, got ${row.length}`, 'latencyMs');
  });
  for (let i = 0; i < r; i++) {
    for (let j = i + 1; j < r; j++) {
      if (spec.latencyMs[i]![j] !== spec.latencyMs[j]![i]) {
        throw new TopologyError(`latencyMs must be symmetric: [${i}][${j}] = ${spec.latencyMs[i]![j]} but [${j}][${i}] = ${spec.latencyMs[j]![i]}`, 'latencyMs');
      }
    }
  }
  const names = new Set<string>();
  for (const reg of spec.regions) {
    if (names.has(reg.name)) throw new TopologyError(`region "${reg.name}" listed twice`, 'regions');
    names.add(reg.name);
  }
  const shares = spec.regions.map((x) => x.share);
  const placed = new Map<string, TopologyNode>();
  const regionOf = new Map<string, number>();
  for (const role of ['pool', 'relay'] as const) {
    const group = nodes.filter((n) => n.role === role);
    const counts = apportion(group.length, shares);
    let next = 0;
    counts.forEach((count, ri) => {
      for (let k = 0; k < count; k++) {
        const node = group[next++]!;
        regionOf.set(node.name, ri);
        placed.set(node.name, { ...node, region: spec.regions[ri]!.name });
      }
    });
  }
  const ordered = nodes.map((n) => placed.get(n.name)!);
  const all = ordered.map((n) => n.name);
  const edges = spec.degree >= all.length - 1 ? fullMeshEdges(all, link) : randomRegularEdges(all, spec.degree, rng, link);
  for (const e of edges) e.link.latencyMs = spec.latencyMs[regionOf.get(e.from)!]![regionOf.get(e.to)!]!;
  return { nodes: ordered, edges };
}
