/**
 * Leios crypto figures: BLS sign/verify/aggregate, certificate sizes and costs, VRF and leader
 * checks. Run: `npx node bench/leios.bench.ts`. Plain console figures (shared 2-core machine:
 * expect noise; compare orders of magnitude, not digits).
 */
import {
  blsAggregateSignatures,
  blsKeygen,
  blsPop,
  blsSign,
  blsVerify,
  blsVerifyAggregateSameMessage,
  blsVerifyPop,
  blsVerifyPopsBatch,
  blsVerifyVotesBatch,
  voteMessage,
} from '../node/crypto/bls.ts';
import { vrfKeygen, vrfOutput, vrfProve, vrfVerify } from '../node/crypto/vrf.ts';
import { isLeader, leaderThreshold, vrfLeaderValue } from '../node/crypto/leader.ts';
import { selectCommittee, proveEligibility } from '../node/leios/committee.ts';
import { buildCertificate, encodeCertificate, verifyCertificate, type Vote } from '../node/leios/certificate.ts';
import { toHex } from '../node/crypto/hash.ts';

function time<T>(fn: () => T): { ms: number; value: T } {
  const t = performance.now();
  const value = fn();
  return { ms: performance.now() - t, value };
}

function perOp(label: string, n: number, fn: (i: number) => unknown): number {
  fn(0); // warm-up
  const t = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  const ms = (performance.now() - t) / n;
  console.log(`  ${label.padEnd(44)} ${ms.toFixed(3).padStart(9)} ms/op  ${(1000 / ms).toFixed(0).padStart(9)} op/s`);
  return ms;
}

const seed = (i: number, tag = 0) => {
  const s = new Uint8Array(32);
  new DataView(s.buffer).setUint32(0, i);
  s[31] = tag;
  return s;
};

console.log('BLS12-381 MinSig (noble), one core');
const keys = Array.from({ length: 500 }, (_, i) => blsKeygen(seed(i)));
const eb = new Uint8Array(32).fill(7);
const msg = voteMessage(1000, eb);
perOp('keygen (HKDF + G2 mul)', 20, (i) => blsKeygen(seed(i, 1)));
perOp('sign vote (hash-to-G1 cached after 1st)', 20, (i) => blsSign(keys[i].sk, msg));
perOp('sign, fresh message each time', 10, (i) => blsSign(keys[0].sk, voteMessage(5000 + i, eb)));
const sigs = keys.map((k) => blsSign(k.sk, msg));
perOp('verify one vote (1 pairing check)', 8, (i) => blsVerify(keys[i].pk, msg, sigs[i]));
const pop = blsPop(keys[0].sk);
perOp('verify one PoP', 5, () => blsVerifyPop(keys[0].pk, pop));

