import type { LinkShape } from '../../node/config/schema.ts';
import type { Edge } from './types.ts';

/** Directed ring: blocks flow n0 → n1 → … → n(N-1) → n0; each node fetches from its predecessor. */
export function uniCircleEdges(names: readonly string[], link: LinkShape): Edge[] {
  if (names.length < 2) return [];
  return names.map((name, i) => ({ from: name, to: names[(i + 1) % names.length]!, directed: true, link: { ...link } }));
}
