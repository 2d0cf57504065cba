// The chain DB frames a record's CBOR by hand (the body is not copied through the encoder) and
// the EB store frames closures by hand: both must be byte-identical to what a CBOR encoder writes,
// since stores written before stay readable and recovery re-decodes them.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Encoder } from 'cbor-x';
import { describe, expect, it } from 'vitest';
import { BlockStore, RECORD_HEADER_BYTES } from '../../node/storage/blockstore.ts';
import { encodeRecord, recordChunks } from '../../node/leios/eb-store.ts';

const cbor = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: true });
const filled = (n: number, v: number) => new Uint8Array(n).fill(v);

describe('hand-framed CBOR records', () => {
  it('chain DB payloads equal the encoder output for every length class, and read back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-rec-'));
    const sizes = [0, 1, 23, 24, 255, 256, 65535, 65536, 300_000];
    const store = await BlockStore.open(dir, { fsync: 'batch' });
    const recs = sizes.map((n, i) => ({ hash: filled(32, i + 1), prevHash: i ? filled(32, i) : null, slot: i * 1000, blockNo: i, bytes: filled(n, i + 7) }));
    for (const r of recs) await store.append(r);
    await store.close();
    const seg = fs.readdirSync(dir).filter((f) => !f.includes('index')).sort()[0];
    const raw = fs.readFileSync(path.join(dir, seg));
    let o = 0;
    for (const r of recs) {
      const len = raw.readUInt32BE(o + 4);
      const payload = raw.subarray(o + RECORD_HEADER_BYTES, o + RECORD_HEADER_BYTES + len);
      expect(Buffer.compare(payload, cbor.encode([r.hash, r.prevHash, r.slot, r.blockNo, r.bytes]))).toBe(0);
      o += RECORD_HEADER_BYTES + len;
    }
    const again = await BlockStore.open(dir, { fsync: 'batch' });
    for (const r of recs) expect(Buffer.compare(Buffer.from(again.get(r.hash)!), Buffer.from(r.bytes))).toBe(0);
    await again.close();
    fs.rmSync(dir, { recursive: true });
  });

  it('EB closure records equal the encoder output', () => {
    for (const n of [0, 1, 23, 24, 300]) {
      const txs = Array.from({ length: n }, (_, i) => filled([1, 23, 24, 255, 256, 1500, 70_000][i % 7], i));
      const eb = filled(n * 40 + 3, 9);
      expect(Buffer.compare(Buffer.from(encodeRecord(eb, txs)), cbor.encode([eb, txs]))).toBe(0);
    }
  });

  it('a record appended as chunks (more than one writev can take) is stored as their concatenation', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-rec-'));
    // 2,800 txs: 5,601 chunks, over IOV_MAX (1,024) per writev call
    const txs = Array.from({ length: 2800 }, (_, i) => filled(1400 + (i % 200), i & 0xff));
    const eb = filled(2800 * 40 + 11, 5);
    const chunks = recordChunks(eb, txs);
    expect(chunks.length).toBe(2 + 2 * 2800);
    const whole = encodeRecord(eb, txs);
    const store = await BlockStore.open(dir, { fsync: 'batch' });
    await store.append({ hash: filled(32, 1), prevHash: null, slot: 3, blockNo: 0, bytes: chunks });
    await store.append({ hash: filled(32, 2), prevHash: null, slot: 4, blockNo: 0, bytes: whole });
    expect(store.meta(Buffer.from(filled(32, 1)).toString('hex'))!.bytesLength).toBe(whole.length);
    await store.close();
    const seg = fs.readdirSync(dir).filter((f) => !f.includes('index')).sort()[0];
    const raw = fs.readFileSync(path.join(dir, seg));
    const len = raw.readUInt32BE(4);
    expect(Buffer.compare(raw.subarray(RECORD_HEADER_BYTES, RECORD_HEADER_BYTES + len), cbor.encode([filled(32, 1), null, 3, 0, whole]))).toBe(0);
    // reopened (checksums verified on open's recovery scan), both read back as the same bytes
    const again = await BlockStore.open(dir, { fsync: 'batch' });
    expect(Buffer.compare(Buffer.from(again.get(filled(32, 1))!), Buffer.from(whole))).toBe(0);
    expect(Buffer.compare(Buffer.from(again.get(filled(32, 2))!), Buffer.from(whole))).toBe(0);
    await again.close();
    fs.rmSync(dir, { recursive: true });
  });
});
