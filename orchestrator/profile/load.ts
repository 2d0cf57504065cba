import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYamlValue } from 'yaml';
import type { TSchema } from '@sinclair/typebox';
import { ProfileError, type ProfileIssue, type SourceLocation } from '../errors.ts';
import { ProfileSchema, type Profile } from './schema.ts';
import { applyDefaults, closest, displayPath, isPlainObject, MAX_EXACT_INTEGER, MAX_SECONDS, MAX_TPS, parsePath, unknownName, validate, type Locate, type Segment } from './validate.ts';
import { checkExpanded, displayFile, locator, pathKey, readYaml, type SourceMap } from './yaml.ts';

// profile name/path → YAML → extends (deep merge) → --set overrides → defaults → validation.
// Every problem is a ProfileError (exit code 2) naming file:line:col, field path and expectation.

/** The library shipped with leiosnet. */
export const PROFILES_DIR = fileURLToPath(new URL('../../profiles/', import.meta.url));

export interface LoadOptions {
  /** `--set a.b.c=value` overrides, applied in order after `extends`. */
  sets?: string[];
  /** Where names are looked up; default the repo's profiles/. */
  profilesDir?: string;
  /** Base for relative profile paths; default process.cwd(). */
  cwd?: string;
}

export interface ProfileSource {
  /** Directory file names in messages are shown relative to. */
  cwd: string;
  /** Absolute path of the profile file; absent for profiles built from objects. */
  file?: string;
  /** The files merged, this profile's first, then what it extends, and so on. */
  chain: string[];
  sets: string[];
  /** Where each field was written (file position or --set). */
  locations: SourceMap;
}

export interface LoadedProfile {
  profile: Profile;
  source: ProfileSource;
}

const PROFILE_EXT = /\.(ya?ml|json)$/;
/** Profiles an `extends` chain may hold. */
export const MAX_EXTENDS_DEPTH = 32;

/** Profile names in a directory (files *.yaml, *.yml, *.json except *.schema.json). */
export function knownProfiles(profilesDir = PROFILES_DIR): string[] {
  let entries: string[] = [];
  try {
    entries = readdirSync(profilesDir);
  } catch {
    return [];
  }
  return entries
    .filter((f) => PROFILE_EXT.test(f) && !f.endsWith('.schema.json') && statSync(resolve(profilesDir, f)).isFile())
    .map((f) => f.replace(PROFILE_EXT, ''))
    .sort();
}

function looksLikePath(ref: string): boolean {
  return ref.includes('/') || ref.includes('\\') || PROFILE_EXT.test(ref);
}

/** Absolute path of a profile given by name (in profilesDir) or by path (relative to baseDir). */
export function findProfile(ref: string, opts: { profilesDir?: string; baseDir?: string; at?: SourceLocation } = {}): string {
  const dir = opts.profilesDir ?? PROFILES_DIR;
  const base = opts.baseDir ?? process.cwd();
  if (!looksLikePath(ref)) {
    for (const ext of ['.yaml', '.yml', '.json']) {
      const f = resolve(dir, ref + ext);
      if (existsSync(f)) return f;
    }
    const asPath = resolve(base, ref);
    if (existsSync(asPath) && statSync(asPath).isFile()) return asPath;
    const known = knownProfiles(dir);
    const near = closest(ref, known);
    throw new ProfileError({
      path: opts.at ? 'extends' : '',
      location: opts.at,
      message: `unknown profile "${ref}"${near !== undefined ? `; did you mean "${near}"?` : '.'} Known profiles: ${known.join(', ') || '(none)'}`,
    });
  }
  const file = resolve(base, ref);
  if (!existsSync(file)) {
    throw new ProfileError({ path: opts.at ? 'extends' : '', location: opts.at, message: `profile file not found: ${ref}` });
  }
  return file;
}

interface Layer {
  value: Record<string, unknown>;
  locations: SourceMap;
  chain: string[];
}

function dropUnder(map: SourceMap, segments: readonly Segment[]): void {
  const k = pathKey(segments);
  for (const key of [...map.keys()]) if (key === k || key.startsWith(`${k}\u0000`)) map.delete(key);
}

/**
 * Deep merge `over` onto `base` (in place): mappings merge, lists and scalars replace, `null`
 * removes the key. A mapping whose `kind` changes is replaced whole, so fields of the old kind
 * do not leak into the new one.
 */
