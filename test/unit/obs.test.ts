import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodeMetrics, DESIGN_METRIC_NAMES } from '../../node/obs/metrics.ts';
import { closeLogger, createLogger } from '../../node/obs/log.ts';
import { TraceWriter, nullTraceWriter } from '../../node/obs/trace.ts';
import { OWN_EVENT_TYPES, OwnTraceLineSchema } from '../../node/obs/trace-events.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const shared = path.resolve(repo, '../shared');
const nodeBin = Number(process.versions.node.split('.')[0]) >= 22 ? process.execPath : path.join(repo, 'node_modules/node/bin/node');

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'leios-obs-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** `leios_*` names listed in DESIGN.md's "Metric names" section (node metrics, not tx-generator). */
function designMetricNames(): string[] {
  const md = fs.readFileSync(path.join(shared, 'DESIGN.md'), 'utf8');
  const start = md.indexOf('### Metric names');
  const section = md.slice(start, md.indexOf('tx-generator:', start));
  return [...section.matchAll(/`([a-z_]+)(\{[a-z]+\})?`/g)].map((m) => `leios_${m[1]}`).filter((n) => n !== 'leios_leios_');
}

describe('metrics', () => {
  it('exposes every DESIGN.md metric name, ours, node info and default process metrics', async () => {
    const names = designMetricNames();
    expect(names.length).toBeGreaterThanOrEqual(24);
    expect(new Set(names)).toEqual(new Set(DESIGN_METRIC_NAMES));
    const m = createNodeMetrics('pool-1', { version: '1.2.0', maxProtocolVersion: 10 });
    m.rbForged.inc();
    m.txRejected.inc({ reason: 'bad-signature' }, 2);
    m.netBytesSent.inc({ protocol: 'chainsync' }, 1234);
    m.netBytesReceived.inc({ protocol: 'blockfetch' }, 99);
    m.rbAdoptionDelay.observe(0.4);
    m.ebArrivalDelay.observe(2.5);
    m.slot.set(42);
    const text = await m.registry.metrics();
    for (const n of [...names, 'leios_leadership_checks_total', 'leios_leadership_checks_missed_total', 'leios_node_info', 'leios_following'])
      expect(text, n).toMatch(new RegExp(`^# TYPE ${n} (gauge|counter|histogram)$`, 'm'));
    expect(text).toMatch(/^# TYPE leios_rb_adoption_delay_seconds histogram$/m);
    expect(text).toContain('leios_rb_forged_total{node="pool-1"} 1');
    expect(text).toContain('leios_slot{node="pool-1"} 42');
    expect(text).toContain('leios_tx_rejected_total{reason="bad-signature",node="pool-1"} 2');
    expect(text).toContain('leios_net_bytes_sent_total{protocol="chainsync",node="pool-1"} 1234');
    expect(text).toContain('leios_node_info{version="1.2.0",max_protocol_version="10",node="pool-1"} 1');
    expect(text).toContain('leios_following{node="pool-1"} 1');
    expect(text).toContain('leios_rb_adoption_delay_seconds_bucket{le="0.5",node="pool-1"} 1');
    expect(text).toContain('leios_eb_arrival_delay_seconds_bucket{le="30",node="pool-1"} 1');
    expect(text).toMatch(/^process_cpu_user_seconds_total\{node="pool-1"\} /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds\{node="pool-1"\} /m);
    m.setInfo('1.3.0', 11);
    const again = await m.registry.metrics();
    expect(again).toContain('leios_node_info{version="1.3.0",max_protocol_version="11",node="pool-1"} 1');
    expect(again).not.toContain('version="1.2.0"');
  });

  it('two nodes in one process have separate registries', async () => {
    const a = createNodeMetrics('a', { defaultMetrics: false });
    const b = createNodeMetrics('b', { defaultMetrics: false });
    a.rbAdopted.inc(3);
    expect(await a.registry.metrics()).toContain('leios_rb_adopted_total{node="a"} 3');
    expect(await b.registry.metrics()).toContain('leios_rb_adopted_total{node="b"} 0');
    expect(await b.registry.metrics()).not.toContain('process_cpu');
  });
});

function readLines(file: string): Array<{ time_s: number; message: Record<string, unknown> }> {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l));
}

