import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adversaryTestnet, of } from '../support/adversary.ts';

// Invalid data on six real node processes, Leios from slot 0, enabled from the node config
// (node/adversary/): pool-4 sends its votes with bad BLS signatures (invalid-votes), every EB
// of pool-5 references a tx spending an output that does not exist (invalid-eb-tx), pool-6
// certifies with forged aggregate signatures whenever the timing allows (invalid-cert). The
// honest pools (1-3) must refuse each with a trace naming why, never relay or vote for it,
// and keep forging on one chain. Every assertion holds for any leader schedule: what an
// adversary did is read from its own trace, and each refusal is checked for what it did.

const SLOT_S = 0.4;
const RUN_S = 75;
const HONEST = [0, 1, 2];
const NODES = 6;
const tn = adversaryTestnet({
  tmpPrefix: 'leiosnet-adv-invalid-',
  pools: 6,
  basePort: 4600,
  slotLengthS: SLOT_S,
  epochLengthSlots: 1000,
  f: 0.15,
  k: 30,
  startInS: 15,
  eras: [{ era: 'leios', startEpoch: 0, protocolVersion: 2 }],
  // a 1.6 s voting period (4 slots): EB validation and BLS checks fit on a loaded 2-core machine
  leios: { lHdrSlots: 1, lVoteSlots: 4, lDiffSlots: 2 },
  // pool-6 (invalid-cert) holds 2/7 of the stake so it leads enough slots to forge a certificate
  // in any schedule; without pool-4's votes the rest still reach the 75 % quorum (6/7)
  stake: (i) => (i === 5 ? 2000 : 1000),
  adversary: {
    3: { 'invalid-votes': {} },
    4: { 'invalid-eb-tx': {} },
    5: { 'invalid-cert': {} },
  },
});
const { admin, trace } = tn;

beforeAll(async () => {
  await tn.start();
  // The config's behaviours are on from the start (GET /adversary).
  expect(await tn.active(3)).toEqual(['invalid-votes']);
  // The load runs for the whole run: chain c (one per genesis output) goes to node c % N (its txs
  // spend each other), one 2 kB tx per chain every 1.5 s (~53 kB/s against 90 kB RBs every ~2.7 s),
  // so every RB leaves txs over for an EB until the end. (Submitted all at once, as before, the
  // RBs had eaten it by slot ~36: only a handful of early EBs, none followed by a gap long enough
  // for a certificate in this leader schedule — why "honest EBs are still certified" failed.)
  const accepted = await tn.submitPaced({ untilMs: tn.startMs + (RUN_S - 5) * 1000, everyMs: 1500, padToBytes: 2000, to: (c) => c % NODES });
  expect(accepted).toBeGreaterThan(500);
  await tn.untilRunS(RUN_S);
}, 150_000);

afterAll(() => tn.stop());

