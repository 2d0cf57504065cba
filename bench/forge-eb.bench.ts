// The forge path's EB work for a large mempool, piece by piece: selecting the EB's txs from the
// mempool, encoding the EB, storing its closure, and the funnel's bookkeeping. A forger does all of
// this between the slot's start and relaying its RB header, which must reach voters within L_hdr.
// Run: npx node bench/forge-eb.bench.ts [txs=5000]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { buildTx, makeSigner, Ledger, type Tx } from '../node/ledger/index.ts';
import { Mempool } from '../node/mempool/mempool.ts';
import { encodeEb } from '../node/leios/eb.ts';
import { recordChunks } from '../node/leios/eb-store.ts';
import { BlockStore } from '../node/storage/blockstore.ts';
import { toHex } from '../node/crypto/hash.ts';

const N = Number(process.argv[2] ?? 5000);
const seed = (i: number) => new Uint8Array(createHash('sha256').update(`s${i}`).digest());
const signer = makeSigner(seed(1));
const params = { minFeeA: 1, minFeeB: 100, maxTxSize: 16384, maxBlockBodySize: 90112, maxHeaderSize: 1100 };
const utxo: [string, { address: Uint8Array; amount: number }][] = Array.from({ length: N }, (_, i) => [`${toHex(seed(1000 + i))}#0`, { address: signer.address, amount: 10_000_000 }]);
const txs: Tx[] = utxo.map(([k, o]) =>
  buildTx({ inputs: [{ txId: Buffer.from(k.slice(0, 64), 'hex'), index: 0, amount: o.amount }], outputs: [{ address: signer.address, amount: 1000 }], changeAddress: signer.address, signers: [signer], padToBytes: 1500, protocolParams: params }),
);
const ledger = new Ledger(params as never, utxo as never);
const mempool = new Mempool(ledger, { capacityBytes: 64 << 20 });
const tAdd = performance.now();
for (const t of txs) {
  const r = mempool.addTx(t);
  if (!r.ok) throw new Error(`not admitted: ${r.reason}`);
}
console.log(`mempool: ${N} txs admitted in ${(performance.now() - tAdd).toFixed(0)} ms`);

const time = (label: string, fn: () => unknown, reps = 5): void => {
  fn();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) fn();
  console.log(`${label.padEnd(44)} ${((performance.now() - t0) / reps).toFixed(2).padStart(8)} ms`);
};
let sel: Tx[] = [];
const exclude = new Set(txs.slice(0, 59).map((t) => t.idHex));
time('takeForEb (12 MB, exclude 59)', () => (sel = mempool.takeForEb(512_000 - 64, 12_000_000, { exclude })));
time('takeForEb with a certified EB spent set', () => mempool.takeForEb(512_000 - 64, 12_000_000, { exclude, spent: new Set(txs.slice(60, 2060).flatMap((t) => t.body.inputs.map((i) => `${toHex(i.txId)}#${i.index}`))) }));
let enc = encodeEb({ slot: 1, producer: 'pool-1', txs: sel.map((t) => ({ id: t.id, size: t.size })) });
time(`encodeEb (${sel.length} refs)`, () => (enc = encodeEb({ slot: 1, producer: 'pool-1', txs: sel.map((t) => ({ id: t.id, size: t.size })) })));
time('recordChunks', () => recordChunks(enc.bytes, sel.map((t) => t.bytes)));
time('tx ids to hex (funnel ebSeen)', () => enc.eb.txs.map((r) => toHex(r.id)));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-forge-eb-'));
const store = await BlockStore.open(dir, { fsync: 'batch' });
let n = 0;
time(`BlockStore.append of the closure (${((enc.txBytes + enc.bytes.length) / 1e6).toFixed(1)} MB)`, () => {
  const h = new Uint8Array(32);
  h[0] = ++n;
  h[1] = n >> 8;
  void store.append({ hash: h, prevHash: null, slot: n, blockNo: 0, bytes: recordChunks(enc.bytes, sel.map((t) => t.bytes)) });
});
await store.close();
fs.rmSync(dir, { recursive: true, force: true });
time('syncWithLedger (ledger unchanged)', () => mempool.syncWithLedger());
console.log(`(${sel.length} txs selected, load ${os.loadavg()[0].toFixed(1)})`);
