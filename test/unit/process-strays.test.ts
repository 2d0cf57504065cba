// `down` of the process runtime also kills processes started for the run but not yet recorded
// (the orchestrator SIGKILLed between spawn and pids.json): real processes, real /proc.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, killStrays } from '../../orchestrator/runtime/process/procfs.ts';

const start = (args: string[]) => {
  const c = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', '--', ...args], { stdio: 'ignore', detached: true });
  c.unref();
  return c.pid!;
};

describe('killStrays', () => {
  it('kills what runs with --config under the run dir, and nothing else', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-strays-'));
    const ours = start(['--config', path.join(dir, 'nodes/pool-2/config.json')]);
    const otherRun = start(['--config', `${dir}-other/nodes/pool-1/config.json`]); // a sibling run dir with the same prefix
    const reader = start([path.join(dir, 'nodes/pool-2/node.log')]); // e.g. a `tail -f` on a run-dir file
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(killStrays(dir)).toEqual([ours]);
      for (let i = 0; i < 50 && isAlive(ours); i++) await new Promise((r) => setTimeout(r, 20));
      expect(isAlive(ours)).toBe(false);
      expect(isAlive(otherRun)).toBe(true);
      expect(isAlive(reader)).toBe(true);
    } finally {
      for (const p of [ours, otherRun, reader]) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
