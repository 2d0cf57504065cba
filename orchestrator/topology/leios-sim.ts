import type { LinkShape } from '../../node/config/schema.ts';
import { ProfileError, type ProfileIssue } from '../errors.ts';
import { locator, readYaml } from '../profile/yaml.ts';
import { displayPath, isPlainObject, type Segment } from '../profile/validate.ts';
import type { Edge, Topology, TopologyNode } from './types.ts';

// The Leios simulator's topology format, imported as is (shared/reference/leios-sim/topology.d.ts):
//   nodes: { <name>: { stake?, location, producers: { <name>: { latency-ms, bandwidth-bytes-per-second? } } } }
// A node with stake > 0 is a pool, zero or absent stake a relay. Nodes are renamed pool-i /
// relay-j in natural order of their names (node-0 → pool-1); `origin` keeps the file's name.
// `producers` are upstream peers: an entry B under A is an edge B → A (A fetches from B) carrying
// that entry's latency and bandwidth. `location.cluster` becomes the node's region.

/** node-2 before node-10. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

export function readLeiosSimTopology(file: string, display: string, link: LinkShape): Topology {
  const parsed = readYaml(file, display, 'leios-sim topology file');
  const locate = locator(parsed.positions, { file: display, line: 1, col: 1 });
  const issues: ProfileIssue[] = [];
  const bad = (segments: Segment[], message: string) =>
    issues.push({ path: displayPath(segments), location: locate(segments, 'value'), message });
  const fail = () => new ProfileError(issues);

  const root = parsed.value;
  if (!isPlainObject(root) || !isPlainObject(root.nodes)) {
    bad(['nodes'], 'expected a mapping `nodes: { <name>: { stake, producers, ... } }`');
    throw fail();
  }
  const raw = root.nodes;
  const simNames = Object.keys(raw).sort(naturalCompare);
  if (simNames.length === 0) {
    bad(['nodes'], 'no nodes');
    throw fail();
  }

  const stakeOf = new Map<string, number>();
  for (const sim of simNames) {
    const n = raw[sim];
    if (!isPlainObject(n)) {
      bad(['nodes', sim], 'expected a mapping with stake, location, producers');
      continue;
    }
    const stake = n.stake ?? 0;
    if (typeof stake !== 'number' || !Number.isSafeInteger(stake) || stake < 0) bad(['nodes', sim, 'stake'], `expected integer ≥ 0, got ${JSON.stringify(stake)}`);
    else stakeOf.set(sim, stake);
    if (!isPlainObject(n.producers)) bad(['nodes', sim, 'producers'], 'expected a mapping of producer name → { latency-ms, bandwidth-bytes-per-second }');
  }
  if (issues.length > 0) throw fail();

  const rename = new Map<string, string>();
  let pools = 0;
  let relays = 0;
  const nodes: TopologyNode[] = simNames.map((sim) => {
    const stake = stakeOf.get(sim)!;
    const role = stake > 0 ? 'pool' : 'relay';
    const name = role === 'pool' ? `pool-${++pools}` : `relay-${++relays}`;
    rename.set(sim, name);
    const location = (raw[sim] as Record<string, unknown>).location;
    const cluster = isPlainObject(location) && typeof location.cluster === 'string' ? location.cluster : undefined;
    return { name, role, stake, ...(cluster !== undefined ? { region: cluster } : {}), origin: sim };
  });
  // Pools first, then relays, each in file order, as for generated topologies.
  nodes.sort((a, b) => (a.role === b.role ? 0 : a.role === 'pool' ? -1 : 1));

  const edges: Edge[] = [];
  for (const sim of simNames) {
    const producers = (raw[sim] as Record<string, unknown>).producers as Record<string, unknown>;
    for (const producer of Object.keys(producers).sort(naturalCompare)) {
      const at: Segment[] = ['nodes', sim, 'producers', producer];
      const info = producers[producer];
      if (!rename.has(producer)) {
        bad(at, `unknown producer "${producer}" (not a node of this file)`);
        continue;
      }
      if (producer === sim) {
        bad(at, 'a node cannot be its own producer');
        continue;
      }
      if (!isPlainObject(info)) {
        bad(at, 'expected a mapping { latency-ms, bandwidth-bytes-per-second }');
        continue;
      }
      const latency = info['latency-ms'];
      const bandwidth = info['bandwidth-bytes-per-second'];
      if (typeof latency !== 'number' || !(latency >= 0)) bad([...at, 'latency-ms'], `expected number ≥ 0, got ${JSON.stringify(latency)}`);
      if (bandwidth !== undefined && bandwidth !== null && (typeof bandwidth !== 'number' || !(bandwidth > 0))) {
        bad([...at, 'bandwidth-bytes-per-second'], `expected number > 0, got ${JSON.stringify(bandwidth)}`);
      }
      const shape: LinkShape = { ...link, latencyMs: latency as number };
      if (typeof bandwidth === 'number') shape.bandwidthBps = bandwidth;
      edges.push({ from: rename.get(producer)!, to: rename.get(sim)!, directed: true, link: shape });
    }
  }
  if (issues.length > 0) throw fail();
  return { nodes, edges };
}
