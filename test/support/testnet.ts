// Builds a small testnet directory (genesis, keys, node configs) for node integration tests,
// without the orchestrator, and runs nodes as real child processes.
import fs from 'node:fs';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { ed25519PublicKey } from '../../node/crypto/ed25519.ts';
import { vrfKeygen } from '../../node/crypto/vrf.ts';
import { blsKeygen, blsPop } from '../../node/crypto/bls.ts';
import { hash224, toHex } from '../../node/crypto/hash.ts';
import type { Genesis } from '../../node/genesis/schema.ts';
import type { NodeConfig } from '../../node/config/schema.ts';

export const NODE22 = path.resolve('node_modules/node/bin/node');

function seed(label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(label).digest());
}

export interface TestnetOptions {
  dir: string;
  pools: number;
  slotLengthS?: number;
  epochLengthSlots?: number;
  f?: number;
  k?: number;
  startInS?: number;
  basePort: number;
  /** peers of node i (indices); default: full mesh */
  peers?: (i: number) => number[];
  eras?: Genesis['eras'];
  releases?: (i: number) => { version: string; maxProtocolVersion: number };
  leios?: Partial<Genesis['leios']>;
  /** Nodes beyond the pools that run as relays (no stake, no keys). */
  relays?: number;
  /** Stake of pool i (default 1000 each). */
  stake?: (i: number) => number;
}

export function buildTestnet(o: TestnetOptions): { genesis: Genesis; configs: string[]; names: string[]; payment: Uint8Array } {
  fs.mkdirSync(o.dir, { recursive: true });
  const names = Array.from({ length: o.pools }, (_, i) => `pool-${i + 1}`);
  const payment = seed('payment');
  const payAddr = toHex(hash224(ed25519PublicKey(payment)));
  const genesis: Genesis = {
    networkMagic: 42,
    systemStart: new Date(Date.now() + (o.startInS ?? 2) * 1000).toISOString(),
    slotLengthS: o.slotLengthS ?? 0.2,
    epochLengthSlots: o.epochLengthSlots ?? 100,
    activeSlotCoeff: o.f ?? 0.2,
    securityParam: o.k ?? 20,
    initialNonce: toHex(seed('nonce')),
    protocolParams: { minFeeA: 1, minFeeB: 100, maxTxSize: 16384, maxBlockBodySize: 90112, maxHeaderSize: 1100 },
    eras: o.eras ?? [{ era: 'praos', startEpoch: 0, protocolVersion: 1 }],
    leios: { lHdrSlots: 1, lVoteSlots: 4, lDiffSlots: 7, ebMaxRefBytes: 512000, ebMaxTxBytes: 12000000, quorum: 0.75, committee: { kind: 'truncation', sigmaC: 0.99 }, ...o.leios },
    updateThreshold: 0.75,
    pools: names.map((n, i) => {
      const bls = blsKeygen(seed(`${n}/bls`));
      return {
        id: n,
        stake: o.stake ? o.stake(i) : 1000,
        coldVkey: toHex(ed25519PublicKey(seed(`${n}/cold`))),
        vrfVkey: toHex(vrfKeygen(seed(`${n}/vrf`)).pk),
        blsVkey: toHex(bls.pk),
        blsPop: toHex(blsPop(bls.sk)),
      };
    }),
    initialUtxo: Array.from({ length: 40 }, (_, i) => ({ txId: toHex(seed(`genesis-utxo`)), index: i, address: payAddr, amount: 1_000_000_000 })),
  };
  fs.writeFileSync(path.join(o.dir, 'genesis.json'), JSON.stringify(genesis, null, 2));
  const configs = names.map((n, i) => {
    const nd = path.join(o.dir, n);
    fs.mkdirSync(nd, { recursive: true });
    for (const [kind, type] of [['cold', 'ColdSigningKey'], ['vrf', 'VrfSigningKey'], ['bls', 'BlsSigningKey']] as const) {
      fs.writeFileSync(path.join(nd, `${kind}.skey`), JSON.stringify({ type, hex: toHex(seed(`${n}/${kind}`)) }));
    }
    const peerIdx = o.peers ? o.peers(i) : names.map((_, j) => j).filter((j) => j !== i);
    const cfg: NodeConfig = {
      name: n,
      genesisFile: '../genesis.json',
      release: o.releases ? o.releases(i) : { version: '1.0.0', maxProtocolVersion: 2 },
      listen: { host: `127.0.0.${10 + i}`, port: o.basePort },
      admin: { host: `127.0.0.${10 + i}`, port: o.basePort + 1, token: 'test-token-123' },
      pool: { id: n, coldSkeyFile: 'cold.skey', vrfSkeyFile: 'vrf.skey', blsSkeyFile: 'bls.skey' },
      peers: peerIdx.map((j) => ({ name: names[j], host: `127.0.0.${10 + j}`, port: o.basePort })),
      dbPath: 'db',
      traceFile: 'trace.jsonl',
      logFile: 'node.log',
      clockOffsetMs: 0,
    };
    const file = path.join(nd, 'config.json');
    fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
    return file;
  });
  return { genesis, configs, names, payment };
}

export function startNode(configFile: string): ChildProcess {
  const out = fs.openSync(path.join(path.dirname(configFile), 'stdout.log'), 'a');
  return spawn(NODE22, ['--import', './node/boot/ts-cache.js', 'node/main.ts', '--config', configFile], { stdio: ['ignore', out, out] });
}

export async function getJson<T = any>(url: string, headers: Record<string, string> = {}): Promise<T | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000), headers });
    return r.ok ? ((await r.json()) as T) : undefined;
  } catch {
    return undefined;
  }
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    const v = await fn();
    if (v) return v;
    last = v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

export type TraceEvent = { time_s: number; message: Record<string, any> };

/** A node's trace.jsonl, parsed (empty if not written yet). */
export function readTrace(nodeDir: string): TraceEvent[] {
  const f = path.join(nodeDir, 'trace.jsonl');
  if (!fs.existsSync(f)) return [];
  return fs
    .readFileSync(f, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}
