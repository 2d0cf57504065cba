// The offline base image: no registry needed. A root filesystem made from this machine's Node 22
// binary and the shared libraries it links (ldd), a non-root user, /tmp; imported with
// `docker import` as leiosnet/base:node22. No shell, no npm, no CA certificates.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Docker } from '../runtime/docker/engine.ts';
import { followStream, idempotent } from '../runtime/docker/engine.ts';
import { repoRoot } from './context.ts';
import { tarStream, type TarEntry } from './tar.ts';

export const OFFLINE_BASE = 'leiosnet/base:node22';
/** uid/gid of the image's non-root user (same as the official node image's `node` user). */
export const NODE_UID = 1000;

export interface NodeRuntime {
  binary: string;
  version: string; // "v22.23.3"
  libs: string[]; // absolute paths as the dynamic loader looks them up, loader included
}

/** The Node 22 binary to put in the image: this process if it is Node 22, else the npm `node@22`. */
export function findNode22(root = repoRoot): NodeRuntime {
  const candidates = [process.execPath, join(root, 'node_modules', 'node', 'bin', 'node')];
  for (const c of candidates) {
    if (!existsSync(c)) continue;
    const binary = realpathSync(c);
    let version: string;
    try {
      version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      continue;
    }
    if (!version.startsWith('v22.')) continue;
    return { binary, version, libs: sharedLibs(binary) };
  }
  throw new Error(`no Node 22 binary found (tried ${candidates.join(', ')}); run npm ci (it installs node@22)`);
}

/** Shared libraries a dynamically linked ELF needs, per ldd (empty for a static binary). */
export function sharedLibs(binary: string): string[] {
  let out: string;
  try {
    out = execFileSync('ldd', [binary], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const msg = String((e as { stdout?: string }).stdout ?? '') + String((e as { stderr?: string }).stderr ?? '');
    if (/not a dynamic executable|statically linked/.test(msg)) return [];
    throw new Error(`ldd ${binary} failed (is this Linux?): ${msg.trim() || (e as Error).message}`);
  }
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)"  or  "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s*\(/.exec(line);
    if (m) libs.push(m[1]);
    else if (/not found/.test(line)) throw new Error(`ldd ${binary}: ${line.trim()}`);
  }
  return [...new Set(libs)].sort();
}

const PASSWD = `root:x:0:0:root:/root:/sbin/nologin\nnode:x:${NODE_UID}:${NODE_UID}:node:/home/node:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n`;
const GROUP = `root:x:0:\nnode:x:${NODE_UID}:\nnogroup:x:65534:\n`;
// glibc ≥ 2.34 has files and dns built in; this keeps /etc/hosts ahead of DNS (container names).
const NSSWITCH = 'passwd: files\ngroup: files\nhosts: files dns\n';

/** The root filesystem as tar entries. */
export function rootfsEntries(rt: NodeRuntime): TarEntry[] {
  const dirs = new Set<string>(['etc', 'tmp', 'root', 'home', 'usr', 'usr/local', 'usr/local/bin', 'usr/bin', 'bin']);
  for (const lib of rt.libs) {
    const parts = lib.split('/').filter(Boolean);
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const entries: TarEntry[] = [...dirs].sort().map((d) => ({
    path: d,
    type: 'dir' as const,
    mode: d === 'tmp' ? 0o1777 : d === 'root' ? 0o700 : 0o755,
  }));
  entries.push(
    { path: 'home/node', type: 'dir', mode: 0o755, uid: NODE_UID, gid: NODE_UID },
    { path: 'etc/passwd', type: 'file', mode: 0o644, content: PASSWD },
    { path: 'etc/group', type: 'file', mode: 0o644, content: GROUP },
    { path: 'etc/nsswitch.conf', type: 'file', mode: 0o644, content: NSSWITCH },
    { path: 'usr/local/bin/node', type: 'file', mode: 0o755, source: rt.binary },
    { path: 'usr/bin/node', type: 'symlink', mode: 0o777, target: '/usr/local/bin/node' },
  );
  for (const lib of rt.libs) entries.push({ path: lib.slice(1), type: 'file', mode: 0o755, source: realpathSync(lib) });
  return entries;
}

/** Identity of a base built from this runtime: node version and the exact files that go in. */
export function baseHash(rt: NodeRuntime): string {
  const h = createHash('sha256');
  h.update(`${rt.version}\0${PASSWD}\0${GROUP}\0${NSSWITCH}`);
  // the binary by version and size (not path or mtime: another clone of the repo has the same
  // node@22 package), the libraries by path and size
  h.update(`\0node\0${statSync(realpathSync(rt.binary)).size}`);
  for (const f of rt.libs) h.update(`\0${f}\0${statSync(realpathSync(f)).size}`);
  return h.digest('hex').slice(0, 32);
}

async function imageLabels(docker: Docker, tag: string): Promise<Record<string, string> | undefined> {
  const info = await idempotent(docker.getImage(tag).inspect(), [404]);
  return info && (info.Config?.Labels ?? {});
}

/** Is the offline base present and made from this machine's current Node 22 binary? */
export async function offlineBaseCurrent(docker: Docker, tag = OFFLINE_BASE): Promise<boolean> {
  try {
    const labels = await imageLabels(docker, tag);
    return labels?.['io.leiosnet.base-hash'] === baseHash(findNode22());
  } catch {
    return false;
  }
}

export interface BaseResult {
  tag: string;
  nodeVersion: string;
  /** false when an identical base was already present (cache hit). */
  built: boolean;
}

/** Build (or reuse) the offline base image. */
export async function buildOfflineBase(
  docker: Docker,
  opts: { tag?: string; force?: boolean; onProgress?: (line: string) => void } = {},
): Promise<BaseResult> {
  const tag = opts.tag ?? OFFLINE_BASE;
  const say = opts.onProgress ?? (() => {});
  const rt = findNode22();
  const hash = baseHash(rt);
  const labels = await imageLabels(docker, tag);
  if (!opts.force && labels?.['io.leiosnet.base-hash'] === hash) {
    say(`offline base ${tag} is up to date (${rt.version})`);
    return { tag, nodeVersion: rt.version, built: false };
  }
  const engineArch = (await docker.version()).Arch;
  const hostArch = process.arch === 'x64' ? 'amd64' : process.arch;
  if (process.platform !== 'linux' || engineArch !== hostArch) {
    throw new Error(
      `the offline base is made from this machine's Node binary (${process.platform}/${hostArch}), which cannot run on a ${engineArch} Linux engine; use the official base (--base official)`,
    );
  }
  say(`building offline base ${tag} from ${rt.binary} (${rt.version}) + ${rt.libs.length} shared libraries`);
  const [repo, version] = tag.split(':');
  const stream = await docker.importImage(tarStream(rootfsEntries(rt)), {
    repo,
    tag: version ?? 'latest',
    changes: [
      'ENV PATH=/usr/local/bin:/usr/bin:/bin',
      'WORKDIR /',
      'CMD ["node"]',
      `LABEL io.leiosnet.base=offline io.leiosnet.base-hash=${hash} io.leiosnet.node-version=${rt.version} org.opencontainers.image.title=leiosnet-base`,
    ],
  });
  await followStream(docker, stream, (ev) => ev.status && say(`import: ${ev.status}`));
  return { tag, nodeVersion: rt.version, built: true };
}
