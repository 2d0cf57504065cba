// RB header equivocation detection (CIP-164): two different headers from one issuer for one
// slot. Votes wait out the detection period (3·L_hdr slots) so such a pair is seen network-wide,
// and an EB whose announcing RB equivocated gets no vote.

import { toHex } from '../crypto/hash.ts';

export class EquivocationDetector {
  /** issuer:slot → hash of the first header seen. */
  private readonly first = new Map<string, string>();
  /** issuer:slot keys with more than one header. */
  readonly equivocating = new Set<string>();

  /** A validated RB header (ours included). */
  note(issuer: Uint8Array, slot: number, hash: string): void {
    const k = `${toHex(issuer)}:${slot}`;
    const first = this.first.get(k);
    if (first === undefined) this.first.set(k, hash);
    else if (first !== hash) this.equivocating.add(k);
  }

  isEquivocation(issuer: Uint8Array, slot: number): boolean {
    return this.equivocating.has(`${toHex(issuer)}:${slot}`);
  }

  /** Forget first-seen headers before `slot` (the verdicts stay: they are few). */
  evict(beforeSlot: number): void {
    for (const k of this.first.keys()) if (Number(k.slice(k.indexOf(':') + 1)) < beforeSlot) this.first.delete(k);
  }
}
