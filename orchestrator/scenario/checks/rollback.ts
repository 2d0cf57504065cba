// rollback: partition the network in two groups and give each side a tx of its own (submitted to
// one node of that side, so the other side never sees it). Wait until both sides included
// theirs and their chains differ in length, then heal. The shorter side rolls back to the other
// side's chain: its tx leaves the block it was in, goes back to the mempool, reaches the other
// side and is included again — in a different block, on every node. Whichever side loses, one
// tx shows it. If no tx changed blocks (a side forged nothing in time), no rollback of our txs
// happened: skipped.
import { hash224 } from '../../../node/crypto/hash.ts';
import type { Tx } from '../../../node/ledger/tx.ts';
import { applyFault } from '../faults.ts';
import { METRIC, followers, metricOf, nodeMetrics } from '../live.ts';
import { nodeStates } from '../view.ts';
import { submitTx } from './client.ts';
import { ensureCoins, payment, summarise, waitIncluded, withinS, type Inclusion } from './common.ts';
import type { CheckDef } from './types.ts';

export const rollbackCheck: CheckDef = {
  name: 'rollback',
  async run(ctx, spec) {
    const live = followers(await nodeStates(ctx.dep)).map(([n]) => n);
    const groups = spec.groups ?? [live.slice(0, Math.max(1, Math.floor(live.length / 2))), live.slice(Math.max(1, Math.floor(live.length / 2)))];
    if (groups.length !== 2 || !groups[0]!.length || !groups[1]!.length) return { passed: false, detail: 'needs two groups of following nodes', evidence: { live } };
    const timeout = withinS(spec);
    const funded = await ensureCoins(ctx, groups[0]![0]!, 2, timeout);
    const sides = groups.map((nodes, i) => {
      const coin = ctx.wallet.take()!;
      return { nodes, node: nodes[0]!, coin, tx: payment(coin, [{ address: hash224(new TextEncoder().encode(`rb${i}/${coin.key}`)), amount: 1_000_000 }], ctx) as Tx, first: undefined as Inclusion['where'] };
    });
    const all = groups.flat();
    const rollbacksOf = async () => {
      const m = await nodeMetrics(ctx.dep, all);
      return Object.fromEntries(all.map((n) => [n, metricOf(m[n], METRIC.rollbacks) ?? 0]));
    };
    const before = await rollbacksOf();
    const fault = { kind: 'partition' as const, groups };
    const label = `partition groups=${JSON.stringify(groups)} (rollback check)`;
    ctx.events.emit('fault', { description: label, fault, check: 'rollback' });
    const heal = await applyFault(ctx.dep, fault);
    let healed = false;
    const doHeal = async () => {
      if (healed) return;
      healed = true;
      await heal();
      ctx.events.emit('fault-undone', { fault: label });
    };
    const evidence: Record<string, unknown> = { ...(funded ?? {}), groups, rollbacksBefore: before };
    try {
      for (const [i, s] of sides.entries()) {
        const r = await submitTx(ctx.dep.node(s.node).endpoints(), s.tx.bytes);
        evidence[`side${i + 1}`] = { tx: s.tx.idHex, submittedTo: s.node, reply: r };
        if (!r.accepted) return { passed: false, detail: `${s.node} refused the side-${i + 1} tx: ${r.reason}`, evidence };
      }
      // until both sides included their own tx and one side's chain is longer
      const deadline = Date.now() + timeout * 1000;
      let heights: Record<string, number | undefined> = {};
      for (;;) {
        for (const s of sides) {
          if (s.first) continue;
          const inc = await waitIncluded(ctx, s.tx.idHex, 0, s.nodes);
          if (inc.all && inc.where) s.first = inc.where;
        }
        const st = await nodeStates(ctx.dep);
        heights = Object.fromEntries(all.map((n) => [n, st[n]?.blockNo]));
        const h = groups.map((g) => Math.max(0, ...g.map((n) => st[n]?.blockNo ?? 0)));
        if ((sides.every((s) => s.first) && h[0] !== h[1]) || Date.now() >= deadline) break;
        await ctx.sleep(ctx.pollMs);
      }
      evidence.heightsAtHeal = heights;
      evidence.firstInclusion = sides.map((s) => s.first ?? null);
      await doHeal();
      // every node has each tx in one block (the same on every node)
      const agreed = (s: Inclusion) => s.all && new Set(Object.values(s.statuses).map((x) => (x.status === 'included' ? x.blockHash : ''))).size === 1;
      const finals: Inclusion[] = [];
      for (const s of sides) finals.push(await waitIncluded(ctx, s.tx.idHex, timeout * 2, all, agreed));
      const after = await rollbacksOf();
      evidence.rollbacksAfter = after;
      evidence.final = finals.map((f) => summarise(f.statuses));
      if (!finals.every(agreed)) return { passed: false, detail: `after the heal not every node has both txs in one block within ${timeout * 2} s`, evidence };
      for (const s of sides) ctx.wallet.add(s.tx);
      const moved = sides.map((s, i) => ({ s, f: finals[i]!.where! })).filter(({ s, f }) => s.first && s.first.blockHash !== f.blockHash);
      if (moved.length === 0) return { passed: true, skipped: true, detail: 'no tx of ours changed blocks at the heal (a side forged nothing in time): no rollback to show', evidence };
      const rolledBack = moved.every(({ s }) => s.nodes.some((n) => (after[n] ?? 0) > (before[n] ?? 0)));
      const d = moved.map(({ s, f }) => `tx ${s.tx.idHex.slice(0, 10)} included at slot ${s.first!.slot} (${s.first!.blockHash.slice(0, 8)}) on ${s.nodes.join('+')}, rolled back at the heal, included again at slot ${f.slot} (${f.blockHash.slice(0, 8)}) on all ${all.length} nodes`);
      return rolledBack ? { passed: true, detail: d.join('; '), evidence } : { passed: false, detail: `a tx changed blocks but its side traced no rollback: ${d.join('; ')}`, evidence };
    } finally {
      await doHeal().catch(() => {});
    }
  },
};
