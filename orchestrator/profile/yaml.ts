import { readFileSync, statSync } from 'node:fs';
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
  /** The document holds no value at all (empty, or only comments and blank lines). */
  empty: boolean;
}

/**
 * Resource limits of every YAML/JSON file leiosnet reads (profiles, topology files). A file past
 * one is bad input (exit 2) naming the file and the limit, never a library stack trace.
 */
export const YAML_LIMITS = {
  /** bytes of the file */
  maxBytes: 4 * 1024 * 1024,
  /** nesting of mappings and lists */
  maxDepth: 64,
  /** alias resolutions, weighted by the size of what they expand (yaml's maxAliasCount) */
  maxAliasCount: 1000,
  /** values (scalars, mappings, lists) after aliases are expanded */
  maxNodes: 500_000,
} as const;

/** Read and parse a YAML/JSON file; missing file and syntax errors become ProfileErrors. */
export function readYaml(file: string, display = file, what = 'file'): ParsedYaml {
  let text: string;
  try {
    const st = statSync(file);
    // only regular files: a directory, a FIFO or /dev/zero would fail late, block, or never end
    if (st.isDirectory()) throw new ProfileError({ path: '', message: `${what} ${display} is a directory` });
    if (!st.isFile()) throw new ProfileError({ path: '', message: `${what} ${display} is not a regular file` });
    if (st.size > YAML_LIMITS.maxBytes) {
      throw new ProfileError({ path: '', location: { file: display, line: 1, col: 1 }, message: `${what} is too large: ${st.size} bytes (limit ${YAML_LIMITS.maxBytes})` });
    }
    text = readFileSync(file, 'utf8');
    // it may have grown between the two calls
    if (Buffer.byteLength(text) > YAML_LIMITS.maxBytes) {
      throw new ProfileError({ path: '', location: { file: display, line: 1, col: 1 }, message: `${what} is too large (limit ${YAML_LIMITS.maxBytes} bytes)` });
    }
  } catch (err) {
    if (err instanceof ProfileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ProfileError({ path: '', message: code === 'ENOENT' ? `${what} not found: ${display}` : `cannot read ${what} ${display}: ${(err as Error).message}` });
  }
  return parseYaml(text, display);
}

function syntaxMessage(message: string): string {
  const first = message.split('\n')[0]!;
  return /call stack/i.test(first)
    ? `YAML nested too deeply (limit ${YAML_LIMITS.maxDepth} levels)`
    : `YAML syntax error: ${first.replace(/ at line \d+, column \d+:?$/, '')}`;
}

export function parseYaml(text: string, display: string): ParsedYaml {
  const start: SourceLocation = { file: display, line: 1, col: 1 };
  const limit = (message: string, location: SourceLocation = start) => new ProfileError({ path: '', location, message });
  if (Buffer.byteLength(text, 'utf8') > YAML_LIMITS.maxBytes) throw limit(`file is too large: ${Buffer.byteLength(text, 'utf8')} bytes (limit ${YAML_LIMITS.maxBytes})`);
  const lineCounter = new LineCounter();
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    // the parser itself gave up (recursion, memory): still bad input
    throw limit(syntaxMessage((err as Error).message ?? String(err)));
  }
  const at = (offset: number): SourceLocation => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: display, line, col };
  };
  if (doc.errors.length > 0) {
    const seen = new Set<string>();
    throw new ProfileError(
      doc.errors
        .map((e) => ({ path: '', location: at(e.pos[0]), message: syntaxMessage(e.message) }))
        .filter((i) => (seen.has(i.message) ? false : (seen.add(i.message), true)))
        .slice(0, 5),
    );
  }
  const positions: SourceMap = new Map();
  positions.set('', { value: at(doc.contents?.range?.[0] ?? 0) });
  const walk = (node: YamlNode | null | undefined, segments: Segment[]): void => {
    if ((isMap(node) || isSeq(node)) && segments.length >= YAML_LIMITS.maxDepth) {
      throw limit(`YAML nested too deeply (limit ${YAML_LIMITS.maxDepth} levels)`, node.range ? at(node.range[0]) : start);
    }
    if (isMap(node)) {
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        if (keyNode !== null && !isScalar(keyNode)) {
          throw limit('a mapping key must be a name, not a mapping or list', keyNode.range ? at(keyNode.range[0]) : start);
        }
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
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
  } catch (err) {
    const m = (err as Error).message ?? String(err);
    if (/alias count/i.test(m)) throw limit(`YAML aliases expand too much (limit ${YAML_LIMITS.maxAliasCount} alias nodes): a resource exhaustion attack or a mistake`);
    if (/call stack/i.test(m)) throw limit(`YAML nested too deeply (limit ${YAML_LIMITS.maxDepth} levels)`);
    throw limit(`YAML cannot be read: ${m.split('\n')[0]}`);
  }
  checkExpanded(value, limit);
  const empty = doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null && doc.contents.source === '');
  return { file: display, value, positions, empty };
}

/**
 * Depth and size of the value after aliases were expanded (an alias can nest what it points to,
 * or itself: `a: &a [*a]` is a cycle). Throws what `limit` makes of the problem.
 */
export function checkExpanded(value: unknown, limit: (message: string) => Error): void {
  let nodes = 0;
  const ancestors = new Set<object>();
  const visit = (v: unknown, depth: number): void => {
    if (++nodes > YAML_LIMITS.maxNodes) throw limit(`YAML expands to more than ${YAML_LIMITS.maxNodes} values`);
    if (typeof v !== 'object' || v === null) return;
    if (ancestors.has(v)) throw limit('a YAML alias refers to a node that contains it (a cycle)');
    if (depth >= YAML_LIMITS.maxDepth) throw limit(`YAML nested too deeply (limit ${YAML_LIMITS.maxDepth} levels, aliases expanded)`);
    ancestors.add(v);
    for (const child of Array.isArray(v) ? v : Object.values(v)) visit(child, depth + 1);
    ancestors.delete(v);
  };
  visit(value, 0);
}
