import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// Temp dirs a test file makes, removed when the file is done (test/support/setup.ts, after the
// file's own afterAll hooks, so a `down` in them still finds its run dir). A CI run used to leave
// ~240 MB behind in /tmp. LEIOSNET_KEEP_TMP=1 keeps them for a post-mortem.

const made: string[] = [];

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  if (process.env.LEIOSNET_KEEP_TMP) return;
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
