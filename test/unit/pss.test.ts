// PSS next to RSS: parsing /proc/<pid>/smaps_rollup, and this process's own figures.
import { describe, expect, it } from 'vitest';
import { memoryRollup, parseSmapsRollup, pssBytes } from '../../orchestrator/runtime/process/pss.ts';

const SAMPLE = `558d48dc3000-7ffe568de000 ---p 00000000 00:00 0                          [rollup]
Rss:                1760 kB
Pss:                 242 kB
Pss_Dirty:           112 kB
Shared_Clean:       1608 kB
Shared_Dirty:          0 kB
Private_Clean:        40 kB
Private_Dirty:       112 kB
Swap:                  0 kB
`;

describe('pss', () => {
  it('parses smaps_rollup in kB', () => {
    expect(parseSmapsRollup(SAMPLE)).toEqual({ rssBytes: 1760 * 1024, pssBytes: 242 * 1024, privateBytes: 152 * 1024, sharedBytes: 1608 * 1024, swapBytes: 0 });
  });
  it('reads a live process: PSS ≤ RSS, private ≤ PSS; a gone pid is undefined', () => {
    const m = memoryRollup(process.pid);
    if (!m) return; // kernel without smaps_rollup
    expect(m.pssBytes).toBeGreaterThan(0);
    expect(m.pssBytes).toBeLessThanOrEqual(m.rssBytes);
    expect(m.privateBytes).toBeLessThanOrEqual(m.pssBytes + 4096);
    expect(pssBytes(2 ** 22 + 12345)).toBeUndefined();
  });
});

describe('PSS reaches summary.json', () => {
  it('resources.jsonl pssMb samples become per-node and mean PSS; RSS stays beside them', async () => {
    const { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { analyseRun } = await import('../../orchestrator/analysis/analyse.ts');
    const dir = mkdtempSync(join(tmpdir(), 'leiosnet-pss-'));
    try {
      cpSync(join(import.meta.dirname, '../fixtures/traces/small'), dir, { recursive: true });
      const f = join(dir, 'metrics/resources.jsonl');
      const lines = readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { rssMb: number; pssMb?: number });
      for (const l of lines) l.pssMb = Math.round(l.rssMb * 0.6 * 10) / 10;
      writeFileSync(f, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      const { summary } = await analyseRun(dir);
      const r = summary.resources;
      expect(r.pssMbPerNode).toBeGreaterThan(0);
      expect(r.pssMbPerNode!).toBeCloseTo(r.rssMbPerNode! * 0.6, 0);
      for (const n of Object.values(r.perNode)) expect(n.pssMb).toBeLessThan(n.rssMb!);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
