import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { hash256, toHex } from '../../node/crypto/hash.ts';
import { BlockStore, CorruptRecordError, RECORD_HEADER_BYTES, type StoreLogger, type StoreRecord } from '../../node/storage/blockstore.ts';

const quiet: StoreLogger = { info() {}, warn() {} };

function recHash(i: number): Uint8Array {
  return hash256(new TextEncoder().encode(`record-${i}`));
}

/** Deterministic record i: chain-linked, varying sizes (0..~700 bytes). */
function makeRec(i: number, size = (i * 131) % 700): StoreRecord & { bytes: Uint8Array } {
  const bytes = new Uint8Array(size);
  let x = (i * 2654435761) >>> 0;
  for (let j = 0; j < size; j++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[j] = x >>> 24;
  }
  return { hash: recHash(i), prevHash: i === 0 ? null : recHash(i - 1), slot: i * 3 + 1, blockNo: i, bytes };
}

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'leios-store-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function fill(dir: string, n: number, opts: Parameters<typeof BlockStore.open>[1] = {}): Promise<BlockStore> {
  const s = await BlockStore.open(dir, { logger: quiet, ...opts });
  const ps: Promise<boolean>[] = [];
  for (let i = 0; i < n; i++) ps.push(s.append(makeRec(i)));
  expect(await Promise.all(ps)).toEqual(new Array(n).fill(true));
  return s;
}

function expectRecords(s: BlockStore, n: number): void {
  expect(s.count).toBe(n);
  const metas = [...s.all()];
  expect(metas.map((m) => m.blockNo)).toEqual([...Array(n).keys()]);
  for (let i = 0; i < n; i++) {
    const r = makeRec(i);
    expect(s.has(r.hash)).toBe(true);
    expect(Buffer.from(s.get(r.hash)!).equals(Buffer.from(r.bytes))).toBe(true);
    const m = s.meta(toHex(r.hash))!;
    expect(m.slot).toBe(r.slot);
    expect(m.bytesLength).toBe(r.bytes.length);
    expect(m.prevHash === null ? null : toHex(m.prevHash)).toBe(r.prevHash === null ? null : toHex(r.prevHash));
  }
  expect(s.has(recHash(n))).toBe(false);
}

/** End offset of each record in a single-segment log. */
function recordEnds(s: BlockStore): number[] {
  return [...s.all()].map((m) => m.offset + m.recordBytes);
}

const seg0 = (dir: string) => path.join(dir, 'seg-00000000.log');

