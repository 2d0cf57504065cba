// A machine-wide lock around image builds (two orchestrators building leiosnet/node:<release> at
// once would race for the tag). mkdir is atomic; the owner's pid is recorded, so a lock left by a
// dead process is taken over instead of waited for.

import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withBuildLock<T>(
  fn: () => Promise<T>,
  opts: { dir?: string; timeoutMs?: number; staleMs?: number; onWait?: (owner: string) => void } = {},
): Promise<T> {
  const dir = opts.dir ?? join(tmpdir(), 'leiosnet-image-build.lock');
  const deadline = Date.now() + (opts.timeoutMs ?? 15 * 60_000);
  const staleMs = opts.staleMs ?? 30 * 60_000;
  let told = false;
  for (;;) {
    try {
      mkdirSync(dir);
      writeFileSync(join(dir, 'owner'), `${process.pid}`);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = '';
    try {
      owner = readFileSync(join(dir, 'owner'), 'utf8').trim();
    } catch {
      /* being created or removed right now */
    }
    let age = 0;
    try {
      age = Date.now() - statSync(dir).mtimeMs;
    } catch {
      continue; // just released
    }
    const pid = Number(owner);
    if ((owner && (!pid || !alive(pid))) || (!owner && age > 10_000) || age > staleMs) {
      rmSync(dir, { recursive: true, force: true }); // owner died (or never wrote its pid)
      continue;
    }
    if (!told) {
      opts.onWait?.(owner);
      told = true;
    }
    if (Date.now() > deadline) throw new Error(`another image build (pid ${owner}) holds ${dir}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  try {
    return await fn();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
