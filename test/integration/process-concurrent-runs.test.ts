// Two testnets at once on the process runtime, started at the same moment by two orchestrators
// with different state directories (as two users' checkouts or two test files would): neither
// may take the other's loopback addresses, each `up` is ready only when its *own* nodes answer
// /health (name and run id), and the admin tokens — random per run, same seed notwithstanding —
// appear in no process's argv or environment, no log and no file but the 0600 ones that hold them.

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(REPO, 'bin/leiosnet.js');
const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-concurrent-'));
const profile = path.join(base, 'two-small.yaml');
// ci-praos (3 pools), one seed for both runs
fs.writeFileSync(profile, 'extends: ci-praos\ndescription: concurrent-runs test profile\nseed: 4242\ngenesis:\n  slotLengthS: 0.5\ngenerator:\n  tps: 2\n');

interface Run {
  home: string;
  out: string;
  runId?: string;
}
const runs: Run[] = ['a', 'b'].map((k) => ({ home: path.join(base, `home-${k}`), out: path.join(base, `run-${k}`) }));
const envOf = (r: Run) => ({ ...process.env, LEIOSNET_HOME: r.home });

function processesMentioning(needle: string): { pid: number; args: string[] }[] {
  const out: { pid: number; args: string[] }[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const args = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (/\) Z /.test(fs.readFileSync(`/proc/${d}/stat`, 'utf8'))) continue;
      if (args.join(' ').includes(needle)) out.push({ pid: Number(d), args });
    } catch {
      /* gone */
    }
  }
  return out;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'db') walk(p);
      } else out.push(p);
    }
  };
  walk(dir);
  return out;
}

const mode = (f: string) => fs.statSync(f).mode & 0o777;

afterAll(() => {
  for (const r of runs) {
    if (r.runId) spawnSync(process.execPath, [BIN, 'down', r.runId], { cwd: base, env: envOf(r), timeout: 60_000 });
  }
  for (const p of processesMentioning(base)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  fs.rmSync(base, { recursive: true, force: true });
});

describe('two process-runtime testnets at once', () => {
  it('never share an address, are ready only as themselves, and keep their tokens out of argv, env and logs', async () => {
    // both orchestrators start at the same moment
    const results = await Promise.all(
      runs.map(
        (r) =>
          new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
            const child = spawn(process.execPath, [BIN, 'up', profile, '--runtime', 'process', '--out', r.out, '--json'], { cwd: base, env: envOf(r), stdio: ['ignore', 'pipe', 'pipe'] });
            let stdout = '';
            let stderr = '';
            child.stdout!.on('data', (c) => (stdout += c));
            child.stderr!.on('data', (c) => (stderr += c));
            child.on('exit', (code) => resolve({ code, stdout, stderr }));
          }),
      ),
    );
    results.forEach((res, i) => {
      expect(res.code, res.stderr.slice(-3000)).toBe(0);
      runs[i]!.runId = (JSON.parse(res.stdout) as { runId: string }).runId;
    });
    expect(runs[0]!.runId).not.toBe(runs[1]!.runId);

    const nodes = runs.map((r) => {
      const rec = JSON.parse(fs.readFileSync(path.join(r.home, 'runs', `${r.runId}.json`), 'utf8')) as { addresses: { name: string; host: string; n2nPort: number; adminPort: number }[] };
      const cfgs = fs.readdirSync(path.join(r.out, 'nodes')).map((name) => {
        const file = path.join(r.out, 'nodes', name, 'config.json');
        return { name, file, cfg: JSON.parse(fs.readFileSync(file, 'utf8')) as { runId?: string; listen: { host: string; port: number }; admin: { host: string; port: number; token: string } } };
      });
      return { rec, cfgs };
    });

    // no address of one run is an address of the other
    const key = (a: { host: string; port: number }) => `${a.host}:${a.port}`;
    const addrs = nodes.map((n) => new Set(n.cfgs.flatMap(({ cfg }) => [key(cfg.listen), key({ host: cfg.admin.host, port: cfg.admin.port })])));
    expect([...addrs[0]!].filter((a) => addrs[1]!.has(a))).toEqual([]);

    // every node answers /health as itself, of its own run
    for (const [i, n] of nodes.entries()) {
      for (const { name, cfg } of n.cfgs) {
        expect(cfg.runId).toBe(runs[i]!.runId);
        const h = (await (await fetch(`http://${cfg.admin.host}:${cfg.admin.port}/health`)).json()) as { name: string; runId: string };
        expect(h, `${runs[i]!.runId}/${name}`).toMatchObject({ name, runId: runs[i]!.runId });
      }
    }

    // tokens: random per run (same seed), 0600 files only
    const tokens = nodes.flatMap((n) => n.cfgs.map(({ cfg }) => cfg.admin.token));
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const [i, n] of nodes.entries()) {
      for (const { file } of n.cfgs) expect(mode(file), file).toBe(0o600);
      expect(mode(path.join(runs[i]!.out, 'pids.json'))).toBe(0o600);
      expect(mode(path.join(runs[i]!.home, 'runs', `${runs[i]!.runId}.json`))).toBe(0o600);
      for (const f of fs.readdirSync(path.join(runs[i]!.out, 'genesis', 'keys'))) expect(mode(path.join(runs[i]!.out, 'genesis', 'keys', f))).toBe(0o600);
    }

    // not in `ps -o args` of the node processes, nor in their environment
    await new Promise((r) => setTimeout(r, 2_000)); // let the nodes log a little
    const procs = runs.flatMap((r) => processesMentioning(r.out));
    expect(procs.length).toBeGreaterThanOrEqual(6);
    const ps = execFileSync('ps', ['-o', 'args=', '-p', procs.map((p) => p.pid).join(',')], { encoding: 'utf8' });
    expect(ps).toContain('node/main.ts');
    for (const p of procs) {
      let environ = '';
      try {
        environ = fs.readFileSync(`/proc/${p.pid}/environ`, 'utf8');
      } catch {
        /* gone */
      }
      for (const t of tokens) expect(environ.includes(t)).toBe(false);
    }
    for (const t of tokens) expect(ps.includes(t), 'token in ps output').toBe(false);

    // nowhere in the run dir but the node configs and pids.json (both 0600), nor in what `up` printed
    for (const [i, r] of runs.entries()) {
      for (const f of filesUnder(r.out)) {
        const holder = /\/config(-\d+)?\.json$/.test(f) && f.includes(`${path.sep}nodes${path.sep}`) || f.endsWith('pids.json');
        if (holder) continue;
        const text = fs.readFileSync(f, 'utf8');
        for (const t of tokens) expect(text.includes(t), `${t} in ${f}`).toBe(false);
      }
      for (const t of tokens) expect((results[i]!.stdout + results[i]!.stderr).includes(t)).toBe(false);
    }

    // down by run id, each from its own state dir: nothing of either run left
    for (const r of runs) {
      const down = spawnSync(process.execPath, [BIN, 'down', r.runId!], { cwd: base, env: envOf(r), encoding: 'utf8', timeout: 60_000 });
      expect(down.status, down.stderr).toBe(0);
    }
    let left = runs.flatMap((r) => processesMentioning(r.out));
    for (let k = 0; k < 40 && left.length > 0; k++) {
      await new Promise((r) => setTimeout(r, 100));
      left = runs.flatMap((r) => processesMentioning(r.out));
    }
    expect(left).toEqual([]);
  }, 150_000);
});
