// A forger's own header goes out first. CIP-164: RB headers diffuse independently of chain
// selection. So as soon as a node forges a block, its header is relayed to every peer by
// RelayHeader, before chain selection applies the block and ChainSync announces it by
// RollForward. (Before 3a2dde6 a forged header left only with ChainSync, after the tip-change
// work.)
//
// One real node process, the only pool, forging about every other slot. A raw client dials it,
// handshakes and follows its chain by ChainSync, with two RequestNext always outstanding so the
// server can answer with either message. For every block forged while the client was caught up,
// the RelayHeader with the same header bytes must arrive before its RollForward.

import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from '../../node/network/frame.ts';
import { decodeCbor, encodeCbor } from '../../node/network/types.ts';
import { buildTestnet, getJson, startNode, waitFor } from '../support/testnet.ts';

const BASE_PORT = 4800;
const CHAIN_SYNC = 2;
const MSG = { requestNext: 0, awaitReply: 1, rollForward: 2, rollBackward: 3, findIntersect: 4, intersectFound: 5, relayHeader: 8 } as const;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-forger-relay-'));
const procs: ChildProcess[] = [];

afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('a forger relays its own header', () => {
  it('by RelayHeader before ChainSync announces the block', async () => {
    const tn = buildTestnet({ dir, pools: 1, basePort: BASE_PORT, slotLengthS: 0.2, f: 0.5, startInS: 2 });
    procs.push(startNode(tn.configs[0]!));
    const admin = `http://127.0.0.10:${BASE_PORT + 1}`;
    await waitFor('the node healthy', async () => !!(await getJson(`${admin}/health`)), 60_000);

    // Received ChainSync messages in order: tag and header bytes (hex).
    const got: { tag: number; header?: string }[] = [];
    const s = net.connect(BASE_PORT, '127.0.0.10');
    s.on('error', () => {});
    const send = (m: unknown[]) => s.write(encodeFrame({ protocol: CHAIN_SYNC, fromResponder: false, last: true, payload: encodeCbor(m) }));
    const decoder = new FrameDecoder();
    let handshaken!: () => void;
    const accepted = new Promise<void>((r) => (handshaken = r));
    s.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(new Uint8Array(chunk))) {
        if (f.protocol === 0) handshaken();
        // only the node's answers to our ChainSync client (it may also run its own clients on this connection)
        if (f.protocol !== CHAIN_SYNC || !f.fromResponder) continue;
        const m = decodeCbor(f.payload) as unknown[];
        const tag = m[0] as number;
        const header = tag === MSG.rollForward || tag === MSG.relayHeader ? Buffer.from(m[1] as Uint8Array).toString('hex') : undefined;
        got.push({ tag, header });
        // keep two requests outstanding: each answer but AwaitReply (which a later answer follows) takes one
        if (tag === MSG.intersectFound) (send([MSG.requestNext]), send([MSG.requestNext]));
        else if (tag !== MSG.awaitReply) send([MSG.requestNext]);
      }
    });
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.write(encodeFrame({ protocol: 0, fromResponder: false, last: true, payload: encodeCbor([0, 42, [1, 2], 'relay-probe']) }));
    await accepted;
    send([MSG.findIntersect, [[]]]);

    const caughtUp = () => got.findIndex((m) => m.tag === MSG.awaitReply);
    const forwardsAfter = () => got.slice(caughtUp()).filter((m) => m.tag === MSG.rollForward);
    await waitFor('8 blocks forged while the client was caught up', async () => caughtUp() >= 0 && forwardsAfter().length >= 8, 60_000);
    s.destroy();

    // Blocks forged while we followed: each RollForward after the first AwaitReply. Its header
    // was relayed first, by RelayHeader, with the same bytes.
    const from = caughtUp();
    const checked = got.slice(from).flatMap((m, i) => (m.tag === MSG.rollForward ? [{ header: m.header!, at: from + i }] : []));
    expect(checked.length).toBeGreaterThanOrEqual(8);
    for (const { header, at } of checked) {
      const relayedAt = got.findIndex((m) => m.tag === MSG.relayHeader && m.header === header);
      expect(relayedAt, `header ${header.slice(0, 16)}… relayed`).toBeGreaterThanOrEqual(0);
      expect(relayedAt, `header ${header.slice(0, 16)}… relayed before its RollForward`).toBeLessThan(at);
    }
  }, 120_000);
});
