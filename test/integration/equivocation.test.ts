import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { saveRotatedCredential } from '../../node/consensus/kes-credential.ts';
import { kesKeygen, kesVerificationKey } from '../../node/crypto/kes.ts';
import { issueOpCert } from '../../node/crypto/opcert.ts';
import { buildTestnet, NODE22, readTrace, waitFor } from '../support/testnet.ts';

// An equivocating producer: pool-1 runs twice (pool-1 and "twin", same cold and VRF keys), the
// twin under a second operational certificate, so in every slot pool-1 leads both sign a header
// for the same parent and slot and the headers differ. Topology (a line plus a node that
// touches neither producer):
//     pool-1 — pool-2 — pool-3 — twin        pool-4 — pool-2, pool-4 — pool-3
// Every honest node (pool-2, pool-3, pool-4) must trace RBHeaderEquivocation for pool-1.

const seed = (label: string) => new Uint8Array(createHash('sha256').update(label).digest());

describe('RB header equivocation reaches every honest node', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-equivocation-'));
  const procs: ChildProcess[] = [];
  afterAll(() => {
    for (const p of procs) p.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is detected by nodes connected to neither producer, via the two-header relay', async () => {
    const peers: Record<number, number[]> = { 0: [1], 1: [0, 2, 3], 2: [1, 3], 3: [1, 2] };
    const tn = buildTestnet({ dir, pools: 4, basePort: 4720, slotLengthS: 0.2, f: 0.2, startInS: 4, stake: (i) => (i === 0 ? 3000 : 1000), peers: (i) => peers[i] });
    // The twin: pool-1's keys, its own address, peered with pool-3 only, a counter-1 opcert.
    const twinDir = path.join(dir, 'twin');
    fs.mkdirSync(twinDir, { recursive: true });
    for (const k of ['cold', 'vrf', 'bls']) fs.copyFileSync(path.join(dir, 'pool-1', `${k}.skey`), path.join(twinDir, `${k}.skey`));
    const cfg = JSON.parse(fs.readFileSync(tn.configs[0], 'utf8'));
    cfg.name = 'twin';
    cfg.listen = { host: '127.0.0.20', port: 4720 };
    cfg.admin = { ...cfg.admin, host: '127.0.0.20', port: 4721 };
    cfg.peers = [{ name: 'pool-3', host: '127.0.0.12', port: 4720 }];
    fs.writeFileSync(path.join(twinDir, 'config.json'), JSON.stringify(cfg, null, 2));
    const kesSeed = seed('twin/kes');
    saveRotatedCredential(path.join(twinDir, 'db'), kesSeed, issueOpCert(seed('pool-1/cold'), kesVerificationKey(kesKeygen(kesSeed)), 1, 0));
    // pool-3 dials the twin too.
    const c3 = JSON.parse(fs.readFileSync(tn.configs[2], 'utf8'));
    c3.peers.push({ name: 'twin', host: '127.0.0.20', port: 4720 });
    fs.writeFileSync(tn.configs[2], JSON.stringify(c3, null, 2));

    for (const f of [...tn.configs, path.join(twinDir, 'config.json')]) {
      const out = fs.openSync(path.join(path.dirname(f), 'stdout.log'), 'a');
      procs.push(spawn(NODE22, ['node/main.ts', '--config', f], { stdio: ['ignore', out, out] }));
    }
    const honest = ['pool-2', 'pool-3', 'pool-4'];
    const seen = await waitFor(
      'an RBHeaderEquivocation of pool-1 at every honest node',
      async () => {
        const bySlot = honest.map((n) => new Set(readTrace(path.join(dir, n)).filter((e) => e.message.type === 'RBHeaderEquivocation' && e.message.producer === 'pool-1').map((e) => e.message.slot as number)));
        const common = [...bySlot[0]].filter((s) => bySlot.every((b) => b.has(s)));
        return common.length > 0 ? { common, bySlot: bySlot.map((b) => [...b]) } : false;
      },
      90_000,
    );
    expect(seen.common.length).toBeGreaterThan(0);
    // The evidence names the two different headers; pool-4 learnt it from its honest neighbours.
    const ev = readTrace(path.join(dir, 'pool-4')).find((e) => e.message.type === 'RBHeaderEquivocation' && e.message.slot === seen.common[0])!;
    expect(ev.message.headers).toHaveLength(2);
    expect(ev.message.headers[0]).not.toBe(ev.message.headers[1]);
    expect(['pool-2', 'pool-3']).toContain(ev.message.sender);
    // Metric.
    const m = await (await fetch('http://127.0.0.13:4721/metrics')).text();
    expect(Number(/^leios_rb_equivocations_total\{[^}]*\} (\d+)/m.exec(m)?.[1] ?? 0)).toBeGreaterThan(0);
  }, 150_000);
});
