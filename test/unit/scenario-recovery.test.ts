// Recovery time after a fault, and the step-only assertions: a node counts as recovered only
// once it adopted a block forged after the restart on top of what it missed — an outage in
// which nothing was forged is not "0 s" — and the report's per-node table is built from the
// events the engine writes.
import { describe, expect, it } from 'vitest';
import type { NodeState } from '../../orchestrator/analysis/assertions.ts';
import type { RunEvent } from '../../orchestrator/pipeline/events.ts';
import { affectedNodes, baseline, faultTable, hasRecovered } from '../../orchestrator/scenario/recovery.ts';
import { agreementShare, evaluateGrows, majorityNow, praosCapacityBps, windowRate } from '../../orchestrator/scenario/relative.ts';

const st = (blockNo: number, slot: number, hash: string, extra: Partial<NodeState> = {}): NodeState => ({ running: true, blockNo, slot, hash, ...extra });

describe('recovery', () => {
  it('an outage without blocks: the restarted node is not recovered until a new block arrives', () => {
    // pool-2 restarted at slot 100; nobody forged while it was down: all at #20 (slot 90)
    const at = { 'pool-1': st(20, 90, 'a'), 'pool-2': st(20, 90, 'a'), 'pool-3': st(20, 90, 'a') };
    const b = baseline('pool-2', at, 0, 100);
    expect(b).toMatchObject({ slot: 100, missedTo: 20 });
    // right after the restart every tip agrees — the old measure said "recovered in 0 s"
    expect(hasRecovered('pool-2', b, at)).toBe(false);
    // a block forged after the restart (slot 104) reaches everyone
    const later = { 'pool-1': st(21, 104, 'b'), 'pool-2': st(21, 104, 'b'), 'pool-3': st(21, 104, 'b') };
    expect(hasRecovered('pool-2', b, later)).toBe(true);
  });

  it('needs the chain it missed and the common tip, not a block of its own fork', () => {
    const at = { 'pool-1': st(30, 95, 'x'), 'pool-2': { running: false }, 'pool-3': st(30, 95, 'x') };
    const b = baseline('pool-2', at, 0, 100);
    expect(b.missedTo).toBe(30);
    // pool-2 forged its own block on its old tip (#26, slot 101): after the restart, but behind
    expect(hasRecovered('pool-2', b, { ...at, 'pool-2': st(26, 101, 'own') })).toBe(false);
    // caught up to #30 but nothing new yet
    expect(hasRecovered('pool-2', b, { ...at, 'pool-2': st(30, 95, 'x') })).toBe(false);
    // adopted #31 (slot 103) that the others have too
    const ok = { 'pool-1': st(31, 103, 'y'), 'pool-2': st(31, 103, 'y'), 'pool-3': st(31, 103, 'y') };
    expect(hasRecovered('pool-2', b, ok)).toBe(true);
  });

  it('a node that stopped following (old release) is neither measured against nor recovered', () => {
    const at = { 'pool-1': st(40, 99, 'a'), 'pool-5': st(12, 60, 'old', { stoppedFollowing: true }) };
    expect(baseline('pool-1', at, 0, 100).missedTo).toBe(40);
    expect(hasRecovered('pool-5', baseline('pool-5', at, 0, 100), { 'pool-5': st(13, 120, 'z', { stoppedFollowing: true }) })).toBe(false);
  });

  it('affected nodes: the node of a node fault, every member of a partition', () => {
    expect(affectedNodes({ kind: 'kill', node: 'pool-3', forS: 2 })).toEqual(['pool-3']);
    expect(affectedNodes({ kind: 'partition', groups: [['pool-1'], ['pool-2', 'pool-3']] })).toEqual(['pool-1', 'pool-2', 'pool-3']);
    expect(affectedNodes({ kind: 'clock', node: 'pool-1', offsetMs: 100 })).toEqual([]);
  });

  it('the fault table has one row per fault and affected node, with its recovery or why not', () => {
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const ev: RunEvent[] = [
      { t: t(0), type: 'run' },
      { t: t(10), type: 'fault', index: 3, description: 'kill node=pool-2 forS=2', fault: { kind: 'kill', node: 'pool-2', forS: 2 } },
      { t: t(12), type: 'fault-undone', fault: 'kill node=pool-2 forS=2' },
      { t: t(17), type: 'recovered', fault: 'kill node=pool-2 forS=2', node: 'pool-2', recoveryS: 4.6, missedBlocks: 1 },
      { t: t(20), type: 'fault', index: 5, description: 'partition groups=[["pool-1"],["pool-2"]] forS=5', fault: { kind: 'partition', groups: [['pool-1'], ['pool-2']], forS: 5 } },
      { t: t(25), type: 'fault-undone', fault: 'partition groups=[["pool-1"],["pool-2"]] forS=5' },
      { t: t(30), type: 'recovered', fault: 'partition groups=[["pool-1"],["pool-2"]] forS=5', node: 'pool-2', recoveryS: 5 },
      { t: t(40), type: 'recovered', fault: 'partition groups=[["pool-1"],["pool-2"]] forS=5', node: 'pool-1', recoveryS: null, detail: 'run ended before the node recovered' },
      { t: t(50), type: 'upgrade', index: 7, node: 'pool-3', release: 'leios-2.0', phase: 'start' },
      { t: t(53), type: 'upgrade', index: 7, node: 'pool-3', release: 'leios-2.0', phase: 'done' },
      { t: t(58), type: 'recovered', fault: 'upgrade pool-3 → leios-2.0', node: 'pool-3', recoveryS: 7.5, missedBlocks: 2 },
    ];
    expect(faultTable(ev)).toEqual([
      { fault: 'kill node=pool-2 forS=2', node: 'pool-2', step: 4, atS: 10, undoneAtS: 12, recoveryS: 4.6, missedBlocks: 1, status: 'recovered' },
      { fault: 'partition groups=[["pool-1"],["pool-2"]] forS=5', node: 'pool-1', step: 6, atS: 20, undoneAtS: 25, recoveryS: null, missedBlocks: null, status: 'not recovered', detail: 'run ended before the node recovered' },
      { fault: 'partition groups=[["pool-1"],["pool-2"]] forS=5', node: 'pool-2', step: 6, atS: 20, undoneAtS: 25, recoveryS: 5, missedBlocks: null, status: 'recovered' },
      { fault: 'upgrade pool-3 → leios-2.0', node: 'pool-3', step: 8, atS: 50, undoneAtS: 53, recoveryS: 7.5, missedBlocks: 2, status: 'recovered' },
    ]);
  });
});

