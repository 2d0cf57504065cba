// Release name → the `release` block of a node config. The table belongs to the planner
// (orchestrator/profile/releases.ts); names it does not know fall back to the naming scheme
// "<era>-<major>.<minor>[.<patch>]" (praos-* follows protocol version 9, leios-* version 10).

import type { NodeConfig } from '../../../node/config/schema.ts';

export type ReleaseInfo = NodeConfig['release'];

const FALLBACK: Record<string, ReleaseInfo> = {
  'praos-1.0': { version: '1.0.0', maxProtocolVersion: 9 },
  'leios-2.0': { version: '2.0.0', maxProtocolVersion: 10 },
};

let table: ((name: string) => ReleaseInfo | undefined) | undefined;

async function plannerTable(): Promise<(name: string) => ReleaseInfo | undefined> {
  if (table) return table;
  try {
    const spec = '../../profile/releases.ts';
    const mod = (await import(spec)) as Record<string, unknown>;
    const fn = mod.releaseInfo ?? mod.resolveRelease ?? mod.getRelease;
    const rec = (mod.RELEASES ?? mod.releases) as Record<string, ReleaseInfo> | undefined;
    table = (name) => {
      if (typeof fn === 'function') {
        try {
          const r = (fn as (n: string) => ReleaseInfo | undefined)(name);
          if (r) return { version: r.version, maxProtocolVersion: r.maxProtocolVersion };
        } catch {
          /* unknown to the planner */
        }
      }
      const r = rec?.[name];
      return r ? { version: r.version, maxProtocolVersion: r.maxProtocolVersion } : undefined;
    };
  } catch {
    table = () => undefined;
  }
  return table;
}

export async function releaseInfo(name: string): Promise<ReleaseInfo> {
  const r = (await plannerTable())(name) ?? FALLBACK[name];
  if (r) return r;
  const m = /^(praos|leios)-(\d+)\.(\d+)(?:\.(\d+))?$/.exec(name);
  if (!m) throw new Error(`unknown release ${JSON.stringify(name)}`);
  return { version: `${m[2]}.${m[3]}.${m[4] ?? 0}`, maxProtocolVersion: m[1] === 'praos' ? 9 : 10 };
}