function mergeInto(base: Record<string, unknown>, over: Record<string, unknown>, locations: SourceMap, segments: Segment[]): void {
  for (const [k, v] of Object.entries(over)) {
    const seg = [...segments, k];
    const old = base[k];
    if (v === null) {
      delete base[k];
      dropUnder(locations, seg);
    } else if (isPlainObject(v)) {
      if (!isPlainObject(old) || (v.kind !== undefined && v.kind !== old.kind)) {
        base[k] = {};
        dropUnder(locations, seg);
      }
      mergeInto(base[k] as Record<string, unknown>, v, locations, seg);
    } else {
      base[k] = structuredClone(v);
      dropUnder(locations, seg);
    }
  }
}

function readLayer(file: string, opts: LoadOptions, stack: string[]): Layer {
  const cwd = opts.cwd ?? process.cwd();
  const display = displayFile(file, cwd);
  const parsed = readYaml(file, display, 'profile file');
  const locate = locator(parsed.positions, { file: display, line: 1, col: 1 });
  if (parsed.empty || parsed.value === null || parsed.value === undefined) {
    // an empty file would silently run the defaults: almost certainly the wrong file
    throw new ProfileError({
      path: '',
      location: { file: display, line: 1, col: 1 },
      message: `${parsed.empty ? 'the profile file is empty (nothing but comments or blank lines)' : 'the profile file holds only null'}; write at least one field, e.g. \`extends: quickstart\``,
    });
  }
  const raw = parsed.value;
  if (!isPlainObject(raw)) {
    throw new ProfileError({ path: '', location: locate([], 'value'), message: `expected a mapping of profile sections, got ${Array.isArray(raw) ? 'a list' : JSON.stringify(raw)}` });
  }
  const own = { ...raw };
  if (own.name === undefined || own.name === null) own.name = basename(file, extname(file));
  const ext = own.extends;
  delete own.extends;

  let base: Layer = { value: {}, locations: new Map(), chain: [] };
  if (ext !== undefined && ext !== null) {
    const at = locate(['extends'], 'value');
    if (typeof ext !== 'string' || ext === '') {
      throw new ProfileError({ path: 'extends', location: at, message: `expected a profile name or path, got ${JSON.stringify(ext)}` });
    }
    const parentFile = findProfile(ext, { profilesDir: opts.profilesDir, baseDir: dirname(file), at });
    const path = [...stack, file];
    if (path.length >= MAX_EXTENDS_DEPTH) {
      throw new ProfileError({ path: 'extends', location: at, message: `extends chain longer than ${MAX_EXTENDS_DEPTH} profiles` });
    }
    if (path.includes(parentFile)) {
      const cycle = [...path.slice(path.indexOf(parentFile)), parentFile];
      throw new ProfileError({ path: 'extends', location: at, message: `extends cycle: ${cycle.map((f) => displayFile(f, cwd)).join(' → ')}` });
    }
    base = readLayer(parentFile, opts, path);
    // The name never inherits: each profile is itself.
    delete base.value.name;
    dropUnder(base.locations, ['name']);
  }
  mergeInto(base.value, own, base.locations, []);
  for (const [k, v] of parsed.positions) if (k !== pathKey(['extends'])) base.locations.set(k, v);
  return { value: base.value, locations: base.locations, chain: [file, ...base.chain] };
}

// --------------------------------------------------------------------------------------- --set

