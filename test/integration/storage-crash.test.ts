// kill -9 a process that appends to the block store in a tight loop, several times; after each
// kill the store reopens with every record whole, none half there, and takes appends again.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { hash256 } from '../../node/crypto/hash.ts';
import { BlockStore, type StoreRecord } from '../../node/storage/blockstore.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
// the project's Node 22 (type stripping); the system node may be 20
const nodeBin = Number(process.versions.node.split('.')[0]) >= 22 ? process.execPath : path.join(repo, 'node_modules/node/bin/node');

// shared by the child (as source text) and the test
const MAKE_REC = `
function makeRec(i) {
  const size = 64 + ((i * 131) % 900);
  const bytes = new Uint8Array(size);
  for (let j = 0; j < size; j++) bytes[j] = (i * 31 + j * 7) & 255;
  const h = (k) => hash256(new TextEncoder().encode('crash-' + k));
  return { hash: h(i), prevHash: i === 0 ? null : h(i - 1), slot: 2 * i, blockNo: i, bytes };
}`;
const makeRec = new Function('hash256', `${MAKE_REC}; return makeRec;`)(hash256) as (i: number) => StoreRecord & { bytes: Uint8Array };

const CHILD = `
import { BlockStore } from ${JSON.stringify(new URL('../../node/storage/blockstore.ts', import.meta.url).href)};
import { hash256 } from ${JSON.stringify(new URL('../../node/crypto/hash.ts', import.meta.url).href)};
${MAKE_REC}
const [dir, fsync] = process.argv.slice(2);
const warn = (o, m) => process.stderr.write(m + ' ' + JSON.stringify(o) + '\\n');
const s = await BlockStore.open(dir, { fsync, segmentBytes: 256 * 1024, indexMinRecords: 200, logger: { info() {}, warn } });
let i = s.count;
process.stdout.write('ready ' + i + '\\n');
for (;;) {
  for (let k = 0; k < 4; k++) s.append(makeRec(i++)).catch((e) => warn({ err: String(e) }, 'append failed'));
  await new Promise((r) => setImmediate(r));
}
`;

/** seeded PRNG so a failure can be replayed */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'leios-crash-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function runAndKill(script: string, dir: string, fsync: string, killAfterReadyMs: number | null, killAfterSpawnMs: number): Promise<{ readyAt: number | null; stderr: string }> {
  const child = spawn(nodeBin, [script, dir, fsync], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let readyAt: number | null = null;
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  await new Promise<void>((resolve) => {
    if (killAfterReadyMs === null) {
      setTimeout(resolve, killAfterSpawnMs);
      return;
    }
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m && readyAt === null) {
        readyAt = Number(m[1]);
        setTimeout(resolve, killAfterReadyMs);
      }
    });
    child.on('exit', () => resolve());
  });
  child.kill('SIGKILL');
  await exited;
  return { readyAt, stderr };
}

describe('block store survives kill -9', () => {
  it('every record intact after repeated SIGKILLs mid-append', async () => {
    const script = path.join(tmp, 'appender.mjs');
    fs.writeFileSync(script, CHILD);
    const dir = path.join(tmp, 'db', 'blocks');
    const rand = mulberry32(0x1e105);
    let known = 0; // records the parent saw at its last close
    const rounds = 6;
    let grewInRounds = 0;
    const reports: string[] = [];
    for (let round = 0; round < rounds; round++) {
      const fsync = round % 2 === 0 ? 'batch' : 'always';
      // one round kills the child early (possibly during open/recovery), the others mid-loop
      const early = round === 3;
      const { readyAt, stderr } = await runAndKill(script, dir, fsync, early ? null : 50 + Math.floor(rand() * 250), 40 + Math.floor(rand() * 80));
      if (!early) {
        expect(readyAt, `child did not start: ${stderr}`).toBe(known);
        expect(stderr).not.toContain('append failed');
      }

      const s = await BlockStore.open(dir, { segmentBytes: 256 * 1024, logger: { info() {}, warn() {} } });
      // a prefix of what was appended, every record whole
      expect(s.count).toBeGreaterThanOrEqual(known);
      if (s.count > known) grewInRounds++;
      reports.push(`${fsync}${early ? '/early' : ''}: ${s.count - known} new, index ${s.openReport.usedIndex}, scanned ${s.openReport.scannedRecords}, dropped ${s.openReport.droppedBytes} B`);
      let i = 0;
      const bad: string[] = [];
      const bySeg = new Map<number, number>();
      for (const m of s.all()) {
        const want = makeRec(i);
        const got = s.get(m.hash);
        if (m.blockNo !== i || !got || !Buffer.from(got).equals(Buffer.from(want.bytes)) || Buffer.compare(m.hash, want.hash) !== 0) bad.push(`record ${i}`);
        bySeg.set(m.segment, Math.max(bySeg.get(m.segment) ?? 0, m.offset + m.recordBytes));
        i++;
      }
      expect(bad).toEqual([]);
      // no half record left in any file: each segment ends exactly at its last record
      const segs = fs.readdirSync(dir).filter((n) => n.startsWith('seg-')).sort();
      segs.forEach((n, id) => {
        const size = fs.statSync(path.join(dir, n)).size;
        expect(size, `${n}`).toBe(bySeg.get(id) ?? 0);
      });
      expect(s.size).toBe([...s.all()].reduce((a, m) => a + m.recordBytes, 0));

      // accepts appends again
      const n = s.count;
      const appended = await Promise.all([0, 1, 2].map((k) => s.append(makeRec(n + k))));
      expect(appended).toEqual([true, true, true]);
      await s.close();
      known = n + 3;
    }
    expect(grewInRounds).toBeGreaterThanOrEqual(rounds - 2);
    const final = await BlockStore.open(dir, { segmentBytes: 256 * 1024, logger: { info() {}, warn() {} } });
    expect(final.count).toBe(known);
    expect(final.openReport.droppedBytes).toBe(0);
    console.log(`crash test: ${known} records in ${fs.readdirSync(dir).filter((n) => n.startsWith('seg-')).length} segments after ${rounds} kills\n  ${reports.join('\n  ')}`);
    await final.close();
  });
});
