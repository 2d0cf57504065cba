import { Type, type Static } from '@sinclair/typebox';

// Node releases a profile can name, and what each can do. `node.release` picks the default,
// `node.releases` overrides it per node; an upgrade step swaps a node to another release.

export const ReleaseInfoSchema = Type.Object(
  {
    version: Type.String({ description: 'node release version written to the node config' }),
    maxProtocolVersion: Type.Integer({ minimum: 1, description: 'highest protocol version this release can follow' }),
    networkVersions: Type.Array(Type.Integer({ minimum: 1 }), { description: 'node-to-node protocol versions it speaks' }),
    description: Type.String(),
  },
  { additionalProperties: false },
);
export type ReleaseInfo = Static<typeof ReleaseInfoSchema>;

export const RELEASES = {
  'praos-1.0': {
    version: '1.0.0',
    maxProtocolVersion: 1,
    networkVersions: [1],
    description: 'Praos-only node: stops following once the chain reaches protocol version 2',
  },
  'leios-2.0': {
    version: '2.0.0',
    maxProtocolVersion: 2,
    networkVersions: [1, 2],
    description: 'Leios-enabled node (CIP-164): Praos until the hard fork, Leios after',
  },
} as const satisfies Record<string, ReleaseInfo>;

export type ReleaseName = keyof typeof RELEASES;
export const RELEASE_NAMES = Object.keys(RELEASES) as ReleaseName[];
export const DEFAULT_RELEASE: ReleaseName = 'leios-2.0';

export const ReleaseNameSchema = Type.Union(
  RELEASE_NAMES.map((n) => Type.Literal(n)),
  { description: `node release: ${RELEASE_NAMES.join(' | ')}` },
);

export function isReleaseName(name: string): name is ReleaseName {
  return Object.hasOwn(RELEASES, name);
}

export function releaseInfo(name: ReleaseName): ReleaseInfo {
  const r = RELEASES[name];
  return { ...r, networkVersions: [...r.networkVersions] };
}
