import { Type } from '@sinclair/typebox';
import type { TxRef } from './types.ts';
import { defineBehaviour } from './types.ts';

// Mempool partitioning: the adversary relays different conflicting txs to different peers (the
// attack on speculative inclusion in "Conflicting and duplicate transactions in Leios": the
// same UTxO spent twice, each version placed where the other is not). A tx whose twin arrives
// (refused here as a conflict: the generator's conflict workload, or the attacker's wallet) is
// announced as itself to one group of peers and replaced by its twin for the other, so honest
// mempools hold different sides and producers include both in parallel. Announcements are held
// `holdMs` so that the twin can arrive first. Honest nodes must still keep one ledger: at most
// one side of each pair on chain, the other lost as a conflict, the chain and certificates as
// usual.

interface Pair {
  twin: TxRef;
  bytes: Uint8Array;
}

export const mempoolPartitioning = defineBehaviour({
  name: 'mempool-partitioning',
  summary: 'relay conflicting txs (two spends of one input) to different peers: one side to a share of the peers, its twin to the rest',
  expect: 'at most one tx of each conflicting pair reaches the ledger (the other is lost as a conflict); honest nodes agree and certify EBs',
  params: Type.Object(
    {
      share: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'share of peers (sorted by name) announced the twin instead of the first-seen tx (default 0.5)' })),
      holdMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000, description: 'hold every announcement this long so a twin can arrive first (default 1000)' })),
    },
    { additionalProperties: false },
  ),
  create(p, env) {
    const share = p.share ?? 0.5;
    const holdMs = p.holdMs ?? 1000;
    const now = () => env.nowMs?.() ?? Date.now();
    /** first-seen tx id → its twin */
    const pairs = new Map<string, Pair>();
    const twinBytes = new Map<string, Uint8Array>();
    const queues = new Map<string, { ref: TxRef; at: number }[]>();
    const twinSide = (peer: string): boolean => {
      const peers = env.peers();
      const i = peers.indexOf(peer);
      return i >= 0 && i < Math.round(peers.length * share);
    };
    return {
      txRefused(tx, reason) {
        if (reason !== 'conflict' || twinBytes.has(tx.idHex)) return;
        const first = env.mempoolConflict?.(tx);
        if (!first || pairs.has(first.idHex)) return;
        pairs.set(first.idHex, { twin: { id: tx.id, idHex: tx.idHex, size: tx.size }, bytes: tx.bytes });
        twinBytes.set(tx.idHex, tx.bytes);
        const peers = env.peers();
        const cut = Math.round(peers.length * share);
        env.trace('mempool-partitioning', 'partitioned', { tx: first.idHex, twin: tx.idHex, twinTo: peers.slice(0, cut), txTo: peers.slice(cut) });
        if (pairs.size > 10_000) {
          const [k, v] = pairs.entries().next().value!;
          pairs.delete(k);
          twinBytes.delete(v.twin.idHex);
        }
      },
      txIdsOut(peer, txs) {
        let q = queues.get(peer);
        if (!q) queues.set(peer, (q = []));
        const t = now();
        for (const ref of txs) q.push({ ref, at: t });
        let n = 0;
        while (n < q.length && t - q[n]!.at >= holdMs) n++;
        if (n === 0) return [];
        const due = q.splice(0, n).map((e) => e.ref);
        if (!twinSide(peer)) return due;
        return due.map((ref) => pairs.get(ref.idHex)?.twin ?? ref);
      },
      txBytes(idHex) {
        return twinBytes.get(idHex);
      },
      stop() {
        queues.clear();
      },
    };
  },
});