for (const n of [10, 50, 100, 500]) {
  // fresh signatures and keys (cold decode caches), then the same again (warm: votes checked on
  // arrival and the committee's keys decoded once per process)
  const ks = keys.slice(500 - n);
  const ss = sigs.slice(500 - n);
  const aggCold = time(() => blsAggregateSignatures(ss));
  const verCold = time(() => blsVerifyAggregateSameMessage(ks.map((k) => k.pk), msg, aggCold.value));
  const aggWarm = time(() => blsAggregateSignatures(ss));
  const verWarm = time(() => blsVerifyAggregateSameMessage(ks.map((k) => k.pk), msg, aggWarm.value));
  if (!verCold.value || !verWarm.value) throw new Error('aggregate did not verify');
  console.log(
    `  aggregate ${String(n).padStart(3)} sigs + verify (sum keys, 1 pairing): cold ${aggCold.ms.toFixed(0).padStart(4)} + ${verCold.ms.toFixed(0).padStart(4)} ms, warm ${aggWarm.ms.toFixed(1).padStart(5)} + ${verWarm.ms.toFixed(0).padStart(3)} ms`,
  );
}
{
  const items = keys.slice(0, 100).map((k, i) => ({ pk: k.pk, sig: sigs[i] }));
  // Plain sum (the previous formula, unsound: σ1+δ and σ2−δ cancel) vs the random linear
  // combination now used, both on decoded points (warm caches, as in a running node), median of 5.
  const noble = (await import('@noble/curves/bls12-381.js')).bls12_381;
  const Ps = items.map((it) => noble.G2.Point.fromBytes(it.pk));
  const Ss = items.map((it) => noble.G1.Point.fromBytes(it.sig));
  const H = noble.shortSignatures.hash(msg, 'BLS_DST_CARDANO_BASE_LEIOS_VOTE_V1');
  const median = (fn: () => unknown) => {
    fn();
    const xs = Array.from({ length: 5 }, () => time(fn).ms).sort((a, b) => a - b);
    return xs[2];
  };
  const plain = median(() => {
    const P = Ps.reduce((a, p) => a.add(p), noble.G2.Point.ZERO);
    const S = Ss.reduce((a, p) => a.add(p), noble.G1.Point.ZERO);
    if (!noble.shortSignatures.verify(S, H, P)) throw new Error('plain sum refused honest votes');
  });
  const rlc = median(() => {
    if (!blsVerifyVotesBatch(msg, items).every(Boolean)) throw new Error('RLC refused honest votes');
  });
  console.log(`  batch-check 100 valid votes: plain sum ${plain.toFixed(0)} ms, random linear combination ${rlc.toFixed(0)} ms (×${(rlc / plain).toFixed(2)})`);
  // What the vote pool's batching trades (node/leios/vote-pool.ts): a batch's fixed pairing
  // product against its per-vote part, warm caches.
  const sizes = [1, 4, 16, 52, 100].map((n) => {
    const ms = median(() => {
      if (!blsVerifyVotesBatch(msg, items.slice(0, n)).every(Boolean)) throw new Error('batch refused honest votes');
    });
    return `${n}: ${ms.toFixed(1)} ms (${(ms / n).toFixed(2)}/vote)`;
  });
  console.log(`  vote batch by size: ${sizes.join(', ')}`);
  items[37] = { pk: items[37].pk, sig: sigs[38] };
  const oneBad = time(() => blsVerifyVotesBatch(msg, items));
  console.log(`  batch-check 100 votes, one bad (RLC + bisection): ${oneBad.ms.toFixed(0)} ms`);
  const pops = keys.slice(0, 50).map((k) => ({ pk: k.pk, pop: blsPop(k.sk) }));
  const pb = time(() => blsVerifyPopsBatch(pops));
  console.log(`  batch-check 50 PoPs (genesis): ${pb.ms.toFixed(0)} ms (${(pb.ms / 50).toFixed(1)} ms/PoP)`);
}

console.log('\nCertificates (all committee members vote; sizes are CBOR bytes; keys and vote signatures');
console.log('already decoded, as in a running node: cold decode costs are in the aggregate lines above)');
for (const n of [10, 100, 500]) {
  const pools = keys.slice(0, n).map((k, i) => ({ id: `pool${i}`, stake: 1_000_000 + ((i * 7919) % 1000) * 1000, blsVkey: toHex(k.pk) }));
  const sel = selectCommittee(pools, { kind: 'truncation', sigmaC: 1 }, new Uint8Array(32));
  const votes: Vote[] = pools.map((p, i) => ({ poolId: p.id, sig: sigs[i] }));
  const b = time(() => buildCertificate(sel, votes, eb, 1000));
  const cert = b.value!;
  const bytes = encodeCertificate(cert);
  const v = time(() => verifyCertificate(cert, sel));
  if (!v.value.ok) throw new Error('certificate did not verify');
  const bt = time(() => buildCertificate(sel, votes, eb, 1000, 0.75, { votesVerified: true }));
  console.log(
    `  truncation n=${String(n).padStart(3)}: ${String(bytes.length).padStart(4)} B; build ${b.ms.toFixed(0).padStart(3)} ms (checking votes) / ${bt.ms.toFixed(0).padStart(3)} ms (pre-verified); verify ${v.ms.toFixed(0).padStart(3)} ms`,
  );
}
{
  // Fait Accompli: 500 pools, Zipf-like stakes, 100 seats
  const pools = keys.map((k, i) => ({ id: `pool${i}`, stake: Math.floor(1e12 / (i + 1)), blsVkey: toHex(k.pk) }));
  const sel = selectCommittee(pools, { kind: 'fait-accompli', seats: 100 }, new Uint8Array(32).fill(3));
  const votes: Vote[] = [];
  const te = time(() => {
    for (const [i, p] of pools.entries()) {
      const role = sel.byPoolId.get(p.id);
      if (role?.role === 'persistent') votes.push({ poolId: p.id, sig: sigs[i] });
      else if (role?.role === 'non-persistent') {
        const e = proveEligibility(sel, p.id, keys[i].sk, 1000);
        if (e) votes.push({ poolId: p.id, sig: sigs[i], eligibility: e.proof });
      }
    }
  });
  const b = time(() => buildCertificate(sel, votes, eb, 1000));
  const cert = b.value!;
  const v = time(() => verifyCertificate(cert, sel));
  if (!v.value.ok) throw new Error('FA certificate did not verify');
  console.log(
    `  fait-accompli 500 pools, 100 seats: ${sel.persistent.length} persistent, ${cert.nonPersistentVoters.length} non-persistent voters; ` +
      `${encodeCertificate(cert).length} B; one eligibility proof ${(te.ms / sel.nonPersistentCandidates.length).toFixed(1)} ms; build ${b.ms.toFixed(0)} ms; verify ${v.ms.toFixed(0)} ms`,
  );
}

