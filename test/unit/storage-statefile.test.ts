import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readStateFile, StateFile, writeStateFile, writeStateFileSync } from '../../node/storage/statefile.ts';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'leios-state-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('state file', () => {
  it('writes, replaces and reads JSON; missing file is undefined', async () => {
    const f = path.join(tmp, 'sub', 'state.json');
    expect(await readStateFile(f)).toBeUndefined();
    await writeStateFile(f, { tip: { slot: 5, hash: 'ab' }, clockOffsetMs: 0 });
    expect(await readStateFile(f)).toEqual({ tip: { slot: 5, hash: 'ab' }, clockOffsetMs: 0 });
    writeStateFileSync(f, { tip: { slot: 6 } });
    expect(await readStateFile(f)).toEqual({ tip: { slot: 6 } });
    expect(fs.readdirSync(path.dirname(f))).toEqual(['state.json']);
  });

  it('reports a corrupt file and cleans leftover temp files', async () => {
    const f = path.join(tmp, 'state.json');
    fs.writeFileSync(f, '{"tip": ');
    fs.writeFileSync(`${f}.tmp-1-1`, '{"half":');
    const reasons: string[] = [];
    expect(await readStateFile(f, (r) => reasons.push(r))).toBeUndefined();
    expect(reasons[0]).toContain('state.json');
    expect(fs.readdirSync(tmp)).toEqual(['state.json']);
  });

  it('StateFile serialises saves and keeps the latest value', async () => {
    const sf = new StateFile<{ n: number }>(path.join(tmp, 's.json'));
    const saves = [];
    for (let n = 0; n < 20; n++) saves.push(sf.save({ n }));
    await Promise.all(saves);
    await sf.idle();
    expect(await sf.load()).toEqual({ n: 19 });
    expect(fs.readdirSync(tmp)).toEqual(['s.json']);
  });
});
