import { resolve } from 'node:path';
import type { LinkShape } from '../../node/config/schema.ts';
import type { Rng } from '../profile/rng.ts';
import type { Links, TopologySpec } from '../profile/schema.ts';
import { displayFile } from '../profile/yaml.ts';
import { fullMeshEdges } from './full-mesh.ts';
import { readLeiosSimTopology } from './leios-sim.ts';
import { lineEdges } from './line.ts';
import { randomRegularEdges } from './random-regular.ts';
import { regionsTopology } from './regions.ts';
import { torusEdges } from './torus.ts';
import { standardNodes, type Topology } from './types.ts';
import { uniCircleEdges } from './uni-circle.ts';

export * from './types.ts';
export { components } from './random-regular.ts';
export { torusShape } from './torus.ts';
export { naturalCompare, readLeiosSimTopology } from './leios-sim.ts';

export interface TopologyInput {
  pools: number;
  relays: number;
  links: Links;
  rng: Rng;
  /** Directory a leios-sim `file` is relative to (the profile file's). */
  baseDir: string;
  /** File names in messages are shown relative to this; default process.cwd(). */
  cwd?: string;
}

export function defaultLink(links: Links): LinkShape {
  return {
    latencyMs: links.latencyMs,
    ...(links.bandwidthBps !== undefined ? { bandwidthBps: links.bandwidthBps } : {}),
    loss: links.loss,
    down: false,
  };
}

/** Nodes and edges for a topology spec. Deterministic in (spec, input, rng seed). */
export function buildTopology(spec: TopologySpec, input: TopologyInput): Topology {
  const link = defaultLink(input.links);
  const rng = input.rng.fork(`topology/${spec.kind}`);
  if (spec.kind === 'leios-sim') {
    const file = resolve(input.baseDir, spec.file);
    return readLeiosSimTopology(file, displayFile(file, input.cwd ?? process.cwd()), link);
  }
  const nodes = standardNodes(input.pools, input.relays);
  const names = nodes.map((n) => n.name);
  switch (spec.kind) {
    case 'line':
      return { nodes, edges: lineEdges(names, link) };
    case 'uni-circle':
      return { nodes, edges: uniCircleEdges(names, link) };
    case 'torus':
      return { nodes, edges: torusEdges(names, link, spec.columns) };
    case 'random-regular':
      return { nodes, edges: randomRegularEdges(names, spec.degree, rng, link) };
    case 'full-mesh':
      return { nodes, edges: fullMeshEdges(names, link) };
    case 'regions':
      return regionsTopology(nodes, spec, rng, link);
  }
}
