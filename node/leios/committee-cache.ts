// Committee selections by epoch nonce. Selecting (stake truncation / Fait Accompli and their
// BLS keys) is too costly to redo per vote, and only a handful of epochs are live at once.

import { toHex } from '../crypto/hash.ts';
import type { Committee, Pool } from '../genesis/schema.ts';
import { selectCommittee, type CommitteeSelection } from './committee.ts';

/** Past this many nonces the cache starts over (a few epochs are ever live). */
const MAX_NONCES = 8;

export class CommitteeCache {
  private readonly pools: Pool[];
  private readonly committee: Committee;
  private readonly byNonce = new Map<string, CommitteeSelection>();

  constructor(pools: Pool[], committee: Committee) {
    this.pools = pools;
    this.committee = committee;
  }

  get(epochNonce: Uint8Array): CommitteeSelection {
    const k = toHex(epochNonce);
    let c = this.byNonce.get(k);
    if (!c) {
      c = selectCommittee(this.pools, this.committee, epochNonce);
      if (this.byNonce.size > MAX_NONCES) this.byNonce.clear();
      this.byNonce.set(k, c);
    }
    return c;
  }
}
