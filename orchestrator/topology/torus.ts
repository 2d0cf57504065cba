import type { LinkShape } from '../../node/config/schema.ts';
import { TopologyError, undirected, type Edge } from './types.ts';

/** rows × columns for N nodes: the given column count, or the most square factorisation. */
export function torusShape(n: number, columns?: number): { rows: number; columns: number } {
  if (columns !== undefined) {
    if (n % columns !== 0) throw new TopologyError(`columns ${columns} does not divide the node count ${n}`, 'columns');
    return { rows: n / columns, columns };
  }
  let rows = Math.floor(Math.sqrt(n));
  while (n % rows !== 0) rows--;
  return { rows, columns: n / rows };
}

/** 2D grid with wrap-around: node (r, c) links to (r, c+1) and (r+1, c), indices modulo the shape. */
export function torusEdges(names: readonly string[], link: LinkShape, columns?: number): Edge[] {
  const shape = torusShape(names.length, columns);
  const at = (r: number, c: number) => ((r + shape.rows) % shape.rows) * shape.columns + ((c + shape.columns) % shape.columns);
  const seen = new Set<string>();
  const edges: Edge[] = [];
  const add = (a: number, b: number) => {
    if (a === b) return;
    const key = a < b ? `${a},${b}` : `${b},${a}`;
    if (seen.has(key)) return;
    seen.add(key);
    edges.push(undirected(names[Math.min(a, b)]!, names[Math.max(a, b)]!, link));
  };
  for (let r = 0; r < shape.rows; r++) {
    for (let c = 0; c < shape.columns; c++) {
      add(at(r, c), at(r, c + 1));
      add(at(r, c), at(r + 1, c));
    }
  }
  return edges;
}
