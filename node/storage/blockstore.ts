/**
 * Append-only chain DB on disk: one generic store for RBs (`<db>/blocks`) and Leios EBs (`<db>/ebs`).
 *
 * ## On-disk format
 *
 * The store is a directory of segment files `seg-00000000.log`, `seg-00000001.log`, ... (a new
 * segment starts once the current one would pass `segmentBytes`, default 64 MiB). Each segment is a
 * sequence of records, all integers big-endian:
 *
 * ```
 * magic u32 (0x4C444231 "LDB1") | length u32 | crc32 u32 (of payload) | payload (length bytes)
 * payload = CBOR [hash: bytes(32), prevHash: bytes(32) | null, slot: uint, blockNo: uint, bytes: bytes]
 * ```
 *
 * ## Recovery
 *
 * `BlockStore.open` reads every record (or only those past a valid index file, below), checks
 * magic, length and crc32, decodes the payload and rebuilds the in-memory index. At the first bad
 * record (torn tail after a crash, zero-filled tail after a power loss, flipped bit) it truncates
 * the log there and deletes any later segment: the store always holds a prefix of what was
 * appended, every record whole. How much was dropped is logged and reported in `openReport`.
 *
 * ## Durability (`fsync` option)
 *
 * `append` writes the record with one synchronous write(2) before it returns: from that moment
 * the record is readable by `get` and survives the process dying (`kill -9`), because it is in
 * the kernel's page cache. Surviving an OS crash or power loss needs fdatasync; the promise that
 * `append` returns resolves once the record is on stable storage:
 * - `'always'`: an fdatasync starts as soon as possible after each append (appends that arrive
 *   while one is in flight share the next one — group commit). Loses nothing that was
 *   acknowledged, but costs one disk flush per append burst (≈0.1–10 ms on SSDs, far more on
 *   network disks or busy CI machines).
 * - `'batch'` (default): at most one fdatasync every `batchIntervalMs` (50 ms). Disk flushes are
 *   bounded to 20/s whatever the block rate, at the price of losing up to ~50 ms of appends on a
 *   power loss (never on a process crash). For a node that can refetch blocks from its peers this
 *   is the usual trade (cardano-node's ImmutableDB/VolatileDB do not fsync per block either).
 *
 * ## Index file
 *
 * `index.bin` snapshots the in-memory index (entries, and how far into which segment it
 * covers), written atomically (tmp + fsync + rename) on `close()` and whenever the unindexed tail
 * grows past max(`indexMinRecords`, 25 % of the indexed part). On open it is used only if its
 * checksum holds, it covers segments that still have exactly the sizes it recorded, and the last
 * record it lists is still at its place with the same crc; otherwise it is ignored (and later
 * rewritten) and the log is scanned in full. Records the index covers are not re-verified at open:
 * `get` verifies each record's crc and throws `CorruptRecordError` on a mismatch.
 *
 * One process at a time: the store takes no file lock (a pid lock file misleads after a
 * container restart); opening the same directory twice in one process throws.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { Encoder } from 'cbor-x';
import { cborHeadLen, writeCborHead } from '../codec/cbor.ts';
import { toHex } from '../crypto/hash.ts';

export const RECORD_MAGIC = 0x4c444231; // "LDB1"
export const RECORD_HEADER_BYTES = 12;
const INDEX_MAGIC = 0x4c495831; // "LIX1"
const INDEX_VERSION = 1;
const INDEX_FILE = 'index.bin';
const SEGMENT_RE = /^seg-(\d{8})\.log$/;
const SCAN_CHUNK = 4 << 20;
const READ_FD_CACHE = 32;
/** Buffers per writev (Linux IOV_MAX). */
const IOV_MAX = 1024;

/** What is appended: a block (RB) or an EB; `bytes` is the serialised object as received/forged. */
export interface StoreRecord {
  hash: Uint8Array; // 32 bytes
  prevHash: Uint8Array | null; // 32 bytes, or null (genesis successor, EBs)
  slot: number;
  blockNo: number;
  /** The body, or its chunks in order (stored as their concatenation, written from where they are). */
  bytes: Uint8Array | readonly Uint8Array[];
}

/** An index entry, kept in memory for every record. */
export interface RecordMeta {
  /** hash as lower-case hex (the map key) */
  id: string;
  hash: Uint8Array;
  prevHash: Uint8Array | null;
  slot: number;
  blockNo: number;
  /** length of `bytes` */
  bytesLength: number;
  /** position of the record in append order, 0-based */
  seq: number;
  segment: number;
  /** byte offset of the record header in its segment */
  offset: number;
  /** framed record length on disk (header + payload) */
  recordBytes: number;
  crc: number;
}

