// The protocol's throughput ceiling for a plan's parameters (CIP-164 "Linear Leios").
//
// An EB announced by an RB in slot s is certifiable only if the next RB comes at least
// W = 3·L_hdr + L_vote + L_diff slots later, i.e. no slot s+1 … s+W−1 has a leader:
// probability (1−f)^(W−1). Every RB announces an EB at most, so per slot the certified EB
// capacity is f·(1−f)^(W−1)·S_EB-tx. An RB that carries a certificate carries no txs; the others
// (share 1 − (1−f)^(W−1)) carry up to S_RB of txs. Divided by the slot length:
//
//   ceiling = f/slotLength · [ (1−f)^(W−1)·S_EB-tx + (1 − (1−f)^(W−1))·S_RB ]   bytes/s
//
// With f = 0.05, W = 14, 1 s slots, S_EB-tx = 12 MB, S_RB = 90,112 B: 308.0 + 2.2 ≈ 310 kB/s.
// In the Praos era only the RB bodies count: f·S_RB/slotLength (≈ 4.5 kB/s).

export interface CeilingParams {
  f: number;
  slotLengthS: number;
  lHdrSlots: number;
  lVoteSlots: number;
  lDiffSlots: number;
  /** S_EB-tx, bytes */
  ebMaxTxBytes: number;
  /** S_RB, bytes */
  maxBlockBodySize: number;
}

export interface Ceiling {
  /** W = 3·L_hdr + L_vote + L_diff, slots */
  windowSlots: number;
  /** (1−f)^(W−1): share of RBs whose EB can be certified */
  certifiableShare: number;
  /** certified EB capacity, kB/s (1 kB = 1000 B) */
  ebTxkbPerS: number;
  /** tx bytes in RBs that carry no certificate, kB/s */
  rbTxkbPerS: number;
  /** ebTxkbPerS + rbTxkbPerS */
  txkbPerS: number;
  /** Praos alone: f·S_RB/slotLength, kB/s */
  praosTxkbPerS: number;
  params: CeilingParams;
}

export function protocolCeiling(p: CeilingParams): Ceiling {
  const w = 3 * p.lHdrSlots + p.lVoteSlots + p.lDiffSlots;
  const share = (1 - p.f) ** (w - 1);
  const perS = p.f / p.slotLengthS;
  const eb = (perS * share * p.ebMaxTxBytes) / 1000;
  const rb = (perS * (1 - share) * p.maxBlockBodySize) / 1000;
  return {
    windowSlots: w,
    certifiableShare: share,
    ebTxkbPerS: eb,
    rbTxkbPerS: rb,
    txkbPerS: eb + rb,
    praosTxkbPerS: (perS * p.maxBlockBodySize) / 1000,
    params: p,
  };
}

/** The ceiling of a resolved plan (profile.resolved.json), or undefined if it lacks the fields. */
export function planCeiling(plan: unknown): Ceiling | undefined {
  const g = (plan as { genesis?: Record<string, any> } | undefined)?.genesis;
  if (!g) return undefined;
  const l = g.leios ?? {};
  const p: CeilingParams = {
    f: g.activeSlotCoeff,
    slotLengthS: g.slotLengthS,
    lHdrSlots: l.lHdrSlots ?? 1,
    lVoteSlots: l.lVoteSlots ?? 4,
    lDiffSlots: l.lDiffSlots ?? 7,
    ebMaxTxBytes: l.ebMaxTxBytes ?? 12_000_000,
    maxBlockBodySize: g.protocolParams?.maxBlockBodySize ?? 90_112,
  };
  if (![p.f, p.slotLengthS].every((x) => typeof x === 'number' && x > 0)) return undefined;
  return protocolCeiling(p);
}

/** One line for reports. */
export function describeCeiling(c: Ceiling): string {
  const p = c.params;
  return (
    `protocol ceiling ${c.txkbPerS.toFixed(1)} TxkB/s = f·(1−f)^(W−1)·S_EB-tx/slot ${c.ebTxkbPerS.toFixed(1)} + RB bodies ${c.rbTxkbPerS.toFixed(1)} ` +
    `(f ${p.f}, W ${c.windowSlots} slots = 3·${p.lHdrSlots}+${p.lVoteSlots}+${p.lDiffSlots}, certifiable ${(c.certifiableShare * 100).toFixed(1)} %, ` +
    `S_EB-tx ${(p.ebMaxTxBytes / 1e6).toFixed(1)} MB, S_RB ${p.maxBlockBodySize} B, slot ${p.slotLengthS} s; Praos alone ${c.praosTxkbPerS.toFixed(1)})`
  );
}
