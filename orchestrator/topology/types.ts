import { Type, type Static } from '@sinclair/typebox';
import { LinkShapeSchema, type LinkShape } from '../../node/config/schema.ts';
import { UserError } from '../errors.ts';

// What every topology generator produces: the nodes (with role and, where the source says so,
// stake and region) and the edges between them, each with its link shape.

export const TopologyNodeSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    role: Type.Union([Type.Literal('pool'), Type.Literal('relay')]),
    stake: Type.Optional(Type.Integer({ minimum: 0, description: 'only where the topology source defines it (leios-sim)' })),
    region: Type.Optional(Type.String()),
    origin: Type.Optional(Type.String({ description: 'the node name in an imported topology file' })),
  },
  { additionalProperties: false },
);

export const EdgeSchema = Type.Object(
  {
    from: Type.String({ description: 'upstream: blocks and transactions flow from → to; `to` lists `from` as a peer' }),
    to: Type.String(),
    directed: Type.Boolean({ description: 'false: each end lists the other as a peer' }),
    link: LinkShapeSchema,
  },
  { additionalProperties: false },
);

export type TopologyNode = Static<typeof TopologyNodeSchema>;
export type Edge = Static<typeof EdgeSchema>;
export interface Topology {
  nodes: TopologyNode[];
  edges: Edge[];
}

/** A topology that cannot be built; `field` names the offending key of the topology spec. */
export class TopologyError extends UserError {
  readonly field: string | undefined;
  constructor(message: string, field?: string) {
    super(message);
    this.field = field;
  }
}

/** Undirected edge between a and b (a listed first). */
export function undirected(a: string, b: string, link: LinkShape): Edge {
  return { from: a, to: b, directed: false, link: { ...link } };
}

/** Nodes pool-1..N then relay-1..M. */
export function standardNodes(pools: number, relays: number): TopologyNode[] {
  return [
    ...Array.from({ length: pools }, (_, i) => ({ name: `pool-${i + 1}`, role: 'pool' as const })),
    ...Array.from({ length: relays }, (_, i) => ({ name: `relay-${i + 1}`, role: 'relay' as const })),
  ];
}
