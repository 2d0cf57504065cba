// The docker runtime's pure parts (no engine needed): its resolver and rendered configs, log
// demultiplexing, engine stats → NodeStats, and the ustar writer behind the offline base.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderGeneratorConfig } from '../../orchestrator/genesis/generator-config.ts';
import { renderNodeConfig } from '../../orchestrator/genesis/run-files.ts';
import { RunDir } from '../../orchestrator/rundir/index.ts';
import type { NodeTemplate } from '../../orchestrator/runtime/runtime.ts';
import { resolveGeneratorConfig } from '../../tx-generator/config.ts';
import { withBuildLock } from '../../orchestrator/image/lock.ts';
import { tarStream } from '../../orchestrator/image/tar.ts';
import { containerPaths, DockerResolver, statsFromEngine } from '../../orchestrator/runtime/docker.ts';
import { demuxLogs } from '../../orchestrator/runtime/docker/engine.ts';
import { containerName, networkName, volumeName } from '../../orchestrator/runtime/docker/names.ts';

const template = (name: string, peers: string[]): NodeTemplate => ({
  name,
  role: 'pool',
  release: 'praos-1.0',
  adminToken: 'token-123456',
  poolId: name,
  peers: peers.map((p) => ({ name: p, link: { latencyMs: 20, loss: 0, down: false } })),
  clockOffsetMs: 0,
});