describe('step-only assertions', () => {
  it('grows compares with the earlier value and says both', () => {
    const snap = (height: number) => ({ atMs: 0, height, 'certified-ebs': 0, 'tx-applied': 0, 'tx-kb-applied': 0 });
    expect(evaluateGrows({ kind: 'grows', metric: 'height', by: 5 }, snap(10), snap(14), 'mark "upgraded"')).toEqual({ passed: false, detail: 'height 10 → 14 (+4, want +5 since mark "upgraded")' });
    expect(evaluateGrows({ kind: 'grows', metric: 'height', by: 5 }, snap(10), snap(15), 'this step').passed).toBe(true);
  });

  it('majority agreement: share of nodes on one tip, or within maxBlocksApart', () => {
    const states = { a: st(10, 1, 'h'), b: st(10, 1, 'h'), c: st(9, 1, 'g'), d: st(4, 1, 'z') };
    expect(agreementShare(Object.entries(states), 0).share).toBe(0.5);
    expect(agreementShare(Object.entries(states), 1).share).toBe(0.75);
    expect(majorityNow({ kind: 'majority-agreement', minShare: 0.5, maxBlocksApart: 0, graceS: 1 }, states).passed).toBe(false); // 50 % is not more than half
    expect(majorityNow({ kind: 'majority-agreement', minShare: 0.5, maxBlocksApart: 1, graceS: 1 }, states).passed).toBe(true);
  });

  it('throughput against Praos capacity: per-node deltas, a restarted node (counter reset) left out', () => {
    expect(praosCapacityBps({ protocolParams: { maxBlockBodySize: 4096 } as never, activeSlotCoeff: 0.2, slotLengthS: 0.4 })).toBe(2048);
    const m = (v: number) => ({ leios_ledger_tx_bytes_applied_total: v });
    expect(windowRate({ a: m(1000), b: m(50_000) }, { a: m(31_000), b: m(10) }, 10)).toBe(3000);
    expect(windowRate({}, { a: m(1) }, 10)).toBeNull();
  });
});
