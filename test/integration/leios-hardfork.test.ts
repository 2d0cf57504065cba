import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { buildTestnet, getJson, readTrace, startNode, waitFor } from '../support/testnet.ts';
import { buildTx, makeSigner, type Tx } from '../../node/ledger/index.ts';
import { tempDir } from '../support/tmp.ts';

// Six real node processes: five on the Leios-enabled release, one on a Praos-only release.
// The chain starts in Praos and forks to Leios at epoch 1. Under a load larger than RBs can
// carry, EBs get certified and their transactions included; the Praos-only node stops
// following at the fork with a trace, while the others go on.

const BASE_PORT = 4300;
const TOKEN = 'test-token-123';
const SLOT_S = 0.4;
const EPOCH_SLOTS = 50;
const dir = tempDir('leiosnet-leios-');
const tn = buildTestnet({
  dir,
  pools: 6,
  basePort: BASE_PORT,
  slotLengthS: SLOT_S,
  epochLengthSlots: EPOCH_SLOTS,
  f: 0.1,
  k: 30,
  // Nodes must be up before the chain starts, also on a loaded machine: the leader schedule is
  // fixed by the seeded keys and nonce, so every run then sees the same slots.
  startInS: 15,
  eras: [
    { era: 'praos', startEpoch: 0, protocolVersion: 1 },
    { era: 'leios', startEpoch: 1, protocolVersion: 2 },
  ],
  // Voting period of 4 slots (1.6 s) so EB validation fits even on a loaded 2-core machine.
  leios: { lHdrSlots: 1, lVoteSlots: 4, lDiffSlots: 2 },
  // The Praos-only pool holds little stake: the quorum (τ of all active stake) then needs 4 of the 5 Leios pools, not all.
  stake: (i) => (i === 5 ? 100 : 1000),
  releases: (i) => (i === 5 ? { version: '1.0.0', maxProtocolVersion: 1 } : { version: '2.0.0', maxProtocolVersion: 2 }),
});
const procs: ChildProcess[] = [];
const admin = (i: number) => `http://127.0.0.${10 + i}:${BASE_PORT + 1}`;
const LEIOS = [0, 1, 2, 3, 4];
const forkAtMs = Date.parse(tn.genesis.systemStart) + EPOCH_SLOTS * SLOT_S * 1000;

const traceOf = (i: number) => readTrace(path.join(dir, tn.names[i]));

/** Chains of 1500-byte txs from each genesis output, so a mempool holds far more than an RB. */
function makeLoad(perChain: number): Tx[] {
  const signer = makeSigner(tn.payment);
  const out: Tx[] = [];
  for (const u of tn.genesis.initialUtxo) {
    let input = { txId: Buffer.from(u.txId, 'hex') as Uint8Array, index: u.index, amount: u.amount };
    for (let j = 0; j < perChain; j++) {
      const tx = buildTx({
        inputs: [input],
        outputs: [{ address: signer.address, amount: 1_000 }],
        changeAddress: signer.address,
        signers: [signer],
        padToBytes: 1500,
        protocolParams: tn.genesis.protocolParams,
      });
      out.push(tx);
      const change = tx.body.outputs.length - 1;
      input = { txId: tx.id, index: change, amount: tx.body.outputs[change].amount };
    }
  }
  return out;
}

beforeAll(async () => {
  for (const c of tn.configs) procs.push(startNode(c));
  await waitFor('all nodes healthy', async () => (await Promise.all(tn.names.map((_, i) => getJson(`${admin(i)}/health`)))).every(Boolean), 60_000);
}, 90_000);

afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
});

