// peers: every running node answers /peers with at least one connected peer.
import { getPeers } from '../../collect/admin.ts';
import type { CheckDef } from './types.ts';

export const peersCheck: CheckDef = {
  name: 'peers',
  async run(ctx, spec) {
    const names = spec.nodes ?? ctx.dep.nodes().map((h) => h.name);
    const peers: Record<string, unknown> = {};
    const bad: string[] = [];
    let checked = 0;
    for (const n of names) {
      const h = ctx.dep.node(n);
      if (!(await h.running().catch(() => false))) {
        peers[n] = 'not running';
        continue;
      }
      checked++;
      try {
        const ps = await getPeers(h.endpoints());
        const up = ps.filter((p) => p.connected).map((p) => p.name);
        peers[n] = { connected: up, configured: ps.length };
        if (up.length === 0) bad.push(`${n} (0 of ${ps.length})`);
      } catch (e) {
        peers[n] = `error: ${(e as Error).message}`;
        bad.push(`${n} (no answer)`);
      }
    }
    const passed = checked > 0 && bad.length === 0;
    return { passed, detail: passed ? `${checked} nodes, each with a connected peer` : `without a connected peer: ${bad.join(', ') || 'no running node'}`, evidence: { peers } };
  },
};
