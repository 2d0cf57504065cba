// rollback: partition the network into a minority and a majority, submit a tx on the minority
// side and wait until a minority block includes it, let the majority's chain grow longer, heal.
// The minority rolls back to the majority's chain; the tx goes back to its mempool, reaches the
// majority and is included again — in a different block, on every node. If the minority forges
// no block in time, or its chain wins, no rollback of the tx's block happened: skipped.
import { hash224 } from '../../../node/crypto/hash.ts';
import { applyFault } from '../faults.ts';
import { METRIC, followers, metricOf, nodeMetrics } from '../live.ts';
import { nodeStates } from '../view.ts';
import { submitTx } from './client.ts';
import { ensureCoins, payment, summarise, waitIncluded, withinS } from './common.ts';
import type { CheckDef } from './types.ts';

export const rollbackCheck: CheckDef = {
  name: 'rollback',
  async run(ctx, spec) {
    const live = followers(await nodeStates(ctx.dep)).map(([n]) => n);
    const [minority, majority] = spec.groups ?? [live.slice(0, 1), live.slice(1)];
    if (!minority?.length || !majority?.length) return { passed: false, detail: 'needs two groups of following nodes', evidence: { live } };
    const node = minority[0]!;
    const timeout = withinS(spec);
    const funded = await ensureCoins(ctx, node, 1, timeout);
    const coin = ctx.wallet.take()!;
    const tx = payment(coin, [{ address: hash224(new TextEncoder().encode(`rb/${coin.key}`)), amount: 1_000_000 }], ctx);
    const rollbacksOf = async () => {
      const m = await nodeMetrics(ctx.dep, minority);
      return Object.fromEntries(minority.map((n) => [n, metricOf(m[n], METRIC.rollbacks) ?? 0]));
    };
    const before = await rollbacksOf();
    const label = `partition groups=${JSON.stringify([minority, majority])} (rollback check)`;
    ctx.events.emit('fault', { description: label, fault: { kind: 'partition', groups: [minority, majority] }, check: 'rollback' });
    const heal = await applyFault(ctx.dep, { kind: 'partition', groups: [minority, majority] });
    const evidence: Record<string, unknown> = { ...(funded ?? {}), minority, majority, tx: tx.idHex, submittedTo: node, rollbacksBefore: before };
    let healed = false;
    const doHeal = async () => {
      if (healed) return;
      healed = true;
      await heal();
      ctx.events.emit('fault-undone', { fault: label });
    };
    try {
      const r = await submitTx(ctx.dep.node(node).endpoints(), tx.bytes);
      evidence.reply = r;
      if (!r.accepted) {
        ctx.wallet.giveBack(coin);
        return { passed: false, detail: `${node} refused it: ${r.reason}`, evidence };
      }
      const onMinority = await waitIncluded(ctx, tx.idHex, timeout, minority);
      evidence.onMinority = summarise(onMinority.statuses);
      if (!onMinority.all || !onMinority.where) {
        await doHeal();
        return { passed: true, skipped: true, detail: `the minority (${minority.join(', ')}) included no block with it within ${timeout} s: no rollback to show`, evidence };
      }
      const first = onMinority.where;
      // let the majority's chain get longer than the minority's, so the heal rolls the minority back
      const deadline = Date.now() + timeout * 1000;
      let heights: Record<string, number | undefined> = {};
      for (;;) {
        const st = await nodeStates(ctx.dep);
        heights = Object.fromEntries([...minority, ...majority].map((n) => [n, st[n]?.blockNo]));
        const maj = Math.max(0, ...majority.map((n) => st[n]?.blockNo ?? 0));
        const min = Math.max(0, ...minority.map((n) => st[n]?.blockNo ?? 0));
        if (maj > min || Date.now() >= deadline) break;
        await ctx.sleep(ctx.pollMs);
      }
      evidence.heightsAtHeal = heights;
      await doHeal();
      const all = [...minority, ...majority];
      // done once every node has it in one block: a new one (rolled back and included again) or
      // still the minority's (its chain won)
      const final = await waitIncluded(ctx, tx.idHex, timeout * 2, all, (s) => s.all && new Set(Object.values(s.statuses).map((x) => (x.status === 'included' ? x.blockHash : ''))).size === 1);
      const after = await rollbacksOf();
      evidence.rollbacksAfter = after;
      evidence.final = summarise(final.statuses);
      const rolledBack = minority.some((n) => (after[n] ?? 0) > (before[n] ?? 0));
      const hashes = new Set(Object.values(final.statuses).map((x) => (x.status === 'included' ? x.blockHash : '')));
      const agreed = final.all && hashes.size === 1;
      if (agreed && final.where?.blockHash === first.blockHash) {
        ctx.wallet.add(tx);
        return { passed: true, skipped: true, detail: `the minority's chain won: the tx stayed in block ${first.blockHash.slice(0, 8)}, no rollback to show`, evidence };
      }
      if (agreed && rolledBack) {
        ctx.wallet.add(tx);
        return {
          passed: true,
          detail: `included at slot ${first.slot} (${first.blockHash.slice(0, 8)}) on the minority, rolled back at the heal, included again at slot ${final.where?.slot} (${final.where?.blockHash.slice(0, 8)}) on all ${all.length} nodes`,
          evidence,
        };
      }
      return { passed: false, detail: `after the heal: included everywhere in one block ${agreed}, minority rolled back ${rolledBack}`, evidence };
    } finally {
      await doHeal().catch(() => {});
    }
  },
};
