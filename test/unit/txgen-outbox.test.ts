import { describe, expect, it } from 'vitest';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Outbox } from '../../tx-generator/outbox.ts';

// A real collection, not a count of our own bookkeeping: --expose-gc set at run time.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function tx(i: number): { id: Uint8Array; bytes: Uint8Array } {
  const id = new Uint8Array(32);
  id[0] = i;
  return { id, bytes: new Uint8Array(1500).fill(i) };
}

function fill(o: Outbox, refs: WeakRef<Uint8Array>[], ids: Uint8Array[]): void {
  for (let i = 0; i < 100; i++) {
    const t = tx(i);
    refs.push(new WeakRef(t.bytes));
    ids.push(t.id);
    o.push(t.id, t.bytes);
  }
}

describe('tx-generator Outbox', () => {
  it('offers in order, serves fetched txs once, and requeues unfetched offers after a reconnect', async () => {
    const delivered: string[] = [];
    const o = new Outbox('pool-1', { onDelivered: (id) => delivered.push(id) });
    for (let i = 0; i < 5; i++) o.push(tx(i).id, tx(i).bytes);
    const ids = await o.nextTxIds(3, false);
    expect(ids.map((x) => x.id[0])).toEqual([0, 1, 2]);
    expect(o.getTxs([ids[0]!.id]).map((b) => b[0])).toEqual([0]);
    expect(o.getTxs([ids[0]!.id])).toEqual([]);
    expect(o.requeueOffered()).toBe(2);
    expect((await o.nextTxIds(10, false)).map((x) => x.id[0])).toEqual([1, 2, 3, 4]);
    expect(delivered).toHaveLength(1);
  });

  it('holds no tx bytes once they were fetched or acknowledged, long before the queue compacts', async () => {
    const o = new Outbox('pool-1');
    const refs: WeakRef<Uint8Array>[] = [];
    const ids: Uint8Array[] = [];
    fill(o, refs, ids); // in a plain function: an async frame may keep its last loop value alive
    const offered = await o.nextTxIds(100, false);
    expect(offered).toHaveLength(100);
    expect(o.getTxs(ids.slice(0, 50))).toHaveLength(50);
    o.onAcknowledged(ids.slice(50).map((id) => Buffer.from(id).toString('hex')));
    expect(o.inFlight).toBe(0);
    // let the fetched buffers go out of this frame's reach, then collect
    await new Promise((r) => setImmediate(r));
    gc();
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    expect(alive).toBe(0);
  });
});