describe('invalid data is refused by honest nodes (6 node processes)', () => {
  it('honest pools keep forging and agree on the tip', async () => {
    const forged = HONEST.map((i) => of(trace(i), 'RBGenerated').length);
    expect(forged.reduce((a, b) => a + b, 0)).toBeGreaterThan(3);
    await tn.oneTip(HONEST, 5);
  });

  // It failed in the clean-clone CI rehearsal on wrong accounting, not timing: pool-4 led slot 36
  // and certified an EB in its own RB with its own (valid, local) vote among the voters; honest
  // nodes adopted that RB (its certificate is valid) and traced CertIncluded with pool-4 in it.
  // What must hold is that no certificate made by another pool counts pool-4's votes.
  it('invalid votes: never counted or relayed by honest nodes, counted as invalid, the sender dropped', async () => {
    const cast = of(trace(3), 'VTBundleGenerated').length;
    const sent = of(trace(3), 'Adversary').filter((m) => m.behaviour === 'invalid-votes' && m.action === 'sent').length;
    expect(sent, 'pool-4 sent votes with a bad signature').toBeGreaterThan(0);
    const ownRbs = new Set(of(trace(3), 'RBGenerated').map((m) => m.id as string));
    for (const i of HONEST) {
      // verified votes are traced VTBundleReceived (and only those are relayed): none from pool-4
      expect(of(trace(i), 'VTBundleReceived').filter((m) => m.voter === 'pool-4')).toEqual([]);
      // no certificate made by another pool counts pool-4
      for (const c of of(trace(i), 'CertIncluded')) if (!ownRbs.has(c.rb)) expect(c.voters ?? []).not.toContain('pool-4');
    }
    const rejected = HONEST.flatMap((i) => of(trace(i), 'VoteRejected'));
    expect(rejected.length).toBeGreaterThan(0);
    expect(rejected.every((m) => m.sender === 'pool-4')).toBe(true);
    const invalid = await Promise.all(HONEST.map(async (i) => Number(/^leios_votes_invalid_total\{[^}]*\} (\d+)/m.exec(await (await fetch(`${admin(i)}/metrics`)).text())?.[1] ?? 0)));
    expect(invalid.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    console.log(`invalid-votes: pool-4 cast ${cast} vote(s), sent ${sent} with a bad signature; refused ${HONEST.map((i) => of(trace(i), 'VoteRejected').length).join('/')} times at pool-1/2/3`);
  });

  it('an EB with an invalid tx gets no honest vote and no certificate; the refusal is traced with its reason', () => {
    const bad = new Set(of(trace(4), 'EBGenerated').map((m) => m.id as string));
    for (const i of HONEST) {
      const ev = trace(i);
      expect(of(ev, 'VTBundleGenerated').filter((m) => bad.has(String(m.id).split(':')[0]))).toEqual([]);
      expect(of(ev, 'RBGenerated').filter((m) => m.endorsement && bad.has(m.endorsement))).toEqual([]);
      expect(of(ev, 'CertIncluded').filter((m) => bad.has(m.eb))).toEqual([]);
      // every bad EB this node fetched completely and considered for a vote was refused as invalid
      for (const r of of(ev, 'EBRejected')) expect(['invalid-tx', 'bad-witness']).toContain(r.reason);
    }
    expect(bad.size, 'pool-5 announced invalid EBs').toBeGreaterThan(0);
    const refused = HONEST.flatMap((i) => of(trace(i), 'EBRejected')).filter((m) => bad.has(m.id));
    expect(refused.length, 'a bad EB reached an honest voter and was refused').toBeGreaterThan(0);
    console.log(`invalid-eb-tx: pool-5 announced ${bad.size} invalid EB(s); ${refused.length} EBRejected traces at honest nodes; honest certificates: ${of(trace(0), 'CertIncluded').length}`);
  });

  it('a forged certificate: its RB is never adopted by an honest node, with a CertificateRejected trace', () => {
    const forged = of(trace(5), 'Adversary').filter((m) => m.behaviour === 'invalid-cert' && m.action === 'forged');
    const forgedRbs = new Set(of(trace(5), 'RBGenerated').filter((m) => m.endorsement).map((m) => m.id as string));
    for (const i of HONEST) expect(of(trace(i), 'RBAdopted').filter((m) => forgedRbs.has(m.id))).toEqual([]);
    const rejected = HONEST.flatMap((i) => of(trace(i), 'CertificateRejected'));
    expect(forged.length, 'pool-6 forged a certificate').toBeGreaterThan(0);
    expect(forgedRbs.size).toBeGreaterThan(0);
    expect(rejected.filter((m) => forgedRbs.has(m.block)).length).toBeGreaterThan(0);
    console.log(`invalid-cert: pool-6 forged ${forged.length} certificate(s) in ${forgedRbs.size} RB(s); ${rejected.length} CertificateRejected traces at honest nodes (${[...new Set(rejected.map((m) => m.reason))].join(', ')})`);
  });
});
