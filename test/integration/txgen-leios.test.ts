// The tx-generator on a Leios-era testnet with small ranking blocks (so EBs carry most txs),
// running the conflict workload: twins of txs go to other nodes at the same time.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestnet, getJson, startNode, waitFor } from '../support/testnet.ts';
import { toHex } from '../../node/crypto/hash.ts';
import { runGenerator, type TxLine } from '../../tx-generator/index.ts';

const BASE_PORT = 4720;

describe('tx-generator on a Leios testnet (conflict workload)', () => {
  let dir: string;
  const procs: ChildProcess[] = [];
  let names: string[];
  let paymentFile: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'txgen-leios-'));
    const net = buildTestnet({
      dir,
      pools: 3,
      basePort: BASE_PORT,
      startInS: 2,
      eras: [{ era: 'leios', startEpoch: 0, protocolVersion: 2 }],
      leios: { lHdrSlots: 1, lVoteSlots: 2, lDiffSlots: 2 },
    });
    const gfile = path.join(dir, 'genesis.json');
    const g = JSON.parse(fs.readFileSync(gfile, 'utf8'));
    g.protocolParams.maxBlockBodySize = 4000; // ~10 txs per RB: the rest goes to EBs
    fs.writeFileSync(gfile, JSON.stringify(g, null, 2));
    names = net.names;
    paymentFile = path.join(dir, 'payment.skey');
    fs.writeFileSync(paymentFile, JSON.stringify({ type: 'PaymentSigningKey', hex: toHex(net.payment) }));
    for (const c of net.configs) procs.push(startNode(c));
    for (let i = 0; i < 3; i++) await waitFor(`node ${i + 1} up`, () => getJson(`http://127.0.0.${10 + i}:${BASE_PORT + 1}/health`), 20_000);
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode !== null ? undefined : new Promise((r) => p.once('exit', r)))));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('accounts for every tx, follows certified EBs, and never has two of a conflicting pair on chain', async () => {
    const outDir = path.join(dir, 'generator');
    const s = await runGenerator({
      genesisFile: path.join(dir, 'genesis.json'),
      paymentSkeyFile: paymentFile,
      targets: names.map((n, i) => ({ name: n, host: `127.0.0.${10 + i}`, port: BASE_PORT })),
      tps: 20,
      durationS: 10,
      txSizeBytes: 400,
      workload: { kind: 'conflict', conflictFraction: 0.2 },
      fanoutOutputs: 40,
      confirmations: 1,
      drainS: 10,
      outDir,
    });
    const { submitted, included, rejected, pending, rejectedByReason, chain, latency } = s;
    console.log(JSON.stringify({ submitted, included, rejected, pending, rejectedByReason, chain, latency }));
    expect(submitted).toBe(included + rejected + pending);
    expect(included).toBeGreaterThan(0);
    expect(chain.certifiedBlocks).toBeGreaterThan(0);
    // every certified EB's txs were fetched, or (a node that does not serve LeiosFetch to
    // generators) the summary says how many were not
    expect(chain.ebsResolved + chain.ebsUnresolved).toBeGreaterThan(0);
    if (chain.ebsUnresolved === 0) expect(included).toBeGreaterThan(submitted * 0.7);

    const lines = fs.readFileSync(path.join(outDir, 'txs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TxLine);
    const twins = lines.filter((l) => l.kind === 'twin');
    expect(twins.length).toBe(Math.floor(submitted * 0.2 + 1e-9));
    // at most one tx per input on chain; the loser of a pair is rejected (by a node or by the chain)
    const onChain = new Map<string, string>();
    for (const l of lines.filter((x) => x.state === 'included')) for (const k of l.inputs) {
      expect(onChain.has(k)).toBe(false);
      onChain.set(k, l.id);
    }
    const lost = (rejectedByReason['conflict'] ?? 0) + (rejectedByReason['conflict-lost'] ?? 0) + (rejectedByReason['double-spend'] ?? 0);
    expect(lost).toBeGreaterThan(0);
    for (const l of lines) if (l.state === 'rejected' && l.verdict === 'conflict-lost') expect(onChain.has(l.inputs[0])).toBe(true);
  });
});
