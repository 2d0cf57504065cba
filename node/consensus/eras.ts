import type { Era } from '../genesis/schema.ts';

// Which era and protocol version is in force at an epoch: the genesis schedule, plus
// on-chain updates (an endorsed proposal takes effect at an epoch boundary) layered on top.

export class EraSchedule {
  private readonly eras: Era[];

  constructor(eras: Era[]) {
    if (eras.length === 0 || eras[0].startEpoch !== 0) throw new Error('era schedule must start at epoch 0');
    this.eras = [...eras].sort((a, b) => a.startEpoch - b.startEpoch);
  }

  at(epoch: number, updates: readonly Era[] = []): Era {
    let cur = this.eras[0];
    for (const e of this.eras) if (e.startEpoch <= epoch) cur = e;
    for (const u of updates) if (u.startEpoch <= epoch && u.startEpoch >= cur.startEpoch) cur = u;
    return cur;
  }

  /** First epoch of the Leios era, if scheduled. */
  leiosStart(updates: readonly Era[] = []): number | undefined {
    const all = [...this.eras, ...updates].filter((e) => e.era === 'leios').map((e) => e.startEpoch);
    return all.length ? Math.min(...all) : undefined;
  }
}
