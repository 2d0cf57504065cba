import { afterAll, describe, expect, it } from 'vitest';
import { VotePool } from '../../node/leios/vote-pool.ts';
import { WorkerPool } from '../../node/work/pool.ts';
import { TaskRunner, type Task } from '../../node/work/tasks.ts';
import { selectCommittee } from '../../node/leios/committee.ts';
import { decodeCertificate, verifyCertificate } from '../../node/leios/certificate.ts';
import { encodeVote, type VoteMsg } from '../../node/leios/eb.ts';
import { blsKeygen, blsPop, blsSign, voteMessage } from '../../node/crypto/bls.ts';
import { toHex } from '../../node/crypto/hash.ts';
import { bls12_381 } from '@noble/curves/bls12-381.js';

// Votes are verified (in a real worker thread) before they are relayed, at most one per
// committee member and election is kept, and the certificate is ready once the quorum is in.

const nonce = new Uint8Array(32).fill(7);
const ebA = new Uint8Array(32).fill(0xa1);
const ebB = new Uint8Array(32).fill(0xb2);
const pools = [300, 250, 200, 150, 100].map((stake, i) => {
  const k = blsKeygen(new Uint8Array(32).fill(40 + i));
  return { id: `pool-${i + 1}`, stake, blsVkey: toHex(k.pk), blsPop: toHex(blsPop(k.sk)), sk: k.sk, coldVkey: '', vrfVkey: '' };
});
const committee = { kind: 'truncation' as const, sigmaC: 1 };
const workers = new WorkerPool({ pools, committee }, { size: 1 });
afterAll(() => workers.close());

function vote(i: number, election: number, eb: Uint8Array, forged = false): { v: VoteMsg; bytes: Uint8Array } {
  const sig = blsSign(pools[forged ? (i + 1) % pools.length : i].sk, voteMessage(election, eb));
  const v = { electionId: election, ebHash: eb, poolId: pools[i].id, sig, eligibility: null };
  return { v, bytes: encodeVote(v) };
}

function makePool(known = true, opts: { pool?: WorkerPool; batchWindowMs?: number } = {}) {
  const relayed: { voter: string; from: string }[] = [];
  const invalid: string[] = [];
  const certs: { eb: string; election: number; bytes: Uint8Array }[] = [];
  const vp = new VotePool({
    pool: opts.pool ?? workers,
    batchWindowMs: opts.batchWindowMs,
    committee: (n) => selectCommittee(pools, committee, n),
    quorum: 0.75,
    electionNonce: () => (known ? nonce : undefined),
    onVerified: (vs) => relayed.push(...vs.map((x) => ({ voter: x.vote.poolId, from: x.from }))),
    onInvalid: (from) => invalid.push(from),
    onCertificate: (eb, election, bytes) => certs.push({ eb, election, bytes }),
  });
  return { vp, relayed, invalid, certs };
}

const settle = async (vp: VotePool, n: number) => {
  for (let i = 0; i < 3000 && vp.stats.verified + vp.stats.invalid < n; i++) await new Promise((r) => setTimeout(r, 10));
};

