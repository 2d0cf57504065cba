/**
 * tx-generator figures: signed tx/s on one core (build + sign, as the generator does per tx),
 * and the open-loop rate error and per-second CoV at 100 and 1000 TPS against a running node
 * (a 1-node Praos testnet built with test/support/testnet.ts, real child process).
 * Run: `npx node bench/txgen.bench.ts`. Shared 2-core machine: expect noise.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildTx, makeSigner, decodeTx } from '../node/ledger/index.ts';
import { toHex } from '../node/crypto/hash.ts';
import { buildTestnet, getJson, startNode, waitFor } from '../test/support/testnet.ts';
import { runGenerator, type GeneratorSummary } from '../tx-generator/index.ts';

const BASE_PORT = 4740;
const pp = { minFeeA: 1, minFeeB: 100, maxTxSize: 16384 };

function signing(label: string, inputs: number, outputs: number, size: number, n: number): void {
  const signer = makeSigner(new Uint8Array(32).fill(3));
  const ins = Array.from({ length: inputs }, (_, i) => ({ txId: new Uint8Array(32).fill(i + 1), index: 0, amount: 10_000_000 }));
  const outs = Array.from({ length: outputs - 1 }, () => ({ address: signer.address, amount: 1000 }));
  const one = (i: number) =>
    buildTx({ inputs: ins.map((x) => ({ ...x, index: i })), outputs: outs, changeAddress: signer.address, padToBytes: size, protocolParams: pp, signers: [signer] });
  const sz = one(0).size;
  for (let i = 0; i < 2000; i++) one(i); // warm-up
  const t = performance.now();
  for (let i = 0; i < n; i++) one(i);
  const ms = performance.now() - t;
  console.log(`  ${label.padEnd(36)} ${String(sz).padStart(6)} B  ${((n / ms) * 1000).toFixed(0).padStart(8)} tx/s  ${((ms / n) * 1000).toFixed(1).padStart(7)} µs/tx`);
}

function decoding(n: number): void {
  const signer = makeSigner(new Uint8Array(32).fill(3));
  const tx = buildTx({ inputs: [{ txId: new Uint8Array(32), index: 0, amount: 10_000_000 }], outputs: [], changeAddress: signer.address, padToBytes: 300, protocolParams: pp, signers: [signer] });
  const t = performance.now();
  for (let i = 0; i < n; i++) decodeTx(tx.bytes);
  const ms = performance.now() - t;
  console.log(`  ${'decode (chain following)'.padEnd(36)} ${String(tx.size).padStart(6)} B  ${((n / ms) * 1000).toFixed(0).padStart(8)} tx/s`);
}

async function main(): Promise<void> {
  console.log('tx-generator: signed txs on one core');
  signing('1 in, 2 out, padded to 300 B', 1, 2, 300, 20_000);
  signing('1 in, 2 out, padded to 1500 B', 1, 2, 1500, 20_000);
  signing('4 in, 4 out, natural size', 4, 4, 0, 10_000);
  decoding(50_000);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'txgen-bench-'));
  const net = buildTestnet({ dir, pools: 1, basePort: BASE_PORT, startInS: 2 });
  const keyFile = path.join(dir, 'payment.skey');
  fs.writeFileSync(keyFile, JSON.stringify({ type: 'PaymentSigningKey', hex: toHex(net.payment) }));
  const node = startNode(net.configs[0]);
  try {
    await waitFor('node up', () => getJson(`http://127.0.0.10:${BASE_PORT + 1}/health`), 20_000);
    console.log('\nopen-loop rate against a 1-node Praos testnet (300 B txs, 10 s, no ramp-up)');
    console.log('   target   achieved   rate err   per-s CoV   included   rejected   backlog   p50 incl   p95 incl   fan-out');
    for (const tps of [100, 1000]) {
      const s: GeneratorSummary = await runGenerator({
        genesisFile: path.join(dir, 'genesis.json'),
        paymentSkeyFile: keyFile,
        targets: [{ name: 'pool-1', host: '127.0.0.10', port: BASE_PORT }],
        tps,
        durationS: 10,
        txSizeBytes: 300,
        fanoutOutputs: 300,
        confirmations: 1,
        drainS: 0,
        outDir: path.join(dir, `generator-${tps}`),
      });
      const f = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));
      console.log(
        `  ${String(tps).padStart(6)}  ${f(s.effectiveTps, 1).padStart(9)}  ${(f(s.rateErrorPct, 3) + ' %').padStart(9)}  ${f(s.rateCoV, 4).padStart(10)}  ${String(s.included).padStart(9)}  ${String(s.rejected).padStart(9)}  ${String(s.backlog).padStart(8)}  ${(f(s.latency.inclusionP50S) + ' s').padStart(9)}  ${(f(s.latency.inclusionP95S) + ' s').padStart(9)}  ${s.fanout.txs} txs / ${f(s.fanout.durationS, 1)} s`,
      );
      console.log(`          per-second: ${s.rateSeries.join(' ')}`);
    }
  } finally {
    node.kill('SIGTERM');
    await new Promise((r) => node.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
