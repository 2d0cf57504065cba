import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyseRun } from '../../orchestrator/analysis/analyse.ts';
import type { Summary } from '../../orchestrator/analysis/summary.ts';
import { compare, direction, writeCompare } from '../../orchestrator/report/compare.ts';

const FIXTURE = join(import.meta.dirname, '../fixtures/traces/small');
const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-compare-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function runDir(name: string, s: Summary): string {
  const d = join(tmp, name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'summary.json'), JSON.stringify(s));
  return d;
}

describe('compare two runs', async () => {
  const { summary: base } = await analyseRun(FIXTURE);
  const cand: Summary = structuredClone(base);
  cand.run.id = 'candidate';
  cand.diffusion.rb.p95Ms = 2700; // +900 ms, +50 %: latency up → regression
  cand.diffusion.rb.p50Ms = 404; // +1 %: inside the 5 % threshold
  cand.throughput.tps = 1.0; // +100 %: throughput up → improvement
  cand.throughput.txkbPerS = 0.1; // −50 %: throughput down → regression
  cand.resources.cpuPctPerNode = 13.15; // −50 %: CPU down → improvement
  cand.chain.maxForkDepth = 0; // 1 → 0: improvement
  cand.chain.tipAgreement = true; // false → true: improvement
  cand.throughput.txSubmitted = 20; // neutral: no verdict
  const r = compare(runDir('base', base), runDir('cand', cand));

  const row = (m: string) => r.rows.find((x) => x.metric === m)!;

  it('computes Δ and Δ% per metric', () => {
    expect(row('diffusion.rb.p95Ms')).toMatchObject({ base: 1800, candidate: 2700, delta: 900, deltaPct: 50 });
    expect(row('throughput.tps')).toMatchObject({ base: 0.5, candidate: 1, delta: 0.5, deltaPct: 100 });
    expect(row('diffusion.rb.p50Ms')).toMatchObject({ delta: 4, deltaPct: 1, verdict: '' });
    expect(row('chain.maxForkDepth')).toMatchObject({ delta: -1, deltaPct: -100 });
  });

  it('marks regressions by direction: latency up is worse, throughput up is better', () => {
    expect(row('diffusion.rb.p95Ms').verdict).toBe('regression');
    expect(row('throughput.txkbPerS').verdict).toBe('regression');
    expect(row('throughput.tps').verdict).toBe('improvement');
    expect(row('resources.cpuPctPerNode').verdict).toBe('improvement');
    expect(row('chain.maxForkDepth').verdict).toBe('improvement');
    expect(row('chain.tipAgreement').verdict).toBe('improvement');
    expect(row('throughput.txSubmitted')).toMatchObject({ delta: 10, deltaPct: 100, verdict: '', better: 'neutral' });
    expect(r.regressions.sort()).toEqual(['diffusion.rb.p95Ms', 'throughput.txkbPerS']);
  });

  it('leaves out per-node rows, assertions and the seed; keeps unknowable values as null', () => {
    expect(r.rows.some((x) => x.metric.startsWith('resources.perNode'))).toBe(false);
    expect(r.rows.some((x) => x.metric.startsWith('assertions'))).toBe(false);
    expect(r.rows.some((x) => x.metric === 'run.seed')).toBe(false);
  });

  it('a zero base with a change has no Δ% but still a verdict', () => {
    const b2 = structuredClone(base);
    b2.chain.maxForkDepth = 0;
    const c2 = structuredClone(base);
    c2.chain.maxForkDepth = 3;
    const r2 = compare(runDir('b2', b2), runDir('c2', c2));
    expect(r2.rows.find((x) => x.metric === 'chain.maxForkDepth')).toMatchObject({ delta: 3, deltaPct: null, verdict: 'regression' });
  });

  it('writes compare.md (a Δ/Δ% table) and compare.json', () => {
    const files = writeCompare(r, join(tmp, 'cand'));
    const md = readFileSync(files.md, 'utf8');
    expect(md).toContain('| metric | base | candidate | Δ | Δ% |  |');
    expect(md).toContain('| diffusion.rb.p95Ms ↓ | 1,800 | 2,700 | +900 | +50 % | **REGRESSION** |');
    expect(md).toContain('| throughput.tps ↑ | 0.5 | 1 | +0.5 | +100 % | better |');
    expect(md).toContain('**2 regression(s)**: diffusion.rb.p95Ms, throughput.txkbPerS');
    const json = JSON.parse(readFileSync(files.json, 'utf8'));
    expect(json.regressions).toHaveLength(2);
    expect(json.candidate.runId).toBe('candidate');
  });

  it('direction table', () => {
    expect(direction('latency.inclusionP95S')).toBe('lower');
    expect(direction('diffusion.eb.reachedWithinShare')).toBe('higher');
    expect(direction('leios.certRate')).toBe('higher');
    expect(direction('leios.votesSkipped.late-header')).toBe('lower');
    expect(direction('leios.hardForkSlot')).toBe('neutral');
    expect(direction('run.durationS')).toBe('neutral');
  });
});

describe('compare --in-slots: runs at different slot lengths, in the protocol unit', async () => {
  const { summary: base } = await analyseRun(FIXTURE);
  base.run.slotLengthS = 1;
  base.latency.inclusionP50S = 40; // 40 slots
  base.diffusion.rb.p95Ms = 500; // 0.5 slot
  base.throughput.txkbPerS = 10; // 10 kB per slot
  const fast: Summary = structuredClone(base);
  fast.run.id = 'scaled';
  fast.run.slotLengthS = 0.2;
  fast.latency.inclusionP50S = 8.4; // 42 slots: +5 %
  fast.diffusion.rb.p95Ms = 100; // 0.5 slot
  fast.throughput.txkbPerS = 50; // 10 kB per slot
  const r = compare(runDir('slots-base', base), runDir('slots-fast', fast), 10, { inSlots: true });
  const row = (m: string) => r.rows.find((x) => x.metric === m);

  it('turns seconds into slots and rates into per-slot figures', () => {
    expect(r.unit).toBe('slots');
    expect(row('latency.inclusionP50Slots')).toMatchObject({ base: 40, candidate: 42, deltaPct: 5, verdict: '' });
    expect(row('diffusion.rb.p95Slots')).toMatchObject({ base: 0.5, candidate: 0.5, delta: 0 });
    expect(row('throughput.txkbPerSlot')).toMatchObject({ base: 10, candidate: 10 });
    expect(row('latency.inclusionP50S')).toBeUndefined();
    expect(row('diffusion.rb.withinS')).toBeDefined(); // a threshold, not a measurement
  });

  it('in seconds the same two runs differ five-fold', () => {
    const s = compare(runDir('slots-base', base), runDir('slots-fast', fast), 10);
    expect(s.rows.find((x) => x.metric === 'throughput.txkbPerS')).toMatchObject({ base: 10, candidate: 50, deltaPct: 400 });
  });
});
