// The node image's build context: which files go in, their content hash (the rebuild cache key),
// and a staged copy with production node_modules taken from the host (no npm, no registry).

import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (this file is orchestrator/image/context.ts). */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Paths (relative to the repo root) that make up the image; directories are walked. */
export const IMAGE_SOURCES = [
  'package.json',
  'package-lock.json',
  'node',
  'tx-generator',
  // the planner/genesis and the profile library: the Helm chart's genesis Job runs
  // `orchestrator/cli/main.ts genesis` in the cluster (orchestrator/ holds the image scripts too)
  'orchestrator',
  'profiles',
] as const;

export const DOCKERFILE = 'node/Dockerfile';

function skip(name: string): boolean {
  // Editor/OS droppings and anything that is not source; tests never live under node/ anyway.
  return name === 'node_modules' || name.startsWith('.') || name.endsWith('.test.ts');
}

/** Every file of the image sources, sorted, as repo-relative POSIX paths. */
export function imageFiles(root = repoRoot): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = join(root, rel);
    if (!existsSync(abs)) return;
    const st = statSync(abs);
    if (st.isDirectory()) {
      for (const name of readdirSync(abs).sort()) if (!skip(name)) walk(rel ? `${rel}/${name}` : name);
    } else if (st.isFile()) {
      out.push(rel.split(sep).join('/'));
    }
  };
  for (const s of IMAGE_SOURCES) walk(s);
  return out.sort();
}

/**
 * Content hash of the image: SHA-256 over (path, mode-x bit, bytes) of every image file. Like a git
 * tree hash of node/, tx-generator/, orchestrator/, profiles/ and package.json/package-lock.json, but it
 * also covers uncommitted edits. Stored as the `io.leiosnet.content-hash` label.
 */
export function contentHash(root = repoRoot, extra: string[] = []): string {
  const h = createHash('sha256');
  for (const rel of imageFiles(root)) {
    const abs = join(root, rel);
    const exec = (statSync(abs).mode & 0o111) !== 0 ? 'x' : '-';
    const bytes = readFileSync(abs);
    h.update(`${rel}\0${exec}\0${bytes.length}\0`);
    h.update(bytes);
  }
  for (const e of extra) h.update(`\0extra\0${e}`);
  return h.digest('hex').slice(0, 32);
}

interface LockPackage {
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
}

/**
 * Production packages per package-lock.json (what `npm ci --omit=dev` installs) that are present
 * on the host: repo-relative paths like `node_modules/ajv` or `node_modules/a/node_modules/b`.
 * Optional packages for other platforms are absent and skipped, as npm would.
 */
export function productionPackages(root = repoRoot): string[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockPackage>;
  };
  const out: string[] = [];
  const missing: string[] = [];
  for (const [key, p] of Object.entries(lock.packages)) {
    if (!key.startsWith('node_modules/') || p.dev || p.link) continue;
    if (existsSync(join(root, key, 'package.json'))) out.push(key);
    else if (!p.optional) missing.push(key);
  }
  if (missing.length) {
    throw new Error(`production packages missing from node_modules (run npm ci first): ${missing.slice(0, 5).join(', ')}`);
  }
  return out.sort();
}

export interface StagedContext {
  dir: string;
  files: number;
  cleanup(): void;
}

/** Copy the image sources into a fresh temp dir with the repo's layout (a snapshot to hash and build). */
export function stageSources(root = repoRoot): StagedContext {
  const dir = mkdtempSync(join(tmpdir(), 'leiosnet-image-'));
  const files = imageFiles(root);
  for (const rel of files) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    cpSync(join(root, rel), join(dir, rel));
  }
  // The Dockerfile COPYs these directories: they must exist even while still empty.
  for (const d of ['node', 'tx-generator', 'orchestrator', 'profiles']) mkdirSync(join(dir, d), { recursive: true });
  return { dir, files: files.length, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Add production node_modules (per `root`'s lockfile and node_modules) under .prebuilt/. */
export function addPrebuiltDeps(ctx: StagedContext, root = repoRoot): void {
  for (const key of productionPackages(root)) {
    const src = join(root, key);
    const nested = join(src, 'node_modules');
    cpSync(src, join(ctx.dir, '.prebuilt', key), {
      recursive: true,
      // nested node_modules are separate lock entries (copied on their own if production)
      filter: (p) => p !== nested,
    });
    ctx.files++;
  }
}

/** Sources plus (unless `prebuiltDeps` is false) production node_modules under .prebuilt/. */
export function stageContext(opts: { root?: string; prebuiltDeps?: boolean } = {}): StagedContext {
  const ctx = stageSources(opts.root);
  if (opts.prebuiltDeps !== false) addPrebuiltDeps(ctx, opts.root);
  return ctx;
}

/** Top-level entries of a staged context, for dockerode's `{context, src}` build input. */
export function contextEntries(dir: string): string[] {
  return readdirSync(dir).map((n) => relative(dir, join(dir, n)));
}

export function packageVersion(root = repoRoot): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}
