/**
 * The node's event loop under Leios work: RB header relay delay while an EB is validated
 * (before/after the worker pool) and CertRB vs tx RB forge delay. Run:
 * `npx node bench/leios-relay.bench.ts` (also part of `npm run bench:leios`).
 */
import { blsKeygen, blsPop, blsSign, voteMessage } from '../node/crypto/bls.ts';
import { selectCommittee } from '../node/leios/committee.ts';
import { buildCertificate } from '../node/leios/certificate.ts';
import { toHex } from '../node/crypto/hash.ts';

function time<T>(fn: () => T): { ms: number; value: T } {
  const t = performance.now();
  const value = fn();
  return { ms: performance.now() - t, value };
}
const seed = (i: number, tag = 0) => {
  const s = new Uint8Array(32);
  new DataView(s.buffer).setUint32(0, i);
  s[31] = tag;
  return s;
};
const keys = Array.from({ length: 100 }, (_, i) => blsKeygen(seed(i)));

// ---- RB header relay while a node validates a 2,000 × 1,500 B EB: before/after the worker pool ----
// A header relay is an event-loop callback; what delays it is whatever runs on the loop at the
// time. We probe the loop every millisecond (a setTimeout chain) while the EB is validated and
// report how late the probes ran: the delay an RB header arriving at that moment would see.
{
  const os = await import('node:os');
  const fs = await import('node:fs');
  const path = await import('node:path');
  const pino = (await import('pino')).default;
  const { buildTx, makeSigner, Ledger, tryDecodeTx, verifyWitnessSignatures, clearSignatureCache } = await import('../node/ledger/index.ts');
  const { Mempool } = await import('../node/mempool/index.ts');
  const { createNodeMetrics } = await import('../node/obs/metrics.ts');
  const { TraceWriter } = await import('../node/obs/trace.ts');
  const { LeiosEngine } = await import('../node/leios/engine.ts');
  const { WorkerPool } = await import('../node/work/pool.ts');
  const { encodeEb } = await import('../node/leios/eb.ts');
  const { ed25519PublicKey } = await import('../node/crypto/ed25519.ts');
  const { hash224 } = await import('../node/crypto/hash.ts');
  const pay = seed(77);
  const signer = makeSigner(pay);
  const params = { minFeeA: 1, minFeeB: 100, maxTxSize: 16384, maxBlockBodySize: 90112, maxHeaderSize: 1100 };
  const N = 2000;
  const addr = toHex(hash224(ed25519PublicKey(pay)));
  const utxo = Array.from({ length: N }, (_, i) => ({ txId: toHex(seed(5000 + i)), index: 0, address: addr, amount: 10_000_000 }));
  const txs = utxo.map((u) =>
    buildTx({ inputs: [{ txId: Buffer.from(u.txId, 'hex'), index: 0, amount: u.amount }], outputs: [{ address: signer.address, amount: 1000 }], changeAddress: signer.address, signers: [signer], padToBytes: 1500, protocolParams: params }),
  );
  const ledgerOf = () => new Ledger(params as any, utxo.map((u) => [`${u.txId}#0`, { address: Buffer.from(u.address, 'hex'), amount: u.amount }] as [string, any]));

  /** Run `work` while probing the event loop; resolves with the probes' lateness (ms). */
  async function probed(work: () => Promise<void>): Promise<{ ms: number; max: number; p99: number; n: number }> {
    const late: number[] = [];
    let on = true;
    const probe = () => {
      const at = performance.now();
      setTimeout(() => {
        late.push(performance.now() - at - 1);
        if (on) probe();
      }, 1);
    };
    probe();
    const t0 = performance.now();
    await work();
    const ms = performance.now() - t0;
    on = false;
    await new Promise((r) => setTimeout(r, 5));
    late.sort((a, b) => a - b);
    return { ms, max: late[late.length - 1] ?? 0, p99: late[Math.floor(late.length * 0.99)] ?? 0, n: late.length };
  }

  // Before (the previous engine): signatures checked on the loop in slices of 64, then the
  // whole closure applied + undone on the ledger in one go at vote time.
  clearSignatureCache();
  const before = await probed(async () => {
    const decoded = [];
    for (let i = 0; i < txs.length; i += 64) {
      for (const t of txs.slice(i, i + 64)) {
        const r = tryDecodeTx(t.bytes);
        if (!r.ok) throw new Error('bad tx');
        verifyWitnessSignatures(r.tx);
        decoded.push(r.tx);
      }
      await new Promise((res) => setImmediate(res));
    }
    const ledger = ledgerOf();
    const r = ledger.applyBody(decoded, 'validate');
    if (!r.ok) throw new Error(r.reason);
    ledger.undo(r.undo);
  });

  // After: the engine of this node (decode in slices, witnesses in a worker thread, a sliced
  // read-only ledger check).
  clearSignatureCache();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leios-bench-'));
  const genesis = { pools: [], leios: { lHdrSlots: 1, lVoteSlots: 4, lDiffSlots: 7, ebMaxRefBytes: 512000, ebMaxTxBytes: 12_000_000, quorum: 0.75, committee: { kind: 'truncation', sigmaC: 0.99 } } } as any;
  const workers = new WorkerPool({ pools: [], committee: genesis.leios.committee }, { size: 1 });
  await workers.run({ kind: 'witnesses', packed: new Uint8Array(0) }); // the worker is up before the clock starts, as in a running node
  const ledger = ledgerOf();
  const engine = new LeiosEngine({
    name: 'bench', genesis, dbPath: dir, mempool: new Mempool(ledger, { capacityBytes: 64 << 20 }), metrics: createNodeMetrics('bench'),
    tracer: new TraceWriter({ node: 'bench', systemStartMs: Date.now() }), log: pino({ level: 'silent' }), workers,
    slotStartMs: (s) => Date.now() - 1000 + s, currentSlot: () => 1, nowMs: () => Date.now(),
  });
  await engine.open();
  const enc = encodeEb({ slot: 1, producer: 'pool-1', txs: txs.map((t) => ({ id: t.id, size: t.size })) });
  const after = await probed(
    () =>
      new Promise<void>((resolve, reject) => {
        engine.onChecked = (e) => {
          if (e.sigsOk === false) return reject(new Error('EB signatures refused'));
          if (e.extendsRb !== undefined) return e.extendsRb ? resolve() : reject(new Error('EB invalid'));
          engine.validateAgainst(e, ledger, () => engine.onChecked?.(e));
        };
        const missing = engine.receiveEb(enc.bytes, enc.hash, 1, 'peer');
        if (!Array.isArray(missing)) return reject(new Error(missing.error));
        void engine.receiveEbTxs(enc.hash, missing, missing.map((i) => txs[i].bytes));
      }),
  );
  await engine.close();
  await workers.close();
  fs.rmSync(dir, { recursive: true, force: true });
  console.log(`\nRB header relay delay while validating an EB of ${N} × 1500 B (event-loop probe every 1 ms)`);
  console.log(`  before (loop: 64-tx signature slices + one ledger apply): validation ${before.ms.toFixed(0)} ms, header delay max ${before.max.toFixed(1)} ms, p99 ${before.p99.toFixed(1)} ms (${before.n} probes)`);
  console.log(`  after  (worker signatures + sliced read-only check):      validation ${after.ms.toFixed(0)} ms, header delay max ${after.max.toFixed(1)} ms, p99 ${after.p99.toFixed(1)} ms (${after.n} probes)`);
}

