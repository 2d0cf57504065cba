// Fault campaigns (`campaign` steps) expanded into concrete wait + fault steps, so the Plan
// (profile.resolved.json) shows exactly when which node goes down, and a seed replays it.

import type { Rng } from './rng.ts';
import type { Step } from './schema.ts';

const tenth = (x: number) => Math.round(x * 10) / 10;

function draw(rng: Rng, r: { min: number; max: number }): number {
  const lo = Math.min(r.min, r.max);
  const hi = Math.max(r.min, r.max);
  return tenth(lo + rng.next() * (hi - lo));
}

export function expandCampaigns(steps: readonly Step[], rng: Rng): Step[] {
  const out: Step[] = [];
  for (const step of steps) {
    if (!('campaign' in step)) {
      out.push(structuredClone(step));
      continue;
    }
    const c = step.campaign;
    for (let round = 0; round < (c.rounds ?? 1); round++) {
      for (const node of rng.shuffle([...c.nodes])) {
        out.push({ wait: { seconds: Math.max(0.1, draw(rng, c.gapS)) } });
        const kind = c.kind ?? 'kill';
        const forS = kind === 'restart' ? undefined : Math.max(0.1, draw(rng, c.downS ?? { min: 1, max: 5 }));
        out.push({ fault: forS === undefined ? { kind, node } : { kind, node, forS } });
      }
    }
  }
  return out;
}