describe('BlockStore', () => {
  it('round-trips records and reports size/count', async () => {
    const dir = path.join(tmp, 'blocks');
    const s = await fill(dir, 60);
    expectRecords(s, 60);
    expect(s.size).toBe(fs.statSync(seg0(dir)).size);
    expect(s.size).toBe([...s.all()].reduce((a, m) => a + m.recordBytes, 0));
    // async read, unknown hash, duplicate append
    expect(Buffer.from((await s.read(recHash(7)))!).equals(Buffer.from(makeRec(7).bytes))).toBe(true);
    expect(s.get(recHash(999))).toBeUndefined();
    expect(await s.read(recHash(999))).toBeUndefined();
    const before = s.size;
    expect(await s.append(makeRec(3))).toBe(false);
    expect(s.size).toBe(before);
    expect(() => s.append({ ...makeRec(100), hash: new Uint8Array(31) })).toThrow(/hash/);
    expect(() => s.append({ ...makeRec(100), slot: -1 })).toThrow(/slot/);
    // EB-style record: no predecessor, empty body
    const eb: StoreRecord = { hash: recHash(5000), prevHash: null, slot: 9, blockNo: 0, bytes: new Uint8Array(0) };
    expect(await s.append(eb)).toBe(true);
    expect(s.get(eb.hash)!.length).toBe(0);
    expect(s.meta(eb.hash)!.prevHash).toBeNull();
    const closing = s.close();
    expect(() => s.append(makeRec(101))).toThrow(/closing|closed/);
    await closing;
    expect(() => s.get(recHash(1))).toThrow(/closed/);
  });

  it('refuses a second open of the same directory in one process', async () => {
    const s = await BlockStore.open(tmp, { logger: quiet });
    await expect(BlockStore.open(tmp, { logger: quiet })).rejects.toThrow(/already open/);
    await s.close();
    await (await BlockStore.open(tmp, { logger: quiet })).close();
  });

  it('reopens with the same contents, from the index and from a full scan', async () => {
    const s = await fill(tmp, 40, { fsync: 'always' });
    await s.close();
    const a = await BlockStore.open(tmp, { logger: quiet });
    expect(a.openReport).toMatchObject({ records: 40, usedIndex: true, scannedRecords: 0, droppedBytes: 0 });
    expectRecords(a, 40);
    // keeps appending after a reopen
    const more = [];
    for (let i = 40; i < 50; i++) more.push(a.append(makeRec(i)));
    await Promise.all(more);
    await a.close();
    const b = await BlockStore.open(tmp, { logger: quiet, index: false });
    expect(b.openReport).toMatchObject({ records: 50, usedIndex: false, scannedRecords: 50, droppedBytes: 0 });
    expectRecords(b, 50);
    await b.close();
  });

  it('torn tail at every byte offset of the last record keeps exactly the complete records', async () => {
    const N = 6;
    const src = path.join(tmp, 'src');
    const s = await fill(src, N, { index: false });
    const ends = recordEnds(s);
    await s.close();
    const full = fs.readFileSync(seg0(src));
    const lastStart = ends[N - 2];
    expect(ends[N - 1] - lastStart).toBeGreaterThan(100);
    const warnings: object[] = [];
    const logger: StoreLogger = { info() {}, warn: (o) => warnings.push(o) };
    for (let len = lastStart; len <= full.length; len++) {
      const dir = path.join(tmp, `t${len}`);
      fs.mkdirSync(dir);
      fs.writeFileSync(seg0(dir), full.subarray(0, len));
      const t = await BlockStore.open(dir, { logger, index: false });
      const complete = len === full.length;
      expect(t.count).toBe(complete ? N : N - 1);
      expect(t.openReport.droppedBytes).toBe(complete ? 0 : len - lastStart);
      expect(fs.statSync(seg0(dir)).size).toBe(complete ? full.length : lastStart);
      if (len % 37 === 0 || complete) {
        expectRecords(t, t.count);
        if (!complete) {
          expect(await t.append(makeRec(N - 1))).toBe(true); // accepts appends again
          await t.close();
          const u = await BlockStore.open(dir, { logger: quiet, index: false });
          expect(u.openReport.droppedBytes).toBe(0);
          expectRecords(u, N);
          await u.close();
          fs.rmSync(dir, { recursive: true });
          continue;
        }
      }
      await t.close();
      fs.rmSync(dir, { recursive: true });
    }
    expect(warnings).toHaveLength(full.length - lastStart - 1 + 0);
    expect(warnings[0]).toMatchObject({ droppedBytes: 1 });
  });

  it('truncation at random lengths, with or without a stale index, keeps exactly the records that fit', async () => {
    const N = 30;
    const src = path.join(tmp, 'src');
    const s = await fill(src, N);
    const ends = recordEnds(s);
    await s.close(); // writes index.bin covering all N records
    const full = fs.readFileSync(seg0(src));
    const index = fs.readFileSync(path.join(src, 'index.bin'));
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: full.length }), fc.boolean(), async (len, withIndex) => {
        const dir = path.join(tmp, `r${run++}`);
        fs.mkdirSync(dir);
        fs.writeFileSync(seg0(dir), full.subarray(0, len));
        if (withIndex) fs.writeFileSync(path.join(dir, 'index.bin'), index);
        const t = await BlockStore.open(dir, { logger: quiet });
        const expected = ends.filter((e) => e <= len).length;
        expect(t.count).toBe(expected);
        if (len < full.length && withIndex) expect(t.openReport.usedIndex).toBe(false);
        expect(t.openReport.droppedBytes).toBe(len - (expected === 0 ? 0 : ends[expected - 1]));
        expectRecords(t, expected);
        await t.close();
        fs.rmSync(dir, { recursive: true });
      }),
      { numRuns: 40, seed: 164 },
    );
  });

  it('a corrupt checksum in the middle truncates there', async () => {
    const N = 20;
    const s = await fill(tmp, N, { index: false });
    const metas = [...s.all()];
    const total = s.size;
    await s.close();
    const k = 11;
    const bad = metas[k];
    const fd = fs.openSync(seg0(tmp), 'r+');
    const b = Buffer.alloc(1);
    const at = bad.offset + RECORD_HEADER_BYTES + Math.floor((bad.recordBytes - RECORD_HEADER_BYTES) / 2);
    fs.readSync(fd, b, 0, 1, at);
    b[0] ^= 0x40;
    fs.writeSync(fd, b, 0, 1, at);
    fs.closeSync(fd);

    const warnings: Array<Record<string, unknown>> = [];
    const t = await BlockStore.open(tmp, { logger: { info() {}, warn: (o) => warnings.push(o as Record<string, unknown>) } });
    expect(t.count).toBe(k);
    expect(t.openReport.truncated).toEqual({ segment: 0, offset: bad.offset, reason: 'record checksum mismatch' });
    expect(t.openReport.droppedBytes).toBe(total - bad.offset);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ droppedBytes: total - bad.offset, reason: 'record checksum mismatch' });
    expect(fs.statSync(seg0(tmp)).size).toBe(bad.offset);
    expectRecords(t, k);
    expect(await t.append(makeRec(k))).toBe(true);
    await t.close();
    const u = await BlockStore.open(tmp, { logger: quiet });
    expectRecords(u, k + 1);
    await u.close();
  });

  it('a bad magic (zero-filled tail after power loss) truncates there', async () => {
    const s = await fill(tmp, 5, { index: false });
    const size = s.size;
    await s.close();
    fs.appendFileSync(seg0(tmp), Buffer.alloc(4096));
    const t = await BlockStore.open(tmp, { logger: quiet });
    expect(t.openReport.truncated?.reason).toMatch(/bad record magic/);
    expect(t.openReport.droppedBytes).toBe(4096);
    expect(t.size).toBe(size);
    expectRecords(t, 5);
    await t.close();
  });

  it('rolls segments; corruption in an earlier segment drops the later ones', async () => {
    const N = 120;
    const s = await fill(tmp, N, { segmentBytes: 8192 });
    const metas = [...s.all()];
    expect(new Set(metas.map((m) => m.segment)).size).toBeGreaterThan(4);
    expectRecords(s, N);
    await s.close();
    const r = await BlockStore.open(tmp, { logger: quiet, segmentBytes: 8192 });
    expect(r.openReport.usedIndex).toBe(true);
    expectRecords(r, N);
    await r.close();

    // flip a crc byte of the first record of segment 2
    const victim = metas.find((m) => m.segment === 2)!;
    const file = path.join(tmp, 'seg-00000002.log');
    const buf = fs.readFileSync(file);
    buf[victim.offset + 9] ^= 1;
    fs.writeFileSync(file, buf);
    fs.rmSync(path.join(tmp, 'index.bin'));
    const t = await BlockStore.open(tmp, { logger: quiet, segmentBytes: 8192 });
    expect(t.count).toBe(victim.seq);
    expect(t.openReport.truncated).toMatchObject({ segment: 2, offset: victim.offset });
    expect(fs.readdirSync(tmp).filter((n) => n.startsWith('seg-')).sort()).toEqual(['seg-00000000.log', 'seg-00000001.log', 'seg-00000002.log']);
    expectRecords(t, victim.seq);
    const again = [];
    for (let i = victim.seq; i < N; i++) again.push(t.append(makeRec(i)));
    expect(await Promise.all(again)).not.toContain(false);
    expectRecords(t, N);
    await t.close();
  });

  it('uses a valid index and scans only the tail after a crash; ignores a corrupt index', async () => {
    const live = await fill(tmp, 50, { indexMinRecords: 10 });
    await live.writeIndex();
    for (let i = 50; i < 65; i++) void live.append(makeRec(i));
    await live.flush();
    // a crash image: the files as they are now, without close()
    const crash = path.join(tmp, 'crash');
    fs.mkdirSync(crash);
    for (const n of fs.readdirSync(tmp)) if (n !== 'crash') fs.copyFileSync(path.join(tmp, n), path.join(crash, n));
    await live.close();

    const a = await BlockStore.open(crash, { logger: quiet });
    expect(a.openReport.usedIndex).toBe(true);
    expect(a.openReport.scannedRecords).toBeLessThan(65);
    expectRecords(a, 65);
    await a.close();

    const idx = path.join(crash, 'index.bin');
    const buf = fs.readFileSync(idx);
    buf[100] ^= 0xff;
    fs.writeFileSync(idx, buf);
    const b = await BlockStore.open(crash, { logger: quiet });
    expect(b.openReport.usedIndex).toBe(false);
    expect(b.openReport.indexRejected).toBe('checksum mismatch');
    expect(b.openReport.scannedRecords).toBe(65);
    expectRecords(b, 65);
    await b.close(); // rewrites a good index
    const c = await BlockStore.open(crash, { logger: quiet });
    expect(c.openReport).toMatchObject({ usedIndex: true, scannedRecords: 0 });
    await c.close();
  });

  it('a record corrupted under a valid index is caught by get()', async () => {
    const s = await fill(tmp, 10);
    const m = s.meta(recHash(4))!;
    await s.close();
    const buf = fs.readFileSync(seg0(tmp));
    buf[m.offset + m.recordBytes - 1] ^= 0x10;
    fs.writeFileSync(seg0(tmp), buf);
    const t = await BlockStore.open(tmp, { logger: quiet });
    expect(t.openReport.usedIndex).toBe(true);
    expect(() => t.get(recHash(4))).toThrow(CorruptRecordError);
    await expect(t.read(recHash(4))).rejects.toThrow(/checksum/);
    expect(Buffer.from(t.get(recHash(5))!).equals(Buffer.from(makeRec(5).bytes))).toBe(true);
    await t.close();
  });

  it('batch fsync acknowledges appends; flush resolves', async () => {
    const s = await BlockStore.open(tmp, { logger: quiet, fsync: 'batch', batchIntervalMs: 20 });
    const ps = [];
    for (let i = 0; i < 200; i++) ps.push(s.append(makeRec(i, 50)));
    // visible before durable
    expect(s.get(recHash(199))!.length).toBe(50);
    await Promise.all(ps);
    await s.flush();
    await s.close();
    await s.close(); // idempotent
  });
});
