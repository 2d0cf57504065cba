import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliIO } from '../../orchestrator/cli/program.ts';
import { knownProfiles } from '../../orchestrator/profile/load.ts';

const ROOT = join(import.meta.dirname, '../..');
/** A Node older than 22.12 on this machine, if any (the system one). */
const SYSTEM_NODE = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => {
  if (!existsSync(p)) return false;
  const [maj, min] = execFileSync(p, ['-p', 'process.versions.node']).toString().trim().split('.').map(Number) as [number, number];
  return maj < 22 || (maj === 22 && min < 12);
});
const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-cli-'));
const home = join(tmp, 'home');
let savedHome: string | undefined;

beforeAll(() => {
  savedHome = process.env.LEIOSNET_HOME;
  process.env.LEIOSNET_HOME = home; // never touch the user's state dir
});
afterAll(() => {
  if (savedHome === undefined) delete process.env.LEIOSNET_HOME;
  else process.env.LEIOSNET_HOME = savedHome;
  rmSync(tmp, { recursive: true, force: true });
});

async function cli(args: string[], cwd = tmp): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (s) => void (out += s), err: (s) => void (err += s), cwd, tty: false };
  const code = await runCli(args, io);
  return { code, out, err };
}

describe('leiosnet CLI', () => {
  it('profiles list names every library profile with its description', async () => {
    const r = await cli(['profiles', 'list']);
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines[0]).toMatch(/^PROFILE\s+DESCRIPTION$/);
    for (const name of ['quickstart', 'ci-praos', 'ci-test', 'ci-bench', 'scale-100', 'pt-cluster-52']) {
      expect(lines.some((l) => l.startsWith(name + ' '))).toBe(true);
    }
    expect(lines).toHaveLength(knownProfiles().length + 1);
    expect(r.out).not.toContain('(invalid');
  });

  it('profiles list --json and profiles show', async () => {
    const list = JSON.parse((await cli(['profiles', 'list', '--json'])).out) as { name: string; pools: number }[];
    expect(list.find((p) => p.name === 'ci-praos')!.pools).toBe(3);
    const show = await cli(['profiles', 'show', 'ci-praos', '--set', 'generator.tps=9', '--json']);
    expect(show.code).toBe(0);
    expect(JSON.parse(show.out).generator.tps).toBe(9);
    const plan = JSON.parse((await cli(['profiles', 'show', 'ci-praos', '--plan', '--json'])).out);
    expect(plan.nodes.map((n: { name: string }) => n.name)).toEqual(['pool-1', 'pool-2', 'pool-3']);
  });

  it('a bad profile exits 2 naming the field, and creates nothing', async () => {
    const cwd = join(tmp, 'bad');
    mkdirSync(cwd, { recursive: true });
    writeFileSync(join(cwd, 'bad.yaml'), 'extends: ci-praos\ngenerator:\n  tps: -5\n');
    const r = await cli(['run', 'bad.yaml'], cwd);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/bad\.yaml:3:\d+: generator\.tps: expected number > 0, got -5/);
    expect(readdirSync(cwd)).toEqual(['bad.yaml']); // no runs/ dir
    expect(existsSync(join(home, 'runs'))).toBe(false); // no state record
  });

  it('a bad --set exits 2 naming the field', async () => {
    const r = await cli(['run', 'ci-praos', '--set', 'composition.poolz=3']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/composition\.poolz: unknown field "poolz"/);
    expect(r.err).toMatch(/did you mean "pools"|pools/);
  });

  it('run --prometheus without a prometheus binary exits 2 with the install hint, and creates nothing', async () => {
    const cwd = join(tmp, 'no-prometheus');
    mkdirSync(cwd, { recursive: true });
    const saved = process.env.LEIOSNET_PROMETHEUS;
    // (PATH alone cannot hide it: /usr/bin is searched too; LEIOSNET_PROMETHEUS wins over both)
    process.env.LEIOSNET_PROMETHEUS = join(cwd, 'no-such-prometheus');
    try {
      const r = await cli(['run', 'ci-praos', '--prometheus', '--out', join(cwd, 'out')], cwd);
      expect(r.code, r.err).toBe(2);
      expect(r.err).toContain(`prometheus: no prometheus binary (LEIOSNET_PROMETHEUS=${join(cwd, 'no-such-prometheus')} does not exist)`);
      expect(r.err).toContain('`apt-get install prometheus`, or `bash .ci/prometheus-setup.sh`');
      expect(readdirSync(cwd)).toEqual([]); // no --out dir, no runs/
    } finally {
      if (saved === undefined) delete process.env.LEIOSNET_PROMETHEUS;
      else process.env.LEIOSNET_PROMETHEUS = saved;
    }
  });

  it('an unknown profile, option or command exits 2', async () => {
    expect((await cli(['run', 'no-such-profile'])).code).toBe(2);
    expect((await cli(['run', 'ci-praos', '--runtime', 'vm'])).code).toBe(2);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['run'])).code).toBe(2); // missing <profile>
  });

  it('down of an unknown run id is idempotent: exit 0 with a message', async () => {
    const r = await cli(['down', 'ci-praos-20990101-000000-abcd']);
    expect(r.code).toBe(0);
    expect(r.err).toContain('no run ci-praos-20990101-000000-abcd: nothing to do');
    const all = await cli(['down', '--all', '--runtime', 'process', '--json']);
    expect(all.code).toBe(0);
    expect(JSON.parse(all.out)).toEqual({ removed: [] });
  });

  it('--help everywhere, exit 0', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const c of ['run', 'up', 'down', 'status', 'ls', 'logs', 'fault', 'report', 'compare', 'profiles', 'image', 'serve']) {
      expect(top.out).toContain(c);
      const r = await cli([c, '--help']);
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^Usage: leiosnet /);
    }
    expect(top.out).toContain('Exit codes: 0 ok');
  });

  it('serve refuses a bad --port with exit 2, naming the flag', async () => {
    const r = await cli(['serve', '--port', 'seventy']);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--port');
  });

  it('report and compare re-analyse recorded runs', async () => {
    const { cpSync } = await import('node:fs');
    const a = join(tmp, 'runA');
    const b = join(tmp, 'runB');
    cpSync(join(ROOT, 'test/fixtures/traces/small'), a, { recursive: true });
    cpSync(join(ROOT, 'test/fixtures/traces/small'), b, { recursive: true });
    const rep = await cli(['report', a]);
    expect(rep.code).toBe(1); // the fixture has a failing assertion
    expect(existsSync(join(a, 'summary.json')) && existsSync(join(a, 'report.html')) && existsSync(join(a, 'report.md'))).toBe(true);
    await cli(['report', b]);
    const cmp = await cli(['compare', a, b, '--fail-on-regression']);
    expect(cmp.code).toBe(0); // identical runs: no regression
    expect(cmp.out).toContain('**0 regression(s)**');
    expect(existsSync(join(b, 'compare.md'))).toBe(true);
  });

  it('the bin shim runs the CLI, exit codes intact', async () => {
    const env = { ...process.env, LEIOSNET_HOME: home };
    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/leiosnet.js'), '--version'], { env });
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const code = await promisify(execFile)(process.execPath, [join(ROOT, 'bin/leiosnet.js'), 'run', 'no-such-profile'], { env }).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(code).toBe(2);
  });

  // `node` on PATH outside npm scripts is Node 20 on our machines: the shim re-executes itself with Node 22
  it.skipIf(!SYSTEM_NODE)('the bin shim re-executes itself from an older Node', async () => {
    const { stdout } = await promisify(execFile)(SYSTEM_NODE!, [join(ROOT, 'bin/leiosnet.js'), 'profiles', 'list'], {
      env: { ...process.env, LEIOSNET_HOME: home },
    });
    expect(stdout).toContain('quickstart');
  });
});