/** A hash as bytes or as hex. */
export type HashKey = Uint8Array | string;

/** pino-compatible subset. */
export interface StoreLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface BlockStoreOptions {
  /** durability policy, see the module comment; default 'batch' */
  fsync?: 'always' | 'batch';
  /** fdatasync period for 'batch'; default 50 ms */
  batchIntervalMs?: number;
  /** segment size before rolling to a new file; default 64 MiB */
  segmentBytes?: number;
  /** a record header announcing more than this is treated as corruption; default 256 MiB */
  maxRecordBytes?: number;
  /** maintain index.bin; default true */
  index?: boolean;
  /** do not write the index for fewer unindexed records than this (except on close); default 1000 */
  indexMinRecords?: number;
  /** where recovery is reported; default: warnings as JSON lines on stderr */
  logger?: StoreLogger;
}

export interface OpenReport {
  records: number;
  segments: number;
  bytes: number;
  /** index.bin was valid and used */
  usedIndex: boolean;
  /** why index.bin was not used (absent file included) */
  indexRejected?: string;
  /** records read and verified from the log during open */
  scannedRecords: number;
  /** bytes removed by recovery (0 on a clean open) */
  droppedBytes: number;
  /** where the log was cut, and why */
  truncated?: { segment: number; offset: number; reason: string };
  ms: number;
}

export class CorruptRecordError extends Error {
  readonly id: string;
  constructor(id: string, detail: string) {
    super(`block store record ${id} is corrupt: ${detail}`);
    this.name = 'CorruptRecordError';
    this.id = id;
  }
}

interface Segment {
  id: number;
  file: string;
  size: number;
  /** write fd; only for the active segment and retired ones awaiting their last sync */
  fd: number;
  retired: boolean;
}

const stderrLogger: StoreLogger = {
  info() {},
  warn(obj, msg) {
    process.stderr.write(JSON.stringify({ level: 'warn', msg, ...obj }) + '\n');
  },
};

const cbor = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: true });

const openDirs = new Set<string>();

function segName(id: number): string {
  return `seg-${String(id).padStart(8, '0')}.log`;
}

function keyOf(h: HashKey): string {
  return typeof h === 'string' ? h.toLowerCase() : toHex(h);
}

