// The docker runtime against the real engine and the real node: 3 pools from a small profile
// (planning code → genesis → containers), blocks, kill/start, pause/resume, partition,
// restartWith another release on the same volume, and cleanup by label after the orchestrator
// was SIGKILLed. Skips with one line when no engine answers (fails with LEIOSNET_E2E_DOCKER=1).

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeConfig } from '../../node/config/schema.ts';
import { adminJson, type Tip } from '../../orchestrator/collect/admin.ts';
import { writeRunFiles } from '../../orchestrator/genesis/index.ts';
import { RunDir } from '../../orchestrator/rundir/index.ts';
import { profileFromObject } from '../../orchestrator/profile/load.ts';
import { resolvePlan } from '../../orchestrator/profile/resolve.ts';
import { canPartition, DockerRuntime } from '../../orchestrator/runtime/docker.ts';
import { connectDocker } from '../../orchestrator/runtime/docker/engine.ts';
import { containerName, LABEL, networkName, volumeName } from '../../orchestrator/runtime/docker/names.ts';
import { dockerGate } from '../../orchestrator/runtime/docker/testing.ts';
import type { Deployment, NodeHandle } from '../../orchestrator/runtime/runtime.ts';

const gate = await dockerGate('docker-runtime');
const REPO = resolve(import.meta.dirname, '../..');
const NODE22 = join(REPO, 'node_modules/node/bin/node');

