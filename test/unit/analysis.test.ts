import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyseRun } from '../../orchestrator/analysis/analyse.ts';
import { assertionName, evaluateAssertion } from '../../orchestrator/analysis/assertions.ts';
import { percentile } from '../../orchestrator/analysis/stats.ts';

// Expected figures are worked out by hand in test/fixtures/traces/small/README.md.
const FIXTURE = join(import.meta.dirname, '../fixtures/traces/small');
const SYSTEM_START = 1767225600;

const tmp: string[] = [];
function copyFixture(): string {
  const dir = mkdtempSync(join(tmpdir(), 'leiosnet-analysis-'));
  tmp.push(dir);
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

describe('analysis of the recorded four-node trace set', async () => {
  const { summary, series, nodes, badTraceLines } = await analyseRun(FIXTURE);

  it('reads the run block from meta.json and genesis', () => {
    expect(summary.run).toEqual({
      id: 'fixture-small',
      profile: 'fixture',
      runtime: 'process',
      seed: 42,
      nodes: 4,
      durationS: 20,
      slotLengthS: 1,
    });
  });

  it('RB diffusion: percentiles over (block, node) arrivals from slot start, producer excluded', () => {
    expect(summary.diffusion.rb).toEqual({
      p50Ms: 400,
      p95Ms: 1800,
      p99Ms: 2760,
      samples: 13,
      blocks: 5, // rb5 is too young (slot 19, traces end at 20 s, withinS 2)
      reachedWithinShare: 0.8,
      withinS: 2,
    });
    expect(series.rbDelaysMs.map((d) => Math.round(d))).toEqual([100, 150, 200, 250, 300, 350, 400, 500, 500, 600, 800, 1000, 3000]);
  });

  it('EB diffusion', () => {
    expect(summary.diffusion.eb).toEqual({
      p50Ms: 700,
      p95Ms: 1220,
      p99Ms: 1284,
      samples: 5,
      blocks: 2,
      reachedWithinShare: 0.8333,
      withinS: 2,
    });
  });

  it('chain: tips from the last RBAdopted per node, fork depth from Rollback', () => {
    expect(summary.chain).toEqual({
      blocks: 5,
      finalSlot: 19,
      tipAgreement: false,
      tipAgreementShare: 0.75,
      maxForkDepth: 1,
      rollbacks: 1,
      density: 0.25,
    });
  });

  it('leios: announced, certified, votes, certificates, hard fork', () => {
    expect(summary.leios).toEqual({
      ebsAnnounced: 2,
      ebsCertified: 1,
      certRate: 0.5,
      votesCast: 4,
      // leios_votes_skipped_total at each node's last sample, summed; every reason present
      votesSkipped: { 'not-in-committee': 3, 'already-voted': 0, 'too-late': 0, 'late-header': 3, equivocation: 0, 'eb-size-mismatch': 0, 'eb-empty': 0, 'eb-late': 0, 'eb-invalid': 0, 'not-tip': 0 },
      certsIncluded: 1,
      hardForkSlot: 10,
    });
  });

  it('throughput and inclusion latency over the generator load window', () => {
    expect(summary.throughput).toEqual({
      txSubmitted: 10,
      txIncluded: 5,
      txRejected: 1,
      txPending: 4,
      txkbPerS: 0.2,
      windowTxkbPerS: 0.06, // only tx1 tx2 (600 B at 5.01) were included while the load ran (1..11 s)
      tps: 0.5,
      loadWindowS: 10,
    });
    expect(summary.latency).toEqual({ inclusionP50S: 8, inclusionP95S: 11.3 });
  });

  it('resources: per-node means, then the mean over nodes', () => {
    expect(summary.resources.cpuPctPerNode).toBe(26.3);
    expect(summary.resources.rssMbPerNode).toBe(133.8);
    expect(summary.resources.perNode.n4).toEqual({ cpuPct: 50, rssMb: 210 });
  });

  it('timeline from the scraped metrics', () => {
    expect(series.timeline).toEqual({
      t: [4, 8, 12, 16],
      height: [1, 2, 3, 4],
      txApplied: [0, 2, 2, 5],
      txRate: [null, 0.5, 0, 0.75],
      mempoolTxs: [3.5, 3, 3, 0.5],
    });
  });

  it('assertions: scenario results from events.jsonl, then the plan assertions', () => {
    expect(summary.assertions).toEqual([
      { name: 'n1: block height is at least 3 within 30 s', passed: true, detail: 'n1 block height 4 (want >= 3)' },
      { name: 'max-fork-depth n=2', passed: true, detail: 'max fork depth 1 (want <= 2)' },
      { name: 'rb-diffusion-p95 maxMs=1500', passed: false, detail: 'RB diffusion p95 ms 1800 (want <= 1500)' },
      { name: 'protocol-version version=2', passed: true, detail: 'protocol versions: n1 2, n2 2, n3 2, n4 2 (want 2)' },
    ]);
    expect(summary.passed).toBe(false);
  });

  it('final node states: tip, protocol version', () => {
    expect(nodes.n1).toEqual({ hash: 'rb5', slot: 19, blockNo: 5, protocolVersion: 2 });
    expect(nodes.n4).toEqual({ hash: 'rb4', slot: 14, blockNo: 4, protocolVersion: 2 });
  });

  it('counts the half-written last line of a killed node instead of failing', () => {
    expect(badTraceLines).toEqual({ n4: 1 });
  });
});

describe('analysis inputs in other shapes', () => {
  it('Unix-time traces give the same figures as times since systemStart', async () => {
    const dir = copyFixture();
    for (const n of ['n1', 'n2', 'n3', 'n4']) {
      const f = join(dir, 'nodes', n, 'trace.jsonl');
      const lines = readFileSync(f, 'utf8').split('\n');
      writeFileSync(
        f,
        lines
          .map((l) => {
            try {
              const e = JSON.parse(l);
              return JSON.stringify({ ...e, time_s: e.time_s + SYSTEM_START });
            } catch {
              return l;
            }
          })
          .join('\n'),
      );
    }
    const { summary } = await analyseRun(dir);
    expect(summary.diffusion.rb.p50Ms).toBe(400);
    expect(summary.diffusion.rb.p95Ms).toBe(1800);
    expect(summary.diffusion.eb.p99Ms).toBe(1284);
    expect(summary.latency.inclusionP50S).toBe(8);
  });

  it('with complete per-tx generator records, the accounting closes exactly and fan-out txs do not count', async () => {
    const dir = copyFixture();
    const records = readFileSync(join(dir, 'generator', 'txs.jsonl'), 'utf8').trim().split('\n');
    const summaryFile = join(dir, 'generator', 'summary.json');
    writeFileSync(summaryFile, JSON.stringify({ ...JSON.parse(readFileSync(summaryFile, 'utf8')), submitted: records.length }));
    // A fan-out tx the generator made before its benchmark phase, included on chain.
    const trace = join(dir, 'nodes', 'n1', 'trace.jsonl');
    writeFileSync(trace, readFileSync(trace, 'utf8') + JSON.stringify({ time_s: 3, message: { type: 'TxIncluded', node: 'n1', count: 1, ids: ['fanout-1'], rb: 'rb1', slot: 3 } }) + '\n');
    const { summary } = await analyseRun(dir);
    const t = summary.throughput;
    expect(t.txSubmitted).toBe(records.length);
    expect(t.txIncluded).toBe(5); // tx1..tx5, not fanout-1
    expect(t.txSubmitted).toBe(t.txIncluded + t.txRejected + t.txPending);
  });

  it('final tips from the collector decide tip agreement when present', async () => {
    const dir = copyFixture();
    const tip = { slot: 19, blockNo: 5, hash: 'rb5' };
    writeFileSync(
      join(dir, 'metrics', 'tips.json'),
      JSON.stringify({ collectedAt: '2026-01-01T00:00:20Z', tips: { n1: tip, n2: tip, n3: tip, n4: tip } }),
    );
    const { summary } = await analyseRun(dir);
    expect(summary.chain.tipAgreement).toBe(true);
    expect(summary.chain.tipAgreementShare).toBe(1);
  });

  it('TxIncluded without ids: counted once per block, however many nodes apply it', async () => {
    const dir = copyFixture();
    for (const n of ['n1', 'n2']) {
      const f = join(dir, 'nodes', n, 'trace.jsonl');
      writeFileSync(f, readFileSync(f, 'utf8').replace(/"ids":\["tx[0-9]"(,"tx[0-9]")*\],("rb")/g, '$2'));
    }
    const { summary } = await analyseRun(dir);
    expect(summary.throughput.txIncluded).toBe(5);
    expect(summary.latency.inclusionP50S).toBeNull(); // no ids: no per-tx latency
  });

  it('the sustained rate leaves out analysis.warmupSlots after the load starts', async () => {
    const dir = copyFixture();
    const f = join(dir, 'profile.resolved.json');
    const plan = JSON.parse(readFileSync(f, 'utf8'));
    plan.analysis.warmupSlots = 4; // window 5..11 s: tx1 tx2 (5.01) in, 600 B / 6 s
    writeFileSync(f, JSON.stringify(plan));
    expect((await analyseRun(dir)).summary.throughput.windowTxkbPerS).toBe(0.1);
    plan.analysis.warmupSlots = 5; // window 6..11 s: nothing included in it
    writeFileSync(f, JSON.stringify(plan));
    expect((await analyseRun(dir)).summary.throughput).toMatchObject({ windowTxkbPerS: 0, txkbPerS: 0.2 });
  });

  it('included bytes from the generator tx sizes, without the ledger byte counter', async () => {
    const dir = copyFixture();
    const f = join(dir, 'metrics', 'samples.jsonl');
    writeFileSync(f, readFileSync(f, 'utf8').replace(/, "leios_ledger_tx_bytes_applied_total": 2000/g, ''));
    const { summary } = await analyseRun(dir);
    expect(summary.throughput.txkbPerS).toBe(0.2);
  });

  it('generator segments (a scenario rate change) add up, windows too', async () => {
    const dir = copyFixture();
    writeFileSync(join(dir, 'generator', 'summary-1.json'), JSON.stringify({ submitted: 4, accepted: 4, rejected: 0, durationS: 5 }));
    const { summary } = await analyseRun(dir);
    expect(summary.throughput).toMatchObject({ txSubmitted: 14, txRejected: 1, txPending: 8, loadWindowS: 15, tps: 0.333 });
  });

  it('options override the plan: diffusion window and assertions', async () => {
    const { summary } = await analyseRun(FIXTURE, {
      diffusionWithinS: 0.5,
      assertions: [{ kind: 'tip-agreement', nodes: ['n1', 'n2', 'n3'] }],
      scenarioAssertions: [],
    });
    // a 0.5 s window lets rb5 (slot 19) in: n1 200, n3 400, n4 never → 18 pairs;
    // within 0.5 s: 100 150 200 250 300 350 400 500 500 + 200 400 = 11 → 11/18
    expect(summary.diffusion.rb.blocks).toBe(6);
    expect(summary.diffusion.rb.reachedWithinShare).toBe(0.6111);
    expect(summary.assertions).toEqual([
      { name: 'tip-agreement nodes=n1,n2,n3', passed: true, detail: 'tips: n1 #5 rb5, n2 #5 rb5, n3 #5 rb5' },
    ]);
    expect(summary.passed).toBe(true);
  });
});

describe('statistics and assertions', () => {
  it('percentile interpolates linearly between closest ranks', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(percentile([10, 20, 30, 40, 50], 0.95)).toBeCloseTo(48);
  });

  it('evaluates node-state kinds over a view and reports the value seen', async () => {
    const { summary } = await analyseRun(FIXTURE);
    const view = {
      summary,
      nodes: {
        'pool-1': { blockNo: 12, hash: 'aaaaaaaaaaaa', protocolVersion: 2 },
        'pool-2': { blockNo: 11, hash: 'bbbbbbbbbbbb', protocolVersion: 2 },
        'pool-3': { blockNo: 9, hash: 'cccccccccccc', protocolVersion: 1, stoppedFollowing: true, running: true },
        'pool-4': { running: false },
      },
    };
    expect(evaluateAssertion({ kind: 'tip-agreement', nodes: ['pool-1', 'pool-2'] }, view)).toEqual({
      passed: false,
      detail: 'tips: pool-1 #12 aaaaaaaa, pool-2 #11 bbbbbbbb',
    });
    expect(evaluateAssertion({ kind: 'tip-agreement', nodes: ['pool-1', 'pool-2'], maxBlocksApart: 1 }, view).passed).toBe(true);
    expect(evaluateAssertion({ kind: 'min-blocks', n: 12 }, view)).toEqual({ passed: true, detail: 'chain blocks 12 (want >= 12)' });
    expect(evaluateAssertion({ kind: 'stopped-following', nodes: ['pool-3'] }, view)).toEqual({ passed: true, detail: 'pool-3 stopped' });
    // protocol-version over the running nodes (pool-4 is not running)
    expect(evaluateAssertion({ kind: 'protocol-version', version: 2 }, view)).toEqual({
      passed: false,
      detail: 'protocol versions: pool-1 2, pool-2 2, pool-3 1 (want 2)',
    });
    expect(evaluateAssertion({ kind: 'certified-ebs', min: 2 }, view)).toEqual({ passed: false, detail: 'certified EBs on chain 1 (want >= 2)' });
    expect(assertionName({ kind: 'min-blocks', n: 3, withinS: 30 } as never)).toBe('min-blocks n=3 within 30 s');
  });
});
