import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { LinkShape } from '../../node/config/schema.ts';
import { ProfileError } from '../../orchestrator/errors.ts';
import { loadProfile } from '../../orchestrator/profile/load.ts';
import { resolvePlan } from '../../orchestrator/profile/resolve.ts';
import { Rng } from '../../orchestrator/profile/rng.ts';
import { buildTopology, components, readLeiosSimTopology, TopologyError, type Edge, type Topology } from '../../orchestrator/topology/index.ts';
import { fullMeshEdges } from '../../orchestrator/topology/full-mesh.ts';
import { lineEdges } from '../../orchestrator/topology/line.ts';
import { randomRegularEdges } from '../../orchestrator/topology/random-regular.ts';
import { torusEdges } from '../../orchestrator/topology/torus.ts';
import { uniCircleEdges } from '../../orchestrator/topology/uni-circle.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const link: LinkShape = { latencyMs: 5, loss: 0, down: false };
const names = (n: number) => Array.from({ length: n }, (_, i) => `pool-${i + 1}`);

/** Undirected degree of each node, and whether the graph is simple and connected. */
function analyse(nodes: string[], edges: Edge[]) {
  const index = new Map(nodes.map((n, i) => [n, i]));
  const adj = nodes.map(() => new Set<number>());
  let simple = true;
  for (const e of edges) {
    const a = index.get(e.from)!;
    const b = index.get(e.to)!;
    if (a === b || adj[a]!.has(b)) simple = false;
    adj[a]!.add(b);
    adj[b]!.add(a);
  }
  return { degrees: adj.map((s) => s.size), simple, connected: components(adj).length === 1 };
}

describe('topology generators', () => {
  it('line: N-1 edges, ends of degree 1, connected', () => {
    const n = names(7);
    const edges = lineEdges(n, link);
    expect(edges).toHaveLength(6);
    const a = analyse(n, edges);
    expect(a.degrees).toEqual([1, 2, 2, 2, 2, 2, 1]);
    expect(a.connected).toBe(true);
    expect(edges[0]).toEqual({ from: 'pool-1', to: 'pool-2', directed: false, link });
  });

  it('uni-circle: a directed ring, each node fetching from its predecessor', () => {
    const n = names(5);
    const edges = uniCircleEdges(n, link);
    expect(edges).toHaveLength(5);
    expect(edges.every((e) => e.directed)).toBe(true);
    for (const node of n) {
      expect(edges.filter((e) => e.to === node)).toHaveLength(1);
      expect(edges.filter((e) => e.from === node)).toHaveLength(1);
    }
    expect(edges.find((e) => e.to === 'pool-1')!.from).toBe('pool-5');
  });

  it('torus: every node has 4 neighbours on a grid ≥ 3×3 with wrap-around', () => {
    const n = names(12); // 3 × 4
    const edges = torusEdges(n, link);
    expect(edges).toHaveLength(24);
    const a = analyse(n, edges);
    expect(a.degrees.every((d) => d === 4)).toBe(true);
    expect(a.simple && a.connected).toBe(true);
    // pool-1 at (0,0): right pool-2, left (wrap) pool-4, down pool-5, up (wrap) pool-9
    const peers = edges.filter((e) => e.from === 'pool-1' || e.to === 'pool-1').map((e) => (e.from === 'pool-1' ? e.to : e.from));
    expect(peers.sort()).toEqual(['pool-2', 'pool-4', 'pool-5', 'pool-9']);
    // explicit columns, and degenerate shapes collapse duplicate wrap edges
    expect(analyse(n, torusEdges(n, link, 6)).degrees.every((d) => d === 3)).toBe(true); // 2 × 6
    expect(analyse(names(4), torusEdges(names(4), link)).degrees).toEqual([2, 2, 2, 2]); // 2 × 2
    expect(() => torusEdges(n, link, 5)).toThrow(TopologyError);
  });

  it('full mesh: every pair once', () => {
    const edges = fullMeshEdges(names(6), link);
    expect(edges).toHaveLength(15);
    expect(analyse(names(6), edges).degrees.every((d) => d === 5)).toBe(true);
  });

  it('random regular: exact degree, simple, connected, for many sizes and seeds', () => {
    for (const [n, d] of [
      [10, 3],
      [11, 4],
      [30, 2], // a random 2-regular graph is usually several cycles: exercises the repair
      [100, 6],
      [200, 2],
      [51, 8],
    ] as const) {
      for (const seed of [1, 2, 3]) {
        const nodes = names(n);
        const edges = randomRegularEdges(nodes, d, new Rng(seed), link);
        const a = analyse(nodes, edges);
        expect(edges).toHaveLength((n * d) / 2);
        expect(a.degrees.every((x) => x === d), `n=${n} d=${d} seed=${seed}`).toBe(true);
        expect(a.simple).toBe(true);
        expect(a.connected).toBe(true);
      }
    }
  });

  it('random regular: deterministic from the seed, different across seeds', () => {
    const nodes = names(40);
    const e1 = randomRegularEdges(nodes, 4, new Rng(9), link);
    expect(randomRegularEdges(nodes, 4, new Rng(9), link)).toEqual(e1);
    expect(randomRegularEdges(nodes, 4, new Rng(10), link)).not.toEqual(e1);
  });

  it('random regular: impossible requests are errors naming the degree', () => {
    expect(() => randomRegularEdges(names(5), 3, new Rng(1), link)).toThrow(/must be even/);
    expect(() => randomRegularEdges(names(4), 4, new Rng(1), link)).toThrow(/needs at least 5 nodes/);
    expect(randomRegularEdges(names(4), 3, new Rng(1), link)).toEqual(fullMeshEdges(names(4), link));
  });

  it('regions: nodes placed by share, latency by region pair, symmetric matrix required', () => {
    const input = { pools: 8, relays: 4, links: { latencyMs: 0, loss: 0 }, rng: new Rng(3), baseDir: REPO };
    const spec = {
      kind: 'regions' as const,
      regions: [
        { name: 'eu', share: 2 },
        { name: 'us', share: 1 },
        { name: 'ap', share: 1 },
      ],
      latencyMs: [
        [1, 40, 120],
        [40, 1, 90],
        [120, 90, 1],
      ],
      degree: 4,
    };
    const t = buildTopology(spec, input);
    const region = new Map(t.nodes.map((n) => [n.name, n.region!]));
    const count = (r: string, role: string) => t.nodes.filter((n) => n.region === r && n.role === role).length;
    expect([count('eu', 'pool'), count('us', 'pool'), count('ap', 'pool')]).toEqual([4, 2, 2]);
    expect([count('eu', 'relay'), count('us', 'relay'), count('ap', 'relay')]).toEqual([2, 1, 1]);
    const idx = { eu: 0, us: 1, ap: 2 } as Record<string, number>;
    for (const e of t.edges) expect(e.link.latencyMs).toBe(spec.latencyMs[idx[region.get(e.from)!]!]![idx[region.get(e.to)!]!]);
    const a = analyse(t.nodes.map((n) => n.name), t.edges);
    expect(a.degrees.every((d) => d === 4) && a.connected).toBe(true);
    expect(() => buildTopology({ ...spec, latencyMs: [[1, 2, 3], [4, 1, 5], [3, 5, 1]] }, input)).toThrow(/symmetric/);
    expect(() => buildTopology({ ...spec, latencyMs: [[1, 2, 3]] }, input)).toThrow(/3×3 matrix/);
  });
});

