// The docker runtime's pure parts (no engine needed): config rewriting for containers, log
// demultiplexing, engine stats → NodeStats, and the ustar writer behind the offline base.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { NodeConfig } from '../../node/config/schema.ts';
import { withBuildLock } from '../../orchestrator/image/lock.ts';
import { tarStream } from '../../orchestrator/image/tar.ts';
import { statsFromEngine } from '../../orchestrator/runtime/docker.ts';
import { addressMap, containerGeneratorConfig, containerNodeConfig } from '../../orchestrator/runtime/docker/config.ts';
import { demuxLogs } from '../../orchestrator/runtime/docker/engine.ts';
import { containerName, networkName, volumeName } from '../../orchestrator/runtime/docker/names.ts';

function cfg(name: string, ip: string, peers: [string, string][]): NodeConfig {
  return {
    name,
    genesisFile: '../../genesis/genesis.json',
    release: { version: '1.0.0', maxProtocolVersion: 1 },
    listen: { host: ip, port: 3001 },
    admin: { host: ip, port: 12798, token: 'token-123456' },
    pool: { id: name, coldSkeyFile: `../../genesis/keys/${name}.cold.skey`, vrfSkeyFile: '/abs/vrf.skey', blsSkeyFile: 'bls.skey' },
    peers: peers.map(([n, h]) => ({ name: n, host: h, port: 3001 })),
    dbPath: 'db',
    traceFile: 'trace.jsonl',
    logFile: 'node.log',
    clockOffsetMs: 0,
  };
}

describe('docker runtime: container configs', () => {
  const specs = [
    { name: 'pool-1', config: cfg('pool-1', '127.0.0.2', [['pool-2', '127.0.0.3']]) },
    { name: 'pool-2', config: cfg('pool-2', '127.0.0.3', [['pool-1', '127.0.0.2'], ['outside', '10.1.2.3']]) },
  ];
  const addrs = addressMap('r1', specs);

  it('names every resource after the run and node, Docker-safe', () => {
    expect(networkName('r1')).toBe('leiosnet-r1');
    expect(containerName('r1', 'pool-1')).toBe('leiosnet-r1-pool-1');
    expect(volumeName('r1', 'pool 1')).toBe('leiosnet-r1-pool-1-db');
  });

  it('listens on all interfaces at fixed ports, finds peers by container name, keeps the DB on /data, makes paths absolute', () => {
    const c = containerNodeConfig(specs[1]!.config, '/runs/r1/nodes/pool-2', addrs);
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 3001 });
    expect(c.admin).toEqual({ host: '0.0.0.0', port: 12798, token: 'token-123456' });
    expect(c.peers).toEqual([
      { name: 'pool-1', host: 'leiosnet-r1-pool-1', port: 3001 },
      { name: 'outside', host: '10.1.2.3', port: 3001 }, // not a node of the run: untouched
    ]);
    expect(c.dbPath).toBe('/data/db');
    expect(c.genesisFile).toBe('/runs/r1/genesis/genesis.json');
    expect(c.traceFile).toBe('/runs/r1/nodes/pool-2/trace.jsonl');
    expect(c.logFile).toBe('/runs/r1/nodes/pool-2/node.log');
    expect(c.pool).toEqual({
      id: 'pool-2',
      coldSkeyFile: '/runs/r1/genesis/keys/pool-2.cold.skey',
      vrfSkeyFile: '/abs/vrf.skey',
      blsSkeyFile: '/runs/r1/nodes/pool-2/bls.skey',
    });
    expect(c.release).toEqual(specs[1]!.config.release);
  });

  it('rewrites node addresses anywhere in a generator config, and nothing that only looks alike', () => {
    const out = containerGeneratorConfig(
      {
        targets: [
          { name: 'pool-1', host: '127.0.0.2', port: 3001 },
          { name: 'x', host: '127.0.0.2', port: 3002 },
        ],
        urls: ['http://127.0.0.3:12798/metrics', '127.0.0.3:3001', '127.0.0.33:3001', '127.0.0.3:30011'],
        metrics: { host: '127.0.0.9', port: 12799 },
        tps: 5,
      },
      addrs,
    );
    expect(out).toEqual({
      targets: [
        { name: 'pool-1', host: 'leiosnet-r1-pool-1', port: 3001 },
        { name: 'x', host: '127.0.0.2', port: 3002 },
      ],
      urls: ['http://leiosnet-r1-pool-2:12798/metrics', 'leiosnet-r1-pool-2:3001', '127.0.0.33:3001', '127.0.0.3:30011'],
      metrics: { host: '0.0.0.0', port: 12799 },
      tps: 5,
    });
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