describe('vote pool', () => {
  it('relays only verified votes and reports the peer that sent a forged one', async () => {
    const { vp, relayed, invalid } = makePool();
    const good = vote(0, 10, ebA);
    const bad = vote(1, 10, ebA, true); // pool-2's vote signed with pool-3's key
    expect(vp.add(good.v, good.bytes, 'peer-x')).toBe(true);
    expect(vp.add(bad.v, bad.bytes, 'peer-evil')).toBe(true);
    await settle(vp, 2);
    expect(relayed).toEqual([{ voter: 'pool-1', from: 'peer-x' }]);
    expect(invalid).toEqual(['peer-evil']);
    expect(vp.stats).toMatchObject({ verified: 1, invalid: 1 });
    // The real vote of pool-2 is not crowded out by the forgery.
    const real = vote(1, 10, ebA);
    expect(vp.add(real.v, real.bytes, 'peer-y')).toBe(true);
    await settle(vp, 3);
    expect(relayed.map((r) => r.voter)).toEqual(['pool-1', 'pool-2']);
  });

  it('keeps and relays at most one vote per voter per election, even for another EB', async () => {
    const { vp, relayed } = makePool();
    const first = vote(2, 20, ebA);
    vp.add(first.v, first.bytes, 'a');
    await settle(vp, 1);
    expect(vp.add(first.v, first.bytes, 'b')).toBe(false); // same vote again
    const other = vote(2, 20, ebB); // same voter, same election, other EB
    expect(vp.add(other.v, other.bytes, 'c')).toBe(false);
    const nextElection = vote(2, 21, ebB);
    expect(vp.add(nextElection.v, nextElection.bytes, 'c')).toBe(true);
    await settle(vp, 2);
    expect(relayed.map((r) => `${r.voter}@${r.from}`)).toEqual(['pool-3@a', 'pool-3@c']);
  });

  it('builds the certificate as soon as τ of the active stake has voted', async () => {
    const { vp, certs } = makePool();
    for (const i of [0, 1]) {
      const x = vote(i, 30, ebA);
      vp.add(x.v, x.bytes, 'p');
    }
    await settle(vp, 2);
    expect(certs).toHaveLength(0); // 550 of 1000
    const own = vote(2, 30, ebA);
    vp.addOwn(own.v, own.bytes); // 750 of 1000 = τ
    expect(certs).toHaveLength(1);
    expect(vp.certificate(ebA, 30)).toBe(certs[0].bytes);
    const cert = decodeCertificate(certs[0].bytes);
    expect(verifyCertificate(cert, selectCommittee(pools, committee, nonce))).toEqual({ ok: true, weight: 750n });
  });

  it('refuses two forged votes whose errors cancel in a sum (σ1 + δ, σ2 − δ) and keeps the honest ones', async () => {
    const { vp, relayed, invalid } = makePool();
    const G1 = bls12_381.G1.Point;
    const delta = G1.BASE.multiply(424242n);
    const a = vote(0, 50, ebA).v;
    const b = vote(1, 50, ebA).v;
    const fa = { ...a, sig: G1.fromBytes(a.sig).add(delta).toBytes(true) };
    const fb = { ...b, sig: G1.fromBytes(b.sig).subtract(delta).toBytes(true) };
    vp.add(fa, encodeVote(fa), 'evil-1');
    vp.add(fb, encodeVote(fb), 'evil-2');
    for (const i of [2, 3]) {
      const x = vote(i, 50, ebA);
      vp.add(x.v, x.bytes, 'honest');
    }
    await settle(vp, 4); // one batch of four
    expect(relayed.map((r) => r.voter).sort()).toEqual(['pool-3', 'pool-4']);
    expect(invalid.sort()).toEqual(['evil-1', 'evil-2']);
    expect(vp.votesFor(50, ebA).map((v) => v.poolId).sort()).toEqual(['pool-3', 'pool-4']);
  });

  it('parks votes whose RB header is unknown and verifies them once it arrives', async () => {
    const state = makePool(false);
    const x = vote(0, 40, ebA);
    state.vp.add(x.v, x.bytes, 'p');
    await new Promise((r) => setTimeout(r, 50));
    expect(state.vp.stats).toMatchObject({ parked: 1, verified: 0 });
    expect(state.relayed).toHaveLength(0);
  });

  it('gathers a burst of votes into one batch and, while a batch is verified, the next', async () => {
    // The pool answers when the test says so, with the real checks; so what is batched is exact.
    const runner = new TaskRunner({ pools, committee });
    const held: { task: Task; resolve: (v: unknown) => void }[] = [];
    const manual = { run: (task: Task) => new Promise((resolve) => held.push({ task, resolve })) } as unknown as WorkerPool;
    const answer = () => {
      const h = held.shift()!;
      h.resolve(runner.run(h.task));
    };
    const { vp, relayed } = makePool(true, { pool: manual, batchWindowMs: 40 });
    const add = (i: number, election: number) => {
      const x = vote(i, election, ebA);
      vp.add(x.v, x.bytes, 'p');
    };
    add(0, 60);
    await new Promise((r) => setTimeout(r, 10));
    add(1, 60); // within the window of the first: same batch
    expect(held).toHaveLength(0);
    for (let i = 0; i < 100 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(held.map((h) => (h.task.kind === 'votes' ? h.task.votes.length : -1))).toEqual([2]);
    // While that batch is out, votes arriving one by one past the window wait for its answer.
    add(2, 60);
    await new Promise((r) => setTimeout(r, 60));
    add(3, 60);
    await new Promise((r) => setTimeout(r, 60));
    expect(held).toHaveLength(1);
    answer();
    for (let i = 0; i < 100 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(held.map((h) => (h.task.kind === 'votes' ? h.task.votes.map((v) => v.poolId) : []))).toEqual([['pool-3', 'pool-4']]);
    answer();
    await settle(vp, 4);
    expect(relayed.map((r) => r.voter)).toEqual(['pool-1', 'pool-2', 'pool-3', 'pool-4']);
    expect(vp.stats).toMatchObject({ verified: 4, batches: 2 });
  });
});