interface SchemaNode {
  type?: string;
  anyOf?: SchemaNode[];
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

/** Check a --set path against the schema; returns an error message or undefined. */
function checkPath(schema: SchemaNode, segments: readonly Segment[], value: unknown, done: Segment[] = []): string | undefined {
  if (segments.length === 0) return undefined;
  const [head, ...rest] = segments as [Segment, ...Segment[]];
  if (schema.anyOf) {
    const cur = isPlainObject(value) ? value : undefined;
    const options = schema.anyOf.filter((b) => {
      const kind = b.properties?.kind as { const?: unknown } | undefined;
      return cur?.kind === undefined || kind?.const === undefined || kind.const === cur.kind;
    });
    let firstError: string | undefined;
    for (const b of options) {
      const e = checkPath(b, segments, value, done);
      if (e === undefined) return undefined;
      firstError ??= e;
    }
    const hint = cur?.kind !== undefined && rest.length === 0 ? ` (${displayPath(done)} is kind "${String(cur.kind)}"; set ${displayPath([...done, 'kind'])} first to change it)` : '';
    return (firstError ?? `no field "${String(head)}" at ${displayPath(done) || 'top level'}`) + hint;
  }
  const child = isPlainObject(value) || Array.isArray(value) ? (value as Record<string, unknown>)[head as string] : undefined;
  if (schema.properties) {
    const p = Object.hasOwn(schema.properties, String(head)) ? schema.properties[String(head)] : undefined;
    if (!p) return unknownName('field', String(head), Object.keys(schema.properties));
    return checkPath(p, rest, child, [...done, head]);
  }
  if (schema.patternProperties) {
    return checkPath(Object.values(schema.patternProperties)[0]!, rest, child, [...done, head]);
  }
  if (schema.type === 'array' && schema.items) {
    if (typeof head !== 'number') return `${displayPath(done)} is a list: expected an index, got "${head}"`;
    const len = Array.isArray(value) ? value.length : 0;
    if (head > len) return `index ${head} is past the end of ${displayPath(done)} (${len} item(s))`;
    return checkPath(schema.items, rest, child, [...done, head]);
  }
  if (schema.type === undefined) return undefined; // free-form (adversary params)
  return `${displayPath(done)} is a ${schema.type}: it has no field "${String(head)}"`;
}

function applySet(target: Record<string, unknown>, locations: SourceMap, spec: string, schema: TSchema): void {
  const eq = spec.indexOf('=');
  const at: SourceLocation = { set: spec };
  if (eq <= 0) throw new ProfileError({ path: '', location: at, message: 'expected path=value, e.g. generator.tps=200' });
  const segments = parsePath(spec.slice(0, eq).trim());
  const reserved = segments.find((s) => s === '__proto__' || s === 'constructor' || s === 'prototype');
  if (reserved !== undefined) throw new ProfileError({ path: displayPath(segments), location: at, message: `"${reserved}" is not a field name` });
  let value: unknown;
  try {
    const text = spec.slice(eq + 1);
    if (text.length > 65_536) throw new Error(`value too long (${text.length} characters, limit 65536)`);
    value = parseYamlValue(text, { maxAliasCount: 100 });
    checkExpanded(value, (m) => new Error(m));
  } catch (err) {
    throw new ProfileError({ path: displayPath(segments), location: at, message: `cannot parse value: ${(err as Error).message.split('\n')[0]}` });
  }
  const problem = checkPath(schema as unknown as SchemaNode, segments, target);
  if (problem !== undefined) throw new ProfileError({ path: displayPath(segments), location: at, message: problem });

  let node: Record<string, unknown> = target;
  for (let i = 0; i < segments.length - 1; i++) {
    const s = segments[i]!;
    const next = node[s as string];
    if (!isPlainObject(next) && !Array.isArray(next)) {
      node[s as string] = typeof segments[i + 1] === 'number' ? [] : {};
      dropUnder(locations, segments.slice(0, i + 1));
    }
    node = node[s as string] as Record<string, unknown>;
  }
  const last = segments[segments.length - 1]!;
  if (value === null) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last as string];
    dropUnder(locations, segments);
    return;
  }
  const kindChanged = last === 'kind' && isPlainObject(node) && node.kind !== value;
  node[last as string] = value;
  dropUnder(locations, segments);
  locations.set(pathKey(segments), { key: at, value: at });
  if (kindChanged) {
    // Fields the new kind does not have are dropped (torus.columns when switching to line).
    const parent = segments.slice(0, -1);
    for (const k of Object.keys(node)) {
      if (k !== 'kind' && checkPath(schema as unknown as SchemaNode, [...parent, k], target) !== undefined) {
        delete node[k];
        dropUnder(locations, [...parent, k]);
      }
    }
  }
}

// ------------------------------------------------------------------------------------- loading

function finish(value: Record<string, unknown>, source: ProfileSource, sets: string[]): LoadedProfile {
  // Defaults first, so --set can reach into defaulted values (genesis.eras[1].startEpoch=2);
  // again after, for what a --set introduced (a new topology kind).
  const base = applyDefaults(ProfileSchema, value) as Record<string, unknown>;
  for (const s of sets) applySet(base, source.locations, s, ProfileSchema);
  const defaulted = applyDefaults(ProfileSchema, base);
  const locate = profileLocator(source);
  const issues = validate(ProfileSchema, defaulted, locate);
  if (issues.length > 0) throw new ProfileError(issues);
  const derived = derivedIssues(defaulted as Profile, locate);
  if (derived.length > 0) throw new ProfileError(derived);
  return { profile: defaulted as Profile, source };
}

/**
 * Values computed from several fields that reach a child process or a timer: each one valid on
 * its own can still combine into something no process can take (a run longer than a timer can
 * wait, a rate past any node, a stake sum that is not an exact integer).
 */
