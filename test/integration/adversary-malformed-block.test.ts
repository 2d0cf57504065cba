import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { buildTestnet, getJson, readTrace, startNode, waitFor, type TraceEvent } from '../support/testnet.ts';
import { buildTx, makeSigner } from '../../node/ledger/index.ts';

// A malformed block body on four real node processes (Praos; the body path is the same in both
// eras): pool-4 forges and announces its RBs as usual but serves every peer a body that does not
// match the header (node/adversary/malformed-block.ts). The honest pools must refuse each with a
// trace naming why (BlockRejected), never adopt such a block, and keep forging on one chain.
// Every assertion holds for any leader schedule: what pool-4 served is read from its own trace.

const BASE_PORT = 4760;
const TOKEN = 'test-token-123';
const RUN_S = 40;
const HONEST = [0, 1, 2];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-adv-malformed-'));
const tn = buildTestnet({
  dir,
  pools: 4,
  basePort: BASE_PORT,
  slotLengthS: 0.4,
  epochLengthSlots: 1000,
  f: 0.15,
  k: 30,
  startInS: 12,
  // pool-4 holds 2/5 of the stake, so it leads slots in any schedule of this length
  stake: (i) => (i === 3 ? 2000 : 1000),
});
{
  const f = tn.configs[3]!;
  fs.writeFileSync(f, JSON.stringify({ ...JSON.parse(fs.readFileSync(f, 'utf8')), adversary: { 'malformed-block': {} } }, null, 2));
}
const procs: ChildProcess[] = [];
const admin = (i: number) => `http://127.0.0.${10 + i}:${BASE_PORT + 1}`;
const trace = (i: number) => readTrace(path.join(dir, tn.names[i]!));
const of = (ev: TraceEvent[], type: string) => ev.filter((e) => e.message.type === type).map((e) => e.message);

/** A tx per genesis output every 2 s, to every node in turn: most blocks carry txs (another body than the header's). */
async function submitPaced(untilMs: number): Promise<number> {
  const signer = makeSigner(tn.payment);
  let accepted = 0;
  await Promise.all(
    tn.genesis.initialUtxo.slice(0, 8).map(async (u, c) => {
      let input = { txId: Buffer.from(u.txId, 'hex') as Uint8Array, index: u.index, amount: u.amount };
      for (let j = 0; ; j++) {
        const at = Date.parse(tn.genesis.systemStart) + 500 + j * 2000 + c * 250;
        if (at > untilMs) return;
        await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
        const tx = buildTx({ inputs: [input], outputs: [{ address: signer.address, amount: 1_000 }], changeAddress: signer.address, signers: [signer], protocolParams: tn.genesis.protocolParams });
        const res = await fetch(`${admin(j % 4)}/tx`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${TOKEN}` }, body: Buffer.from(tx.bytes) }).catch(() => undefined);
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
  const on = await getJson<{ active: { behaviour: string }[] }>(`${admin(3)}/adversary`);
  expect(on?.active.map((a) => a.behaviour)).toEqual(['malformed-block']);
  expect(await submitPaced(Date.parse(tn.genesis.systemStart) + (RUN_S - 5) * 1000)).toBeGreaterThan(20);
  await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(tn.genesis.systemStart) + RUN_S * 1000 - Date.now())));
}, 120_000);

afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
});

describe('a malformed block body is refused by honest nodes (4 node processes)', () => {
  it('refused with a BlockRejected trace naming why, never adopted; honest pools keep forging and agree', async () => {
    const served = of(trace(3), 'Adversary').filter((m) => m.behaviour === 'malformed-block' && m.action === 'served');
    expect(served.length, 'pool-4 served a malformed body').toBeGreaterThan(0);
    const bad = new Set(served.map((m) => (m.detail as { rb: string }).rb));
    const rejected = HONEST.flatMap((i) => of(trace(i), 'BlockRejected'));
    expect(rejected.length, 'an honest node fetched one and refused it').toBeGreaterThan(0);
    for (const r of rejected) {
      expect(r.sender).toBe('pool-4');
      expect(['body-hash-mismatch', 'body-size-mismatch', 'undecodable']).toContain(r.reason);
      if (r.block !== undefined) expect(bad.has(r.block as string)).toBe(true);
    }
    for (const i of HONEST) expect(of(trace(i), 'RBAdopted').filter((m) => bad.has(m.id as string))).toEqual([]);
    // each honest node asks pool-4 for a bad body once, not again on every reconnect
    for (const i of HONEST) expect(of(trace(i), 'BlockRejected').length, tn.names[i]).toBeLessThanOrEqual(bad.size);
    const forged = HONEST.map((i) => of(trace(i), 'RBGenerated').length);
    expect(forged.reduce((a, b) => a + b, 0)).toBeGreaterThan(3);
    await waitFor(
      'honest pools on one tip',
      async () => {
        const t = await Promise.all(HONEST.map((i) => getJson<{ hash: string; blockNo: number }>(`${admin(i)}/tip`)));
        return t.every((x) => x && x.blockNo > 3) && new Set(t.map((x) => x!.hash)).size === 1;
      },
      30_000,
    );
    console.log(
      `malformed-block: pool-4 served ${bad.size} malformed RB bod(y/ies) (${[...new Set(served.map((m) => (m.detail as { variant: string }).variant))].join(', ')}); ` +
        `BlockRejected at pool-1/2/3: ${HONEST.map((i) => of(trace(i), 'BlockRejected').length).join('/')} (${[...new Set(rejected.map((m) => m.reason))].join(', ')}); honest RBs forged ${forged.join('/')}`,
    );
  });
});
