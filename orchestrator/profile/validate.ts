import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import type { ProfileIssue, SourceLocation } from '../errors.ts';

// Schema-driven helpers shared by the loader: defaults, validation with ajv, and turning ajv's
// errors into one precise line per problem (field path, what was expected, what was found,
// the closest known name for a typo). Unions are resolved by their discriminator (`kind`, or
// the single key of a step) so the user sees the errors of the branch they meant.

type Json = Record<string, unknown>;
type Schema = Json & { type?: string; anyOf?: Schema[]; properties?: Record<string, Schema>; required?: string[] };

const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

let ajvInstance: Ajv | undefined;
const compiled = new WeakMap<object, ValidateFunction>();

/** Integers must be exact: beyond ±(2^53 − 1) a JavaScript number is not one integer. */
export const MAX_EXACT_INTEGER = Number.MAX_SAFE_INTEGER;
/**
 * Seconds a profile may ask any timer for (a wait, a fault's forS, a duration, a slot): Node.js
 * timers overflow past 2^31 − 1 ms (~24.8 days) and would fire at once.
 */
export const MAX_SECONDS = 2_000_000;
/** Transactions per second a generator may be asked for (a node takes far fewer). */
export const MAX_TPS = 100_000;
/** Smallest link bandwidth: below it one EB would take longer than a timer can wait. */
export const MIN_BANDWIDTH_BPS = 1000;

/**
 * Bounds by field-name convention (STYLE: units in names): `…S` seconds and `…Ms` milliseconds
 * (not `…PerS`, a rate) at most MAX_SECONDS; `…Bps` at least MIN_BANDWIDTH_BPS; rates capped.
 */
function nameBounds(key: string): { min?: number; max?: number; why: string } | undefined {
  const timers = `timers wait at most ${MAX_SECONDS} s`;
  if (key === 'seconds' || (/[a-z]S$/.test(key) && !/PerS$/.test(key))) return { max: MAX_SECONDS, why: timers };
  if (/[a-z]Ms$/.test(key)) return { min: -MAX_SECONDS * 1000, max: MAX_SECONDS * 1000, why: timers };
  if (/[a-z]Bps$/.test(key)) return { min: MIN_BANDWIDTH_BPS, why: 'slower links cannot carry one block within a timer' };
  if (key === 'tps') return { max: MAX_TPS, why: 'the generator offers at most that' };
  if (key === 'txkbPerS') return { max: MAX_TPS * 100, why: 'the generator offers at most that' };
  return undefined;
}

/** Bounds hardenSchema added (not the schema's own): keyword → why. */
const HARDENED = 'x-leiosnet-hardened';

/**
 * The schema as checked: every integer bounded to the exact range, number fields by their name
 * (nameBounds). Non-finite numbers (.inf, .nan) are refused by ajv's strictNumbers. Bounds are
 * only ever tightened.
 */
export function hardenSchema(schema: unknown, key?: string): unknown {
  if (Array.isArray(schema)) return schema.map((s) => hardenSchema(s, key));
  if (!isPlainObject(schema)) return schema;
  const out: Json = {};
  // TypeBox's symbol keys ([Kind]) stay: branchFor checks values against the schema ajv reports
  for (const sym of Object.getOwnPropertySymbols(schema)) (out as Record<symbol, unknown>)[sym] = (schema as Record<symbol, unknown>)[sym];
  for (const [k, v] of Object.entries(schema)) {
    out[k] =
      k === 'properties' && isPlainObject(v)
        ? Object.fromEntries(Object.entries(v).map(([name, p]) => [name, hardenSchema(p, name)]))
        : k === 'default' || k === 'const' || k === 'enum'
          ? v
          : k === 'anyOf' || k === 'oneOf' || k === 'allOf'
            ? hardenSchema(v, key)
            : hardenSchema(v);
  }
  const hardened: Record<string, string> = {};
  const setMax = (max: number, why: string) => {
    if (typeof out.exclusiveMaximum === 'number' && out.exclusiveMaximum <= max) return;
    if (typeof out.maximum !== 'number' || out.maximum > max) [out.maximum, hardened.maximum] = [max, why];
  };
  const setMin = (min: number, why: string) => {
    if (typeof out.minimum === 'number' ? out.minimum < min : typeof out.exclusiveMinimum !== 'number' || out.exclusiveMinimum < min) [out.minimum, hardened.minimum] = [min, why];
  };
  if (out.type === 'integer') {
    setMax(MAX_EXACT_INTEGER, 'integers are exact up to 2^53 − 1');
    setMin(-MAX_EXACT_INTEGER, 'integers are exact down to −(2^53 − 1)');
  }
  if ((out.type === 'number' || out.type === 'integer') && key !== undefined) {
    const b = nameBounds(key);
    if (b?.max !== undefined) setMax(b.max, b.why);
    if (b?.min !== undefined) setMin(b.min, b.why);
  }
  if (Object.keys(hardened).length > 0) out[HARDENED] = hardened;
  return out;
}

