import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adversaryTestnet, of, TOKEN } from '../support/adversary.ts';

// Withholding on five real node processes, Leios from slot 0: pool-4 withholds every EB it
// announces (eb-withholding, from its node config), pool-5 is switched into a protocol burst
// over the admin API once the testnet runs (PUT /adversary/protocol-burst, as `leiosnet attack`
// does): it holds its EBs and releases two at a time as an honest RB becomes the tip. Honest
// pools (1-3) must never get or certify a withheld EB, must not certify a burst EB, and must
// keep one chain. Assertions read what the adversaries did from their own traces, so they hold
// for any leader schedule.

const SLOT_S = 0.4;
const RUN_S = 75;
const HONEST = [0, 1, 2];
const NODES = 5;
const tn = adversaryTestnet({
  tmpPrefix: 'leiosnet-adv-withhold-',
  pools: 5,
  basePort: 4700,
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
  adversary: { 3: { 'eb-withholding': {} } },
});
const { admin, trace } = tn;
const auth = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  await tn.start();
  // bad input over the admin API: unknown behaviour 404 naming the known ones, bad params 400 naming the field
  const unknown = await fetch(`${admin(4)}/adversary/gossip-flood`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{"enabled":true}' });
  expect(unknown.status).toBe(404);
  expect(((await unknown.json()) as { message: string }).message).toContain('protocol-burst');
  const bad = await fetch(`${admin(4)}/adversary/protocol-burst`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{"enabled":true,"params":{"count":0}}' });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { message: string }).message).toContain('params.count');
  const on = await fetch(`${admin(4)}/adversary/protocol-burst`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: '{"enabled":true,"params":{"count":2}}' });
  expect(on.status).toBe(200);
  // The load runs for the whole run: chain c (one per genesis output) goes to node c % N, one 2 kB
  // tx per chain every 1.5 s, so every RB leaves txs over for an EB until the end (see
  // adversary-invalid-data.test.ts: submitted all at once, the RBs had eaten it by slot ~36).
  const accepted = await tn.submitPaced({ untilMs: tn.startMs + (RUN_S - 5) * 1000, everyMs: 1500, padToBytes: 2000, to: (c) => c % NODES });
  expect(accepted).toBeGreaterThan(500);
  await tn.untilRunS(RUN_S);
}, 150_000);

afterAll(() => tn.stop());

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
    await tn.oneTip(HONEST, 5);
    const rollbacks = HONEST.flatMap((i) => of(trace(i), 'Rollback'));
    expect(Math.max(0, ...rollbacks.map((r) => Number(r.depth ?? 0)))).toBeLessThanOrEqual(3);
    console.log(`protocol-burst: ${released.length} burst(s) of ${released.map((m) => m.detail?.count).join('/')} EBs released by pool-5`);
  });

  // It failed in the CI rehearsal because the load ran out by slot ~36 (see the load in beforeAll): no honest
  // EB was followed by the 9-slot gap a certificate needs. With load to the end there are ~13 honest
  // EBs, each certifiable with probability (1 − f)^8 ≈ 0.27.
  it('honest EBs are still certified', () => {
    const honestEbs = new Set(HONEST.flatMap((i) => of(trace(i), 'EBGenerated').map((m) => m.id as string)));
    const certs = of(trace(0), 'CertIncluded');
    expect(certs.filter((c) => honestEbs.has(c.eb)).length).toBeGreaterThan(0);
    console.log(`certified on pool-1's chain: ${certs.length} (of ${honestEbs.size} honest EBs)`);
  });
});
