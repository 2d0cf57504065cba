// npm run bench:node — node hot paths and a real 3-node line with 50 ms links.
// Prints: full tx validations/s per core, header validations/s, block diffusion latency.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildTestnet, getJson, startNode, waitFor } from '../test/support/testnet.ts';
import { buildTx, makeSigner, Ledger, decodeTx } from '../node/ledger/index.ts';
import { ed25519PublicKey, ed25519Signer } from '../node/crypto/ed25519.ts';
import { vrfKeygen } from '../node/crypto/vrf.ts';
import { checkLeadership, forgeBlock } from '../node/consensus/forge.ts';
import { initialNonceState } from '../node/consensus/nonce.ts';
import { validateHeader } from '../node/consensus/header-validation.ts';
import { stakeFromGenesis } from '../node/consensus/stake.ts';

function rate(label: string, n: number, ms: number, unit = '/s'): void {
  console.log(`${label.padEnd(44)} ${((n / ms) * 1000).toFixed(0).padStart(9)} ${unit}   (${(ms / n).toFixed(3)} ms each)`);
}

// --- tx validation ----------------------------------------------------------------------
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-bench-node-'));
const tn = buildTestnet({ dir, pools: 3, basePort: 4400, slotLengthS: 0.2, f: 0.3, startInS: 3, peers: (i) => (i === 0 ? [1] : i === 1 ? [0, 2] : [1]) });
{
  const signer = makeSigner(tn.payment);
  const N = 3000;
  const txs = [];
  let ledger = Ledger.fromGenesis(tn.genesis);
  const u = tn.genesis.initialUtxo[0];
  let input = { txId: Buffer.from(u.txId, 'hex') as Uint8Array, index: u.index, amount: u.amount };
  for (let i = 0; i < N; i++) {
    const tx = buildTx({ inputs: [input], outputs: [{ address: signer.address, amount: 1000 }], changeAddress: signer.address, signers: [signer], padToBytes: 1500, protocolParams: tn.genesis.protocolParams });
    txs.push(tx.bytes);
    input = { txId: tx.id, index: 1, amount: tx.body.outputs[1].amount };
  }
  const decoded = txs.map((b) => decodeTx(b));
  ledger = Ledger.fromGenesis(tn.genesis);
  let t = performance.now();
  for (const tx of decoded) if (!ledger.applyTx(tx, 'validate').ok) throw new Error('invalid');
  rate('full tx validation (1500 B, 1 core)', N, performance.now() - t, 'tx/s');
  ledger = Ledger.fromGenesis(tn.genesis);
  t = performance.now();
  for (const b of txs) if (!ledger.applyTx(decodeTx(b), 'validate').ok) throw new Error('invalid');
  rate('decode + full tx validation', N, performance.now() - t, 'tx/s');
}

// --- header validation -------------------------------------------------------------------
{
  const stake = stakeFromGenesis(tn.genesis);
  const seed = (n: string, k: string) => Buffer.from(JSON.parse(fs.readFileSync(path.join(dir, n, `${k}.skey`), 'utf8')).hex, 'hex');
  const keys = tn.names.map((n) => {
    const cold = seed(n, 'cold');
    const vrf = vrfKeygen(seed(n, 'vrf'));
    return { poolId: n, coldVkey: ed25519PublicKey(cold), sign: ed25519Signer(cold), vrfSk: vrf.sk, vrfVkey: vrf.pk, stake: stake.byId(n)!.stake };
  });
  const nonce = initialNonceState(Buffer.from(tn.genesis.initialNonce, 'hex'));
  const headers = [];
  for (let slot = 1; headers.length < 200; slot++) {
    for (const k of keys) {
      const lp = checkLeadership(slot, nonce, k, { epochLengthSlots: 1e9, f: 0.3, totalStake: stake.total });
      if (lp) headers.push(forgeBlock(lp, null, { txs: [], cert: null }, k, 1));
    }
  }
  const ctx = { stake, f: 0.3, epochLengthSlots: 1e9, maxHeaderSize: 2000, currentSlot: 1e9, futureToleranceSlots: 2, protocolVersionAt: () => 1 };
  const t = performance.now();
  for (const b of headers) validateHeader(b.header, b.headerBytes.length, null, nonce, ctx);
  rate('header validation (sig + VRF + leader check)', headers.length, performance.now() - t, 'hdr/s');
}

// --- block diffusion on a 3-node line with 50 ms links ----------------------------------------
{
  for (const c of tn.configs) {
    const cfg = JSON.parse(fs.readFileSync(c, 'utf8'));
    for (const p of cfg.peers) p.link = { latencyMs: 50, loss: 0, down: false };
    fs.writeFileSync(c, JSON.stringify(cfg, null, 2));
  }
  const procs = tn.configs.map(startNode);
  try {
    await waitFor('blocks', async () => ((await getJson<{ blockNo: number }>('http://127.0.0.12:4401/tip'))?.blockNo ?? 0) >= 40, 120_000);
    await new Promise((r) => setTimeout(r, 1000));
    const gen = new Map<string, { t: number; at: number }>();
    const delays: number[][] = [[], [], []];
    const traces = tn.names.map((n) => fs.readFileSync(path.join(dir, n, 'trace.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    traces.forEach((tr, i) => tr.forEach((e: any) => e.message.type === 'RBGenerated' && gen.set(e.message.id, { t: e.time_s, at: i })));
    traces.forEach((tr, i) =>
      tr.forEach((e: any) => {
        if (e.message.type !== 'RBAdopted') return;
        const g = gen.get(e.message.id);
        if (g && g.at !== i) delays[Math.abs(g.at - i)].push((e.time_s - g.t) * 1000);
      }),
    );
    const pct = (a: number[], p: number) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor((p / 100) * a.length))];
    for (const hops of [1, 2]) {
      const a = delays[hops];
      console.log(`RB diffusion, ${hops} hop${hops > 1 ? 's' : ' '} of 50 ms (forge → adopt)      p50 ${pct(a, 50).toFixed(0)} ms  p95 ${pct(a, 95).toFixed(0)} ms  (n=${a.length})`);
    }
  } finally {
    for (const p of procs) p.kill('SIGKILL');
  }
}
