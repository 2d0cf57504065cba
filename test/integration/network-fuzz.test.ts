// Fuzz a live node-side listener with random and malformed traffic. Each bad peer must be
// dropped (or, if it happened to speak valid protocol, served); the process must not crash
// and a well-behaved peer on the same listener must keep being served throughout.

import net from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hash256 } from '../../node/crypto/hash.ts';
import { encodeFrame } from '../../node/network/frame.ts';
import {
  BlockFetchServer,
  ChainSyncClient,
  ChainSyncServer,
  connectPeer,
  encodeCbor,
  PeerManager,
  TxSubmissionServer,
  type ChainSyncProvider,
  type Peer,
  type Point,
  type Tip,
} from '../../node/network/index.ts';

const MAGIC = 77;

/** A linear chain of headers. */
class LineChain implements ChainSyncProvider {
  headers: { point: Point; header: Uint8Array }[] = [];
  private cbs = new Set<() => void>();
  add(): void {
    const header = encodeCbor([this.headers.length, 'h']);
    this.headers.push({ point: { slot: this.headers.length + 1, hash: hash256(header) }, header });
    for (const cb of [...this.cbs]) cb();
  }
  tip(): Tip {
    const l = this.headers.at(-1);
    return { point: l ? l.point : null, blockNo: this.headers.length };
  }
  private idx(p: Point): number {
    if (p === null) return -1;
    return this.headers.findIndex((h) => h.point!.slot === p.slot && Buffer.compare(h.point!.hash, p.hash) === 0);
  }
  intersect(points: Point[]): Point | undefined {
    for (const p of points) if (p === null || this.idx(p) >= 0) return p;
    return undefined;
  }
  next(after: Point) {
    const i = this.idx(after);
    if (i < -1 || (after !== null && i < 0)) return { kind: 'backward' as const, point: null };
    const h = this.headers[i + 1];
    return h ? { kind: 'forward' as const, header: h.header, point: h.point } : undefined;
  }
  onTipChange(cb: () => void): () => void {
    this.cbs.add(cb);
    return () => this.cbs.delete(cb);
  }
}

const chain = new LineChain();
let node: PeerManager;
let good: Peer;
let goodHeaders = 0;
const downReasons: string[] = [];

beforeAll(async () => {
  for (let i = 0; i < 5; i++) chain.add();
  node = new PeerManager({
    name: 'node',
    networkMagic: MAGIC,
    versions: [1, 2],
    listen: { host: '127.0.0.1', port: 0 },
    handshakeTimeoutMs: 100,
    partialTimeoutMs: 100,
  });
  node.on('peer-up', (peer) => {
    new ChainSyncServer(peer, chain);
    new BlockFetchServer(peer, { getBlock: () => new Uint8Array([1, 2, 3]) });
    new TxSubmissionServer(peer, { txId: hash256, known: () => false, submit: (txs) => txs.map(() => null) });
  });
  node.on('peer-down', (p, why) => {
    if (p.name !== 'good') downReasons.push(why);
  });
  await node.start();
  good = await connectPeer(node.address()!, { name: 'good', networkMagic: MAGIC, versions: [1, 2] });
  const follower = new ChainSyncClient(good, { rollForward: () => void goodHeaders++, rollBackward: () => {} });
  await follower.start([null]);
});

afterAll(async () => {
  good?.close('done');
  await node?.close();
});

/** Connect raw, optionally handshake, write the bytes, wait until the node hangs up (or a moment passes). */
async function attack(bytes: Uint8Array[], handshake: string | undefined): Promise<'closed' | 'open'> {
  const s = net.connect(node.address()!.port, '127.0.0.1');
  s.on('error', () => {});
  s.on('data', () => {});
  const closed = new Promise<'closed'>((r) => s.on('close', () => r('closed')));
  await new Promise<void>((r, j) => {
    s.once('connect', () => r());
    s.once('error', j);
  });
  if (handshake) s.write(encodeFrame({ protocol: 0, fromResponder: false, last: true, payload: encodeCbor([0, MAGIC, [1, 2], handshake]) }));
  for (const b of bytes) s.write(b);
  const r = await Promise.race([closed, new Promise<'open'>((res) => setTimeout(() => res('open'), 250))]);
  s.destroy();
  return r;
}

const safeCbor = (v: unknown): Uint8Array => {
  try {
    return encodeCbor(v);
  } catch {
    return new Uint8Array([0xff]);
  }
};

const messageArb = fc
  .tuple(
    fc.integer({ min: 0, max: 8 }),
    fc.array(
      fc.oneof(
        fc.integer(),
        fc.uint8Array({ maxLength: 40 }),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 100 }), fc.uint8Array({ maxLength: 32 })), { maxLength: 3 }),
        fc.string({ maxLength: 10 }),
      ),
      { maxLength: 4 },
    ),
  )
  .map(([t, rest]) => [t, ...rest]);

const payloadArb = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 300 }), // not CBOR, mostly
  fc.anything({ maxDepth: 3 }).map(safeCbor), // CBOR, not a message
  messageArb.map(safeCbor), // message-shaped CBOR
);

const frameArb = fc.record({
  protocol: fc.oneof(fc.constantFrom(0, 2, 3, 4, 8, 16, 17), fc.integer({ min: 0, max: 0x7fff })),
  fromResponder: fc.boolean(),
  last: fc.boolean(),
  payload: payloadArb,
});

let run = 0;

describe('fuzzing a live listener', () => {
  it('random bytes before the handshake: dropped', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 400 }), async (bytes) => {
        expect(await attack([bytes], undefined)).toBe('closed');
      }),
      { numRuns: 30 },
    );
  });

  it('malformed handshakes: dropped', async () => {
    await fc.assert(
      fc.asyncProperty(payloadArb, fc.boolean(), async (payload, fromResponder) => {
        expect(await attack([encodeFrame({ protocol: 0, fromResponder, last: true, payload })], undefined)).toBe('closed');
      }),
      { numRuns: 30 },
    );
  });

  it('random frames and CBOR after a valid handshake: dropped or served, never crashing', async () => {
    let closed = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 4 }), async (frames) => {
        const r = await attack(frames.map((f) => encodeFrame(f)), `fuzz-${run++}`);
        if (r === 'closed') closed++;
      }),
      { numRuns: 60 },
    );
    expect(closed).toBeGreaterThan(40);
    expect(downReasons.length).toBeGreaterThan(40);
    for (const r of downReasons) expect(typeof r).toBe('string');
  });

  it('the well-behaved peer was served throughout and new peers are still accepted', async () => {
    expect(good.closed).toBe(false);
    expect(node.peer('good')).toBeDefined();
    const before = goodHeaders;
    chain.add();
    chain.add();
    const end = Date.now() + 5000;
    while (goodHeaders < before + 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(goodHeaders).toBe(before + 2);
    const again = await connectPeer(node.address()!, { name: 'late', networkMagic: MAGIC, versions: [1] });
    expect(again.version).toBe(1);
    again.close();
  });
});