describe('docker runtime: resolver and rendered configs (no rewriting)', () => {
  const r = new DockerResolver('r1');
  const rd = new RunDir('/runs/r1');

  it('names every resource after the run and node, Docker-safe', () => {
    expect(networkName('r1')).toBe('leiosnet-r1');
    expect(containerName('r1', 'pool-1')).toBe('leiosnet-r1-pool-1');
    expect(volumeName('r1', 'pool 1')).toBe('leiosnet-r1-pool-1-db');
  });

  it('binds all interfaces at fixed ports, dials peers by container name, keeps the DB on /data, absolute paths', () => {
    const c = renderNodeConfig(template('pool-2', ['pool-1', 'pool-3']), { bind: r.bind('pool-2'), peer: (n) => r.fromNode(n), paths: containerPaths(rd, 'pool-2') });
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 3001 });
    expect(c.admin).toEqual({ host: '0.0.0.0', port: 12798, token: 'token-123456' });
    expect(c.peers).toEqual([
      { name: 'pool-1', host: 'leiosnet-r1-pool-1', port: 3001, link: { latencyMs: 20, loss: 0, down: false } },
      { name: 'pool-3', host: 'leiosnet-r1-pool-3', port: 3001, link: { latencyMs: 20, loss: 0, down: false } },
    ]);
    expect(c.dbPath).toBe('/data/db');
    expect(c.genesisFile).toBe('/runs/r1/genesis/genesis.json');
    expect(c.traceFile).toBe('/runs/r1/nodes/pool-2/trace.jsonl');
    expect(c.logFile).toBe('/runs/r1/nodes/pool-2/node.log');
    expect(c.pool).toEqual({
      id: 'pool-2',
      coldSkeyFile: '/runs/r1/genesis/keys/pool-2.cold.skey',
      vrfSkeyFile: '/runs/r1/genesis/keys/pool-2.vrf.skey',
      blsSkeyFile: '/runs/r1/genesis/keys/pool-2.bls.skey',
    });
    expect(c.release).toEqual({ version: '1.0.0', maxProtocolVersion: 1 });
    // restartWith renders the same template for another release
    const up = renderNodeConfig(template('pool-2', ['pool-1']), { bind: r.bind('pool-2'), peer: (n) => r.fromNode(n), paths: containerPaths(rd, 'pool-2'), release: 'leios-2.0' });
    expect(up.release).toEqual({ version: '2.0.0', maxProtocolVersion: 2 });
  });

  it('renders a generator config (the tx-generator\'s own schema) with targets by container name', () => {
    const cfg = renderGeneratorConfig(
      { name: 'generator', targets: ['pool-1', 'pool-2'], tps: 5 },
      { target: (n) => r.fromNode(n), metrics: { host: '0.0.0.0', port: 12799 }, paths: { genesisFile: rd.genesisFile, paymentSkeyFile: rd.generatorKeyFile, summaryFile: '/runs/r1/generator/summary.json' } },
    );
    expect(cfg).toEqual({
      name: 'generator',
      tps: 5,
      genesisFile: '/runs/r1/genesis/genesis.json',
      paymentSkeyFile: '/runs/r1/genesis/keys/generator.skey',
      targets: [
        { name: 'pool-1', host: 'leiosnet-r1-pool-1', port: 3001 },
        { name: 'pool-2', host: 'leiosnet-r1-pool-2', port: 3001 },
      ],
      metrics: { host: '0.0.0.0', port: 12799 },
      summaryFile: '/runs/r1/generator/summary.json',
    });
    // the generator itself accepts it
    expect(resolveGeneratorConfig(cfg, '/runs/r1/generator').targets).toHaveLength(2);
  });

  it('writes configs through the run dir once: a changed config is a new generation, never an overwrite', () => {
    const dir = mkdtempSync(join(tmpdir(), 'leiosnet-rundir-'));
    try {
      const run = new RunDir(dir);
      const c1 = renderNodeConfig(template('pool-1', ['pool-2']), { bind: r.bind('pool-1'), peer: (n) => r.fromNode(n), paths: containerPaths(run, 'pool-1') });
      const f1 = run.writeNodeConfig('pool-1', c1);
      expect(run.writeNodeConfig('pool-1', c1)).toBe(f1); // same settings: the same file
      const f2 = run.writeNodeConfig('pool-1', { ...c1, release: { version: '2.0.0', maxProtocolVersion: 2 } });
      expect([f1, f2].map((f) => f.split('/').at(-1))).toEqual(['config.json', 'config-2.json']);
      expect(run.readNodeConfig(f1)).toEqual(c1);
      expect(run.currentNodeConfig('pool-1')!.file).toBe(f2);
      expect(() => run.writeNodeConfig('pool-1', { ...c1, listen: { host: 'x' } } as never)).toThrow(/listen/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('docker runtime: engine data', () => {
  it('demultiplexes container logs into stdout and stderr', () => {
    const frame = (kind: number, text: string) => {
      const body = Buffer.from(text);
      const h = Buffer.alloc(8);
      h[0] = kind;
      h.writeUInt32BE(body.length, 4);
      return Buffer.concat([h, body]);
    };
    const buf = Buffer.concat([frame(1, 'out 1\n'), frame(2, 'err 1\n'), frame(1, 'out 2\n')]);
    expect(demuxLogs(buf)).toEqual({ stdout: 'out 1\nout 2\n', stderr: 'err 1\n' });
    expect(demuxLogs(Buffer.from('plain tty text\n'))).toEqual({ stdout: 'plain tty text\n', stderr: '' });
  });

  it('turns an engine stats answer into CPU % of one core and resident MB', () => {
    const s = {
      cpu_stats: { cpu_usage: { total_usage: 2_000_000_000 }, system_cpu_usage: 20_000_000_000, online_cpus: 2 },
      precpu_stats: { cpu_usage: { total_usage: 1_500_000_000 }, system_cpu_usage: 18_000_000_000 },
      memory_stats: { usage: 300 * 2 ** 20, stats: { rss: 90 * 2 ** 20, mapped_file: 10 * 2 ** 20, cache: 200 * 2 ** 20 } },
    };
    // 0.5 s of CPU over 2 s of (2-core) system time → 25 % of the machine = 50 % of one core
    expect(statsFromEngine(s as never)).toEqual({ cpuPct: 50, rssMb: 100 });
    const v2 = { ...s, memory_stats: { usage: 64 * 2 ** 20, stats: { anon: 40 * 2 ** 20, file_mapped: 2 * 2 ** 20 } } };
    expect(statsFromEngine(v2 as never).rssMb).toBe(42);
  });
});

describe('offline base: ustar writer', () => {
  it('writes an archive GNU tar lists with exact modes, owners, long paths and content', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'leiosnet-tar-'));
    try {
      const src = join(dir, 'src.bin');
      writeFileSync(src, Buffer.alloc(1000, 7));
      const long = `lib/${'x'.repeat(90)}/${'y'.repeat(40)}.so`;
      const file = join(dir, 'out.tar');
      await pipeline(
        tarStream([
          { path: 'tmp', type: 'dir', mode: 0o1777 },
          { path: 'home/node', type: 'dir', mode: 0o755, uid: 1000, gid: 1000 },
          { path: 'etc/passwd', type: 'file', mode: 0o644, content: 'root:x:0:0::/root:/bin/false\n' },
          { path: 'usr/local/bin/node', type: 'file', mode: 0o755, source: src },
          { path: 'usr/bin/node', type: 'symlink', mode: 0o777, target: '/usr/local/bin/node' },
          { path: long, type: 'file', mode: 0o755, content: 'so' },
        ]),
        createWriteStream(file),
      );
      const listing = execFileSync('tar', ['-tvf', file, '--numeric-owner'], { encoding: 'utf8' });
      expect(listing).toMatch(/drwxrwxrwt 0\/0 .* tmp\//);
      expect(listing).toMatch(/drwxr-xr-x 1000\/1000 .* home\/node\//);
      expect(listing).toMatch(/-rwxr-xr-x 0\/0 +1000 .* usr\/local\/bin\/node/);
      expect(listing).toMatch(/usr\/bin\/node -> \/usr\/local\/bin\/node/);
      expect(listing).toContain(long);
      const out = join(dir, 'x');
      execFileSync('mkdir', [out]);
      execFileSync('tar', ['-xf', file, '-C', out, 'etc/passwd', 'usr/local/bin/node']);
      expect(readFileSync(join(out, 'etc/passwd'), 'utf8')).toBe('root:x:0:0::/root:/bin/false\n');
      expect(readFileSync(join(out, 'usr/local/bin/node')).equals(Buffer.alloc(1000, 7))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('image build lock', () => {
  it('serialises builds and takes over a lock whose owner died', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'leiosnet-lock-')), 'build.lock');
    const order: string[] = [];
    const job = (name: string) =>
      withBuildLock(
        async () => {
          order.push(`${name}+`);
          await new Promise((r) => setTimeout(r, 50));
          order.push(`${name}-`);
        },
        { dir },
      );
    await Promise.all([job('a'), job('b')]);
    expect([order.slice(0, 2), order.slice(2)].every(([x, y]) => x![0] === y![0] && x!.endsWith('+') && y!.endsWith('-'))).toBe(true);
    // a lock left by a process that no longer exists
    const dead = execFileSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).trim();
    execFileSync('mkdir', [dir]);
    writeFileSync(join(dir, 'owner'), dead);
    expect(await withBuildLock(async () => 'took over', { dir, timeoutMs: 5_000 })).toBe('took over');
    rmSync(join(dir, '..'), { recursive: true, force: true });
  });
});
