// The shared setup of the adversary integration tests (test/integration/adversary-*.test.ts):
// a testnet of real node processes (testnet.ts) whose adversarial pools carry an `adversary`
// section in their node config, the nodes' admin URLs and traces, a paced tx load and the
// check that the honest pools agree on one tip.
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { buildTx, makeSigner } from '../../node/ledger/index.ts';
import { buildTestnet, getJson, readTrace, startNode, waitFor, type TestnetOptions, type TraceEvent } from './testnet.ts';
import { tempDir } from './tmp.ts';

export const TOKEN = 'test-token-123';

/** The messages of the events of one type. */
export const of = (ev: TraceEvent[], type: string) => ev.filter((e) => e.message.type === type).map((e) => e.message);

export interface AdversaryTestnetOptions extends Omit<TestnetOptions, 'dir'> {
  /** prefix of the run's temporary directory */
  tmpPrefix: string;
  /** node index → the `adversary` section of its node config (behaviours on from the start) */
  adversary: Record<number, Record<string, unknown>>;
}

export interface PacedLoad {
  /** the last time a tx may be sent (ms since the epoch) */
  untilMs: number;
  /** one tx per chain every so often; chains are staggered evenly within it */
  everyMs: number;
  /** chains (one per genesis output) to use; default all */
  chains?: number;
  padToBytes?: number;
  /** the node the j-th tx of chain c goes to */
  to: (c: number, j: number) => number;
}

export function adversaryTestnet(o: AdversaryTestnetOptions) {
  const { tmpPrefix, adversary, ...opts } = o;
  const dir = tempDir(tmpPrefix);
  const tn = buildTestnet({ dir, ...opts });
  for (const [i, adv] of Object.entries(adversary)) {
    const f = tn.configs[Number(i)]!;
    fs.writeFileSync(f, JSON.stringify({ ...JSON.parse(fs.readFileSync(f, 'utf8')), adversary: adv }, null, 2));
  }
  const procs: ChildProcess[] = [];
  const admin = (i: number) => `http://127.0.0.${10 + i}:${o.basePort + 1}`;
  const startMs = Date.parse(tn.genesis.systemStart);
  return {
    ...tn,
    dir,
    admin,
    /** the chain's start (genesis systemStart), ms since the epoch */
    startMs,
    trace: (i: number) => readTrace(path.join(dir, tn.names[i]!)),
    /** Start every node and wait until all answer /health. */
    async start(): Promise<void> {
      for (const c of tn.configs) procs.push(startNode(c));
      await waitFor('all nodes healthy', async () => (await Promise.all(tn.names.map((_, i) => getJson(`${admin(i)}/health`)))).every(Boolean), 60_000);
    },
    stop(): void {
      for (const p of procs) p.kill('SIGKILL');
    },
    /** The behaviours node i has on (GET /adversary). */
    async active(i: number): Promise<string[] | undefined> {
      return (await getJson<{ active: { behaviour: string }[] }>(`${admin(i)}/adversary`))?.active.map((a) => a.behaviour);
    },
    /**
     * A load for the whole run: chain c (one per genesis output) sends one tx every `everyMs`,
     * each spending the previous one's change, from 0.5 s after the chain starts until `untilMs`.
     * Returns how many txs the nodes accepted.
     */
    async submitPaced(l: PacedLoad): Promise<number> {
      const signer = makeSigner(tn.payment);
      const utxos = tn.genesis.initialUtxo.slice(0, l.chains);
      const t0 = startMs + 500;
      let accepted = 0;
      await Promise.all(
        utxos.map(async (u, c) => {
          let input = { txId: Buffer.from(u.txId, 'hex') as Uint8Array, index: u.index, amount: u.amount };
          for (let j = 0; ; j++) {
            const at = t0 + j * l.everyMs + Math.floor((c * l.everyMs) / utxos.length);
            if (at > l.untilMs) return;
            await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
            const tx = buildTx({ inputs: [input], outputs: [{ address: signer.address, amount: 1_000 }], changeAddress: signer.address, signers: [signer], padToBytes: l.padToBytes, protocolParams: tn.genesis.protocolParams });
            const res = await fetch(`${admin(l.to(c, j))}/tx`, { method: 'POST', headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${TOKEN}` }, body: Buffer.from(tx.bytes) }).catch(() => undefined);
            if (res?.ok) accepted++;
            const change = tx.body.outputs.length - 1;
            input = { txId: tx.id, index: change, amount: tx.body.outputs[change]!.amount };
          }
        }),
      );
      return accepted;
    },
    /** Sleep until `s` seconds after the chain's start. */
    async untilRunS(s: number): Promise<void> {
      await new Promise((r) => setTimeout(r, Math.max(0, startMs + s * 1000 - Date.now())));
    },
    /** Wait (30 s at most) until the honest pools share one tip above `minBlockNo`. */
    async oneTip(honest: number[], minBlockNo: number): Promise<void> {
      await waitFor(
        'honest pools on one tip',
        async () => {
          const t = await Promise.all(honest.map((i) => getJson<{ hash: string; blockNo: number }>(`${admin(i)}/tip`)));
          return t.every((x) => x && x.blockNo > minBlockNo) && new Set(t.map((x) => x!.hash)).size === 1;
        },
        30_000,
      );
    },
  };
}
