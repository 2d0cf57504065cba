// `leiosnet image build`: build node/Dockerfile into leiosnet/node:<release>.
// Base: the official Node 22 image when it is present locally or pullable, else the offline base
// (leiosnet/base:node22, see base.ts). Production node_modules are staged from the host, so the
// build needs neither npm nor a registry. A build is skipped when an image with the same content
// hash (io.leiosnet.content-hash: sources + lockfile + base image id + release) already exists.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Docker } from '../runtime/docker/engine.ts';
import { connectDocker, followStream, idempotent, requireEngine } from '../runtime/docker/engine.ts';
import { buildOfflineBase, offlineBaseCurrent, OFFLINE_BASE } from './base.ts';
import { addPrebuiltDeps, contentHash, contextEntries, DOCKERFILE, packageVersion, repoRoot, stageSources } from './context.ts';
import { withBuildLock } from './lock.ts';

export const OFFICIAL_BASE = 'node:22-bookworm-slim';
export const IMAGE_REPO = 'leiosnet/node';

export type BaseKind = 'official' | 'offline';

export interface BuildImageOptions {
  /** Release name baked into the tag and labels, e.g. "praos-1.0", "leios-2.0". */
  release: string;
  /** Image tag; default leiosnet/node:<release>. */
  tag?: string;
  /** 'auto' (default): official if present or pullable, else offline. */
  base?: BaseKind | 'auto';
  /** Official base image reference (default node:22-bookworm-slim). */
  officialBase?: string;
  /** Rebuild even if an image with the same content hash exists. */
  force?: boolean;
  /** Give up pulling the official base after this long (default 60 s). */
  pullTimeoutMs?: number;
  onProgress?: (line: string) => void;
  docker?: Docker;
  /** Source tree to build from (default: this repository). */
  root?: string;
}

export interface BuildImageResult {
  tag: string;
  base: BaseKind;
  /** Base image reference actually used. */
  baseImage: string;
  seconds: number;
  /** true when the existing image was reused (same content hash). */
  cached: boolean;
  contentHash: string;
  imageId: string;
}

/** node/Dockerfile's per-release tail (ARG/LABEL/ENV) starts at this comment. */
const RELEASE_META_MARK = '# Release and provenance last';

const RELEASE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export function imageTag(release: string): string {
  if (!RELEASE_RE.test(release)) throw new Error(`release name ${JSON.stringify(release)} is not a valid image tag ([A-Za-z0-9_.-], max 128)`);
  return `${IMAGE_REPO}:${release}`;
}

function inspectImage(docker: Docker, ref: string) {
  return idempotent(docker.getImage(ref).inspect(), [404]);
}

