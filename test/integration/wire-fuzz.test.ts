// Wire fuzz against a live node: two real node processes (pool-1, pool-2) make blocks; a fuzzer
// dials pool-1 as a peer, handshakes properly, drives one mini-protocol (ChainSync, BlockFetch,
// TxSubmission, KeepAlive, LeiosNotify, LeiosFetch) into a state with valid messages — as the
// initiator (client) or answering the node's own requests (responder) — and then sends a
// *mutated valid* message: a field swapped for a hostile value, dropped or added, the tag
// changed, bytes flipped, the CBOR truncated, the message repeated as a flood. Seeded and bounded
// (WIRE_FUZZ_CASES, default 500, ≈ 20 s; 2000 ≈ 85 s). pool-1 must stay up, keep pool-2 connected and the
// chain growing, and keep its RSS bounded.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from '../../node/network/frame.ts';
import { decodeCbor, encodeCbor } from '../../node/network/types.ts';
import { buildTestnet, getJson, startNode, waitFor } from '../support/testnet.ts';

const BASE_PORT = 4900;
const CASES = Number(process.env.WIRE_FUZZ_CASES ?? 500);
const MAGIC = 42;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-wire-fuzz-'));
const tn = buildTestnet({ dir, pools: 2, basePort: BASE_PORT, slotLengthS: 0.2, f: 0.25, k: 30, startInS: 2, eras: [{ era: 'praos', startEpoch: 0, protocolVersion: 1 }, { era: 'leios', startEpoch: 1, protocolVersion: 2 }] });
const procs: ChildProcess[] = [];
const admin = (i: number) => `http://127.0.0.${10 + i}:${BASE_PORT + 1}`;
type Tip = { slot: number; hash: string | null; blockNo: number };

const PROTO = { chainSync: 2, blockFetch: 3, txSubmission: 4, keepAlive: 8, leiosNotify: 16, leiosFetch: 17 } as const;

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

beforeAll(async () => {
  for (const c of tn.configs) procs.push(startNode(c));
  // generous: on a loaded 2-core machine a node takes several seconds to load
  await waitFor('both nodes healthy', async () => (await Promise.all([0, 1].map((i) => getJson(`${admin(i)}/health`)))).every(Boolean), 90_000);
  await waitFor('a few blocks', async () => ((await getJson<Tip>(`${admin(0)}/tip`))?.blockNo ?? 0) >= 3, 60_000);
}, 160_000);

afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------ valid messages

interface Ctx {
  tipPoint: unknown;
  tipBlockNo: number;
  hash: Uint8Array;
}
const bytes = (n: number, fill = 0xab) => new Uint8Array(n).fill(fill);

/** Per protocol and role: the valid prefix that walks into a state, and templates to mutate there. */
function scripts(c: Ctx): { proto: number; role: 'initiator' | 'responder'; prefix: unknown[][]; templates: unknown[][] }[] {
  return [
    // we are the ChainSync client
    { proto: PROTO.chainSync, role: 'initiator', prefix: [], templates: [[4, [null]], [4, [c.tipPoint, null]], [0], [7]] },
    { proto: PROTO.chainSync, role: 'initiator', prefix: [[4, [null]]], templates: [[0], [4, [c.tipPoint]], [7]] },
    { proto: PROTO.chainSync, role: 'initiator', prefix: [[4, [null]], [0], [0]], templates: [[0], [7], [4, [null]]] },
    // the node is our ChainSync client: answers to its requests
    { proto: PROTO.chainSync, role: 'responder', prefix: [], templates: [[5, null, [null, 0]], [6, [null, 0]], [2, bytes(80), [5, c.hash], [[5, c.hash], 1]], [3, null, [null, 0]], [1]] },
    // BlockFetch client
    { proto: PROTO.blockFetch, role: 'initiator', prefix: [], templates: [[0, [c.tipPoint]], [0, [null]], [0, [c.tipPoint, c.tipPoint]], [5]] },
    { proto: PROTO.blockFetch, role: 'initiator', prefix: [[0, [c.tipPoint]]], templates: [[0, [c.tipPoint]], [5]] },
    { proto: PROTO.blockFetch, role: 'responder', prefix: [], templates: [[3, bytes(200)], [4], [1]] },
    // TxSubmission: we submit (the node is the server)
    { proto: PROTO.txSubmission, role: 'initiator', prefix: [], templates: [[0, false], [0, true]] },
    { proto: PROTO.txSubmission, role: 'initiator', prefix: [[0, true]], templates: [[2, [[bytes(32, 1), 300]]], [4, [bytes(300, 0x83)]], [5], [2, []]] },
    { proto: PROTO.txSubmission, role: 'responder', prefix: [], templates: [[1, true, 0, 10], [3, [bytes(32, 2)]], [6, [[bytes(32, 3), null]]]] },
    // KeepAlive both ways
    { proto: PROTO.keepAlive, role: 'initiator', prefix: [], templates: [[0, 7], [0, 65535]] },
    { proto: PROTO.keepAlive, role: 'initiator', prefix: [[0, 1]], templates: [[0, 2], [1, 1]] },
    { proto: PROTO.keepAlive, role: 'responder', prefix: [], templates: [[1, 1]] },
    // Leios
    { proto: PROTO.leiosNotify, role: 'initiator', prefix: [], templates: [[0, c.hash, 10], [1, [[bytes(48), 1]]]] },
    { proto: PROTO.leiosNotify, role: 'responder', prefix: [], templates: [[0, c.hash, 10], [1, []]] },
    { proto: PROTO.leiosFetch, role: 'initiator', prefix: [], templates: [[0, c.hash, 10], [3, c.hash, 10, [0, 1, 2]]] },
    { proto: PROTO.leiosFetch, role: 'initiator', prefix: [[0, c.hash, 10]], templates: [[3, c.hash, 10, [0]], [0, c.hash, 10]] },
    { proto: PROTO.leiosFetch, role: 'responder', prefix: [], templates: [[1, bytes(100)], [2], [4, [bytes(300)]]] },
  ];
}