function isUint(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

function isBytes(b: unknown, len?: number): b is Uint8Array {
  return b instanceof Uint8Array && (len === undefined || b.length === len);
}

function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // some filesystems refuse fsync on directories; nothing more we can do there
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

function readFullSync(fd: number, buf: Uint8Array, pos: number): number {
  let done = 0;
  while (done < buf.length) {
    const n = fs.readSync(fd, buf, done, buf.length - done, pos + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

function readAsync(fd: number, buf: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buf, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

async function readFullAsync(fd: number, buf: Uint8Array, pos: number): Promise<number> {
  let done = 0;
  while (done < buf.length) {
    const n = await readAsync(fd, buf, done, buf.length - done, pos + done);
    if (n === 0) break;
    done += n;
  }
  return done;
}

/** Decoded payload, checked for shape. Throws a string reason when malformed. */
function decodePayload(p: Uint8Array): { hash: Uint8Array; prevHash: Uint8Array | null; slot: number; blockNo: number; bytesLength: number } {
  let v: unknown;
  try {
    v = cbor.decode(p);
  } catch (e) {
    throw `payload is not CBOR (${(e as Error).message})`;
  }
  if (!Array.isArray(v) || v.length !== 5) throw 'payload is not a 5-element array';
  const [hash, prevHash, slot, blockNo, bytes] = v;
  if (!isBytes(hash, 32)) throw 'hash is not 32 bytes';
  if (prevHash !== null && !isBytes(prevHash, 32)) throw 'prevHash is neither null nor 32 bytes';
  if (!isUint(slot) || !isUint(blockNo)) throw 'slot/blockNo not unsigned integers';
  if (!isBytes(bytes)) throw 'bytes is not a byte string';
  return { hash: new Uint8Array(hash), prevHash: prevHash === null ? null : new Uint8Array(prevHash), slot, blockNo, bytesLength: bytes.length };
}

// ---- index file -------------------------------------------------------------------------------
// header: magic u32 | version u32 | count u32 | segCount u32 | coverSeg u32 | coverOff f64
// segments: segCount × (id u32 | size f64)      sizes of segments 0..coverSeg (last = coverOff)
// entries: count × (hash 32 | hasPrev u8 | prev 32 | segment u32 | offset f64 | recordBytes u32 |
//                   crc u32 | slot f64 | blockNo f64 | bytesLength u32)
// trailer: crc32 u32 of everything before it
const IDX_HEADER = 4 * 5 + 8;
const IDX_SEG = 4 + 8;
const IDX_ENTRY = 32 + 1 + 32 + 4 + 8 + 4 + 4 + 8 + 8 + 4;

function encodeIndex(entries: readonly RecordMeta[], segSizes: readonly number[], coverSeg: number, coverOff: number): Buffer {
  const n = entries.length;
  const buf = Buffer.alloc(IDX_HEADER + segSizes.length * IDX_SEG + n * IDX_ENTRY + 4);
  let o = 0;
  o = buf.writeUInt32BE(INDEX_MAGIC, o);
  o = buf.writeUInt32BE(INDEX_VERSION, o);
  o = buf.writeUInt32BE(n, o);
  o = buf.writeUInt32BE(segSizes.length, o);
  o = buf.writeUInt32BE(coverSeg, o);
  o = buf.writeDoubleBE(coverOff, o);
  segSizes.forEach((size, id) => {
    o = buf.writeUInt32BE(id, o);
    o = buf.writeDoubleBE(size, o);
  });
  for (const e of entries) {
    buf.set(e.hash, o);
    o += 32;
    o = buf.writeUInt8(e.prevHash ? 1 : 0, o);
    if (e.prevHash) buf.set(e.prevHash, o);
    o += 32;
    o = buf.writeUInt32BE(e.segment, o);
    o = buf.writeDoubleBE(e.offset, o);
    o = buf.writeUInt32BE(e.recordBytes, o);
    o = buf.writeUInt32BE(e.crc, o);
    o = buf.writeDoubleBE(e.slot, o);
    o = buf.writeDoubleBE(e.blockNo, o);
    o = buf.writeUInt32BE(e.bytesLength, o);
  }
  buf.writeUInt32BE(zlib.crc32(buf.subarray(0, o)), o);
  return buf;
}

interface DecodedIndex {
  entries: RecordMeta[];
  segSizes: number[];
  coverSeg: number;
  coverOff: number;
}

function decodeIndex(buf: Buffer): DecodedIndex {
  if (buf.length < IDX_HEADER + 4) throw 'too short';
  if (buf.readUInt32BE(0) !== INDEX_MAGIC) throw 'bad magic';
  if (buf.readUInt32BE(4) !== INDEX_VERSION) throw 'unknown version';
  const n = buf.readUInt32BE(8);
  const segCount = buf.readUInt32BE(12);
  const coverSeg = buf.readUInt32BE(16);
  const coverOff = buf.readDoubleBE(20);
  if (buf.length !== IDX_HEADER + segCount * IDX_SEG + n * IDX_ENTRY + 4) throw 'length does not match counts';
  if (zlib.crc32(buf.subarray(0, buf.length - 4)) !== buf.readUInt32BE(buf.length - 4)) throw 'checksum mismatch';
  if (segCount !== coverSeg + 1) throw 'segment table does not end at the covered segment';
  let o = IDX_HEADER;
  const segSizes: number[] = [];
  for (let i = 0; i < segCount; i++) {
    if (buf.readUInt32BE(o) !== i) throw 'segment table out of order';
    segSizes.push(buf.readDoubleBE(o + 4));
    o += IDX_SEG;
  }
  if (segSizes[coverSeg] !== coverOff) throw 'covered size mismatch';
  const entries: RecordMeta[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const hash = new Uint8Array(buf.subarray(o, o + 32));
    const hasPrev = buf[o + 32] === 1;
    const prevHash = hasPrev ? new Uint8Array(buf.subarray(o + 33, o + 65)) : null;
    let p = o + 65;
    const segment = buf.readUInt32BE(p);
    const offset = buf.readDoubleBE(p + 4);
    const recordBytes = buf.readUInt32BE(p + 12);
    const crc = buf.readUInt32BE(p + 16);
    const slot = buf.readDoubleBE(p + 20);
    const blockNo = buf.readDoubleBE(p + 28);
    const bytesLength = buf.readUInt32BE(p + 36);
    p += 40;
    entries[i] = { id: toHex(hash), hash, prevHash, slot, blockNo, bytesLength, seq: i, segment, offset, recordBytes, crc };
    o = p;
  }
  return { entries, segSizes, coverSeg, coverOff };
}

// ---- the store --------------------------------------------------------------------------------

export class BlockStore {
  readonly dir: string;
  /** what `open` found and did */
  readonly openReport: OpenReport;

  private readonly opts: Required<Omit<BlockStoreOptions, 'logger'>>;
  private readonly log: StoreLogger;
  private readonly entries: RecordMeta[];
  private readonly byId: Map<string, RecordMeta>;
  private readonly segments: Segment[];
  private totalBytes: number;
  private closed = false;
  private closing: Promise<void> | undefined;

  private readFds = new Map<number, number>();

  // fsync machinery
  private dirty = new Set<Segment>();
  private syncingSegs = new Set<Segment>();
  private dirDirty = false;
  private syncWaiters: Array<{ resolve: () => void; reject: (e: unknown) => void }> = [];
  private syncTimer: NodeJS.Timeout | undefined;
  private syncing = false;
  private lastSyncStart = 0;

  // index machinery
  private indexedCount: number;
  private indexWrite: Promise<void> | undefined;
  private indexTmpSeq = 0;

  private constructor(
    dir: string,
    opts: Required<Omit<BlockStoreOptions, 'logger'>>,
    log: StoreLogger,
    entries: RecordMeta[],
    segments: Segment[],
    indexedCount: number,
    report: OpenReport,
  ) {
    this.dir = dir;
    this.opts = opts;
    this.log = log;
    this.entries = entries;
    this.byId = new Map();
    for (const e of entries) if (!this.byId.has(e.id)) this.byId.set(e.id, e);
    this.segments = segments;
    this.totalBytes = segments.reduce((a, s) => a + s.size, 0);
    this.indexedCount = indexedCount;
    this.openReport = report;
  }

  /** Open (creating if needed) the store in `dir`, recovering from a crash if the log's tail is bad. */
  static async open(dir: string, options: BlockStoreOptions = {}): Promise<BlockStore> {
    const t0 = performance.now();
    const abs = path.resolve(dir);
    if (openDirs.has(abs)) throw new Error(`block store ${abs} is already open in this process`);
    const opts = {
      fsync: options.fsync ?? 'batch',
      batchIntervalMs: options.batchIntervalMs ?? 50,
      segmentBytes: options.segmentBytes ?? 64 * 1024 * 1024,
      maxRecordBytes: options.maxRecordBytes ?? 256 * 1024 * 1024,
      index: options.index ?? true,
      indexMinRecords: options.indexMinRecords ?? 1000,
    };
    if (opts.fsync !== 'always' && opts.fsync !== 'batch') throw new Error(`fsync must be 'always' or 'batch', got ${String(opts.fsync)}`);
    const log = options.logger ?? stderrLogger;
    await fsp.mkdir(abs, { recursive: true });

    // segments on disk, contiguous from 0
    const names = await fsp.readdir(abs);
    for (const n of names) if (n.startsWith(INDEX_FILE + '.tmp')) await fsp.rm(path.join(abs, n), { force: true });
    const ids = names
      .map((n) => SEGMENT_RE.exec(n))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => a - b);
    const sizes: number[] = [];
    let orphaned: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      if (ids[i] !== i) {
        orphaned = ids.slice(i);
        break;
      }
      sizes.push((await fsp.stat(path.join(abs, segName(i)))).size);
    }

    const report: OpenReport = { records: 0, segments: 0, bytes: 0, usedIndex: false, scannedRecords: 0, droppedBytes: 0, ms: 0 };
    let entries: RecordMeta[] = [];
    let startSeg = 0;
    let startOff = 0;
    let indexedCount = 0;

    if (opts.index) {
      const verdict = await BlockStore.loadIndex(abs, sizes);
      if (typeof verdict === 'string') report.indexRejected = verdict;
      else {
        entries = verdict.entries;
        startSeg = verdict.coverSeg;
        startOff = verdict.coverOff;
        indexedCount = entries.length;
        report.usedIndex = true;
      }
    } else report.indexRejected = 'disabled';

    // scan from the covered position to the end; stop at the first bad record
    let cut: { segment: number; offset: number; reason: string } | undefined;
    if (orphaned.length > 0) cut = { segment: sizes.length, offset: 0, reason: `segment ${segName(sizes.length)} missing` };
    for (let s = startSeg; s < sizes.length; s++) {
      const from = s === startSeg ? startOff : 0;
      const res = await BlockStore.scanSegment(abs, s, from, sizes[s], opts.maxRecordBytes, (m) => {
        m.seq = entries.length;
        entries.push(m);
      });
      report.scannedRecords += res.count;
      if (res.error !== undefined) {
        cut = { segment: s, offset: res.end, reason: res.error };
        break;
      }
    }

    if (cut) {
      const coverEndsAfterCut = report.usedIndex && (cut.segment < startSeg || (cut.segment === startSeg && cut.offset < startOff));
      if (coverEndsAfterCut || !report.usedIndex) await fsp.rm(path.join(abs, INDEX_FILE), { force: true });
      let dropped = 0;
      if (cut.segment < sizes.length) {
        dropped += sizes[cut.segment] - cut.offset;
        await BlockStore.truncateFile(path.join(abs, segName(cut.segment)), cut.offset);
        sizes[cut.segment] = cut.offset;
      }
      const later = [...sizes.keys()].filter((i) => i > cut.segment);
      for (const i of later) {
        dropped += sizes[i];
        await fsp.rm(path.join(abs, segName(i)), { force: true });
      }
      for (const id of orphaned) {
        const f = path.join(abs, segName(id));
        dropped += (await fsp.stat(f)).size;
        await fsp.rm(f, { force: true });
      }
      sizes.length = Math.min(sizes.length, cut.segment + 1);
      fsyncDirSync(abs);
      report.droppedBytes = dropped;
      report.truncated = cut;
      log.warn(
        { dir: abs, segment: cut.segment, offset: cut.offset, reason: cut.reason, droppedBytes: dropped, keptRecords: entries.length },
        `block store recovered: dropped ${dropped} bytes after the last good record`,
      );
    }

    // the active segment: the last one, created if the store is new
    let dirCreated = false;
    if (sizes.length === 0) {
      fs.closeSync(fs.openSync(path.join(abs, segName(0)), 'wx'));
      sizes.push(0);
      dirCreated = true;
    }
    const segments: Segment[] = sizes.map((size, id) => ({ id, file: path.join(abs, segName(id)), size, fd: -1, retired: true }));
    const active = segments[segments.length - 1];
    active.fd = fs.openSync(active.file, 'r+');
    active.retired = false;
    if (dirCreated) fsyncDirSync(abs);

    report.records = entries.length;
    report.segments = segments.length;
    report.bytes = sizes.reduce((a, b) => a + b, 0);
    report.ms = performance.now() - t0;
    const store = new BlockStore(abs, opts, log, entries, segments, indexedCount, report);
    openDirs.add(abs);
    log.info({ dir: abs, ...report }, 'block store opened');
    store.maybeWriteIndex();
    return store;
  }

  private static async truncateFile(file: string, len: number): Promise<void> {
    const fh = await fsp.open(file, 'r+');
    try {
      await fh.truncate(len);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Returns the decoded index if usable with the segments on disk, else why not. */
  private static async loadIndex(dir: string, sizes: readonly number[]): Promise<DecodedIndex | string> {
    let buf: Buffer;
    try {
      buf = await fsp.readFile(path.join(dir, INDEX_FILE));
    } catch {
      return 'absent';
    }
    let idx: DecodedIndex;
    try {
      idx = decodeIndex(buf);
    } catch (e) {
      return typeof e === 'string' ? e : (e as Error).message;
    }
    if (idx.coverSeg >= sizes.length) return `covers segment ${idx.coverSeg}, which is missing`;
    for (let i = 0; i < idx.coverSeg; i++) if (sizes[i] !== idx.segSizes[i]) return `segment ${i} size changed`;
    if (sizes[idx.coverSeg] < idx.coverOff) return `segment ${idx.coverSeg} shorter than indexed`;
    const last = idx.entries[idx.entries.length - 1];
    if (last) {
      if (last.segment !== idx.coverSeg || last.offset + last.recordBytes !== idx.coverOff) return 'last entry does not end the covered range';
      const hdr = Buffer.alloc(RECORD_HEADER_BYTES);
      const fd = fs.openSync(path.join(dir, segName(last.segment)), 'r');
      try {
        readFullSync(fd, hdr, last.offset);
      } finally {
        fs.closeSync(fd);
      }
      if (
        hdr.readUInt32BE(0) !== RECORD_MAGIC ||
        hdr.readUInt32BE(4) !== last.recordBytes - RECORD_HEADER_BYTES ||
        hdr.readUInt32BE(8) !== last.crc
      )
        return 'last indexed record differs on disk';
    }
    return idx;
  }

  private static async scanSegment(
    dir: string,
    seg: number,
    start: number,
    fileSize: number,
    maxRecord: number,
    onRecord: (m: RecordMeta) => void,
  ): Promise<{ end: number; count: number; error?: string }> {
    const fd = fs.openSync(path.join(dir, segName(seg)), 'r');
    let buf = Buffer.alloc(Math.min(SCAN_CHUNK, Math.max(fileSize - start, RECORD_HEADER_BYTES)));
    let bufStart = 0;
    let bufLen = 0;
    const ensure = async (pos: number, n: number): Promise<boolean> => {
      if (pos + n > fileSize) return false;
      if (pos >= bufStart && pos + n <= bufStart + bufLen) return true;
      const want = Math.min(Math.max(n, SCAN_CHUNK), fileSize - pos);
      if (buf.length < want) buf = Buffer.alloc(want);
      bufLen = await readFullAsync(fd, buf.subarray(0, want), pos);
      bufStart = pos;
      return bufLen >= n;
    };
    let pos = start;
    let count = 0;
    try {
      while (pos < fileSize) {
        if (!(await ensure(pos, RECORD_HEADER_BYTES))) return { end: pos, count, error: 'torn record header at end of segment' };
        let o = pos - bufStart;
        const magic = buf.readUInt32BE(o);
        const len = buf.readUInt32BE(o + 4);
        const crc = buf.readUInt32BE(o + 8);
        if (magic !== RECORD_MAGIC) return { end: pos, count, error: `bad record magic 0x${magic.toString(16)}` };
        if (len === 0 || len > maxRecord) return { end: pos, count, error: `implausible record length ${len}` };
        if (!(await ensure(pos, RECORD_HEADER_BYTES + len))) return { end: pos, count, error: 'torn record at end of segment' };
        o = pos - bufStart;
        const payload = buf.subarray(o + RECORD_HEADER_BYTES, o + RECORD_HEADER_BYTES + len);
        if (zlib.crc32(payload) !== crc) return { end: pos, count, error: 'record checksum mismatch' };
        let d: ReturnType<typeof decodePayload>;
        try {
          d = decodePayload(payload);
        } catch (reason) {
          return { end: pos, count, error: String(reason) };
        }
        onRecord({ id: toHex(d.hash), ...d, seq: 0, segment: seg, offset: pos, recordBytes: RECORD_HEADER_BYTES + len, crc });
        count++;
        pos += RECORD_HEADER_BYTES + len;
      }
      return { end: pos, count };
    } finally {
      fs.closeSync(fd);
    }
  }

  // ---- queries ----------------------------------------------------------------------------------

  /** number of records */
  get count(): number {
    return this.entries.length;
  }

  /** bytes on disk over all segments */
  get size(): number {
    return this.totalBytes;
  }

  has(hash: HashKey): boolean {
    return this.byId.has(keyOf(hash));
  }

  meta(hash: HashKey): RecordMeta | undefined {
    return this.byId.get(keyOf(hash));
  }

  /** Index entries in append order (the core replays chain selection from these on restart). */
  *all(): IterableIterator<RecordMeta> {
    const n = this.entries.length;
    for (let i = 0; i < n; i++) yield this.entries[i];
  }

  /** The stored bytes (synchronous positioned read; the page cache makes it cheap). */
  get(hash: HashKey): Uint8Array | undefined {
    this.assertOpen();
    const m = this.byId.get(keyOf(hash));
    if (!m) return undefined;
    const frame = Buffer.allocUnsafe(m.recordBytes);
    const n = readFullSync(this.readFd(m.segment), frame, m.offset);
    return this.checkFrame(m, frame, n);
  }

  /** As `get`, reading off the event loop (for large EBs). */
  async read(hash: HashKey): Promise<Uint8Array | undefined> {
    this.assertOpen();
    const m = this.byId.get(keyOf(hash));
    if (!m) return undefined;
    const frame = Buffer.allocUnsafe(m.recordBytes);
    const n = await readFullAsync(this.readFd(m.segment), frame, m.offset);
    return this.checkFrame(m, frame, n);
  }

  private checkFrame(m: RecordMeta, frame: Buffer, n: number): Uint8Array {
    if (n !== m.recordBytes) throw new CorruptRecordError(m.id, 'record cut short on disk');
    if (frame.readUInt32BE(0) !== RECORD_MAGIC || frame.readUInt32BE(4) !== m.recordBytes - RECORD_HEADER_BYTES)
      throw new CorruptRecordError(m.id, 'bad record header');
    if (frame.readUInt32BE(8) !== m.crc || zlib.crc32(frame.subarray(RECORD_HEADER_BYTES)) !== m.crc)
      throw new CorruptRecordError(m.id, 'checksum mismatch');
    // `bytes` is the payload's last CBOR item, so it ends the frame
    const b = frame.subarray(m.recordBytes - m.bytesLength);
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  }

  private readFd(seg: number): number {
    let fd = this.readFds.get(seg);
    if (fd !== undefined) {
      this.readFds.delete(seg);
      this.readFds.set(seg, fd);
      return fd;
    }
    fd = fs.openSync(this.segments[seg].file, 'r');
    this.readFds.set(seg, fd);
    if (this.readFds.size > READ_FD_CACHE) {
      const [oldSeg, oldFd] = this.readFds.entries().next().value as [number, number];
      this.readFds.delete(oldSeg);
      fs.closeSync(oldFd);
    }
    return fd;
  }

  // ---- appends ----------------------------------------------------------------------------------

  /**
   * Append a record. Written to the file before this returns (readable, survives a process
   * crash); the promise resolves when it is on stable storage per the `fsync` policy. Resolves
   * `false` without writing if a record with this hash is already stored.
   * Throws synchronously on a malformed record, a closed/closing store or a failed write (the
   * partial record is cut off again); the promise rejects only if fdatasync fails — callers that
   * do not await it (`void store.append(...)`) should still attach a `.catch`.
   */
  append(rec: StoreRecord): Promise<boolean> {
    this.assertOpen();
    if (this.closing) throw new Error(`block store ${this.dir} is closing`);
    if (!isBytes(rec.hash, 32)) throw new TypeError('append: hash must be 32 bytes');
    if (rec.prevHash !== null && !isBytes(rec.prevHash, 32)) throw new TypeError('append: prevHash must be 32 bytes or null');
    if (!isUint(rec.slot)) throw new TypeError('append: slot must be a non-negative integer');
    if (!isUint(rec.blockNo)) throw new TypeError('append: blockNo must be a non-negative integer');
    const chunks: readonly Uint8Array[] | undefined = isBytes(rec.bytes) ? [rec.bytes] : Array.isArray(rec.bytes) && rec.bytes.every((c) => isBytes(c)) ? rec.bytes : undefined;
    if (!chunks) throw new TypeError('append: bytes must be a Uint8Array or an array of them');
    let bodyLength = 0;
    for (const c of chunks) bodyLength += c.length;
    const id = toHex(rec.hash);
    if (this.byId.has(id)) return Promise.resolve(false);

    // CBOR [hash, prevHash, slot, blockNo, bytes]: the small fields through the encoder, the body's
    // byte-string head by hand and the body itself written from where it is — an EB closure of
    // several MB through the encoder was tens of ms on the event loop of every node storing it.
    const small = cbor.encode([rec.hash, rec.prevHash, rec.slot, rec.blockNo]);
    const prefix = Buffer.allocUnsafe(small.length + cborHeadLen(bodyLength));
    prefix.set(small, 0);
    prefix[0] = 0x85; // array of 5, not 4
    writeCborHead(prefix, small.length, 2, bodyLength);
    const payloadBytes = prefix.length + bodyLength;
    if (payloadBytes > this.opts.maxRecordBytes) throw new RangeError(`append: record of ${payloadBytes} bytes exceeds maxRecordBytes`);
    let crc = zlib.crc32(prefix);
    for (const c of chunks) crc = zlib.crc32(c, crc);
    const header = Buffer.allocUnsafe(RECORD_HEADER_BYTES);
    header.writeUInt32BE(RECORD_MAGIC, 0);
    header.writeUInt32BE(payloadBytes, 4);
    header.writeUInt32BE(crc, 8);
    const recordBytes = RECORD_HEADER_BYTES + payloadBytes;

    let seg = this.segments[this.segments.length - 1];
    if (seg.size > 0 && seg.size + recordBytes > this.opts.segmentBytes) seg = this.rollover();
    const offset = seg.size;
    try {
      let written = 0;
      const parts: Uint8Array[] = [header, prefix, ...chunks];
      while (written < recordBytes) {
        // writev until the whole record is out (a short write is possible, e.g. near ENOSPC), at
        // most IOV_MAX buffers per call
        const rest: Uint8Array[] = [];
        let skip = written;
        for (const p of parts) {
          if (rest.length === IOV_MAX) break;
          if (skip >= p.length) skip -= p.length;
          else {
            rest.push(skip > 0 ? p.subarray(skip) : p);
            skip = 0;
          }
        }
        written += fs.writevSync(seg.fd, rest, offset + written);
      }
    } catch (e) {
      // never leave half a record behind a later good one
      try {
        fs.ftruncateSync(seg.fd, offset);
      } catch {
        /* recovery on next open will cut it */
      }
      throw e;
    }
    seg.size += recordBytes;
    this.totalBytes += recordBytes;
    const meta: RecordMeta = {
      id,
      hash: new Uint8Array(rec.hash),
      prevHash: rec.prevHash ? new Uint8Array(rec.prevHash) : null,
      slot: rec.slot,
      blockNo: rec.blockNo,
      bytesLength: bodyLength,
      seq: this.entries.length,
      segment: seg.id,
      offset,
      recordBytes,
      crc,
    };
    this.entries.push(meta);
    this.byId.set(id, meta);
    this.dirty.add(seg);
    this.maybeWriteIndex();
    return new Promise<void>((resolve, reject) => {
      this.syncWaiters.push({ resolve, reject });
      this.scheduleSync();
    }).then(() => true);
  }

  /** Force an fdatasync now; resolves when everything appended so far is on stable storage. */
  flush(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.syncWaiters.push({ resolve, reject });
      if (this.syncTimer) {
        clearTimeout(this.syncTimer);
        this.syncTimer = undefined;
      }
      if (!this.syncing) void this.runSync();
    });
  }

  private rollover(): Segment {
    const old = this.segments[this.segments.length - 1];
    old.retired = true;
    if (!this.dirty.has(old) && !this.syncingSegs.has(old)) {
      fs.closeSync(old.fd);
      old.fd = -1;
    }
    const id = old.id + 1;
    const file = path.join(this.dir, segName(id));
    const fd = fs.openSync(file, 'wx+');
    const seg: Segment = { id, file, size: 0, fd, retired: false };
    this.segments.push(seg);
    this.dirDirty = true;
    return seg;
  }

  private scheduleSync(): void {
    if (this.syncing || this.syncTimer) return; // the running sync reschedules when it ends
    const delay = this.opts.fsync === 'always' ? 0 : Math.max(0, this.lastSyncStart + this.opts.batchIntervalMs - Date.now());
    if (delay === 0) void this.runSync();
    else
      this.syncTimer = setTimeout(() => {
        this.syncTimer = undefined;
        void this.runSync();
      }, delay);
  }

  private async runSync(): Promise<void> {
    this.syncing = true;
    this.lastSyncStart = Date.now();
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    const segs = [...this.dirty];
    this.dirty.clear();
    for (const s of segs) this.syncingSegs.add(s);
    const syncDir = this.dirDirty;
    this.dirDirty = false;
    let err: unknown;
    try {
      for (const s of segs) await fdatasyncAsync(s.fd);
      if (syncDir) fsyncDirSync(this.dir);
    } catch (e) {
      err = e;
    }
    for (const s of segs) {
      this.syncingSegs.delete(s);
      if (s.retired && s.fd >= 0 && !this.dirty.has(s)) {
        fs.closeSync(s.fd);
        s.fd = -1;
      }
    }
    this.syncing = false;
    for (const w of waiters) (err ? w.reject(err) : w.resolve());
    if (this.syncWaiters.length > 0 && !this.closed) this.scheduleSync();
  }

  // ---- index ------------------------------------------------------------------------------------

  private maybeWriteIndex(): void {
    if (!this.opts.index || this.indexWrite || this.closed || this.closing) return;
    const unindexed = this.entries.length - this.indexedCount;
    if (unindexed > 0 && unindexed >= Math.max(this.opts.indexMinRecords, Math.floor(this.indexedCount / 4)))
      this.writeIndex().catch((e) => this.log.warn({ dir: this.dir, err: String(e) }, 'block store: writing index.bin failed'));
  }

  /** Write index.bin now (atomically) for everything appended so far; index writes run one at a time. */
  writeIndex(): Promise<void> {
    const prev = this.indexWrite ?? Promise.resolve();
    const p: Promise<void> = prev
      .catch(() => {})
      .then(() => this.doWriteIndex())
      .finally(() => {
        if (this.indexWrite === p) this.indexWrite = undefined;
      });
    this.indexWrite = p;
    return p;
  }

  private async doWriteIndex(): Promise<void> {
    const n = this.entries.length;
    if (n === 0) return;
    const last = this.entries[n - 1];
    const coverSeg = last.segment;
    const coverOff = last.offset + last.recordBytes;
    const segSizes = this.segments.slice(0, coverSeg + 1).map((s) => s.size);
    segSizes[coverSeg] = coverOff;
    const buf = encodeIndex(this.entries.slice(0, n), segSizes, coverSeg, coverOff);
    // the records the index lists must be durable before the index that lists them
    await this.flush();
    const file = path.join(this.dir, INDEX_FILE);
    const tmp = `${file}.tmp-${process.pid}-${++this.indexTmpSeq}`;
    const fh = await fsp.open(tmp, 'w');
    try {
      await fh.writeFile(buf);
      await fh.datasync();
    } finally {
      await fh.close();
    }
    await fsp.rename(tmp, file);
    fsyncDirSync(this.dir);
    this.indexedCount = Math.max(this.indexedCount, n);
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  /** Sync, write the index, release files. Idempotent; appends are refused from the first call. */
  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    if (this.indexWrite) await this.indexWrite.catch(() => {});
    await this.flush();
    if (this.opts.index && this.entries.length > this.indexedCount) {
      try {
        await this.writeIndex();
      } catch (e) {
        this.log.warn({ dir: this.dir, err: String(e) }, 'block store: writing index.bin failed');
      }
    }
    this.closed = true;
    if (this.syncTimer) clearTimeout(this.syncTimer);
    this.syncTimer = undefined;
    for (const s of this.segments) {
      if (s.fd >= 0) fs.closeSync(s.fd);
      s.fd = -1;
    }
    for (const fd of this.readFds.values()) fs.closeSync(fd);
    this.readFds.clear();
    openDirs.delete(this.dir);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`block store ${this.dir} is closed`);
  }
}
