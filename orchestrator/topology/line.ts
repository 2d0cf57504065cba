import type { LinkShape } from '../../node/config/schema.ts';
import { undirected, type Edge } from './types.ts';

/** n0 — n1 — … — n(N-1). */
export function lineEdges(names: readonly string[], link: LinkShape): Edge[] {
  return names.slice(1).map((name, i) => undirected(names[i]!, name, link));
}