// ---- CertRB forge delay vs a tx-carrying RB: the certificate is built when the quorum is in ----
{
  const { Mempool } = await import('../node/mempool/index.ts');
  const { buildTx, makeSigner, Ledger } = await import('../node/ledger/index.ts');
  const { VotePool } = await import('../node/leios/vote-pool.ts');
  const { WorkerPool } = await import('../node/work/pool.ts');
  const { encodeVote } = await import('../node/leios/eb.ts');
  const n = 100;
  const pools = keys.slice(0, n).map((k, i) => ({ id: `p${i}`, stake: 1000, blsVkey: toHex(k.pk), blsPop: toHex(blsPop(k.sk)) }));
  const committee = { kind: 'truncation' as const, sigmaC: 1 };
  const nonce = new Uint8Array(32).fill(3);
  const sel = selectCommittee(pools, committee, nonce);
  const ebHash = new Uint8Array(32).fill(9);
  const votes = pools.map((p, i) => ({ poolId: p.id, sig: blsSign(keys[i].sk, voteMessage(42, ebHash)) }));
  // Before: the forger aggregated and verified the votes when its slot came.
  const oldCert = time(() => buildCertificate(sel, votes, ebHash, 42, 0.75));
  // After: votes were verified on arrival; the certificate was aggregated when the quorum came in.
  const workers = new WorkerPool({ pools: pools as any, committee }, { size: 0 });
  const vp = new VotePool({ pool: workers, committee: () => sel, quorum: 0.75, electionNonce: () => nonce, onVerified: () => {}, onInvalid: () => {}, onCertificate: () => {} });
  const build = time(() => votes.forEach((v) => vp.addOwn({ electionId: 42, ebHash, poolId: v.poolId, sig: v.sig, eligibility: null }, encodeVote({ electionId: 42, ebHash, poolId: v.poolId, sig: v.sig, eligibility: null }))));
  const lookup = time(() => vp.certificate(ebHash, 42));
  // A tx RB: fill its body from a mempool of 1500 B txs.
  const pay = seed(55);
  const signer = makeSigner(pay);
  const params = { minFeeA: 1, minFeeB: 100, maxTxSize: 16384, maxBlockBodySize: 90112, maxHeaderSize: 1100 };
  const { hash224 } = await import('../node/crypto/hash.ts');
  const { ed25519PublicKey } = await import('../node/crypto/ed25519.ts');
  const addr = hash224(ed25519PublicKey(pay));
  const utxo = Array.from({ length: 600 }, (_, i) => [`${toHex(seed(9000 + i))}#0`, { address: addr, amount: 10_000_000 }] as [string, any]);
  const mp = new Mempool(new Ledger(params as any, utxo), { capacityBytes: 64 << 20 });
  for (const [k] of utxo) mp.addTx(buildTx({ inputs: [{ txId: Buffer.from(k.slice(0, 64), 'hex'), index: 0, amount: 10_000_000 }], outputs: [{ address: signer.address, amount: 1000 }], changeAddress: signer.address, signers: [signer], padToBytes: 1500, protocolParams: params }));
  const txRb = time(() => mp.takeForBlock(90112));
  console.log(`\nCertRB vs tx RB at forge time (committee of ${n}, all voted)`);
  console.log(`  before: certificate aggregated + verified in the forging slot  ${oldCert.ms.toFixed(1)} ms`);
  console.log(`  after:  certificate looked up in the forging slot               ${lookup.ms.toFixed(3)} ms (built when the quorum came in: ${build.ms.toFixed(1)} ms for ${n} votes, off the forging path)`);
  console.log(`  tx RB: body of ${txRb.value.length} txs taken from the mempool             ${txRb.ms.toFixed(1)} ms`);
  await workers.close();
}