// ------------------------------------------------------------------------------------ mutations

const hostile = fc.oneof(
  fc.constantFrom(-1, 2 ** 32, 2 ** 53 + 1, Number.MAX_SAFE_INTEGER, 0.5, NaN, Infinity, -Infinity, null, true, '', 'x'.repeat(1000), 2n ** 64n, -(2n ** 70n)),
  fc.uint8Array({ maxLength: 64 }),
  fc.constantFrom(bytes(0), bytes(31), bytes(33), bytes(70_000)),
  fc.constantFrom([], [[]], new Array(5000).fill(0), new Array(2000).fill(null).map(() => [1, bytes(32)])),
  fc.integer({ min: 0, max: 20 }).map((d) => {
    let v: unknown = 1;
    for (let i = 0; i < 200 + d * 10; i++) v = [v];
    return v;
  }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 3 }),
);

type Mut =
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'drop'; at: number }
  | { kind: 'add'; value: unknown }
  | { kind: 'tag'; tag: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'truncate'; keep: number }
  | { kind: 'flood'; times: number }
  | { kind: 'wrong-direction' };
const mutArb: fc.Arbitrary<Mut> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: hostile }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('add' as const), value: hostile }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('tag' as const), tag: fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constantFrom(255, 2 ** 31)) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), keep: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('flood' as const), times: fc.integer({ min: 50, max: 400 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'wrong-direction' as const }) },
);

function safeCbor(v: unknown): Uint8Array {
  try {
    return encodeCbor(v);
  } catch {
    return new Uint8Array([0x9f]); // an unterminated indefinite array
  }
}

/** Encoded payloads to send (one message, or a flood of them) and the direction bit. */
function mutate(msg: unknown[], m: Mut, fromResponder: boolean): { payloads: Uint8Array[]; fromResponder: boolean } {
  const v = [...msg];
  switch (m.kind) {
    case 'replace':
      v[m.at % v.length] = m.value;
      return { payloads: [safeCbor(v)], fromResponder };
    case 'drop':
      v.splice(m.at % v.length, 1);
      return { payloads: [safeCbor(v)], fromResponder };
    case 'add':
      v.push(m.value);
      return { payloads: [safeCbor(v)], fromResponder };
    case 'tag':
      v[0] = m.tag;
      return { payloads: [safeCbor(v)], fromResponder };
    case 'flip': {
      const b = Uint8Array.from(safeCbor(v));
      b[m.at % b.length] ^= 1 << m.bit;
      return { payloads: [b], fromResponder };
    }
    case 'truncate': {
      const b = safeCbor(v);
      return { payloads: [b.subarray(0, m.keep % Math.max(1, b.length))], fromResponder };
    }
    case 'flood':
      return { payloads: new Array(m.times).fill(safeCbor(v)), fromResponder };
    case 'wrong-direction':
      return { payloads: [safeCbor(v)], fromResponder: !fromResponder };
  }
}

// ------------------------------------------------------------------------------------- the fuzzer

let caseNo = 0;

