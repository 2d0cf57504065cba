// Process runtime safety without the node: loopback addresses are never handed out twice or
// while taken, and `down` never signals a process that is not the one it recorded.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allocateAddresses, loopbackHost } from '../../orchestrator/runtime/process/addresses.ts';
import { isAlive, isOurs, readCmdline, readProcStat, terminate } from '../../orchestrator/runtime/process/procfs.ts';
import { ProcessRuntime } from '../../orchestrator/runtime/process.ts';
import { readRunRecord, writeRunRecord, type ProcRecord } from '../../orchestrator/state.ts';

const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-safety-'));
let savedHome: string | undefined;
beforeAll(() => {
  savedHome = process.env.LEIOSNET_HOME;
  process.env.LEIOSNET_HOME = join(tmp, 'home');
});
afterAll(() => {
  if (savedHome === undefined) delete process.env.LEIOSNET_HOME;
  else process.env.LEIOSNET_HOME = savedHome;
  rmSync(tmp, { recursive: true, force: true });
});

function listen(host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen({ host, port, exclusive: true }, () => resolve(s));
  });
}

describe('loopback addresses', () => {
  it('one IP per node, 127.0.0.2 upwards, wrapping into the next /24', () => {
    expect([0, 1, 252, 253].map(loopbackHost)).toEqual(['127.0.0.2', '127.0.0.3', '127.0.0.254', '127.0.1.2']);
  });

  it('a port taken on a node IP moves to the next free one; other runs never get the same address', async () => {
    // a foreign listener on the first node's n2n port (IPs from 127.0.3.x: clear of other runs)
    const base = 3 * 253;
    const a = await allocateAddresses('probe', join(tmp, 'probe'), ['x'], undefined, base);
    expect(a[0]!.host).toBe('127.0.3.2');
    const srv = await listen(a[0]!.host, a[0]!.n2nPort);
    try {
      const first = await allocateAddresses('run-a', join(tmp, 'a'), ['x', 'y'], undefined, base);
      expect(first[0]!.host).toBe(a[0]!.host);
      expect(first[0]!.n2nPort).toBeGreaterThan(a[0]!.n2nPort); // moved past the taken port
      // run-a is recorded (not started yet): run-b must not reuse any of its addresses
      const second = await allocateAddresses('run-b', join(tmp, 'b'), ['x', 'y'], undefined, base);
      const key = (r: { host: string; n2nPort: number; adminPort: number }) => [`${r.host}:${r.n2nPort}`, `${r.host}:${r.adminPort}`];
      const used = new Set(first.flatMap(key));
      expect(second.flatMap(key).filter((k) => used.has(k))).toEqual([]);
      // idempotent: asking again gives the same addresses
      expect(await allocateAddresses('run-a', join(tmp, 'a'), ['x', 'y'], undefined, base)).toEqual(first);
    } finally {
      srv.close();
      const rt = new ProcessRuntime();
      for (const id of ['probe', 'run-a', 'run-b']) await rt.down(id);
    }
  });
});

describe('down signals only what it started', () => {
  it('a recorded pid that now runs another command is left alone', async () => {
    const stranger = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    try {
      const pid = stranger.pid!;
      const st = readProcStat(pid)!;
      // what a recycled pid looks like: same pid, the record's argv is someone else's
      const forged: ProcRecord = { name: 'pool-1', pid, pgid: pid, startTicks: st.startTicks, cmdline: ['/usr/bin/node', 'node/main.ts', '--config', '/nowhere/config.json'], startedAt: new Date().toISOString() };
      expect(isOurs(forged, '/nowhere')).toBe(false);
      await terminate(forged, 200, '/nowhere');
      expect(isAlive(pid)).toBe(true);

      // a record with the right argv but another start time (the pid was reused) is left alone too
      const reused: ProcRecord = { ...forged, cmdline: readCmdline(pid)!, startTicks: st.startTicks + 1 };
      expect(isOurs(reused)).toBe(false);

      // the down of a run whose record names it: nothing happens to the stranger
      writeRunRecord({ runId: 'forged', runtime: 'process', runDir: '/nowhere', createdAt: new Date().toISOString(), pids: [forged] });
      await new ProcessRuntime({ stopGraceMs: 200 }).down('forged');
      expect(isAlive(pid)).toBe(true);
      expect(readRunRecord('forged')).toBeUndefined();

      // and the real record does stop it
      const real: ProcRecord = { ...forged, cmdline: readCmdline(pid)! };
      expect(isOurs(real)).toBe(true);
      await terminate(real, 2_000);
      expect(isAlive(pid)).toBe(false);
    } finally {
      stranger.kill('SIGKILL');
    }
  });
});