export function validator(schema: TSchema): ValidateFunction {
  let v = compiled.get(schema);
  if (!v) {
    ajvInstance ??= addFormats(new Ajv({ allErrors: true, verbose: true, strict: false, strictNumbers: true }));
    v = ajvInstance.compile(hardenSchema(schema) as object);
    compiled.set(schema, v);
  }
  return v;
}

export function isPlainObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ------------------------------------------------------------------------------------ field paths

export type Segment = string | number;

/** `generator.tps`, `scenario.steps[2].fault.node` */
export function displayPath(segments: readonly Segment[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out;
}

/** Parse `a.b[2].c` or `a.b.2.c` into segments. */
export function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  for (const part of path.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) return [...out, part];
    if (m[1] !== '') out.push(/^\d+$/.test(m[1]!) ? Number(m[1]) : m[1]!);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) out.push(Number(idx[1]));
  }
  return out;
}

// ------------------------------------------------------------------------------------ suggestions

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return d[b.length]!;
}

/** The known name closest to `word`, if it is close enough to be a typo. */
export function closest(word: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const k of known) {
    const d = editDistance(word.toLowerCase(), k.toLowerCase());
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

export function unknownName(what: string, word: string, known: readonly string[]): string {
  const near = closest(word, known);
  return near !== undefined
    ? `unknown ${what} "${word}"; did you mean "${near}"?`
    : `unknown ${what} "${word}"; known: ${known.join(', ')}`;
}

// ------------------------------------------------------------------------------------------ unions

function constValues(s: Schema | undefined): unknown[] | undefined {
  if (!s) return undefined;
  if ('const' in s) return [s.const];
  if (s.anyOf?.every((b) => 'const' in b)) return s.anyOf.map((b) => b.const);
  return undefined;
}

/** The key that tells union branches apart: `kind` (a const) or a branch's single required key. */
function discriminator(branch: Schema): { kind: unknown[] } | { key: string } | undefined {
  if (branch.type !== 'object' || !branch.properties) return undefined;
  const kinds = constValues(branch.properties.kind);
  if (kinds) return { kind: kinds };
  const keys = Object.keys(branch.properties);
  if (keys.length === 1 && branch.required?.length === 1) return { key: keys[0]! };
  return undefined;
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

/** Index of the branch the value means to be, or -1. */
export function branchFor(union: Schema, value: unknown): number {
  const branches = union.anyOf ?? [];
  if (isPlainObject(value)) {
    let discriminated = false;
    for (let i = 0; i < branches.length; i++) {
      const d = discriminator(branches[i]!);
      if (!d) continue;
      discriminated = true;
      if ('kind' in d ? d.kind.includes(value.kind) : Object.hasOwn(value, d.key)) return i;
    }
    if (discriminated) return -1;
  }
  for (let i = 0; i < branches.length; i++) if (Value.Check(branches[i] as TSchema, value)) return i;
  const t = jsonType(value);
  const byType = branches.flatMap((b, i) =>
    constValues(b) === undefined && (b.type === t || (b.type === 'number' && t === 'integer')) ? [i] : [],
  );
  return byType.length === 1 ? byType[0]! : -1;
}

// ---------------------------------------------------------------------------------------- defaults

function clone<T>(v: T): T {
  return v === undefined ? v : structuredClone(v);
}

/** Fill in `default`s, recursing into the union branch the value means (unlike ajv's useDefaults). */
export function applyDefaults(schema: TSchema, value: unknown): unknown {
  const s = schema as unknown as Schema;
  let v = value === undefined ? clone(s.default) : value;
  if (v === undefined) return v;
  if (s.anyOf) {
    const i = branchFor(s, v);
    return i >= 0 ? applyDefaults(s.anyOf[i] as unknown as TSchema, v) : v;
  }
  if (s.type === 'object' && isPlainObject(v)) {
    v = { ...v };
    const o = v as Json;
    for (const [k, p] of Object.entries(s.properties ?? {})) {
      const filled = applyDefaults(p as unknown as TSchema, o[k]);
      if (filled !== undefined) o[k] = filled;
    }
    const pattern = Object.values((s.patternProperties ?? {}) as Record<string, Schema>)[0];
    if (pattern) for (const k of Object.keys(o)) o[k] = applyDefaults(pattern as unknown as TSchema, o[k]);
    return o;
  }
  if (s.type === 'array' && Array.isArray(v) && s.items && !Array.isArray(s.items)) {
    return v.map((item) => applyDefaults(s.items as TSchema, item));
  }
  return v;
}

// ------------------------------------------------------------------------------------------ errors

function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? '.nan (not a number)' : v > 0 ? '.inf (infinity)' : '-.inf (minus infinity)';
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function bounds(s: Schema): string {
  const parts: string[] = [];
  // bounds hardenSchema added are told only when violated (see validate)
  const hardened = (s[HARDENED] ?? {}) as Record<string, string>;
  if (hardened.minimum !== undefined) s = { ...s, minimum: undefined };
  if (hardened.maximum !== undefined) s = { ...s, maximum: undefined };
  if (typeof s.minimum === 'number') parts.push(`≥ ${s.minimum}`);
  if (typeof s.exclusiveMinimum === 'number') parts.push(`> ${s.exclusiveMinimum}`);
  if (typeof s.maximum === 'number') parts.push(`≤ ${s.maximum}`);
  if (typeof s.exclusiveMaximum === 'number') parts.push(`< ${s.exclusiveMaximum}`);
  return parts.join(' and ');
}

/** What a schema accepts, in words: `integer ≥ 1`, `one of "line", "torus"`, `list of …`. */
export function describe(s: Schema): string {
  if ('const' in s) return JSON.stringify(s.const);
  const consts = constValues(s);
  if (consts) return `one of ${consts.map((c) => JSON.stringify(c)).join(', ')}`;
  if (s.anyOf) {
    const keys = s.anyOf.map(discriminator);
    if (keys.every((k) => k && 'key' in k)) return `a mapping with one key of ${keys.map((k) => (k as { key: string }).key).join(', ')}`;
    if (keys.every((k) => k && 'kind' in k)) return `a mapping with kind ${keys.flatMap((k) => (k as { kind: unknown[] }).kind).map((c) => JSON.stringify(c)).join(' | ')}`;
    return s.anyOf.map(describe).join(' or ');
  }
  switch (s.type) {
    case 'integer':
    case 'number':
      return [s.type, bounds(s)].filter(Boolean).join(' ');
    case 'string': {
      let d = s.minLength === 1 ? 'non-empty string' : 'string';
      if (typeof s.format === 'string') d = `${s.format} string`;
      if (typeof s.maxLength === 'number') d += ` of at most ${s.maxLength} characters`;
      if (typeof s.pattern === 'string') d += ` matching /${s.pattern}/`;
      return d;
    }
    case 'boolean':
      return 'true or false';
    case 'array': {
      const n = typeof s.minItems === 'number' && s.minItems > 0 ? `at least ${s.minItems} ` : '';
      const item = s.items && !Array.isArray(s.items) ? (s.items as Schema) : undefined;
      const what = !item ? 'items' : item.type === 'object' || item.anyOf ? 'mappings' : item.type === 'array' ? 'lists' : describe(item);
      return `list of ${n}${what}`;
    }
    case 'object':
      return 'a mapping';
    default:
      return 'any value';
  }
}

function pointerToSegments(pointer: string): Segment[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

export type Locate = (segments: readonly Segment[], at: 'key' | 'value') => SourceLocation | undefined;

function issue(segments: Segment[], message: string, locate: Locate, at: 'key' | 'value' = 'value'): ProfileIssue {
  return { path: displayPath(segments), location: locate(segments, at), message };
}

/**
 * Non-finite numbers anywhere, free-form fields included (adversary params reach the node as
 * JSON, where .inf and .nan would silently become null).
 */
export function nonFinite(value: unknown, locate: Locate): ProfileIssue[] {
  const out: ProfileIssue[] = [];
  const walk = (v: unknown, segs: Segment[]): void => {
    if (typeof v === 'number' && !Number.isFinite(v)) out.push(issue(segs, `expected a finite number, got ${show(v)}`, locate));
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...segs, i]));
    else if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) walk(x, [...segs, k]);
  };
  walk(value, []);
  return out;
}