const PROFILE = {
  name: 'docker-e2e',
  composition: { pools: 3, topology: { kind: 'full-mesh' } },
  // 0.2 s slots, f = 0.2: about one block a second
  genesis: { slotLengthS: 0.2, f: 0.2, k: 20, startDelayS: 2, eras: [{ era: 'praos', startEpoch: 0, protocolVersion: 1 }] },
  node: { release: 'praos-1.0', resources: { cpus: 0.5, memoryMb: 512 } },
  generator: { enabled: false },
};

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let err: unknown;
  for (;;) {
    try {
      last = await probe();
      if (ok(last)) return last;
    } catch (e) {
      err = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`${what}: not within ${timeoutMs} ms; last value ${JSON.stringify(last)}${err ? `; last error ${(err as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

const tip = (h: NodeHandle) => adminJson<Tip>(h.endpoints(), '/tip', { timeoutMs: 2_000 });
const blockNo = async (h: NodeHandle) => Number((await tip(h)).blockNo ?? 0);

async function labelled(runId: string) {
  const docker = connectDocker();
  const filters = { label: [`${LABEL.run}=${runId}`] };
  const [cs, nets, vols] = await Promise.all([
    docker.listContainers({ all: true, filters }),
    docker.listNetworks({ filters }),
    docker.listVolumes({ filters }),
  ]);
  return { containers: cs.length, networks: nets.length, volumes: vols.Volumes?.length ?? 0 };
}

describe.skipIf(gate.skip)('docker runtime (real engine, real node)', () => {
  const rt = new DockerRuntime();
  const runId = `e2e-${process.pid}-${Date.now().toString(36)}`;
  const dirs: string[] = [];
  let dep: Deployment;

  beforeAll(async () => {
    gate.assert();
    const plan = resolvePlan(profileFromObject(PROFILE));
    const runDir = mkdtempSync(join(tmpdir(), 'leiosnet-docker-e2e-'));
    dirs.push(runDir);
    // runtime-neutral specs (peers by name): the docker runtime renders the configs itself
    const specs = writeRunFiles(plan, runDir, { now: new Date() });
    dep = await rt.up(runId, runDir, specs);
  }, 180_000);

  afterAll(async () => {
    if (gate.status.ok) await rt.down(runId);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }, 60_000);

  it('runs every node in its own labelled container on the run network, with limits, and they make blocks', async () => {
    const docker = connectDocker();
    const net = await docker.getNetwork(networkName(runId)).inspect();
    expect(net.Internal).toBe(rt.access === 'container-ip');
    expect(net.Labels?.[LABEL.run]).toBe(runId);
    for (const h of dep.nodes()) {
      const info = await docker.getContainer(containerName(runId, h.name)).inspect();
      expect(info.Config.Labels[LABEL.run]).toBe(runId);
      expect(info.Config.Labels[LABEL.node]).toBe(h.name);
      expect(info.Config.Image).toBe('leiosnet/node:praos-1.0');
      expect(info.HostConfig.NanoCpus).toBe(0.5e9);
      expect(info.HostConfig.Memory).toBe(512 * 1024 * 1024);
      // the image's check command, at the run's interval (3 nodes: the 5 s floor)
      expect(info.Config.Healthcheck).toMatchObject({ Test: ['CMD', 'node', '/app/image/healthcheck.mjs'], Interval: 5e9, StartPeriod: 20e9 });
      expect(info.Mounts.find((m) => m.Destination === '/data')?.Name).toBe(volumeName(runId, h.name));
    }
    const heights = await waitFor('every node at block 3', 60_000, () => Promise.all(dep.nodes().map(blockNo)), (hs) => hs.every((b) => b >= 3));
    expect(heights).toHaveLength(3);
    // what the collector reads: Prometheus text, engine stats, logs in the run dir
    const metrics = await fetch(`${dep.nodes()[0]!.endpoints().adminUrl}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/leios_block_height/);
    const st = await dep.nodes()[0]!.stats();
    expect(st!.rssMb).toBeGreaterThan(10);
    expect(st!.cpuPct).toBeGreaterThanOrEqual(0);
    expect(await dep.nodes()[0]!.logs()).toMatch(/node started/);
    expect(existsSync(join(dep.runDir, 'nodes', 'pool-1', 'trace.jsonl'))).toBe(true);
    expect((await rt.list()).find((r) => r.runId === runId)).toMatchObject({ runtime: 'docker', nodes: 3, running: 3, profile: 'docker-e2e' });
    // Prometheus targets from the resolver: every node's admin address, labelled
    const targets = await dep.targets();
    expect(targets.map((t) => t.labels.node).sort()).toEqual(['pool-1', 'pool-2', 'pool-3']);
    expect(targets[0]!.labels).toMatchObject({ run: runId, role: 'pool', release: 'praos-1.0', runtime: 'docker' });
    expect(await fetch(`http://${targets[0]!.address}/metrics`).then((r) => r.text())).toMatch(/leios_slot/);
  }, 90_000);

  it('kill (SIGKILL) then start: the node comes back on its volume and catches up', async () => {
    const h = dep.node('pool-3');
    const before = await blockNo(h);
    await h.kill();
    expect(await h.running()).toBe(false);
    const others = [dep.node('pool-1'), dep.node('pool-2')];
    const othersAt = Math.max(...(await Promise.all(others.map(blockNo))));
    await waitFor('the others go on without pool-3', 30_000, () => blockNo(others[0]!), (b) => b > othersAt);
    await h.start();
    expect(await h.running()).toBe(true);
    // the chain DB survived the kill (recovered on open, before any peer could resend it)
    const started = (await h.logs()).split('\n').filter((l) => l.includes('"node started"'));
    expect(started).toHaveLength(2);
    expect((JSON.parse(started[1]!) as { tip: number }).tip).toBeGreaterThanOrEqual(before - 1); // kill -9 may lose the block being written
    const target = Math.max(...(await Promise.all(others.map(blockNo))));
    await waitFor('pool-3 catches up', 60_000, () => blockNo(h), (b) => b >= target);
  }, 120_000);

  it('pause/resume and partition/heal through the engine', async () => {
    const h = dep.node('pool-1');
    await h.pause();
    expect((await connectDocker().getContainer(containerName(runId, 'pool-1')).inspect()).State.Paused).toBe(true);
    await h.resume();
    await waitFor('pool-1 answers after resume', 20_000, () => blockNo(h), () => true);

    expect(canPartition(h)).toBe(true);
    if (!canPartition(h)) return;
    await h.partition(true);
    const nets = (await connectDocker().getContainer(containerName(runId, 'pool-1')).inspect()).NetworkSettings.Networks;
    expect(Object.keys(nets)).not.toContain(networkName(runId));
    await h.partition(false);
    const peerTip = await blockNo(dep.node('pool-2'));
    await waitFor('pool-1 rejoins after the partition heals', 60_000, () => blockNo(h), (b) => b >= peerTip);
  }, 120_000);

  it('restartWith(leios-2.0): new image, same volume and chain, and the node rejoins', async () => {
    const docker = connectDocker();
    const h = dep.node('pool-2');
    const name = containerName(runId, 'pool-2');
    const oldId = (await docker.getContainer(name).inspect()).Id;
    // a marker in the chain DB volume proves it is the same volume afterwards
    const ex = await docker.getContainer(name).exec({ Cmd: ['node', '-e', `require('fs').writeFileSync('/data/marker', '${runId}')`] });
    await ex.start({});
    await waitFor('marker written', 10_000, async () => (await ex.inspect()).ExitCode, (c) => c === 0);
    const before = await blockNo(h);

    await h.restartWith('leios-2.0');

    const info = await docker.getContainer(name).inspect();
    expect(info.Id).not.toBe(oldId);
    expect(info.Config.Image).toBe('leiosnet/node:leios-2.0');
    expect(info.Config.Labels[LABEL.release]).toBe('leios-2.0');
    expect(info.Config.Env).toContain('LEIOSNET_RELEASE=leios-2.0');
    expect(info.Mounts.find((m) => m.Destination === '/data')?.Name).toBe(volumeName(runId, 'pool-2'));
    // configs are immutable: the swap wrote a new generation, the first one is as it was
    const rd = new RunDir(dep.runDir);
    const files = rd.nodeConfigFiles('pool-2');
    expect(files.map((f) => f.split('/').at(-1))).toEqual(['config.json', 'config-2.json']);
    expect(rd.readNodeConfig(files[0]!).release.version).toBe('1.0.0');
    expect(rd.currentNodeConfig('pool-2')!.config.release.version).toBe('2.0.0');
    expect(info.Mounts.find((m) => m.Destination === '/config/config.json')?.Source).toBe(files[1]);
    const marker = await docker.getContainer(name).exec({ Cmd: ['node', '-e', "process.stdout.write(require('fs').readFileSync('/data/marker','utf8'))"], AttachStdout: true });
    const stream = await marker.start({});
    const out = await new Promise<string>((res) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => res(Buffer.concat(chunks).toString('utf8')));
    });
    expect(out).toContain(runId);
    // the chain came along: the new release opened the DB at (at least) the old tip
    const started = (await h.logs())
      .split('\n')
      .filter((l) => l.includes('"node started"'))
      .map((l) => JSON.parse(l) as { tip: number });
    expect(started.length).toBeGreaterThanOrEqual(2); // praos-1.0, then leios-2.0, same node.log
    expect(started.at(-1)!.tip).toBeGreaterThanOrEqual(before);
    const target = Math.max(await blockNo(dep.node('pool-1')), await blockNo(dep.node('pool-3')));
    await waitFor('pool-2 on leios-2.0 rejoins', 60_000, () => blockNo(h), (b) => b >= target);
  }, 180_000);

  it('runs the tx-generator as a container on the run network; the nodes accept its transactions', async () => {
    const dir = join(dep.runDir, 'generator');
    mkdirSync(dir, { recursive: true });
    // a runtime-neutral template (targets by node name); the runtime renders addresses and paths
    const template = { name: 'txgen-1', targets: dep.nodes().map((h) => h.name), tps: 5, utxoCount: 40, fanoutOutputs: 20, drainS: 2 };
    await dep.startGenerator({ name: 'generator', dir, template });
    const cfg = new RunDir(dep.runDir).readGeneratorConfig(join(dir, 'config.json'));
    expect(cfg.targets).toEqual(dep.nodes().map((h) => ({ name: h.name, host: containerName(runId, h.name), port: 3001 })));
    expect(cfg.metrics).toEqual({ host: '0.0.0.0', port: 12799 });
    const accepted = async () => {
      let sum = 0;
      for (const h of dep.nodes()) {
        const text = await fetch(`${h.endpoints().adminUrl}/metrics`).then((r) => r.text());
        for (const m of text.matchAll(/^leios_tx_accepted_total(?:\{[^}]*\})? (\d+)/gm)) sum += Number(m[1]);
      }
      return sum;
    };
    await waitFor('nodes accept generator txs', 90_000, accepted, (n) => n > 0);
    const url = await (dep as unknown as { generatorUrl(): Promise<string | undefined> }).generatorUrl();
    expect(url).toBeDefined();
    expect(await fetch(`${url}/metrics`).then((r) => r.text())).toMatch(/leios_txgen_submitted_total/);
    await dep.stopGenerator();
    expect(existsSync(join(dir, 'summary.json'))).toBe(true);
    expect(readFileSync(join(dir, 'generator.log'), 'utf8')).toMatch(/summary written/);
  }, 150_000);

  it('down after the orchestrator was SIGKILLed leaves no labelled container, network or volume', async () => {
    const id = `${runId}-orphan`;
    const runDir = mkdtempSync(join(tmpdir(), 'leiosnet-docker-orphan-'));
    dirs.push(runDir);
    // a separate orchestrator process brings a run up, then is killed with no chance to clean up
    const child = spawn(
      NODE22,
      [
        '--input-type=module',
        '-e',
        `
        import { profileFromObject } from ${JSON.stringify(join(REPO, 'orchestrator/profile/load.ts'))};
        import { resolvePlan } from ${JSON.stringify(join(REPO, 'orchestrator/profile/resolve.ts'))};
        import { writeRunFiles } from ${JSON.stringify(join(REPO, 'orchestrator/genesis/index.ts'))};
        import { DockerRuntime } from ${JSON.stringify(join(REPO, 'orchestrator/runtime/docker.ts'))};
        const plan = resolvePlan(profileFromObject(${JSON.stringify({ ...PROFILE, composition: { pools: 2, topology: { kind: 'full-mesh' } } })}));
        const rt = new DockerRuntime();
        const specs = writeRunFiles(plan, ${JSON.stringify(runDir)}, { now: new Date() });
        await rt.up(${JSON.stringify(id)}, ${JSON.stringify(runDir)}, specs);
        console.log('UP');
        setInterval(() => {}, 1000);
        `,
      ],
      { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (c: Buffer) => c.toString().includes('UP') && res());
      child.on('exit', (code) => rej(new Error(`orchestrator child exited (${code}) before up:\n${stderr}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    expect(await labelled(id)).toEqual({ containers: 2, networks: 1, volumes: 2 });
    // a fresh runtime (another orchestrator) finds the run from labels alone, then removes it
    const fresh = new DockerRuntime();
    const found = (await fresh.list()).find((r) => r.runId === id);
    expect(found).toMatchObject({ nodes: 2, running: 2, runDir });
    const attached = await fresh.attach(id);
    expect(attached?.nodes().map((n) => n.name).sort()).toEqual(['pool-1', 'pool-2']);
    await fresh.down(id);
    expect(await labelled(id)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    await fresh.down(id); // idempotent
    expect((await fresh.list()).find((r) => r.runId === id)).toBeUndefined();
  }, 180_000);

  it('leiosnet up SIGKILLed midway: ls finds the run by label and `leiosnet down <id>` leaves nothing', async () => {
    const work = mkdtempSync(join(tmpdir(), 'leiosnet-docker-cli-'));
    dirs.push(work);
    const profileFile = join(work, 'orphan.yaml');
    writeFileSync(profileFile, JSON.stringify({ ...PROFILE, name: 'docker-orphan' })); // JSON is YAML
    const out = join(work, 'run');
    const env = { ...process.env, LEIOSNET_HOME: join(work, 'home') };
    const cli = (...args: string[]) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
        const c = spawn(NODE22, [join(REPO, 'bin/leiosnet.js'), ...args], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.on('exit', (code) => res({ code, stdout, stderr }));
      });
    const child = spawn(NODE22, [join(REPO, 'bin/leiosnet.js'), 'up', profileFile, '--runtime', 'docker', '--out', out], {
      cwd: work,
      env,
      stdio: 'ignore',
    });
    const exited = new Promise((r) => child.once('exit', r));
    // kill the orchestrator as soon as its first container exists: no chance to clean up
    const docker = connectDocker();
    await waitFor('a container of the CLI run', 120_000, () => docker.listContainers({ all: true, filters: { label: [`${LABEL.runDir}=${out}`] } }), (cs) => cs.length > 0);
    child.kill('SIGKILL');
    await exited;

    const ls = await cli('ls', '--runtime', 'docker', '--json');
    expect(ls.code).toBe(0);
    const run = (JSON.parse(ls.stdout) as { live: { runId: string; runDir?: string; runtime: string }[] }).live.find((r) => r.runDir === out);
    expect(run?.runtime).toBe('docker');
    const id = run!.runId;
    expect((await labelled(id)).containers).toBeGreaterThan(0);
    const down = await cli('down', id);
    expect(down.code, down.stderr).toBe(0);
    expect(await labelled(id)).toEqual({ containers: 0, networks: 0, volumes: 0 });
    expect((await cli('down', id)).code).toBe(0); // idempotent
  }, 180_000);
});
