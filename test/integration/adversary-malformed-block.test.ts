import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adversaryTestnet, of } from '../support/adversary.ts';

// A malformed block body on four real node processes (Praos; the body path is the same in both
// eras): pool-4 forges and announces its RBs as usual but serves every peer a body that does not
// match the header (node/adversary/malformed-block.ts). The honest pools must refuse each with a
// trace naming why (BlockRejected), never adopt such a block, and keep forging on one chain.
// Every assertion holds for any leader schedule: what pool-4 served is read from its own trace.

const RUN_S = 40;
const HONEST = [0, 1, 2];
const tn = adversaryTestnet({
  tmpPrefix: 'leiosnet-adv-malformed-',
  pools: 4,
  basePort: 4760,
  slotLengthS: 0.4,
  epochLengthSlots: 1000,
  f: 0.15,
  k: 30,
  startInS: 12,
  // pool-4 holds 2/5 of the stake, so it leads slots in any schedule of this length
  stake: (i) => (i === 3 ? 2000 : 1000),
  adversary: { 3: { 'malformed-block': {} } },
});
const trace = tn.trace;

beforeAll(async () => {
  await tn.start();
  expect(await tn.active(3)).toEqual(['malformed-block']);
  // a tx per genesis output every 2 s, to every node in turn: most blocks carry txs (another body than the header's)
  expect(await tn.submitPaced({ untilMs: tn.startMs + (RUN_S - 5) * 1000, everyMs: 2000, chains: 8, to: (_, j) => j % 4 })).toBeGreaterThan(20);
  await tn.untilRunS(RUN_S);
}, 120_000);

afterAll(() => tn.stop());

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
    await tn.oneTip(HONEST, 3);
    console.log(
      `malformed-block: pool-4 served ${bad.size} malformed RB bod(y/ies) (${[...new Set(served.map((m) => (m.detail as { variant: string }).variant))].join(', ')}); ` +
        `BlockRejected at pool-1/2/3: ${HONEST.map((i) => of(trace(i), 'BlockRejected').length).join('/')} (${[...new Set(rejected.map((m) => m.reason))].join(', ')}); honest RBs forged ${forged.join('/')}`,
    );
  });
});
