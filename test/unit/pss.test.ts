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
