// mempool-partitioning and eclipse through the composition the node calls (node/adversary), and
// their figures in summary.adversary (what the profiles assert).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Adversary, type AdversaryEnv, type TxRef } from '../../node/adversary/index.ts';
import type { Tx } from '../../node/ledger/index.ts';
import { analyseAdversaries } from '../../orchestrator/analysis/adversary.ts';

const PEERS = ['pool-1', 'pool-2', 'pool-3', 'pool-4'];

function setup(clock: { t: number }, mempool: Tx[] = []) {
  const traces: { behaviour: string; action: string; fields?: Record<string, unknown> }[] = [];
  const env: AdversaryEnv = {
    name: 'pool-5',
    poolId: 'pool-5',
    log: { warn: () => {}, info: () => {} },
    trace: (behaviour, action, fields) => void traces.push({ behaviour, action, fields }),
    currentSlot: () => 100,
    slotLengthS: 0.2,
    offerEb: () => {},
    peers: () => PEERS,
    ebClosure: () => undefined,
    holdEb: () => {},
    blsSign: () => undefined,
    relayHeaders: () => {},
    mempoolConflict: (tx) => mempool.find((m) => m.body.inputs.some((i) => tx.body.inputs.some((j) => j.index === i.index && j.txId[0] === i.txId[0]))),
    nowMs: () => clock.t,
  };
  return { adv: new Adversary(env), traces };
}

/** Just what the behaviour reads of a tx: its id, size, bytes and inputs. */
const tx = (n: number, input: number): Tx => {
  const id = new Uint8Array(32).fill(n);
  return { id, idHex: Buffer.from(id).toString('hex'), size: 100 + n, bytes: new Uint8Array([n]), body: { inputs: [{ txId: new Uint8Array(32).fill(input), index: 0 }] } } as unknown as Tx;
};
const ref = (t: Tx): TxRef => ({ id: t.id, idHex: t.idHex, size: t.size });

describe('mempool-partitioning', () => {
  it('holds announcements, then gives one side of each conflicting pair to half the peers and the twin to the others; serves the twin it holds', () => {
    const clock = { t: 1000 };
    const a = tx(1, 9); // first seen, in the mempool
    const b = tx(2, 9); // its twin: the same input, refused here as a conflict
    const c = tx(3, 7); // no twin
    const { adv, traces } = setup(clock, [a, c]);
    adv.set('mempool-partitioning', true, { holdMs: 500 });
    expect(adv.txIdsOut('pool-1', [ref(a), ref(c)])).toEqual([]); // held
    expect(adv.txIdsOut('pool-4', [ref(a), ref(c)])).toEqual([]);
    clock.t += 200;
    adv.txRefused(b, 'conflict');
    adv.txRefused(b, 'conflict'); // again: one pair
    adv.txRefused(tx(4, 9), 'missing-input'); // not a conflict: ignored
    expect(traces.filter((t) => t.action === 'partitioned')).toEqual([
      { behaviour: 'mempool-partitioning', action: 'partitioned', fields: { tx: a.idHex, twin: b.idHex, twinTo: ['pool-1', 'pool-2'], txTo: ['pool-3', 'pool-4'] } },
    ]);
    expect(adv.txIdsOut('pool-1', [])).toEqual([]); // still within holdMs
    clock.t += 300;
    expect(adv.txIdsOut('pool-1', []).map((r) => r.idHex)).toEqual([b.idHex, c.idHex]); // the twin side
    expect(adv.txIdsOut('pool-4', []).map((r) => r.idHex)).toEqual([a.idHex, c.idHex]); // the first-seen side
    expect(adv.txIdsOut('pool-4', [])).toEqual([]); // each announced once
    expect(adv.txBytes(b.idHex)).toEqual(new Uint8Array([2]));
    expect(adv.txBytes(a.idHex)).toBeUndefined(); // the mempool serves that one
    // off: nothing held, nothing swapped
    adv.set('mempool-partitioning', false);
    expect(adv.txIdsOut('pool-1', [ref(a)])).toEqual([ref(a)]);
    expect(adv.txBytes(b.idHex)).toBeUndefined();
  });
});