async function tryPull(docker: Docker, ref: string, timeoutMs: number, say: (l: string) => void): Promise<boolean> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  try {
    const stream = (await docker.pull(ref, { abortSignal: ac.signal })) as NodeJS.ReadableStream;
    await followStream(docker, stream);
    return true;
  } catch (e) {
    say(`official base ${ref} not pullable: ${(e as Error).message.split('\n')[0]}`);
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Pick the base: the official image if present/pullable (unless offline is asked for). */
export async function chooseBase(
  docker: Docker,
  opts: Pick<BuildImageOptions, 'base' | 'officialBase' | 'pullTimeoutMs' | 'onProgress'> = {},
): Promise<{ kind: BaseKind; image: string }> {
  const say = opts.onProgress ?? (() => {});
  const want = opts.base ?? ((process.env.LEIOSNET_IMAGE_BASE as BaseKind | undefined) || 'auto');
  const official = opts.officialBase ?? OFFICIAL_BASE;
  if (want !== 'offline') {
    if (await inspectImage(docker, official)) return { kind: 'official', image: official };
    say(`official base ${official} not present locally; trying to pull it`);
    if (await tryPull(docker, official, opts.pullTimeoutMs ?? 60_000, say)) return { kind: 'official', image: official };
    if (want === 'official') throw new Error(`official base ${official} is neither present nor pullable (no registry?); use --base offline`);
  }
  await buildOfflineBase(docker, { onProgress: say });
  return { kind: 'offline', image: OFFLINE_BASE };
}

function gitRevision(root: string): string {
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

async function findByCodeHash(docker: Docker, code: string): Promise<string | undefined> {
  const imgs = await docker.listImages({ filters: { label: [`io.leiosnet.code-hash=${code}`] } });
  return imgs[0]?.Id;
}

/** A context holding only a Dockerfile that re-labels an existing image for another release. */
function relabelContext(root: string, imageId: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'leiosnet-relabel-'));
  const dockerfile = readFileSync(join(root, DOCKERFILE), 'utf8');
  const meta = dockerfile.slice(dockerfile.indexOf(RELEASE_META_MARK));
  if (meta.length === dockerfile.length) throw new Error(`${DOCKERFILE} lacks the "${RELEASE_META_MARK}" section`);
  writeFileSync(join(dir, 'Dockerfile'), `FROM ${imageId}\n${meta}`);
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Remove node images a rebuild left untagged (dangling, labelled with a release). Images still
 * used by a container are kept by the engine's prune; the build cache (stage images) is untouched.
 */
async function pruneSuperseded(docker: Docker, say: (l: string) => void): Promise<void> {
  try {
    const r = await docker.pruneImages({ filters: { dangling: ['true'], label: ['io.leiosnet.release'] } });
    const n = r.ImagesDeleted?.filter((d) => d.Deleted).length ?? 0;
    if (n) say(`removed ${n} superseded image layer(s), ${Math.round((r.SpaceReclaimed ?? 0) / 1e6)} MB`);
  } catch {
    /* another prune running, or an old engine: not worth failing the build */
  }
}

/** Build leiosnet/node:<release> (or reuse it when nothing changed). */
export async function buildImage(opts: BuildImageOptions): Promise<BuildImageResult> {
  const t0 = performance.now();
  const docker = opts.docker ?? connectDocker();
  const say = opts.onProgress ?? (() => {});
  const tag = opts.tag ?? imageTag(opts.release);
  if (!RELEASE_RE.test(opts.release)) imageTag(opts.release); // throws with the reason
  await requireEngine(docker);
  return withBuildLock(() => buildLocked(docker, tag, opts, t0, say), {
    onWait: (pid) => say(`waiting for another image build (pid ${pid || '?'}) to finish`),
  });
}

async function buildLocked(
  docker: Docker,
  tag: string,
  opts: BuildImageOptions,
  t0: number,
  say: (line: string) => void,
): Promise<BuildImageResult> {
  const root = opts.root ?? repoRoot;
  const seconds = () => Math.round((performance.now() - t0) / 10) / 100;
  const wanted = opts.base ?? ((process.env.LEIOSNET_IMAGE_BASE as BaseKind | undefined) || 'auto');

  // Hash the snapshot that would be built, not the live tree (it may change meanwhile).
  const ctx = stageSources(root);
  try {
    // Up to date on the base it was built on (and that base still here)? Then no registry is
    // asked at all: an `up` with current images never tries to pull.
    const existing = await inspectImage(docker, tag);
    const prev = existing?.Config?.Labels ?? {};
    const prevKind = prev['io.leiosnet.base'] as BaseKind | undefined;
    if (!opts.force && existing && prevKind && prev['io.leiosnet.base-id'] && (wanted === 'auto' || wanted === prevKind)) {
      const prevBase = await inspectImage(docker, prev['io.leiosnet.base-id']);
      const prevRef = prevKind === 'offline' ? OFFLINE_BASE : (opts.officialBase ?? OFFICIAL_BASE);
      const stillCurrent = prevKind !== 'offline' || (await offlineBaseCurrent(docker));
      if (prevBase && stillCurrent && contentHash(ctx.dir, [`base=${prevBase.Id}`, `release=${opts.release}`]) === prev['io.leiosnet.content-hash']) {
        say(`${tag} is up to date (content ${prev['io.leiosnet.content-hash']!.slice(0, 12)}, ${prevKind} base); not rebuilding`);
        return { tag, base: prevKind, baseImage: prevRef, seconds: seconds(), cached: true, contentHash: prev['io.leiosnet.content-hash']!, imageId: existing.Id };
      }
    }

    const base = await chooseBase(docker, opts);
    const baseInfo = await inspectImage(docker, base.image);
    if (!baseInfo) throw new Error(`base image ${base.image} vanished`);
    const code = contentHash(ctx.dir, [`base=${baseInfo.Id}`]);
    const hash = contentHash(ctx.dir, [`base=${baseInfo.Id}`, `release=${opts.release}`]);
    if (!opts.force && prev['io.leiosnet.content-hash'] === hash) {
      say(`${tag} is up to date (content ${hash.slice(0, 12)}, ${base.kind} base); not rebuilding`);
      return { tag, base: base.kind, baseImage: base.image, seconds: seconds(), cached: true, contentHash: hash, imageId: existing!.Id };
    }

    const buildargs: Record<string, string> = {
      BASE: base.image,
      BASE_KIND: base.kind,
      RELEASE: opts.release,
      VERSION: packageVersion(root),
      REVISION: gitRevision(root),
      CREATED: new Date().toISOString(),
      CONTENT_HASH: hash,
      CODE_HASH: code,
      BASE_ID: baseInfo.Id,
    };
    // Same code already built for another release: only the release metadata differs, so derive
    // the new tag from that image instead of sending the whole context again.
    const sibling = opts.force ? undefined : await findByCodeHash(docker, code);
    let buildCtx: { dir: string; cleanup(): void } = ctx;
    if (sibling) {
      buildCtx = relabelContext(ctx.dir, sibling);
      delete buildargs.BASE; // the relabel Dockerfile starts FROM the sibling image
    } else {
      addPrebuiltDeps(ctx, root);
    }
    say(sibling ? `building ${tag} from ${sibling.slice(7, 19)} (same code, other release)` : `building ${tag} on the ${base.kind} base ${base.image}`);
    let builtId: string | undefined;
    try {
      const stream = await docker.buildImage(
        { context: buildCtx.dir, src: contextEntries(buildCtx.dir) },
        { t: tag, dockerfile: sibling ? 'Dockerfile' : DOCKERFILE, rm: true, forcerm: true, buildargs },
      );
      await followStream(docker, stream, (ev) => {
        if (ev.aux?.ID) builtId = ev.aux.ID;
        const line = (ev.stream ?? ev.status ?? '').trimEnd();
        const m = /^Successfully built ([0-9a-f]+)/.exec(line);
        if (m) builtId ??= m[1];
        if (line) say(line);
      });
    } finally {
      if (buildCtx !== ctx) buildCtx.cleanup();
    }
    const built = await inspectImage(docker, builtId ?? tag);
    if (!built || built.Config?.Labels?.['io.leiosnet.content-hash'] !== hash) {
      throw new Error(`build of ${tag} finished but the image ${builtId ?? ''} is missing or has another content hash`);
    }
    await pruneSuperseded(docker, say);
    say(`built ${tag} (${base.kind} base) in ${seconds()} s`);
    return { tag, base: base.kind, baseImage: base.image, seconds: seconds(), cached: false, contentHash: hash, imageId: built.Id };
  } finally {
    ctx.cleanup();
  }
}

/** Build (or reuse) one image per release; used by the docker runtime before `up`. */
export async function ensureImages(
  releases: Iterable<string>,
  opts: Omit<BuildImageOptions, 'release' | 'tag'> = {},
): Promise<BuildImageResult[]> {
  const out: BuildImageResult[] = [];
  for (const release of new Set(releases)) out.push(await buildImage({ ...opts, release }));
  return out;
}
