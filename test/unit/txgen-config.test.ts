// tx-generator config resolution and the TxSubmission outbox.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GeneratorConfigError, resolveGeneratorConfig, targetTps } from '../../tx-generator/config.ts';
import { Outbox } from '../../tx-generator/outbox.ts';

const minimal = {
  genesisFile: 'genesis/genesis.json',
  paymentSkeyFile: 'genesis/payment.skey',
  targets: [{ name: 'pool-1', host: '127.0.0.10', port: 3001 }],
  tps: 50,
  durationS: 30,
  outDir: 'generator',
};

describe('generator config', () => {
  it('fills defaults and makes paths absolute', () => {
    const c = resolveGeneratorConfig(minimal, '/runs/r1');
    expect(c).toMatchObject({
      name: 'txgen-1',
      handshakeName: 'txgen-1',
      enabled: true,
      txSizeBytes: 300,
      inputs: 1,
      outputs: 2,
      workload: { kind: 'value' },
      rampUpS: 0,
      fanoutOutputs: 100,
      confirmations: 2,
      recycle: true,
      versions: [1, 2],
      genesisFile: path.resolve('/runs/r1/genesis/genesis.json'),
      outDir: path.resolve('/runs/r1/generator'),
      summaryFile: path.resolve('/runs/r1/generator/summary.json'),
    });
    expect(minimal).not.toHaveProperty('name'); // input untouched
    expect(resolveGeneratorConfig(c)).toBe(c); // resolved once
  });

  it('names the field that is wrong', () => {
    const bad = (patch: Record<string, unknown>, field: RegExp) => {
      expect(() => resolveGeneratorConfig({ ...minimal, ...patch })).toThrow(GeneratorConfigError);
      expect(() => resolveGeneratorConfig({ ...minimal, ...patch })).toThrow(field);
    };
    bad({ tps: -1 }, /field tps/);
    bad({ tps: undefined }, /field tps: one of tps or txkbPerS/);
    bad({ targets: [] }, /field targets/);
    bad({ targets: [{ name: 'a', host: 'h', port: 70000 }] }, /field targets\.0\.port/);
    bad({ workload: { kind: 'zipf' } }, /field workload\.kind/);
    bad({ workload: { kind: 'conflict', conflictFraction: 0.9 } }, /field workload\.conflictFraction/);
    bad({ workload: { kind: 'value', conflictFraction: 0.1 } }, /only for kind conflict/);
    bad({ name: '' }, /field name/);
    bad({ workload: 'conflict', conflictFraction: 0.1, outDir: 'x', burst: { onS: 0, offS: 1 } }, /field burst\.onS/);
    bad({ workload: { kind: 'conflict', conflictFraction: 0.1 }, conflictFraction: 0.2 }, /given twice/);
    bad({ followTarget: 'pool-9' }, /field followTarget/);
    bad({ extra: 1 }, /'extra'/);
    bad({ targets: [minimal.targets[0], minimal.targets[0]] }, /duplicate target name/);
  });

  it('accepts the config the orchestrator writes (orchestrator/genesis/generator-config.ts)', () => {
    // as generatorConfig(plan) writes it into runs/<id>/generator/config.json
    const written = {
      name: 'generator',
      genesisFile: '../genesis/genesis.json',
      paymentSkeyFile: '../genesis/keys/generator.skey',
      networkMagic: 42,
      targets: [
        { name: 'pool-1', host: '127.0.0.10', port: 3001 },
        { name: 'pool-2', host: '127.0.0.11', port: 3001 },
      ],
      enabled: true,
      tps: 20,
      txSizeBytes: 400,
      inputs: 1,
      outputs: 2,
      workload: 'conflict',
      conflictFraction: 0.8,
      burst: { onS: 2, offS: 3 },
      rampUpS: 5,
      durationS: 60,
      seed: 123,
      metrics: { host: '127.0.0.20', port: 12798 },
      logFile: 'generator.log',
      summaryFile: 'summary.json',
    };
    const c = resolveGeneratorConfig(written, '/runs/r1/generator', 'config.json');
    expect(c).toMatchObject({
      handshakeName: 'txgen-generator',
      networkMagic: 42,
      workload: { kind: 'conflict', conflictFraction: 0.5 }, // capped: every fresh tx has a twin
      outDir: path.resolve('/runs/r1/generator'),
      summaryFile: path.resolve('/runs/r1/generator/summary.json'),
      paymentSkeyFile: path.resolve('/runs/r1/genesis/keys/generator.skey'),
      seed: 123,
    });
    expect(c).not.toHaveProperty('conflictFraction');
    const burst = resolveGeneratorConfig({ ...written, workload: 'burst', conflictFraction: undefined }, '/runs/r1/generator');
    expect(burst.workload).toEqual({ kind: 'burst', onS: 2, offS: 3 });
  });

  it('txkbPerS sets the rate from the tx size', () => {
    const c = resolveGeneratorConfig({ ...minimal, tps: undefined, txkbPerS: 30, txSizeBytes: 1500 });
    expect(targetTps(c)).toBe(20);
    expect(targetTps(c, 3000)).toBe(10); // natural size above the padding target
    expect(targetTps(resolveGeneratorConfig(minimal))).toBe(50);
  });
});

describe('outbox (TxSubmission source)', () => {
  const tx = (n: number) => ({ id: new Uint8Array(32).fill(n), bytes: new Uint8Array(100 + n).fill(n) });

  it('offers queued txs, serves them once, and reports deliveries and verdicts', async () => {
    const delivered: string[] = [];
    const verdicts: (string | null)[] = [];
    const ob = new Outbox('pool-1', { onDelivered: (id) => delivered.push(id), onVerdicts: (rs) => verdicts.push(...rs.map((r) => r.reason)) });
    for (let n = 1; n <= 3; n++) ob.push(tx(n).id, tx(n).bytes);
    expect(ob.backlog).toBe(3);
    const ids = await ob.nextTxIds(2, true);
    expect(ids.map((i) => i.size)).toEqual([101, 102]);
    expect(ob.backlog).toBe(1);
    expect(ob.getTxs([tx(2).id, tx(1).id, tx(9).id])).toEqual([tx(2).bytes, tx(1).bytes]);
    expect(ob.getTxs([tx(2).id])).toEqual([]);
    expect(delivered.length).toBe(2);
    ob.onResults([{ id: tx(1).id, reason: null }, { id: tx(2).id, reason: 'conflict' }]);
    expect(verdicts).toEqual([null, 'conflict']);
  });

  it('a blocking request waits for the next tx; close answers it with nothing (Done)', async () => {
    const ob = new Outbox('pool-1');
    const p = ob.nextTxIds(10, true);
    let settled = false;
    void p.then(() => (settled = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(settled).toBe(false);
    ob.push(tx(1).id, tx(1).bytes);
    expect((await p).length).toBe(1);
    const q = ob.nextTxIds(10, true);
    ob.close();
    expect(await q).toEqual([]);
  });

  it('after a lost connection, offered-but-unfetched txs are offered again first', async () => {
    const ob = new Outbox('pool-1');
    for (let n = 1; n <= 2; n++) ob.push(tx(n).id, tx(n).bytes);
    await ob.nextTxIds(2, true);
    ob.getTxs([tx(1).id]);
    const stale = ob.nextTxIds(5, true); // the old connection's blocked request
    expect(ob.requeueOffered()).toBe(1);
    expect(await stale).toEqual([]); // it gets nothing: the txs are for the new connection
    ob.push(tx(3).id, tx(3).bytes);
    const again = await ob.nextTxIds(5, true);
    expect(again.map((i) => i.size)).toEqual([102, 103]);
  });
});
