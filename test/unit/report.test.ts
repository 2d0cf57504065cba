import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyseRun } from '../../orchestrator/analysis/analyse.ts';
import { writeReports } from '../../orchestrator/report/index.ts';
import { figures } from '../../orchestrator/report/html.ts';

const FIXTURE = join(import.meta.dirname, '../fixtures/traces/small');
const out = mkdtempSync(join(tmpdir(), 'leiosnet-report-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('run reports from the recorded trace set', async () => {
  const analysis = await analyseRun(FIXTURE);
  const files = writeReports(out, analysis);
  const md = readFileSync(files.md, 'utf8');
  const html = readFileSync(files.html, 'utf8');

  it('report.md carries the verdict, assertions and the key figures', () => {
    expect(md).toContain('# leiosnet run fixture-small');
    expect(md).toContain('**FAILED**');
    expect(md).toContain('| rb-diffusion-p95 maxMs=1500 | FAIL | RB diffusion p95 ms 1800 (want <= 1500) |');
    expect(md).toMatch(/\| RB \| 400 \| 1,800 \| 2,760 \| 80 % \| 5 \| 13 \|/);
    expect(md).toMatch(/\| EB \| 700 \| 1,220 \| 1,284 \| 83\.3+ % \| 2 \| 5 \|/);
    expect(md).toContain('| certification rate | 0.5 |');
    expect(md).toContain('| tx/s | 0.5 |');
    expect(md).toContain('| n4 | 50 | 210 |');
    expect(md).toContain('RB CDF (ms): p10 ');
    // the orchestrator's timeline, from events.jsonl
    expect(md).toContain('| 6 | fault stop node=n3 forS=3 |');
    expect(md).toContain('| 9 | undone: stop node=n3 forS=3 |');
    expect(md).toContain('| 11.5 | recovered in 2.5 s after stop node=n3 forS=3 |');
  });

  it('report.html is self-contained: uPlot inlined, no external resources', () => {
    expect(html).toContain('https://github.com/leeoniya/uPlot'); // the library banner, inlined
    expect(html).toMatch(/\.uplot\s*\{/); // its CSS
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
  });

  it('report.html holds every figure with its data', () => {
    for (const id of ['fig-diffusion-cdf', 'fig-throughput', 'fig-height', 'fig-cpu', 'fig-rss']) {
      expect(html).toContain(`<div class="fig" id="${id}">`);
    }
    const json = /<script type="application\/json" id="figures">(.*?)<\/script>/s.exec(html)![1]!;
    const figs = JSON.parse(json) as { id: string; series: string[]; data: (number | null)[][] }[];
    const cdf = figs.find((f) => f.id === 'fig-diffusion-cdf')!;
    expect(cdf.series).toEqual(['RB', 'EB']);
    // RB: 12 distinct delays (500 twice); EB adds 700, 900, 1300 (500 and 600 are shared) → 15
    expect(cdf.data[0]).toHaveLength(15);
    const at500 = (cdf.data[0] as number[]).indexOf(500);
    expect(cdf.data[1]![at500]).toBeCloseTo(9 / 13); // the CDF takes the upper step
    expect(cdf.data[2]![at500]).toBeCloseTo(1 / 5);
    expect(cdf.data[1]!.filter((y) => y !== null).at(-1)).toBe(1);
    const cpu = figs.find((f) => f.id === 'fig-cpu')!;
    expect(cpu.series).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(cpu.data).toEqual([[5, 15], [10, 20], [30, 30], [5, 15], [40, 60]]);
    const tp = figs.find((f) => f.id === 'fig-throughput')!;
    expect(tp.data).toEqual([[4, 8, 12, 16], [null, 0.5, 0, 0.75], [3.5, 3, 3, 0.5]]);
  });

  it('a run without metrics still gets every figure, marked as empty', () => {
    const figs = figures({
      rbDelaysMs: [],
      ebDelaysMs: [],
      inclusionLatencyS: [],
      events: [],
      timeline: { t: [], height: [], txApplied: [], txRate: [], mempoolTxs: [] },
      resources: {},
    });
    expect(figs.map((f) => f.id)).toEqual(['fig-diffusion-cdf', 'fig-throughput', 'fig-height', 'fig-cpu', 'fig-rss']);
    expect(figs.every((f) => f.data[0]!.length === 0)).toBe(true);
  });
});