console.log('\nECVRF-EDWARDS25519-SHA512-ELL2');
const vk = vrfKeygen(seed(1));
const alpha = (i: number) => new TextEncoder().encode(`slot-${i}`);
const proofs = Array.from({ length: 50 }, (_, i) => vrfProve(vk.sk, alpha(i)));
perOp('prove', 50, (i) => vrfProve(vk.sk, alpha(i)));
perOp('output alone (the leader check of every slot)', 200, (i) => vrfOutput(vk.sk, alpha(i)));
perOp('verify', 50, (i) => vrfVerify(vk.pk, proofs[i % 50], alpha(i % 50)));

console.log('\nPraos leader check (f = 0.05)');
const betas = proofs.map(() => new Uint8Array(64).map((_, j) => (j * 31 + 7) & 0xff));
const lvs = Array.from({ length: 1000 }, (_, i) => vrfLeaderValue(new Uint8Array(64).fill(i & 0xff).map((b, j) => b ^ j)));
perOp('threshold, fresh stake (uncached)', 200, (i) => leaderThreshold(BigInt(1_000_000 + i * 13), 45_000_000_000_000_000n, 0.05));
perOp('isLeader, 32-byte leader value (cached)', 100_000, (i) => isLeader(lvs[i % 1000], 123_456_789n, 45_000_000_000_000_000n, 0.05));
perOp('isLeader, 64-byte beta (hash + compare)', 50_000, (i) => isLeader(betas[i % betas.length], 123_456_789n, 45_000_000_000_000_000n, 0.05));

// ---- EB validation: decode the EB, resolve its tx closure, apply it on top of the ledger ----
{
  const { buildTx, makeSigner, Ledger, tryDecodeTx } = await import('../node/ledger/index.ts');
  const { encodeEb, decodeEb } = await import('../node/leios/eb.ts');
  const { ed25519PublicKey } = await import('../node/crypto/ed25519.ts');
  const { hash224 } = await import('../node/crypto/hash.ts');
  const pay = seed(99);
  const signer = makeSigner(pay);
  const params = { minFeeA: 1, minFeeB: 100, maxTxSize: 16384, maxBlockBodySize: 90112, maxHeaderSize: 1100 };
  const N = 2000;
  const utxo = Array.from({ length: N }, (_, i) => ({ txId: toHex(seed(1000 + i)), index: 0, address: toHex(hash224(ed25519PublicKey(pay))), amount: 10_000_000 }));
  const txs = utxo.map((u) =>
    buildTx({ inputs: [{ txId: Buffer.from(u.txId, 'hex'), index: 0, amount: u.amount }], outputs: [{ address: signer.address, amount: 1000 }], changeAddress: signer.address, signers: [signer], padToBytes: 1500, protocolParams: params }),
  );
  const eb = encodeEb({ slot: 1, producer: 'pool-1', txs: txs.map((t) => ({ id: t.id, size: t.size })) });
  const byId = new Map(txs.map((t) => [t.idHex, t.bytes]));
  const run = (fresh: boolean) => {
    const ledger = new Ledger(params as any, utxo.map((u) => [`${u.txId}#0`, { address: Buffer.from(u.address, 'hex'), amount: u.amount }] as [string, any]));
    const t0 = performance.now();
    const d = decodeEb(eb.bytes);
    const decoded = d.eb.txs.map((r) => {
      const r2 = tryDecodeTx(byId.get(toHex(r.id))!);
      if (!r2.ok) throw new Error('bad tx');
      return r2.tx;
    });
    const res = ledger.applyBody(decoded, 'validate');
    if (!res.ok) throw new Error(`EB invalid: ${res.reason}`);
    return performance.now() - t0;
  };
  const cold = run(true);
  const warm = run(false);
  console.log(`\nEB validation (${N} txs × 1500 B = ${((N * 1500) / 1e6).toFixed(1)} MB, ${eb.bytes.length} B of references)`);
  console.log(`  first sight (signatures verified): ${cold.toFixed(0)} ms → ${((N / cold) * 1000).toFixed(0)} tx/s, ${((N * 1.5) / cold).toFixed(1)} MB/s`);
  console.log(`  txs seen before (signature cache):  ${warm.toFixed(0)} ms → ${((N / warm) * 1000).toFixed(0)} tx/s`);
}