/** One attack connection; resolves with whether the node hung up within the wait. */
async function attack(proto: number, role: 'initiator' | 'responder', prefix: unknown[][], payloads: Uint8Array[], fromResponder: boolean): Promise<'closed' | 'open' | 'refused'> {
  const s = net.connect(BASE_PORT, '127.0.0.10');
  s.on('error', () => {});
  const closed = new Promise<'closed'>((r) => s.on('close', () => r('closed')));
  const decoder = new FrameDecoder();
  let accepted!: () => void;
  const handshaken = new Promise<void>((r) => (accepted = r));
  s.on('data', (chunk: Buffer) => {
    try {
      decoder.feed(new Uint8Array(chunk));
      for (let f = decoder.next(); f; f = decoder.next()) {
        if (f.protocol === 0) accepted();
      }
    } catch {
      /* the node may send anything; we only look for the handshake reply */
    }
  });
  const connected = await Promise.race([new Promise<boolean>((r) => s.once('connect', () => r(true))), closed.then(() => false)]);
  if (!connected) return 'refused';
  s.write(encodeFrame({ protocol: 0, fromResponder: false, last: true, payload: encodeCbor([0, MAGIC, [1, 2], `fuzz-${caseNo++}`]) }));
  const ok = await Promise.race([handshaken.then(() => true), closed.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(false), 2000))]);
  if (!ok) {
    s.destroy();
    return 'refused';
  }
  const dirBit = role === 'responder';
  for (const p of prefix) s.write(encodeFrame({ protocol: proto, fromResponder: dirBit, last: true, payload: encodeCbor(p) }));
  // the node answers the prefix (or asks us something, as a client) before the mutant arrives
  await new Promise((r) => setTimeout(r, 20));
  for (const payload of payloads) {
    if (s.destroyed) break;
    // payloads past a segment are split like the mux does (a segment is at most 65535 bytes)
    for (let off = 0; off < Math.max(1, payload.length); off += 60_000) {
      s.write(encodeFrame({ protocol: proto, fromResponder, last: off + 60_000 >= payload.length, payload: payload.subarray(off, off + 60_000) }));
    }
  }
  const r = await Promise.race([closed, new Promise<'open'>((res) => setTimeout(() => res('open'), 120))]);
  s.destroy();
  return r;
}

describe('wire fuzz against a live node', () => {
  it(`${CASES} mutated valid messages over every mini-protocol and state: node up, honest peer connected, RSS bounded`, async () => {
    const pid = procs[0]!.pid!;
    const tip = (await getJson<Tip>(`${admin(0)}/tip`))!;
    const hash = Uint8Array.from(Buffer.from(tip.hash!, 'hex'));
    const ctx: Ctx = { tipPoint: [tip.slot, hash], tipBlockNo: tip.blockNo, hash };
    const all = scripts(ctx);
    const rss0 = rssMb(pid);
    let rssMax = rss0;
    const outcomes: Record<string, number> = {};
    const t0 = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: all.length - 1 }), fc.nat(), mutArb, async (which, t, m) => {
        const sc = all[which]!;
        const msg = sc.templates[t % sc.templates.length]!;
        const { payloads, fromResponder } = mutate(msg, m, sc.role === 'responder');
        const r = await attack(sc.proto, sc.role, sc.prefix, payloads, fromResponder);
        const k = `${sc.proto}/${sc.role}/${m.kind}: ${r}`;
        outcomes[k] = (outcomes[k] ?? 0) + 1;
        expect(procs[0]!.exitCode, 'pool-1 exited').toBeNull();
        expect(r, 'a new peer can still connect and handshake').not.toBe('refused');
        rssMax = Math.max(rssMax, rssMb(pid));
      }),
      { seed: 0x31e, numRuns: CASES, endOnFailure: true },
    );
    const seconds = (Date.now() - t0) / 1000;
    const byKind: Record<string, { closed: number; open: number }> = {};
    for (const [k, n] of Object.entries(outcomes)) {
      const [kind, r] = k.split(': ') as [string, 'closed' | 'open'];
      const key = kind.replace(/^(\d+)\/(\w+)\/.*/, '$1/$2');
      byKind[key] ??= { closed: 0, open: 0 };
      byKind[key][r] += n;
    }
    console.log(`wire fuzz: ${CASES} cases in ${seconds.toFixed(1)} s; RSS ${rss0.toFixed(0)} → max ${rssMax.toFixed(0)} MB; by protocol/role (closed/open): ${JSON.stringify(byKind)}`);

    // still up, still serving a new peer, pool-2 still connected, the chain still growing
    expect(procs[0]!.exitCode).toBeNull();
    const peers = (await getJson<{ name: string; connected: boolean }[]>(`${admin(0)}/peers`))!;
    expect(peers.find((p) => p.name === 'pool-2')?.connected, JSON.stringify(peers)).toBe(true);
    const before = (await getJson<Tip>(`${admin(0)}/tip`))!.blockNo;
    await waitFor('pool-1 adopts new blocks', async () => ((await getJson<Tip>(`${admin(0)}/tip`))?.blockNo ?? 0) >= before + 2, 30_000);
    await waitFor('pool-2 agrees', async () => {
      const [a, b] = await Promise.all([getJson<Tip>(`${admin(0)}/tip`), getJson<Tip>(`${admin(1)}/tip`)]);
      return a && b && Math.abs(a.blockNo - b.blockNo) <= 2;
    }, 15_000);
    // memory: a few hundred hostile peers leave no lasting footprint
    expect(rssMax - rss0, `RSS ${rss0.toFixed(0)} → ${rssMax.toFixed(0)} MB`).toBeLessThan(200);
  }, 240_000);
});
