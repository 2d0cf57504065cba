// Ledger / tx / mempool throughput on one core: `npx node bench/ledger.bench.ts [txs]`.
// Workload: 1-input / 2-output txs padded to 1500 B with real Ed25519 signatures, each
// spending its own genesis output.
import { hash256, toHex } from '../node/crypto/hash.ts';
import type { ProtocolParams } from '../node/genesis/schema.ts';
import { buildTx, clearSignatureCache, decodeTx, Ledger, makeSigner, type Tx, type UndoRecord } from '../node/ledger/index.ts';
import { Mempool } from '../node/mempool/index.ts';

const N = Number(process.argv[2] ?? 4000);
const KEYS = 50;
const pp: ProtocolParams = { minFeeA: 44, minFeeB: 155_381, maxTxSize: 16_384, maxBlockBodySize: 90_112, maxHeaderSize: 1100 };
const signers = Array.from({ length: KEYS }, (_, i) => makeSigner(hash256(new Uint8Array([i, 1]))));
const genesisTxId = toHex(hash256(new Uint8Array([0xbe])));
const AMOUNT = 1_000_000_000;

function genesis(): Ledger {
  return Ledger.fromGenesis({
    protocolParams: pp,
    initialUtxo: Array.from({ length: N }, (_, i) => ({
      txId: genesisTxId,
      index: i,
      address: toHex(signers[i % KEYS].address),
      amount: AMOUNT,
    })),
  });
}

function rate(label: string, n: number, ms: number): void {
  console.log(`${label.padEnd(44)} ${Math.round((n / ms) * 1000).toString().padStart(8)} /s   (${((ms * 1000) / n).toFixed(1)} µs each)`);
}

function time<T>(f: () => T): [T, number] {
  const t = performance.now();
  const r = f();
  return [r, performance.now() - t];
}

const gid = Uint8Array.from(Buffer.from(genesisTxId, 'hex'));
const build = (i: number): Tx =>
  buildTx({
    inputs: [{ txId: gid, index: i, amount: AMOUNT }],
    outputs: [{ address: signers[(i + 1) % KEYS].address, amount: 2_000_000 }],
    changeAddress: signers[i % KEYS].address,
    signers: [signers[i % KEYS]],
    padToBytes: 1500,
    protocolParams: pp,
  });

console.log(`ledger bench: ${N} txs, 1-in/2-out, 1500 B, Ed25519 witnesses; node ${process.version}`);
for (let i = 0; i < 200; i++) build(i); // warm-up
const [txs, tBuild] = time(() => Array.from({ length: N }, (_, i) => build(i)));
if (txs.some((t) => t.size !== 1500)) throw new Error('size');
rate('build + sign (buildTx, prepared signer)', N, tBuild);

const bytes = txs.map((t) => t.bytes);
const [decoded, tDecode] = time(() => bytes.map((b) => decodeTx(b)));
rate('decodeTx (strict, incl. Blake2b-256 id)', N, tDecode);

// full validation, one tx at a time (as txs arrive), decoded txs
{
  clearSignatureCache();
  const l = genesis();
  const [, t] = time(() => {
    for (const tx of decoded) {
      const r = l.applyTx(tx, 'validate');
      if (!r.ok) throw new Error(r.reason);
    }
  });
  rate('applyTx validate (sigs, fee, value, UTxO)', N, t);
}
{
  clearSignatureCache();
  const l = genesis();
  const [, t] = time(() => {
    for (const b of bytes) {
      const r = l.applyTx(decodeTx(b), 'validate');
      if (!r.ok) throw new Error(r.reason);
    }
  });
  rate('decode + applyTx validate', N, t);
}

// block bodies: validate / reapply / trusted, and undo
const perBody = 60; // 60 × 1503 B ≈ one 90 kB RB body
const bodies: Tx[][] = [];
for (let i = 0; i < decoded.length; i += perBody) bodies.push(decoded.slice(i, i + perBody));
for (const level of ['validate', 'reapply', 'trusted'] as const) {
  clearSignatureCache();
  const l = genesis();
  const undos: UndoRecord[] = [];
  const [, t] = time(() => {
    for (const b of bodies) {
      const r = l.applyBody(b, level);
      if (!r.ok) throw new Error(r.reason);
      undos.push(r.undo);
    }
  });
  rate(`applyBody ${level} (${perBody}-tx bodies)`, N, t);
  if (level === 'reapply') {
    const [, tu] = time(() => {
      for (let i = undos.length - 1; i >= 0; i--) l.undo(undos[i]);
    });
    rate('undo (per tx rolled back)', N, tu);
  }
}

// mempool admission from bytes, then selection and a tip change
{
  clearSignatureCache();
  const l = genesis();
  const mp = new Mempool(l, { capacityBytes: 24_180_224 });
  const [, t] = time(() => {
    for (const b of bytes) {
      const r = mp.add(b);
      if (!r.ok) throw new Error(r.reason);
    }
  });
  rate('mempool add (decode + full validation)', N, t);
  const [, ts] = time(() => {
    for (let i = 0; i < 100; i++) mp.takeForEb(512_000, 12_000_000);
  });
  console.log(`${'mempool takeForEb(512 kB, 12 MB)'.padEnd(44)} ${(ts / 100).toFixed(2).padStart(8)} ms   (${mp.count} txs held)`);
  const [, tb] = time(() => {
    for (let i = 0; i < 100; i++) mp.takeForBlock(90_112);
  });
  console.log(`${'mempool takeForBlock(90,112 B)'.padEnd(44)} ${(tb / 100).toFixed(3).padStart(8)} ms`);
  // peers' blocks carry txs we already admitted: 'validate' hits the signature cache
  const again = bytes.map((b) => decodeTx(b));
  const l2 = genesis();
  const [, tv] = time(() => {
    for (let i = 0; i < again.length; i += perBody) {
      const r = l2.applyBody(again.slice(i, i + perBody), 'validate');
      if (!r.ok) throw new Error(r.reason);
    }
  });
  rate('applyBody validate, txs seen in mempool', N, tv);
  let syncMs = 0;
  let synced = 0;
  const before = mp.count;
  for (let i = 0; i < 10; i++) {
    const r = l.applyBody(bodies[i], 'reapply');
    if (!r.ok) throw new Error(r.reason);
    const [s, ty] = time(() => mp.syncWithLedger());
    syncMs += ty;
    synced += s.included;
  }
  console.log(
    `${'mempool syncWithLedger after an RB'.padEnd(44)} ${(syncMs / 10).toFixed(2).padStart(8)} ms   (${before} txs held; ${synced} included over 10 RBs)`,
  );
  const [, tn] = time(() => {
    for (let i = 0; i < 1000; i++) mp.syncWithLedger();
  });
  console.log(`${'mempool syncWithLedger, nothing changed'.padEnd(44)} ${((tn / 1000) * 1000).toFixed(2).padStart(8)} µs`);
}
