// The streaming pieces behind analysis at scale: the chunked line reader (chunk boundaries,
// multi-byte characters split across chunks, CRLF, a torn last line) and the raw-line peeks
// that let the analysis skip parsing lines it does not need.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { forEachLine, peekNumber, peekString, peekTime, peekType, readJsonl } from '../../orchestrator/analysis/traces.ts';
import { tempDir } from '../support/tmp.ts';

const dir = tempDir('leiosnet-lines-');

describe('forEachLine', () => {
  it('yields every line once across 1 MB chunk boundaries, multi-byte characters intact', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 40_000; i++) lines.push(JSON.stringify({ i, s: 'é€😀'.repeat(i % 7), pad: 'x'.repeat(i % 97) }));
    const file = join(dir, 'a.jsonl');
    writeFileSync(file, lines.join('\n') + '\n');
    const got: string[] = [];
    await forEachLine(file, (l) => got.push(l));
    expect(got).toEqual(lines);
  });

  it('handles CRLF, blank lines, no final newline; readJsonl counts a torn last line as bad', async () => {
    const file = join(dir, 'b.jsonl');
    writeFileSync(file, '{"a":1}\r\n\r\n{"a":2}\n{"a":');
    const got: string[] = [];
    await forEachLine(file, (l) => got.push(l));
    expect(got).toEqual(['{"a":1}', '{"a":2}', '{"a":']);
    const vals: unknown[] = [];
    expect(await readJsonl(file, (v) => vals.push(v))).toEqual({ lines: 3, bad: 1 });
    expect(vals).toEqual([{ a: 1 }, { a: 2 }]);
    await forEachLine(join(dir, 'missing.jsonl'), () => {
      throw new Error('no lines expected');
    });
  });
});

describe('peeks at a raw trace line', () => {
  const line = JSON.stringify({ time_s: 12.345, message: { type: 'TxIncluded', node: 'pool-1', count: 2, ids: ['aa', 'bb'], rb: 'r1', eb: 'e1', slot: 12 } });
  it('find the fields the node writes, as JSON.parse would', () => {
    expect(peekType(line)).toBe('TxIncluded');
    expect(peekTime(line)).toBe(12.345);
    expect(peekNumber(line, '"count":')).toBe(2);
    expect(peekNumber(line, '"slot":')).toBe(12);
    expect(peekString(line, '"rb":"')).toBe('r1');
    expect(peekString(line, '"eb":"')).toBe('e1');
    expect(peekTime(JSON.stringify({ time_s: 1.5e9, message: {} }))).toBe(1.5e9);
  });
  it('give up (undefined) rather than guess', () => {
    expect(peekTime('{"message":{},"time_s":1}')).toBeUndefined();
    expect(peekString('{"type":"a\\"b"}', '"type":"')).toBeUndefined();
    expect(peekString('{"x":1}', '"type":"')).toBeUndefined();
    expect(peekNumber('{"slot":"x"}', '"slot":')).toBeUndefined();
  });
});