describe('Praos → Leios hard fork on 6 node processes', () => {
  it('forks at epoch 1, certifies EBs and carries more than RBs alone could', async () => {
    // Load arrives after the fork, spread over the Leios nodes.
    await new Promise((r) => setTimeout(r, Math.max(0, forkAtMs - Date.now() + 500)));
    const PER_CHAIN = 40;
    const load = makeLoad(PER_CHAIN); // 40 chains × 40 txs × 1500 B ≈ 2.4 MB
    const reasons: string[] = [];
    // A chain goes to one node (its txs spend each other); chains are spread over the nodes.
    const accepted = (
      await Promise.all(
        tn.genesis.initialUtxo.map(async (_, c) => {
          let ok = 0;
          for (const tx of load.slice(c * PER_CHAIN, (c + 1) * PER_CHAIN)) {
            const r = await fetch(`${admin(LEIOS[c % 5])}/tx`, {
              method: 'POST',
              headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${TOKEN}` },
              body: Buffer.from(tx.bytes),
            });
            if (r.status === 202) ok++;
            else reasons.push(((await r.json()) as { reason: string }).reason);
          }
          return ok;
        }),
      )
    ).reduce((a, b) => a + b, 0);
    expect(accepted, `rejections: ${JSON.stringify(reasons.slice(0, 20))}`).toBeGreaterThan(load.length * 0.9);
    const sent = new Set(load.map((t) => t.idHex));

    const result = await waitFor(
      'certified EBs carrying most of the load',
      async () => {
        const ev = traceOf(0);
        const certs = ev.filter((e) => e.message.type === 'CertIncluded');
        const viaEb = ev.filter((e) => e.message.type === 'TxIncluded' && e.message.eb).flatMap((e) => e.message.ids as string[]);
        const viaRb = ev.filter((e) => e.message.type === 'TxIncluded' && !e.message.eb).flatMap((e) => e.message.ids as string[]);
        const included = [...viaEb, ...viaRb].filter((id) => sent.has(id)).length;
        // 2.4 MB fits one EB (S_EB-tx = 12 MB): one certificate may carry the whole load.
        return certs.length >= 1 && included > load.length * 0.8 && { certs, viaEb, viaRb, included };
      },
      90_000,
    );
    expect(result.viaEb.length).toBeGreaterThan(result.viaRb.length);
    // RBs alone: at most S_RB per RB adopted since the fork.
    const rbsSinceFork = traceOf(0).filter((e) => e.message.type === 'RBAdopted' && e.message.slot >= EPOCH_SLOTS).length;
    const includedBytes = result.included * 1500;
    expect(includedBytes).toBeGreaterThan(rbsSinceFork * 90_112);

    const fork = traceOf(0).find((e) => e.message.type === 'HardFork' && e.message.protocolVersion === 2);
    expect(fork?.message.epoch).toBe(1);
    const all = LEIOS.flatMap((i) => traceOf(i));
    expect(all.filter((e) => e.message.type === 'EBGenerated').length).toBeGreaterThanOrEqual(1);
    expect(all.filter((e) => e.message.type === 'EBReceived').length).toBeGreaterThan(0);
    expect(all.filter((e) => e.message.type === 'VTBundleGenerated').length).toBeGreaterThanOrEqual(4);
    expect(all.filter((e) => e.message.type === 'CertCreated').length).toBeGreaterThanOrEqual(1);
  }, 180_000);

  it('the Leios nodes agree on the chain', async () => {
    await waitFor(
      'a common tip',
      async () => {
        const t = await Promise.all(LEIOS.map((i) => getJson<{ hash: string; protocolVersion: number }>(`${admin(i)}/tip`)));
        return t.every((x) => x?.protocolVersion === 2) && new Set(t.map((x) => x!.hash)).size === 1;
      },
      30_000,
    );
  });

  it('a Leios node killed with SIGKILL replays certified blocks from its chain and EB stores and rejoins', async () => {
    const before = (await getJson<{ blockNo: number }>(`${admin(1)}/tip`))!;
    const certsOnChain = traceOf(1).filter((e) => e.message.type === 'CertIncluded').length;
    expect(certsOnChain).toBeGreaterThan(0);
    procs[1].kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    procs[1] = startNode(tn.configs[1]);
    // Straight after the restart the DBs alone give back the height: certified RBs were re-applied
    // with their EBs' transactions loaded from the EB store.
    const back = await waitFor('pool-2 back up', () => getJson<{ blockNo: number; protocolVersion: number }>(`${admin(1)}/tip`), 50_000);
    expect(back.blockNo).toBeGreaterThanOrEqual(before.blockNo);
    expect(back.protocolVersion).toBe(2);
    await waitFor(
      'pool-2 on the common tip again',
      async () => {
        const t = await Promise.all(LEIOS.map((i) => getJson<{ hash: string }>(`${admin(i)}/tip`)));
        return t.every(Boolean) && new Set(t.map((x) => x!.hash)).size === 1;
      },
      40_000,
    );
  }, 90_000);

  it('the Praos-only node stops following after the fork, with a trace, and stays up', async () => {
    const h = await getJson<{ ok: boolean; following: boolean }>(`${admin(5)}/health`);
    expect(h?.ok).toBe(true);
    expect(h?.following).toBe(false);
    const stop = traceOf(5).find((e) => e.message.type === 'StoppedFollowing');
    expect(stop?.message.protocolVersion).toBe(2);
    const metrics = await (await fetch(`${admin(5)}/metrics`)).text();
    expect(metrics).toMatch(/^leios_following\{[^}]*\} 0$/m);
  });
});
