// The scenario part of the report and tx fate, from a run dir: functional checks with their
// evidence, the per-node fault recovery table and the step timeline (events.jsonl); and the
// fate of accepted txs that never reached the ledger, with EB contents read from a real EB
// store (node/storage BlockStore, the records the Leios engine writes).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cborEncode } from '../../node/codec/cbor.ts';
import { fromHex, hash256, toHex } from '../../node/crypto/hash.ts';
import { encodeEb } from '../../node/leios/eb.ts';
import { BlockStore } from '../../node/storage/blockstore.ts';
import { analyseTxFate } from '../../orchestrator/analysis/tx-fate.ts';
import { renderMarkdown } from '../../orchestrator/report/markdown.ts';
import { readEvents, scenarioReport } from '../../orchestrator/report/scenario.ts';
import { emptySummary } from '../../orchestrator/scenario/view.ts';

const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-scenario-report-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
const jsonl = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).join('\n') + '\n';

describe('report: scenario sections', () => {
  it('lists checks with evidence, a recovery row per node and fault, and every step in the timeline', () => {
    const dir = join(tmp, 'run-a');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'events.jsonl'),
      jsonl([
        { t: t(0), type: 'run', runId: 'a' },
        { t: t(1), type: 'step', index: 0, step: { mark: '1 start' } },
        { t: t(1), type: 'mark', index: 0, label: '1 start' },
        { t: t(2), type: 'step', index: 1, step: { check: { name: 'payment' } } },
        { t: t(5), type: 'assertion', name: 'check payment (step 2)', passed: true, detail: 'tx ab included on 5 nodes', check: 'payment', status: 'passed', step: 2, evidence: { tx: 'ab', reply: { accepted: true } } },
        { t: t(6), type: 'step', index: 2, step: { upgrade: { nodes: ['pool-1'], release: 'leios-2.0' } } },
        { t: t(7), type: 'upgrade', index: 2, node: 'pool-1', release: 'leios-2.0', phase: 'done' },
        { t: t(8), type: 'step', index: 3, step: { fault: { kind: 'kill', node: 'pool-2', forS: 2 } } },
        { t: t(8), type: 'fault', index: 3, description: 'kill node=pool-2 forS=2', fault: { kind: 'kill', node: 'pool-2', forS: 2 } },
        { t: t(10), type: 'fault-undone', fault: 'kill node=pool-2 forS=2' },
        { t: t(14), type: 'recovered', fault: 'kill node=pool-2 forS=2', node: 'pool-2', recoveryS: 3.9, missedBlocks: 1 },
      ]),
    );
    const r = scenarioReport(readEvents(dir));
    expect(r.checks).toEqual([{ step: 2, check: 'payment', status: 'PASS', detail: 'tx ab included on 5 nodes', evidence: '{"tx":"ab","reply":{"accepted":true}}' }]);
    expect(r.faults).toMatchObject([
      { fault: 'upgrade pool-1 → leios-2.0', node: 'pool-1', step: 3, atS: 7, status: 'not measured' },
      { fault: 'kill node=pool-2 forS=2', node: 'pool-2', step: 4, atS: 8, undoneAtS: 10, recoveryS: 3.9, missedBlocks: 1, status: 'recovered' },
    ]);
    const md = renderMarkdown(emptySummary(), undefined, r);
    expect(md).toContain('## Functional checks');
    expect(md).toContain('| 4 | kill node=pool-2 forS=2 | pool-2 | 8 | 10 | 1 | 3.9 | recovered |');
    const tl = md.slice(md.indexOf('## Timeline'));
    for (const s of ['step 1: mark: 1 start', 'step 2: check payment', 'upgrade pool-1 → leios-2.0 done', 'fault kill node=pool-2 forS=2', 'pool-2 recovered in 3.9 s']) expect(tl).toContain(s);
  });
});

describe('tx fate', () => {
  it('counts accepted txs that never reached the ledger by cause, EB contents from the EB store', async () => {
    const dir = join(tmp, 'run-b');
    const id = (n: number) => toHex(hash256(new Uint8Array([n])));
    const u = (n: number) => `${id(100 + n)}#0`;
    // 1 included; 2 lost to its twin 3 (2 was in a parallel EB); 4 only in an uncertified EB; 5 in no EB; 6 refused
    mkdirSync(join(dir, 'generator'), { recursive: true });
    writeFileSync(
      join(dir, 'generator', 'txs.jsonl'),
      jsonl([
        { id: id(1), inputs: [u(1)], state: 'included', verdict: 'accepted' },
        { id: id(2), inputs: [u(2)], state: 'pending', verdict: 'accepted' },
        { id: id(3), inputs: [u(2)], state: 'included', verdict: 'accepted' },
        { id: id(4), inputs: [u(4)], state: 'pending', verdict: 'accepted' },
        { id: id(5), inputs: [u(5)], state: 'pending', verdict: 'accepted' },
        { id: id(6), inputs: [u(6)], state: 'rejected', verdict: 'bad-witness' },
      ]),
    );
    const ebA = encodeEb({ slot: 10, producer: 'pool-1', txs: [{ id: fromHex(id(2)), size: 400 }] });
    const ebB = encodeEb({ slot: 12, producer: 'pool-2', txs: [{ id: fromHex(id(4)), size: 400 }, { id: fromHex(id(1)), size: 400 }] });
    const ebC = encodeEb({ slot: 14, producer: 'pool-2', txs: [{ id: fromHex(id(1)), size: 400 }] });
    const store = await BlockStore.open(join(dir, 'nodes', 'pool-1', 'db', 'ebs'));
    for (const e of [ebA, ebB, ebC]) await store.append({ hash: e.hash, prevHash: null, slot: e.eb.slot, blockNo: 0, bytes: cborEncode([e.bytes, []]) });
    await store.close();
    writeFileSync(
      join(dir, 'nodes', 'pool-1', 'trace.jsonl'),
      jsonl([
        { time_s: 1, message: { type: 'TxAccepted', node: 'pool-1', ids: [id(1), id(2), id(4), id(5)] } },
        { time_s: 2, message: { type: 'CertIncluded', node: 'pool-1', eb: toHex(ebC.hash), rb: id(50) } },
        { time_s: 2, message: { type: 'TxIncluded', node: 'pool-1', ids: [id(1), id(3)], rb: id(50) } },
      ]),
    );
    const f = (await analyseTxFate(dir))!;
    expect(f).toMatchObject({
      accepted: 5,
      reachedLedger: 2,
      lost: 3,
      byCause: { lostConflict: 1, lostConflictInEb: 1, uncertifiedEb: 1, expired: 1 },
      inEbs: 3,
      ebs: { seen: 3, certified: 1 },
      ebContents: 'node-db',
      examples: { lostConflict: [id(2)], uncertifiedEb: [id(4)], expired: [id(5)] },
    });
    const md = renderMarkdown({ ...emptySummary(), txFate: f } as never);
    expect(md).toContain('## Transaction fate');
    expect(md).toMatch(/\| only in uncertified EBs \| 1 \| 20 % \|/);
  });
});
