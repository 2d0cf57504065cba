import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { buildTestnet, getJson, readTrace, startNode, waitFor, type TraceEvent } from '../support/testnet.ts';
import { buildTx, makeSigner } from '../../node/ledger/index.ts';

// Withholding on five real node processes, Leios from slot 0: pool-4 withholds every EB it
// announces (eb-withholding, from its node config), pool-5 is switched into a protocol burst
// over the admin API once the testnet runs (PUT /adversary/protocol-burst, as `leiosnet attack`
// does): it holds its EBs and releases two at a time as an honest RB becomes the tip. Honest
// pools (1-3) must never get or certify a withheld EB, must not certify a burst EB, and must
// keep one chain. Assertions read what the adversaries did from their own traces, so they hold
// for any leader schedule.

const BASE_PORT = 4700;
const TOKEN = 'test-token-123';
const SLOT_S = 0.4;
const RUN_S = 75;
const HONEST = [0, 1, 2];
const NODES = 5;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-adv-withhold-'));
const tn = buildTestnet({
  dir,
  pools: 5,
  basePort: BASE_PORT,
  slotLengthS: SLOT_S,
  epochLengthSlots: 1000,
  f: 0.15,
  k: 30,
  startInS: 15,
  eras: [{ era: 'leios', startEpoch: 0, protocolVersion: 2 }],
  leios: { lHdrSlots: 1, lVoteSlots: 4, lDiffSlots: 2 },
  // pool-4 (eb-withholding) holds 2/6 of the stake so it leads enough slots to withhold EBs in any
  // schedule; its votes for honest EBs count (honest 3/6 + pool-4 2/6 ≥ the 75 % quorum)
  stake: (i) => (i === 3 ? 2000 : 1000),
});
{
  const f = tn.configs[3]!;
  fs.writeFileSync(f, JSON.stringify({ ...JSON.parse(fs.readFileSync(f, 'utf8')), adversary: { 'eb-withholding': {} } }, null, 2));
}
const procs: ChildProcess[] = [];
const admin = (i: number) => `http://127.0.0.${10 + i}:${BASE_PORT + 1}`;
const auth = { authorization: `Bearer ${TOKEN}` };
const trace = (i: number) => readTrace(path.join(dir, tn.names[i]!));
const of = (ev: TraceEvent[], type: string) => ev.filter((e) => e.message.type === type).map((e) => e.message);

