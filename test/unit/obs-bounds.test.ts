// Long runs stay bounded on disk: a trace file never passes maxFileBytes (TraceDropped says how
// many events were dropped), a log file never passes its bound (one line says where it was cut).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeLogger, createLogger } from '../../node/obs/log.ts';
import { TraceWriter } from '../../node/obs/trace.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-obs-bounds-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('size bounds', () => {
  it('trace file: at most maxFileBytes, every line JSON, drops counted in TraceDropped', async () => {
    const f = path.join(dir, 'trace.jsonl');
    const w = new TraceWriter({ node: 'n', file: f, systemStartMs: 0, maxFileBytes: 64 * 1024, handleSignals: false });
    for (let i = 0; i < 5000; i++) {
      w.emit({ type: 'X', i, pad: 'y'.repeat(50) });
      if (i % 100 === 0) await w.flush();
    }
    await w.close();
    expect(fs.statSync(f).size).toBeLessThanOrEqual(64 * 1024);
    const lines = fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const kept = lines.filter((l) => l.message.type === 'X').length;
    const notes = lines.filter((l) => l.message.type === 'TraceDropped');
    expect(notes.length).toBeGreaterThanOrEqual(1);
    expect(notes.reduce((s, l) => s + l.message.count, 0)).toBe(5000 - kept);
    expect(w.dropped).toBe(5000 - kept);
  });

  it('log file: at most its bound, the last line says it was cut', async () => {
    const f = path.join(dir, 'node.log');
    const l = createLogger('n', f, 'info', 32 * 1024);
    for (let i = 0; i < 3000; i++) l.info({ i, pad: 'z'.repeat(40) }, 'hello');
    await closeLogger(l);
    expect(fs.statSync(f).size).toBeLessThanOrEqual(32 * 1024);
    const lines = fs.readFileSync(f, 'utf8').trim().split('\n').map((x) => JSON.parse(x));
    expect(lines.at(-1).msg).toMatch(/later lines are dropped/);
    expect(lines.length).toBeGreaterThan(100);
  });
});