/** Validate with ajv and translate every error into a ProfileIssue (deduplicated, in order). */
export function validate(schema: TSchema, value: unknown, locate: Locate): ProfileIssue[] {
  const v = validator(schema);
  if (v(value)) return nonFinite(value, locate);
  let errors: ErrorObject[] = [...(v.errors ?? [])];
  const issues: ProfileIssue[] = [];
  const unionIssue = new Map<ErrorObject, ProfileIssue>();

  // Resolve unions outermost first: keep only the errors of the branch the value means.
  const unions = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const u of unions) {
    if (!errors.includes(u)) continue;
    const union = u.parentSchema as Schema;
    const i = branchFor(union, u.data);
    const prefix = `${u.schemaPath}/`;
    const keep = `${prefix}${i}/`;
    const inside = (e: ErrorObject) =>
      e.schemaPath.startsWith(prefix) && (e.instancePath === u.instancePath || e.instancePath.startsWith(`${u.instancePath}/`));
    errors = errors.filter((e) => !inside(e) || (i >= 0 && e.schemaPath.startsWith(keep)));
    if (i >= 0) {
      errors = errors.filter((e) => e !== u);
      continue;
    }
    const segs = pointerToSegments(u.instancePath);
    const branches = union.anyOf ?? [];
    const kinds = branches.map(discriminator);
    const data = u.data;
    if (isPlainObject(data) && kinds.some((k) => k && 'kind' in k)) {
      const known = kinds.flatMap((k) => (k && 'kind' in k ? k.kind.map(String) : []));
      unionIssue.set(
        u,
        data.kind === undefined
          ? issue([...segs, 'kind'], `missing required field "kind" (one of ${known.join(', ')})`, locate)
          : issue([...segs, 'kind'], typeof data.kind === 'string' ? unknownName('kind', data.kind, known) : `expected one of ${known.join(', ')}, got ${show(data.kind)}`, locate),
      );
    } else if (isPlainObject(data) && kinds.every((k) => k && 'key' in k)) {
      const known = kinds.map((k) => (k as { key: string }).key);
      const keys = Object.keys(data);
      const message =
        keys.length === 1 ? unknownName('step', keys[0]!, known) : `expected ${describe(union)}, got ${keys.length === 0 ? 'an empty mapping' : `keys ${keys.join(', ')}`}`;
      unionIssue.set(u, issue(segs, message, locate, keys.length === 1 ? 'key' : 'value'));
    } else {
      unionIssue.set(u, issue(segs, `expected ${describe(union)}, got ${show(data)}`, locate));
    }
  }

  for (const e of errors) {
    const segs = pointerToSegments(e.instancePath);
    const parent = e.parentSchema as Schema;
    const got = show(e.data);
    switch (e.keyword) {
      case 'anyOf':
        issues.push(unionIssue.get(e)!);
        break;
      case 'additionalProperties': {
        const key = String((e.params as { additionalProperty: string }).additionalProperty);
        const known = Object.keys(parent.properties ?? {});
        issues.push(issue([...segs, key], unknownName('field', key, known), locate, 'key'));
        break;
      }
      case 'required': {
        const key = String((e.params as { missingProperty: string }).missingProperty);
        const p = parent.properties?.[key];
        issues.push(issue(segs, `missing required field "${key}"${p ? ` (${describe(p)})` : ''}`, locate));
        break;
      }
      case 'minItems':
      case 'maxItems':
        issues.push(issue(segs, `expected ${describe(parent)}, got ${Array.isArray(e.data) ? `${e.data.length} item(s)` : got}`, locate));
        break;
      case 'minimum':
      case 'maximum': {
        const why = ((parent[HARDENED] ?? {}) as Record<string, string>)[e.keyword];
        const limit = (e.params as { limit: number }).limit;
        issues.push(
          issue(segs, why !== undefined ? `expected ${e.keyword === 'maximum' ? 'at most' : 'at least'} ${limit} (${why}), got ${got}` : `expected ${describe(parent)}, got ${got}`, locate),
        );
        break;
      }
      default:
        issues.push(issue(segs, `expected ${describe(parent)}, got ${got}`, locate));
    }
  }
  const reported = new Set(issues.map((i) => i.path));
  issues.push(...nonFinite(value, locate).filter((i) => !reported.has(i.path)));
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
