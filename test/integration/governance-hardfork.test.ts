import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { buildTestnet, getJson, readTrace, startNode, waitFor } from '../support/testnet.ts';
import { tempDir } from '../support/tmp.ts';

// The on-chain alternative to the genesis era schedule: a pool proposes the Leios era in a
// transaction, other pools endorse it, and once 75 % of stake endorsed, the chain forks at the
// proposed epoch — on four real node processes whose genesis schedules Praos only.

const BASE_PORT = 4500;
const TOKEN = 'test-token-123';
const EPOCH_SLOTS = 50;
const dir = tempDir('leiosnet-gov-');
const tn = buildTestnet({ dir, pools: 4, basePort: BASE_PORT, slotLengthS: 0.2, epochLengthSlots: EPOCH_SLOTS, f: 0.25, startInS: 2 });
const procs: ChildProcess[] = [];
const admin = (i: number) => `http://127.0.0.${10 + i}:${BASE_PORT + 1}`;

async function post(i: number, body: unknown): Promise<{ status: number; json: any }> {
  const r = await fetch(`${admin(i)}/update`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` }, body: JSON.stringify(body) });
  return { status: r.status, json: await r.json() };
}

beforeAll(async () => {
  for (const c of tn.configs) procs.push(startNode(c));
  await waitFor('nodes healthy', async () => (await Promise.all([0, 1, 2, 3].map((i) => getJson(`${admin(i)}/health`)))).every(Boolean), 50_000);
});
afterAll(() => procs.forEach((p) => p.kill('SIGKILL')));

describe('hard fork by an endorsed on-chain update proposal', () => {
  it('refuses malformed or unauthenticated governance calls', async () => {
    expect((await post(0, { kind: 'propose', era: 'mars', protocolVersion: 2, epoch: 2 })).json.field).toBe('body.era');
    expect((await post(0, { kind: 'endorse', proposalId: 'xyz' })).json.field).toBe('body.proposalId');
    const r = await fetch(`${admin(0)}/update`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(401);
  });

  it('forks to Leios at the proposed epoch once 3 of 4 equal pools endorsed', async () => {
    const p = await post(0, { kind: 'propose', era: 'leios', protocolVersion: 2, epoch: 2 });
    expect(p.status).toBe(202);
    const id = p.json.proposalId as string;
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    // Two endorsements: with the proposer that is 75 % of stake.
    for (const i of [1, 2]) {
      await waitFor(`pool-${i + 1} sees the proposal`, async () => (await post(i, { kind: 'endorse', proposalId: id })).status === 202, 20_000);
    }
    // Still Praos in epoch 1 (the update takes effect at epoch 2).
    const t1 = await waitFor('a block in epoch 1', async () => {
      const t = await getJson<{ slot: number; protocolVersion: number }>(`${admin(3)}/tip`);
      return t && t.slot >= EPOCH_SLOTS && t.slot < 2 * EPOCH_SLOTS && t;
    }, 30_000);
    expect(t1.protocolVersion).toBe(1);
    const t2 = await waitFor('a Leios block in epoch 2 on all nodes', async () => {
      const t = await Promise.all([0, 1, 2, 3].map((i) => getJson<{ protocolVersion: number; era: string; hash: string }>(`${admin(i)}/tip`)));
      return t.every((x) => x?.protocolVersion === 2 && x.era === 'leios') && t;
    }, 40_000);
    expect(t2[0]!.era).toBe('leios');
    // Traces are flushed every 250 ms: wait for the fork event rather than race the writer.
    const fork = await waitFor('the HardFork trace', async () => readTrace(path.join(dir, 'pool-4')).find((e) => e.message.type === 'HardFork')?.message, 5_000);
    const trace = readTrace(path.join(dir, 'pool-4')).map((e) => e.message);
    expect(fork).toMatchObject({ era: 'leios', epoch: 2, protocolVersion: 2 });
    expect(trace.filter((m) => m.type === 'GovernanceAction').length).toBeGreaterThanOrEqual(3);
  }, 120_000);
});