function derivedIssues(p: Profile, locate: Locate): ProfileIssue[] {
  const issues: ProfileIssue[] = [];
  const bad = (segments: Segment[], message: string) => issues.push({ path: displayPath(segments), location: locate(segments, 'value'), message });
  const d = p.scenario.duration;
  const runS = 'slots' in d ? d.slots * p.genesis.slotLengthS : 'seconds' in d ? d.seconds : (d.blocks * p.genesis.slotLengthS) / p.genesis.f;
  if (!(runS + p.genesis.startDelayS <= MAX_SECONDS)) {
    bad(['scenario', 'duration'], `the run would last ${Number.isFinite(runS) ? `${Math.round(runS)} s` : 'forever'} (with genesis.startDelayS); at most ${MAX_SECONDS} s`);
  }
  if (p.genesis.slotLengthS * p.genesis.epochLengthSlots > MAX_EXACT_INTEGER) bad(['genesis', 'epochLengthSlots'], 'an epoch this long is not a finite time');
  const g = p.generator;
  if (g.txkbPerS !== undefined && (g.txkbPerS * 1000) / g.txSizeBytes > MAX_TPS) {
    bad(['generator', 'txkbPerS'], `${g.txkbPerS} kB/s of ${g.txSizeBytes}-byte txs is ${Math.round((g.txkbPerS * 1000) / g.txSizeBytes)} tx/s; at most ${MAX_TPS}`);
  }
  if (p.composition.stake.kind === 'explicit' && p.composition.stake.stakes.reduce((a, b) => a + b, 0) > MAX_EXACT_INTEGER) {
    bad(['composition', 'stake', 'stakes'], `the stakes add up to more than ${MAX_EXACT_INTEGER} lovelace (not exact)`);
  }
  const pp = p.genesis.protocolParams;
  const lx = p.genesis.leios;
  if (p.node.mempoolCapacityBytes === undefined && 2 * (pp.maxBlockBodySize + lx.ebMaxTxBytes) > MAX_EXACT_INTEGER) {
    bad(['genesis', 'leios', 'ebMaxTxBytes'], 'the default mempool (2 × (maxBlockBodySize + ebMaxTxBytes)) is past an exact integer; set node.mempoolCapacityBytes');
  }
  return issues;
}

/** Load a profile by name (profiles/<name>.yaml) or path, resolve extends and --set, validate. */
export function loadProfile(ref: string, opts: LoadOptions = {}): LoadedProfile {
  const cwd = opts.cwd ?? process.cwd();
  const file = findProfile(ref, { profilesDir: opts.profilesDir, baseDir: cwd });
  const layer = readLayer(file, opts, []);
  const sets = opts.sets ?? [];
  return finish(layer.value, { cwd, file, chain: layer.chain, sets, locations: layer.locations }, sets);
}

/** Validate a profile given as a value (API, tests); `extends` is looked up like a name or path from cwd. */
export function profileFromObject(raw: unknown, opts: LoadOptions = {}): LoadedProfile {
  if (!isPlainObject(raw)) throw new ProfileError({ path: '', message: 'expected a mapping of profile sections' });
  const cwd = opts.cwd ?? process.cwd();
  const own = { ...raw };
  let base: Layer = { value: {}, locations: new Map(), chain: [] };
  if (own.extends !== undefined) {
    if (typeof own.extends !== 'string') throw new ProfileError({ path: 'extends', message: `expected a profile name or path, got ${JSON.stringify(own.extends)}` });
    base = readLayer(findProfile(own.extends, { profilesDir: opts.profilesDir, baseDir: cwd }), opts, []);
    delete base.value.name;
    dropUnder(base.locations, ['name']);
  }
  delete own.extends;
  mergeInto(base.value, own, base.locations, []);
  const sets = opts.sets ?? [];
  return finish(base.value, { cwd, chain: base.chain, sets, locations: base.locations }, sets);
}

/** `locate` for a loaded profile: where a field path was written. */
export function profileLocator(source: ProfileSource): Locate {
  return locator(source.locations, source.file ? { file: displayFile(source.file, source.cwd), line: 1, col: 1 } : undefined);
}

/** Directory a relative path written at `segments` is relative to: that value's file, else cwd. */
export function baseDirFor(source: ProfileSource, segments: readonly Segment[]): string {
  const loc = profileLocator(source)(segments, 'value');
  if (loc && 'file' in loc) {
    const file = source.chain.find((f) => displayFile(f, source.cwd) === loc.file);
    if (file) return dirname(file);
  }
  return source.cwd;
}