describe('trace writer', () => {
  const sharedSchema = JSON.parse(fs.readFileSync(path.join(shared, 'reference/leios-sim/trace.shared.schema.json'), 'utf8'));
  const ajv = new Ajv({ allErrors: true });
  ajv.addSchema(sharedSchema, 'shared');
  const validateShared = ajv.compile({ $ref: 'shared#' });
  const def = (name: string) => ajv.compile({ $ref: `shared#/definitions/${name}` });
  const expectedDef: Record<string, string> = {
    RBGenerated: 'GeneratedRankingBlock',
    EBGenerated: 'GeneratedEndorserBlock',
    VTBundleGenerated: 'GeneratedVote',
    RBReceived: 'ReceivedEvent',
    EBReceived: 'ReceivedEvent',
    VTBundleReceived: 'ReceivedEvent',
  };
  const validateOwn = ajv.compile(OwnTraceLineSchema);

  it('writes simulator events that validate against the shared schema, and our own against ours', async () => {
    const file = path.join(tmp, 'node', 'trace.jsonl');
    const start = Date.UTC(2026, 0, 1);
    let now = start + 12_345.5;
    const t = new TraceWriter({ file, node: 'pool-1', systemStartMs: start, now: () => now, handleSignals: false });
    const rb = 'aa'.repeat(32);
    const eb = 'bb'.repeat(32);
    t.rbGenerated({ id: rb, slot: 61, size_bytes: 1200, tx_payload_bytes: 800, parent: 'cc'.repeat(32), endorsement: null, announced_eb: eb, block_no: 7 });
    t.rbGenerated({ id: 'dd'.repeat(32), slot: 90, size_bytes: 500, parent: null, endorsement: eb });
    t.ebGenerated({ id: eb, slot: 61, size_bytes: 4000, tx_payload_bytes: 300_000, tx_count: 200, rb_ref: rb });
    t.vtBundleGenerated({ id: 'ee'.repeat(32), slot: 64, size_bytes: 180, votes: { [eb]: 2 } });
    t.rbReceived({ id: rb, sender: 'pool-2', slot: 61 });
    t.ebReceived({ id: eb });
    t.vtBundleReceived({ id: 'ee'.repeat(32), sender: 'relay-1' });
    now += 500;
    t.rbAdopted({ id: rb, slot: 61, blockNo: 7, parent: 'cc'.repeat(32), delayS: 0.31 });
    t.rollback({ from: rb, to: 'ff'.repeat(32), depth: 1, intersection: 'cc'.repeat(32), slot: 62 });
    t.txAccepted('01'.repeat(32));
    now += 20;
    t.txAccepted(['02'.repeat(32), '03'.repeat(32)]);
    t.txRejected('04'.repeat(32), 'bad-signature');
    t.txRejected(['05'.repeat(32)], 'mempool-full');
    t.txIncluded({ count: 2, ids: ['01'.repeat(32), '02'.repeat(32)], rb, slot: 61 });
    t.txIncluded({ count: 200, eb, rb: 'dd'.repeat(32), slot: 90 });
    t.certCreated({ eb, slot: 61, voters: 40, stake: 0.8 });
    t.certIncluded({ eb, rb: 'dd'.repeat(32), slot: 90 });
    t.hardFork({ era: 'leios', epoch: 3, slot: 300, protocolVersion: 11 });
    t.stoppedFollowing({ reason: 'protocol version 12 > max 11', protocolVersion: 12, maxProtocolVersion: 11 });
    t.slotMissed({ slot: 400, count: 3 });
    await t.close();

    const lines = readLines(file);
    const types = lines.map((l) => l.message.type);
    expect(types).toEqual([
      'RBGenerated', 'RBGenerated', 'EBGenerated', 'VTBundleGenerated', 'RBReceived', 'EBReceived', 'VTBundleReceived',
      'RBAdopted', 'Rollback', 'TxIncluded', 'TxIncluded', 'CertCreated', 'CertIncluded', 'HardFork', 'StoppedFollowing', 'SlotMissed',
      'TxAccepted', 'TxRejected', 'TxRejected',
    ]);
    expect(lines[0].time_s).toBeCloseTo(12.3455, 6);
    for (const l of lines) {
      expect(l.message.node).toBe('pool-1');
      const type = l.message.type as string;
      if (type in expectedDef) {
        expect(validateShared(l), `${type}: ${ajv.errorsText(validateShared.errors)}`).toBe(true);
        const v = def(expectedDef[type]);
        expect(v(l.message), `${type}: ${ajv.errorsText(v.errors)}`).toBe(true);
      } else {
        expect(OWN_EVENT_TYPES).toContain(type);
        expect(validateOwn(l), `${type}: ${ajv.errorsText(validateOwn.errors)}`).toBe(true);
      }
    }
    expect(lines[0].message).toMatchObject({ producer: 'pool-1', parent: { id: 'cc'.repeat(32) }, endorsement: null, announced_eb: { id: eb } });
    expect(lines[1].message).toMatchObject({ parent: null, endorsement: { eb: { id: eb } } });
    expect(lines[4].message).toMatchObject({ recipient: 'pool-1', sender: 'pool-2' });
    const acc = lines.find((l) => l.message.type === 'TxAccepted')!;
    expect(acc.message).toMatchObject({ count: 3, ids: ['01'.repeat(32), '02'.repeat(32), '03'.repeat(32)], spanS: 0.02 });
    expect(acc.time_s).toBeCloseTo(12.8455, 6);
    const rej = lines.filter((l) => l.message.type === 'TxRejected').map((l) => l.message);
    expect(rej).toEqual([
      expect.objectContaining({ reason: 'bad-signature', count: 1 }),
      expect.objectContaining({ reason: 'mempool-full', count: 1 }),
    ]);
  });

  it('the own-event schema rejects a malformed event', () => {
    expect(validateOwn({ time_s: 1, message: { type: 'Rollback', node: 'x', from: 'a', to: 'b' } })).toBe(false);
    expect(ajv.errorsText(validateOwn.errors)).toMatch(/depth/);
  });

  it('appends to an existing file, flushes on size and on interval, counts drops', async () => {
    const file = path.join(tmp, 'trace.jsonl');
    fs.writeFileSync(file, '{"time_s":0,"message":{"type":"Slot","node":"x","slot":0}}\n');
    const t = new TraceWriter({ file, node: 'n', systemStartMs: 0, flushIntervalMs: 10, flushBytes: 1024, handleSignals: false });
    for (let i = 0; i < 200; i++) t.rbReceived({ id: String(i).padStart(64, '0') });
    await t.flush();
    expect(readLines(file)).toHaveLength(201);
    t.ebReceived({ id: 'ab'.repeat(32) });
    // the interval timer writes it without an explicit flush
    for (let i = 0; i < 100 && readLines(file).length < 202; i++) await new Promise((r) => setTimeout(r, 10));
    expect(readLines(file)).toHaveLength(202);
    await t.close();
    await t.close();

    const small = new TraceWriter({ file: path.join(tmp, 'small.jsonl'), node: 'n', systemStartMs: 0, maxBufferBytes: 2000, flushBytes: 1e9, handleSignals: false });
    for (let i = 0; i < 100; i++) small.rbReceived({ id: String(i).padStart(64, '0') });
    expect(small.dropped).toBeGreaterThan(50);
    await small.close();
    const lines = readLines(path.join(tmp, 'small.jsonl'));
    const drop = lines.find((l) => l.message.type === 'TraceDropped')!;
    expect(drop.message.count).toBe(small.dropped);
    expect(lines.length).toBe(100 - small.dropped + 1);

    const nul = nullTraceWriter('n');
    nul.rbReceived({ id: 'x' });
    await nul.flush();
    await nul.close();
  });

  it('flushes the queue when the process gets SIGTERM', async () => {
    const file = path.join(tmp, 'sig.jsonl');
    const script = path.join(tmp, 'child.mjs');
    fs.writeFileSync(
      script,
      `import { TraceWriter } from ${JSON.stringify(new URL('../../node/obs/trace.ts', import.meta.url).href)};
const t = new TraceWriter({ file: ${JSON.stringify(file)}, node: 'c', systemStartMs: 0, flushIntervalMs: 3_600_000, flushBytes: 1e9 });
for (let i = 0; i < 1000; i++) t.rbReceived({ id: String(i) });
t.txAccepted(['t1', 't2']);
process.stdout.write('ready\\n');
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(nodeBin, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.on('data', (d) => String(d).includes('ready') && resolve()));
    const exit = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    child.kill('SIGTERM');
    expect(await exit).toBe('SIGTERM'); // default action restored after flushing
    const lines = readLines(file);
    expect(lines).toHaveLength(1001);
    expect(lines[1000].message).toMatchObject({ type: 'TxAccepted', count: 2 });
  });
});

describe('logger', () => {
  it('writes JSON lines with the node name to a file', async () => {
    const file = path.join(tmp, 'logs', 'node.log');
    const log = createLogger('pool-3', file, 'debug');
    log.info({ slot: 5 }, 'adopted');
    log.debug('detail');
    log.trace('hidden');
    await closeLogger(log);
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ node: 'pool-3', level: 30, slot: 5, msg: 'adopted' });
    expect(typeof lines[0].time).toBe('string');
    expect(() => createLogger('x', undefined, 'loud')).toThrow(/log level/);
    expect(createLogger('x').level).toBe('info');
  });
});