describe('eclipse', () => {
  it('starves only the victims while on, and traces each block they are not shown', () => {
    const { adv, traces } = setup({ t: 0 });
    expect(adv.serves('pool-1')).toBe(true);
    adv.set('eclipse', true, { victims: ['pool-1'] });
    expect(adv.serves('pool-1')).toBe(false);
    expect(adv.serves('pool-2')).toBe(true);
    adv.tip({ slot: 7, own: false });
    expect(traces.map((t) => t.action)).toEqual(['eclipsing', 'enabled', 'withheld']);
    adv.set('eclipse', false);
    expect(adv.serves('pool-1')).toBe(true);
    adv.set('eclipse', true, {}); // no victims: does nothing
    expect(adv.serves('pool-1')).toBe(true);
  });
});

describe('summary.adversary: eclipse and partition figures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leiosnet-adv-eclipse-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const line = (t: number, m: Record<string, unknown>) => JSON.stringify({ time_s: t, message: m });
  const w = (n: string, lines: string[]) => {
    mkdirSync(join(dir, 'nodes', n), { recursive: true });
    writeFileSync(join(dir, 'nodes', n, 'trace.jsonl'), lines.join('\n') + '\n');
  };
  const adopt = (t: number, b: number) => line(t, { type: 'RBAdopted', id: `r${b}`, slot: b * 20, blockNo: b });

  it('the victim: how far behind when the eclipse ended, how long until it caught up; pairs by the side honest nodes included', async () => {
    const plan = { scenario: { steps: [{ adversary: { node: 'pool-4', behaviour: 'eclipse' } }, { adversary: { node: 'pool-5', behaviour: 'mempool-partitioning' } }] } };
    w('pool-4', [
      line(10, { type: 'Adversary', behaviour: 'eclipse', action: 'eclipsing', detail: { victims: ['pool-1'] } }),
      line(10, { type: 'Adversary', behaviour: 'eclipse', action: 'enabled' }),
      line(12, { type: 'Adversary', behaviour: 'eclipse', action: 'withheld', detail: { slot: 60 } }),
      line(30, { type: 'Adversary', behaviour: 'eclipse', action: 'disabled' }),
    ]);
    w('pool-5', [
      line(5, { type: 'Adversary', behaviour: 'mempool-partitioning', action: 'partitioned', detail: { tx: 'a1', twin: 'b1' } }),
      line(6, { type: 'Adversary', behaviour: 'mempool-partitioning', action: 'partitioned', detail: { tx: 'a2', twin: 'b2' } }),
      line(7, { type: 'Adversary', behaviour: 'mempool-partitioning', action: 'partitioned', detail: { tx: 'a3', twin: 'b3' } }),
    ]);
    // pool-1, the victim: block 2 before the eclipse, nothing during it, back to 6 at 34 s
    w('pool-1', [adopt(8, 2), adopt(33, 5), adopt(34, 6), line(20, { type: 'TxIncluded', count: 1, ids: ['b1'] })]);
    w('pool-2', [adopt(8, 2), adopt(15, 3), adopt(20, 4), adopt(29, 6), adopt(40, 7), line(20, { type: 'TxIncluded', count: 2, ids: ['a2', 'b1'] })]);
    w('pool-3', [adopt(8, 2), adopt(20, 4)]);
    const s = (await analyseAdversaries(dir, plan))!;
    expect(s.eclipsed).toEqual({ 'pool-1': { fromS: 10, toS: 30, lagBlocks: 4, caughtUpS: 4 } });
    expect(s.partition).toEqual({ pairs: 3, txIncluded: 1, twinIncluded: 1, both: 0, neither: 1 });
  });
});