describe('leios-sim topology import', () => {
  const cases = [
    { file: 'profiles/topologies/topology-benchmark-cluster-52.yaml', bandwidth: 125_000_000, regions: false },
    { file: 'test/fixtures/profiles/topologies/topology-dense-52.yaml', bandwidth: undefined, regions: true },
  ];
  for (const c of cases) {
    it(`imports ${c.file.split('/').pop()} as is: 52 nodes, stakes, every producer link`, () => {
      const raw = parse(readFileSync(REPO + c.file, 'utf8')) as {
        nodes: Record<string, { stake?: number; location: unknown; producers: Record<string, { 'latency-ms': number; 'bandwidth-bytes-per-second'?: number }> }>;
      };
      const t: Topology = readLeiosSimTopology(REPO + c.file, c.file, link);
      expect(t.nodes).toHaveLength(52);
      const byOrigin = new Map(t.nodes.map((n) => [n.origin!, n]));
      expect(byOrigin.get('node-0')!.name).toBe('pool-1');
      expect(byOrigin.get('node-51')!.name).toBe('pool-52');
      let links = 0;
      for (const [sim, node] of Object.entries(raw.nodes)) {
        const mine = byOrigin.get(sim)!;
        expect(mine.stake).toBe(node.stake);
        expect(mine.role).toBe('pool');
        if (c.regions) expect(mine.region).toBe((node.location as { cluster: string }).cluster);
        for (const [producer, info] of Object.entries(node.producers)) {
          const edge = t.edges.find((e) => e.from === byOrigin.get(producer)!.name && e.to === mine.name)!;
          expect(edge.directed).toBe(true);
          expect(edge.link.latencyMs).toBe(info['latency-ms']);
          expect(edge.link.bandwidthBps).toBe(c.bandwidth);
          links++;
        }
      }
      expect(t.edges).toHaveLength(links);
      expect(links).toBe(312);
    });
  }

  it('reads JSON in a .yaml file relative to the profile; zero or absent stake makes a relay', () => {
    const plan = resolvePlan(loadProfile('test/fixtures/profiles/sim-json.yaml', { cwd: REPO }));
    expect(plan.nodes.map((n) => [n.name, n.origin, n.role, n.stake, n.region])).toEqual([
      ['pool-1', 'node-2', 'pool', 100, 'us'],
      ['pool-2', 'node-10', 'pool', 50, 'eu'],
      ['relay-1', 'relay-a', 'relay', 0, 'us'],
      ['relay-2', 'relay-b', 'relay', 0, 'ap'],
    ]);
    const edge = (from: string, to: string) => plan.topology.edges.find((e) => e.from === from && e.to === to)!;
    expect(edge('pool-2', 'pool-1').link).toEqual({ latencyMs: 12.5, bandwidthBps: 1_000_000, loss: 0.02, down: false });
    expect(edge('pool-1', 'pool-2').link).toEqual({ latencyMs: 12.5, loss: 0.02, down: false });
    expect(edge('relay-2', 'relay-1').link.latencyMs).toBe(80.25);
    expect(plan.topology.edges).toHaveLength(6);
  });

  it('a bad file is a ProfileError at the file position', () => {
    try {
      resolvePlan(loadProfile('test/fixtures/profiles/sim-bad.yaml', { cwd: REPO }));
      throw new Error('no error');
    } catch (err) {
      expect(err).toBeInstanceOf(ProfileError);
      expect((err as ProfileError).exitCode).toBe(2);
      expect((err as ProfileError).message).toBe(
        'test/fixtures/profiles/topologies/bad-producer.yaml:9:15: nodes.node-1.producers.node-7: unknown producer "node-7" (not a node of this file)',
      );
    }
    expect(() => resolvePlan(loadProfile('quickstart', { cwd: REPO, sets: ['composition.topology={kind: leios-sim, file: nope.yaml}'] }))).toThrow(
      /leios-sim topology file not found: .*nope\.yaml/,
    );
  });
});
