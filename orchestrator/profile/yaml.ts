import { readFileSync } from 'node:fs';
import { isAbsolute, relative } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { ProfileError, type SourceLocation } from '../errors.ts';
import type { Locate, Segment } from './validate.ts';

// YAML (or JSON, which YAML reads too) with the source position of every key and value kept,
// so errors can point at file:line:column.

export interface Positions {
  key?: SourceLocation;
  value: SourceLocation;
}

/** Field path → where its key and value were written. */
export type SourceMap = Map<string, Positions>;

/** A file as shown in messages: relative to cwd when inside it, else absolute. */
export function displayFile(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

export function pathKey(segments: readonly Segment[]): string {
  return segments.map(String).join('\u0000');
}

/** Longest known prefix of the path: an error deep in a value defaults to where that value was written. */
export function locator(map: SourceMap, fallback?: SourceLocation): Locate {
  return (segments, at) => {
    for (let n = segments.length; n >= 0; n--) {
      const p = map.get(pathKey(segments.slice(0, n)));
      if (p) return (n === segments.length && at === 'key' && p.key) || p.value;
    }
    return fallback;
  };
}

export interface ParsedYaml {
  file: string;
  value: unknown;
  positions: SourceMap;
}

/** Read and parse a YAML/JSON file; missing file and syntax errors become ProfileErrors. */
export function readYaml(file: string, display = file, what = 'file'): ParsedYaml {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ProfileError({ path: '', message: code === 'ENOENT' ? `${what} not found: ${display}` : `cannot read ${what} ${display}: ${(err as Error).message}` });
  }
  return parseYaml(text, display);
}

export function parseYaml(text: string, display: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: display, line, col };
  };
  if (doc.errors.length > 0) {
    throw new ProfileError(
      doc.errors.map((e) => ({
        path: '',
        location: at(e.pos[0]),
        message: `YAML syntax error: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  const positions: SourceMap = new Map();
  positions.set('', { value: at(doc.contents?.range?.[0] ?? 0) });
  const walk = (node: YamlNode | null | undefined, segments: Segment[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        const k = isScalar(keyNode) ? String(keyNode.value) : String(keyNode);
        const seg = [...segments, k];
        const keyAt = keyNode?.range ? at(keyNode.range[0]) : undefined;
        const valueNode = pair.value as YamlNode | null;
        const valueAt = valueNode?.range && !(isScalar(valueNode) && valueNode.value === null) ? at(valueNode.range[0]) : keyAt;
        if (valueAt) positions.set(pathKey(seg), { key: keyAt, value: valueAt });
        walk(valueNode, seg);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const n = item as YamlNode | null;
        if (n?.range) positions.set(pathKey([...segments, i]), { value: at(n.range[0]) });
        walk(n, [...segments, i]);
      });
    }
  };
  walk(doc.contents as YamlNode | null, []);
  return { file: display, value: doc.toJS({ maxAliasCount: 1000 }), positions };
}