// The load runs for the whole run: chain c (one per genesis output) goes to node c % N (its txs
// spend each other), one 2 kB tx per chain every 1.5 s (~53 kB/s against 90 kB RBs every ~2.7 s),
// so every RB leaves txs over for an EB until the end. (Submitted all at once, as before, the
// RBs had eaten it by slot ~36: only a handful of early EBs, none followed by a gap long enough
// for a certificate in this leader schedule — why "honest EBs are still certified" failed.)
const EVERY_MS = 1500;
async function submitPaced(untilMs: number): Promise<number> {
  const signer = makeSigner(tn.payment);
  const utxos = tn.genesis.initialUtxo;
  const t0 = Date.parse(tn.genesis.systemStart) + 500;
  let accepted = 0;
  await Promise.all(
    utxos.map(async (u, c) => {
      let input = { txId: Buffer.from(u.txId, 'hex') as Uint8Array, index: u.index, amount: u.amount };
      for (let j = 0; ; j++) {
        const at = t0 + j * EVERY_MS + Math.floor((c * EVERY_MS) / utxos.length);
        if (at > untilMs) return;
        await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
        const tx = buildTx({ inputs: [input], outputs: [{ address: signer.address, amount: 1_000 }], changeAddress: signer.address, signers: [signer], padToBytes: 2000, protocolParams: tn.genesis.protocolParams });
        const res = await fetch(`${admin(c % NODES)}/tx`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${TOKEN}` }, body: Buffer.from(tx.bytes) }).catch(() => undefined);
        if (res?.ok) accepted++;
        const change = tx.body.outputs.length - 1;
        input = { txId: tx.id, index: change, amount: tx.body.outputs[change]!.amount };
      }
    }),
  );
  return accepted;
}

beforeAll(async () => {
  for (const c of tn.configs) procs.push(startNode(c));
  await waitFor('all nodes healthy', async () => (await Promise.all(tn.names.map((_, i) => getJson(`${admin(i)}/health`)))).every(Boolean), 60_000);
  // bad input over the admin API: unknown behaviour 404 naming the known ones, bad params 400 naming the field
  const unknown = await fetch(`${admin(4)}/adversary/gossip-flood`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{"enabled":true}' });
  expect(unknown.status).toBe(404);
  expect(((await unknown.json()) as { message: string }).message).toContain('protocol-burst');
  const bad = await fetch(`${admin(4)}/adversary/protocol-burst`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{"enabled":true,"params":{"count":0}}' });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { message: string }).message).toContain('params.count');
  const on = await fetch(`${admin(4)}/adversary/protocol-burst`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{"enabled":true,"params":{"count":2}}' });
  expect(on.status).toBe(200);
  const accepted = await submitPaced(Date.parse(tn.genesis.systemStart) + (RUN_S - 5) * 1000);
  expect(accepted).toBeGreaterThan(500);
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(tn.genesis.systemStart) + RUN_S * 1000 - Date.now())));
}, 150_000);

afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
});

describe('withheld and burst EBs (5 node processes)', () => {
  it('withheld EBs never reach an honest node and are never certified', () => {
    const withheld = new Set(of(trace(3), 'EBGenerated').map((m) => m.id as string));
    const all = [0, 1, 2, 4].flatMap((i) => trace(i));
    expect(of(all, 'EBReceived').filter((m) => withheld.has(m.id))).toEqual([]);
    expect(of(all, 'VTBundleGenerated').filter((m) => withheld.has(String(m.id).split(':')[0]))).toEqual([]);
    expect([...of(all, 'CertIncluded'), ...of(trace(3), 'CertIncluded')].filter((m) => withheld.has(m.eb))).toEqual([]);
    expect(of(trace(3), 'Adversary').filter((m) => m.behaviour === 'eb-withholding' && m.action === 'withheld').length, 'pool-4 withheld EBs').toBeGreaterThan(0);
    expect(withheld.size).toBeGreaterThan(0);
    console.log(`eb-withholding: pool-4 announced and withheld ${withheld.size} EB(s)`);
  });

  it('a burst does not break tip agreement; released EBs are not certified', async () => {
    const released = of(trace(4), 'Adversary').filter((m) => m.behaviour === 'protocol-burst' && m.action === 'released');
    const burstEbs = new Set(released.flatMap((m) => (m.detail?.ebs ?? []) as string[]));
    for (const i of HONEST) expect(of(trace(i), 'CertIncluded').filter((m) => burstEbs.has(m.eb))).toEqual([]);
    await waitFor(
      'honest pools on one tip',
      async () => {
        const t = await Promise.all(HONEST.map((i) => getJson<{ hash: string; blockNo: number }>(`${admin(i)}/tip`)));
        return t.every((x) => x && x.blockNo > 5) && new Set(t.map((x) => x!.hash)).size === 1;
      },
      30_000,
    );
    const rollbacks = HONEST.flatMap((i) => of(trace(i), 'Rollback'));
    expect(Math.max(0, ...rollbacks.map((r) => Number(r.depth ?? 0)))).toBeLessThanOrEqual(3);
    console.log(`protocol-burst: ${released.length} burst(s) of ${released.map((m) => m.detail?.count).join('/')} EBs released by pool-5`);
  });

  // It failed in the CI rehearsal because the load ran out by slot ~36 (see submitPaced): no honest
  // EB was followed by the 9-slot gap a certificate needs. With load to the end there are ~13 honest
  // EBs, each certifiable with probability (1 − f)^8 ≈ 0.27.
  it('honest EBs are still certified', () => {
    const honestEbs = new Set(HONEST.flatMap((i) => of(trace(i), 'EBGenerated').map((m) => m.id as string)));
    const certs = of(trace(0), 'CertIncluded');
    expect(certs.filter((c) => honestEbs.has(c.eb)).length).toBeGreaterThan(0);
    console.log(`certified on pool-1's chain: ${certs.length} (of ${honestEbs.size} honest EBs)`);
  });
});
