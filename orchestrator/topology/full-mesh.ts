import type { LinkShape } from '../../node/config/schema.ts';
import { undirected, type Edge } from './types.ts';

/** Every pair once. */
export function fullMeshEdges(names: readonly string[], link: LinkShape): Edge[] {
  const edges: Edge[] = [];
  for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) edges.push(undirected(names[i]!, names[j]!, link));
  return edges;
}
