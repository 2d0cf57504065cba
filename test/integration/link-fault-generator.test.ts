// A `link` fault without `peer` shapes the node's node-to-node links only: the node's /peers also
// lists the tx-generator's connection (a client, not a peer of the protocol, and no node of the
// deployment), which stays as it was — and the fault neither fails on it nor leaves it shaped.
// Named as `peer`, the generator's link is shaped on the node's side (the only side there is).
// Two real nodes (LeiosNode + PeerManager + admin API) in this process, and a real client named
// like the generator's connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createHash } from 'node:crypto';
import { LeiosNode } from '../../node/node.ts';
import { startAdmin } from '../../node/admin.ts';
import { PeerManager } from '../../node/network/index.ts';
import { LEIOS_PROTOCOLS } from '../../node/leios/diffusion.ts';
import { TraceWriter } from '../../node/obs/trace.ts';
import { ed25519PublicKey } from '../../node/crypto/ed25519.ts';
import { vrfKeygen } from '../../node/crypto/vrf.ts';
import { blsKeygen, blsPop } from '../../node/crypto/bls.ts';
import { hash224, toHex } from '../../node/crypto/hash.ts';
import { applyFault } from '../../orchestrator/scenario/faults.ts';
import { getPeers } from '../../orchestrator/collect/admin.ts';
import type { Genesis } from '../../node/genesis/schema.ts';
import type { NodeConfig } from '../../node/config/schema.ts';
import type { Deployment, Endpoints, NodeHandle } from '../../orchestrator/runtime/runtime.ts';

const seed = (label: string) => new Uint8Array(createHash('sha256').update(label).digest());
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-linkfault-'));
const vrf = vrfKeygen(seed('pool/vrf'));
const bls = blsKeygen(seed('pool/bls'));
const genesis: Genesis = {
  networkMagic: 42,
  systemStart: new Date(Date.now() - 1000).toISOString(),
  slotLengthS: 1,
  epochLengthSlots: 100_000,
  activeSlotCoeff: 0.05,
  securityParam: 10,
  initialNonce: toHex(seed('nonce')),
  protocolParams: { minFeeA: 1, minFeeB: 100, maxTxSize: 16384, maxBlockBodySize: 90112, maxHeaderSize: 1100 },
  eras: [{ era: 'leios', startEpoch: 0, protocolVersion: 2 }],
  leios: { lHdrSlots: 1, lVoteSlots: 4, lDiffSlots: 7, ebMaxRefBytes: 512000, ebMaxTxBytes: 12000000, quorum: 0.75, committee: { kind: 'truncation', sigmaC: 0.99 } },
  updateThreshold: 0.75,
  pools: [{ id: 'pool-1', stake: 1000, coldVkey: toHex(ed25519PublicKey(seed('pool/cold'))), vrfVkey: toHex(vrf.pk), blsVkey: toHex(bls.pk), blsPop: toHex(blsPop(bls.sk)) }],
  initialUtxo: [{ txId: toHex(seed('utxo')), index: 0, address: toHex(hash224(ed25519PublicKey(seed('payment')))), amount: 1_000_000_000 }],
};

interface Running {
  name: string;
  node: LeiosNode;
  pm: PeerManager;
  admin: { url: string; close(): Promise<void> };
}
const running: Running[] = [];
let generator: PeerManager;

async function startNode(name: string, peers: { name: string; host: string; port: number }[]): Promise<Running> {
  const config = {
    name,
    genesisFile: 'genesis.json',
    release: { version: '2.0.0', maxProtocolVersion: 2 },
    listen: { host: '127.0.0.1', port: 0 },
    admin: { host: '127.0.0.1', port: 0, token: `tok-${name}` },
    peers,
    dbPath: path.join(dir, name, 'db'),
    clockOffsetMs: 0,
    workerThreads: 0,
  } as NodeConfig;
  const node = new LeiosNode({ config, configDir: dir, genesis, log: pino({ level: 'silent' }), tracer: new TraceWriter({ node: name, systemStartMs: Date.parse(genesis.systemStart) }) });
  await node.open();
  const pm = new PeerManager({ name, networkMagic: genesis.networkMagic, versions: [1, 2], listen: config.listen, peers, extraProtocols: LEIOS_PROTOCOLS, backoff: { minMs: 30, maxMs: 200 } });
  await pm.start();
  const admin = await startAdmin(node, pm);
  const r = { name, node, pm, admin };
  running.push(r);
  return r;
}

const endpoints = (r: Running): Endpoints => ({ adminUrl: r.admin.url, adminToken: `tok-${r.name}`, n2n: r.pm.address()! });

/** The deployment the scenario engine sees: its nodes, by name, with their admin endpoints. */
function deployment(): Deployment {
  const handles = running.map((r) => ({ name: r.name, endpoints: () => endpoints(r) }) as unknown as NodeHandle);
  return {
    runId: 'link-fault-test',
    runDir: dir,
    nodes: () => handles,
    node: (n: string) => {
      const h = handles.find((x) => x.name === n);
      if (!h) throw new Error(`no node ${n}`);
      return h;
    },
  } as unknown as Deployment;
}

async function until(cond: () => boolean | Promise<boolean>, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const linkOf = async (r: Running, peer: string) => (await getPeers(endpoints(r))).find((p) => p.name === peer)?.link;

beforeAll(async () => {
  const b = await startNode('pool-b', []);
  const a = await startNode('pool-a', [{ name: 'pool-b', ...b.pm.address()! }]);
  // the generator's connection: a client that says its name in the handshake, like tx-generator's
  generator = new PeerManager({ name: 'txgen-generator', networkMagic: genesis.networkMagic, versions: [1, 2], peers: [{ name: 'pool-a', ...a.pm.address()! }], extraProtocols: LEIOS_PROTOCOLS });
  await generator.start();
  await until(async () => (await getPeers(endpoints(a))).filter((p) => p.connected).length >= 2);
}, 30_000);

afterAll(async () => {
  await generator?.close();
  for (const r of running.splice(0)) {
    await r.admin.close();
    await r.pm.close();
    await r.node.close();
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('link fault and the generator’s connection', () => {
  it('without peer: both directions of every node-to-node link shaped, the generator’s link left alone, undo restores', async () => {
    const [b, a] = running as [Running, Running];
    expect((await getPeers(endpoints(a))).map((p) => p.name).sort()).toEqual(['pool-b', 'txgen-generator']);
    const undo = await applyFault(deployment(), { kind: 'link', node: 'pool-a', latencyMs: 150 });
    expect((await linkOf(a, 'pool-b'))?.latencyMs).toBe(150);
    expect((await linkOf(b, 'pool-a'))?.latencyMs).toBe(150);
    expect((await linkOf(a, 'txgen-generator'))?.latencyMs).toBe(0);
    await undo();
    expect((await linkOf(a, 'pool-b'))?.latencyMs).toBe(0);
    expect((await linkOf(b, 'pool-a'))?.latencyMs).toBe(0);
  });

  it('peer named: the generator’s link is shaped on the node’s side, and undone', async () => {
    const a = running[1]!;
    const undo = await applyFault(deployment(), { kind: 'link', node: 'pool-a', peer: 'txgen-generator', latencyMs: 80 });
    expect((await linkOf(a, 'txgen-generator'))?.latencyMs).toBe(80);
    expect((await linkOf(a, 'pool-b'))?.latencyMs).toBe(0);
    await undo();
    expect((await linkOf(a, 'txgen-generator'))?.latencyMs).toBe(0);
  });
});
