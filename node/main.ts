#!/usr/bin/env node
// The Leios node process: `node node/main.ts --config config.json`.
import fs from 'node:fs';
import { startCpuProfile } from './obs/cpu-profile.ts';
import path from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { loadNodeFiles, ConfigError } from './config/load.ts';
import { LeiosNode } from './node.ts';
import { Sync } from './sync.ts';
import { PeerManager } from './network/peers.ts';
import { TraceWriter } from './obs/trace.ts';
import { startAdmin } from './admin.ts';
import { LEIOS_PROTOCOLS } from './leios/diffusion.ts';
import { warmHeaderPath } from './boot/warm-up.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || !values.config) {
    process.stdout.write('usage: node node/main.ts --config <config.json>\n\nStarts a Leios node from a config file (schema: node/config/config.schema.json).\n');
    process.exit(values.help ? 0 : 2);
  }
  let files;
  try {
    files = loadNodeFiles(values.config);
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`leios-node: ${e.message}\n`);
      process.exit(2);
    }
    throw e;
  }
  const { config, genesis, keys } = files;
  const log = pino(
    { name: config.name, level: config.logLevel ?? 'info', base: { node: config.name } },
    config.logFile ? pino.destination({ dest: config.logFile, mkdir: true, sync: false }) : pino.destination(1),
  );
  const stopProfile = await startCpuProfile(config.name);
  const systemStartMs = Date.parse(genesis.systemStart);
  // Trace times use the true wall clock so traces of nodes with injected clock offsets stay comparable.
  const traceWriter = new TraceWriter({ file: config.traceFile, node: config.name, systemStartMs });
  const node: LeiosNode = new LeiosNode({
    config,
    configDir: path.dirname(values.config),
    genesis,
    keys,
    log,
    tracer: traceWriter,
  });
  await node.open();
  const pm = new PeerManager({
    name: config.name,
    networkMagic: genesis.networkMagic,
    versions: config.release.maxProtocolVersion >= 2 ? [1, 2] : [1],
    listen: config.listen,
    peers: config.peers,
    maxMessageBytes: { blockfetch: 4 << 20 },
    extraProtocols: LEIOS_PROTOCOLS,
    onBytes: (protocol, dir, n, peer) => node.metrics.countBytes(protocol, dir, n, peer),
    log: (level, msg, fields) => log[level](fields ?? {}, msg),
  });
  new Sync(node, pm);
  await pm.start();
  // Before /health says ready, so a testnet's first block meets warm validation code.
  const warmUpMs = warmHeaderPath();
  const admin = await startAdmin(node, pm);
  node.startClock();
  log.info({ listen: config.listen, admin: admin.url, pool: keys?.poolId ?? null, tip: node.chain.blockNo(), warmUpMs: Math.round(warmUpMs) }, 'node started');

  let closing = false;
  const shutdown = async (sig: string) => {
    if (closing) return;
    closing = true;
    log.info({ sig }, 'shutting down');
    node.clock.stop();
    await admin.close().catch(() => {});
    await pm.close().catch(() => {});
    await node.close().catch(() => {});
    await traceWriter.close().catch(() => {});
    await stopProfile?.().catch(() => {});
    log.flush();
    process.exit(0);
  };
  node.onShutdownRequest = () => void shutdown('admin');
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

main().catch((e) => {
  fs.writeSync(2, `leios-node: fatal: ${(e as Error).stack ?? e}\n`);
  process.exit(3);
});
