// tips: every running node answers /tip; the following ones agree within k blocks and a
// majority shares one tip hash (or is one block apart while a block spreads).
import { getTip } from '../../collect/admin.ts';
import { agreementShare } from '../relative.ts';
import type { CheckDef } from './types.ts';

export const tipsCheck: CheckDef = {
  name: 'tips',
  async run(ctx, spec) {
    const names = spec.nodes ?? ctx.dep.nodes().map((h) => h.name);
    const tips: Record<string, unknown> = {};
    const states: [string, { blockNo?: number; hash?: string }][] = [];
    const missing: string[] = [];
    for (const n of names) {
      const h = ctx.dep.node(n);
      if (!(await h.running().catch(() => false))) {
        tips[n] = 'not running';
        continue;
      }
      const t = await getTip(h.endpoints());
      if (!t) {
        missing.push(n);
        tips[n] = 'no answer';
        continue;
      }
      tips[n] = { slot: t.slot, blockNo: t.blockNo, hash: t.hash, era: t.era, protocolVersion: t.protocolVersion, following: t.following ?? true };
      if (t.following !== false) states.push([n, { blockNo: t.blockNo, hash: t.hash ?? undefined }]);
    }
    const k = ctx.genesis.securityParam;
    const nos = states.map(([, s]) => s.blockNo ?? 0);
    const spread = nos.length ? Math.max(...nos) - Math.min(...nos) : 0;
    const { share } = agreementShare(states, 1);
    const passed = missing.length === 0 && states.length > 0 && spread <= k && share > 0.5;
    const detail = `${states.length} following nodes, block spread ${spread} (k ${k}), ${Math.round(share * 100)} % within one block${missing.length ? `; no /tip from ${missing.join(', ')}` : ''}`;
    return { passed, detail, evidence: { tips } };
  },
};
