// The node image, built for real against the local Docker engine: offline base, labels, cache,
// per-release tags. Skips with one line when no engine answers (fails with LEIOSNET_E2E_DOCKER=1).

import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOfflineBase, OFFLINE_BASE } from '../../orchestrator/image/base.ts';
import { buildImage } from '../../orchestrator/image/build.ts';
import { IMAGE_SOURCES, packageVersion, repoRoot } from '../../orchestrator/image/context.ts';
import { connectDocker, idempotent, runOnce } from '../../orchestrator/runtime/docker/engine.ts';
import { dockerGate } from '../../orchestrator/runtime/docker/testing.ts';

const gate = await dockerGate('docker-image');

describe.skipIf(gate.skip)('node image (docker)', () => {
  const docker = connectDocker();
  // Build from a snapshot of the sources, so edits landing in the repo meanwhile cannot change
  // the content hash between the builds below.
  let root = '';
  const tags = ['leiosnet/node:itest-a', 'leiosnet/node:itest-b'];

  beforeAll(() => {
    gate.assert();
    root = mkdtempSync(join(tmpdir(), 'leiosnet-itest-src-'));
    for (const s of IMAGE_SOURCES) {
      try {
        cpSync(join(repoRoot, s), join(root, s), { recursive: true });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    symlinkSync(join(repoRoot, 'node_modules'), join(root, 'node_modules'));
  });

  afterAll(async () => {
    if (root) rmSync(root, { recursive: true, force: true });
    if (!gate.status.ok) return;
    for (const t of tags) await idempotent(docker.getImage(t).remove({ force: true }));
  });

  it('builds the offline base from the local Node 22 and it runs node v22 as a non-root user', async () => {
    const base = await buildOfflineBase(docker);
    expect(base.tag).toBe(OFFLINE_BASE);
    expect(base.nodeVersion).toMatch(/^v22\./);
    const info = await docker.getImage(OFFLINE_BASE).inspect();
    expect(info.Config.Labels['io.leiosnet.base']).toBe('offline');
    const v = await runOnce(docker, OFFLINE_BASE, ['node', '--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(base.nodeVersion);
    const who = await runOnce(docker, OFFLINE_BASE, ['node', '-e', 'console.log(require("os").userInfo().username)'], { user: 'node' });
    expect(who.stdout.trim()).toBe('node');
    // cached: same binary and libraries → not imported again
    expect((await buildOfflineBase(docker)).built).toBe(false);
  });

  it('builds leiosnet/node:<release> with OCI and release labels; it runs Node 22 with production deps', async () => {
    const lines: string[] = [];
    const r = await buildImage({ release: 'itest-a', root, onProgress: (l) => lines.push(l), force: true });
    expect(r.tag).toBe(tags[0]);
    expect(['official', 'offline']).toContain(r.base);
    expect(r.cached).toBe(false);
    expect(lines.some((l) => l.includes(`${r.base} base`))).toBe(true);

    const info = await docker.getImage(r.tag).inspect();
    const labels = info.Config.Labels;
    expect(labels['org.opencontainers.image.version']).toBe(packageVersion());
    expect(labels['io.leiosnet.release']).toBe('itest-a');
    expect(labels['io.leiosnet.content-hash']).toBe(r.contentHash);
    expect(labels['io.leiosnet.base']).toBe(r.base);
    expect(info.Config.User).toBe('node');
    expect(info.Config.Entrypoint).toEqual(['node']);
    expect(info.Config.Cmd).toEqual(['node/main.ts', '--config', '/config/config.json']);
    expect(info.Config.Healthcheck?.Test).toEqual(['CMD', 'node', '/app/image/healthcheck.mjs']);
    expect(info.Config.Env).toContain('LEIOSNET_RELEASE=itest-a');

    const v = await runOnce(docker, r.tag, ['--version']);
    expect(v.stdout.trim()).toMatch(/^v22\./);
    // production dependencies load (cbor-x has a native part); dev ones (vitest) are absent;
    // the chain DB mount point is writable by the non-root user; TypeScript runs by type stripping
    const probe = await runOnce(docker, r.tag, [
      '--input-type=module',
      '-e',
      `import { createRequire } from 'node:module';
       const require = createRequire('/app/package.json');
       const fs = await import('node:fs');
       require('cbor-x'); require('fastify');
       let dev = 'absent'; try { require.resolve('vitest'); dev = 'present'; } catch {}
       fs.writeFileSync('/data/probe', 'x');
       const schema = await import('/app/node/config/schema.ts');
       console.log(JSON.stringify({ user: process.getuid(), dev, schema: typeof schema.NodeConfigSchema }));`,
    ]);
    expect(probe.stderr).toBe('');
    expect(JSON.parse(probe.stdout)).toEqual({ user: 1000, dev: 'absent', schema: 'object' });
  });

  it('reuses the image when nothing changed, and derives another release from the same code', async () => {
    const again = await buildImage({ release: 'itest-a', root });
    expect(again.cached).toBe(true);
    const lines: string[] = [];
    const b = await buildImage({ release: 'itest-b', root, onProgress: (l) => lines.push(l) });
    expect(b.cached).toBe(false);
    expect(lines.some((l) => l.includes('same code, other release'))).toBe(true);
    const info = await docker.getImage(b.tag).inspect();
    expect(info.Config.Labels['io.leiosnet.release']).toBe('itest-b');
    expect(info.Config.Env).toContain('LEIOSNET_RELEASE=itest-b');
    expect(info.Config.Cmd).toEqual(['node/main.ts', '--config', '/config/config.json']);
    const a = await docker.getImage(tags[0]).inspect();
    expect(info.Config.Labels['io.leiosnet.code-hash']).toBe(a.Config.Labels['io.leiosnet.code-hash']);
  });
});
