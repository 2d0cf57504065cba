import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { rotatedCredentialFile } from '../../node/consensus/kes-credential.ts';
import { rotateKes, type KesStatus } from '../../orchestrator/cli/commands/rotate-kes.ts';
import { buildTestnet, getJson, readTrace, startNode, waitFor } from '../support/testnet.ts';

// An SPO's hot-key rotation during a run: pool-1 gets a new KES key under an opcert with the next
// counter (rotate-kes, through the admin API); the other pools adopt its next blocks. Then pool-1
// is restarted without the rotation (its old hot key and counter-0 opcert): its blocks are refused.

const seed = (label: string) => new Uint8Array(createHash('sha256').update(label).digest());

describe('operational certificate rotation at run time', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-rotation-'));
  const procs: ChildProcess[] = [];
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a new counter is accepted network-wide; the old opcert replayed afterwards is refused', async () => {
    const tn = buildTestnet({ dir, pools: 3, basePort: 4740, slotLengthS: 0.2, f: 0.3, startInS: 3, stake: (i) => (i === 0 ? 2000 : 1000) });
    procs.push(...tn.configs.map(startNode));
    const ep = { adminUrl: 'http://127.0.0.10:4741', adminToken: 'test-token-123' } as Parameters<typeof rotateKes>[0];
    await waitFor('pool-1 up', () => getJson<KesStatus>('http://127.0.0.10:4741/kes'), 30_000);
    const r = await rotateKes(ep, seed('pool-1/cold'));
    expect(r.before.counter).toBe(0);
    expect(r.opcert.counter).toBe(1);
    expect((await getJson<KesStatus>('http://127.0.0.10:4741/kes'))!.counter).toBe(1);
    // pool-1's first block after the rotation is adopted by the others.
    // the trace is flushed every 250 ms: wait for the line rather than read it at once
    const rotatedAt = await waitFor('pool-1 traces KesRotated', async () => readTrace(path.join(dir, 'pool-1')).find((e) => e.message.type === 'KesRotated')?.time_s, 10_000);
    const id = await waitFor(
      'a block of pool-1 under the new opcert',
      async () => readTrace(path.join(dir, 'pool-1')).find((e) => e.message.type === 'RBGenerated' && e.time_s > rotatedAt)?.message.id as string | undefined,
      60_000,
    );
    for (const n of ['pool-2', 'pool-3']) {
      await waitFor(`${n} receives ${id.slice(0, 12)}`, async () => readTrace(path.join(dir, n)).some((e) => e.message.type === 'RBReceived' && e.message.id === id), 30_000);
    }
    // Replay: pool-1 restarts without its rotation, under the counter-0 opcert.
    procs[0].kill('SIGKILL');
    await new Promise((res) => procs[0].once('exit', res));
    fs.rmSync(rotatedCredentialFile(path.join(dir, 'pool-1', 'db')));
    procs[0] = startNode(tn.configs[0]);
    await waitFor('pool-1 back on the old opcert', async () => (await getJson<KesStatus>('http://127.0.0.10:4741/kes'))?.counter === 0, 30_000);
    const logs = () => ['pool-2', 'pool-3'].map((n) => ['node.log', 'stdout.log'].map((f) => (fs.existsSync(path.join(dir, n, f)) ? fs.readFileSync(path.join(dir, n, f), 'utf8') : '')).join('\n')).join('\n');
    await waitFor('a peer refusing the stale opcert', async () => /opcert-counter-too-small/.test(logs()), 60_000);
  }, 170_000);
});
