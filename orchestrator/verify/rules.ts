// The CIP-164 rules, as a table. Each rule reads the facts of one pass over the traces and
// returns how many things it checked, the violations it found, and how many it could not check
// (data absent from the traces). A rule that checked nothing is "not checkable", never a pass.
//
// Sources: CIP-164 (cardano-foundation/CIPs, CIP-0164/README.md) sections "Step 3: Committee
// Validation", "Step 4: Certification", "Step 5: Chain Inclusion", "Votes and Certificates",
// "Voting & Certification"; the Agda spec (input-output-hk/ouroboros-leios-formal-spec,
// formal-spec/Leios/Linear.lagda.md): VT-Role `slotNumber eb + 3 * Lhdr ≤ slot`,
// `validityCheckTime eb ≤ 3 * Lhdr + Lvote`, `hash eb ∉ VotedEBs`; Base₂
// `slotNumber eb + 3 * Lhdr + Lvote + Ldiff ≤ slot` and `txsOrEbCert` (a certificate or txs).

import type { VerifyContext } from './context.ts';
import type { BlockFact, Facts, VoteFact } from './facts.ts';
import type { RuleId } from './rule-ids.ts';

export interface Violation {
  rule: string;
  message: string;
  node?: string;
  slot?: number;
  ref?: string;
}

export interface RuleOutcome {
  checks: number;
  violations: Violation[];
  /** items the rule could not decide (data absent) */
  unchecked: number;
  /** why the rule (or some items) could not be checked: which events/fields are missing */
  reason?: string;
}

export interface Rule {
  id: RuleId;
  title: string;
  /** where the rule comes from */
  cip: string;
  check(ctx: VerifyContext, f: Facts): RuleOutcome;
}

const short = (h: string | undefined) => (h ? h.slice(0, 12) : '?');

/** Slack for judging a vote's slot from its trace time: the trace clock is not the node's slot clock. */
export const CLOCK_TOLERANCE_S = 0.05;

function outcome(rule: string): RuleOutcome & { add: (v: Omit<Violation, 'rule'>) => void } {
  const o = {
    checks: 0,
    violations: [] as Violation[],
    unchecked: 0,
    reason: undefined as string | undefined,
    add(v: Omit<Violation, 'rule'>) {
      o.violations.push({ rule, ...v });
    },
  };
  return o;
}

/** Election id of a vote = slot of the RB announcing the EB (CIP-164 "Vote Structure": slot_no). */
export function electionOf(f: Facts, v: VoteFact): number | undefined {
  if (v.election !== undefined) return v.election;
  const slots = f.ebSlots.get(v.eb);
  if (slots && slots.size > 0) {
    if (v.slotField !== undefined && slots.has(v.slotField)) return v.slotField;
    return Math.min(...slots);
  }
  return v.slotField;
}

const honestVoter = (ctx: VerifyContext, voter: string) => !ctx.adversaries.has(voter);

/** CertRBs adopted by an honest node: those carry certificates the network accepted. */
function certRbs(f: Facts): BlockFact[] {
  return [...f.blocks.values()].filter((b) => b.certifiedEb !== undefined && b.adoptedByHonest).sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0));
}

/** The announcing RB of a CertRB's EB: its parent (CIP-164 Step 5, "the EB announced in RB", RB' extends RB). */
function announcing(f: Facts, b: BlockFact): BlockFact | undefined {
  return b.parent ? f.blocks.get(b.parent) : undefined;
}

/**
 * Slot of the RB that announced the certified EB: the parent when it announced that EB (or its
 * announcement is unknown), else the latest earlier RB/EBGenerated announcing it.
 */
function announceSlot(f: Facts, b: BlockFact): number | undefined {
  const p = announcing(f, b);
  if (p?.slot !== undefined && (p.announcedEb === undefined || p.announcedEb === b.certifiedEb)) return p.slot;
  const slots = [...((b.certifiedEb ? f.ebSlots.get(b.certifiedEb) : undefined) ?? [])].filter((x) => b.slot === undefined || x < b.slot);
  return slots.length > 0 ? Math.max(...slots) : (p?.slot ?? b.certEbSlot);
}

/** Final chain of a tip, genesis first; `complete` = the walk reached the first block. */
function chainOf(f: Facts, tip: string): { ids: string[]; complete: boolean } {
  const ids: string[] = [];
  const seen = new Set<string>();
  let cur: string | null | undefined = tip;
  while (cur && !seen.has(cur)) {
    seen.add(cur);
    ids.push(cur);
    const b = f.blocks.get(cur);
    if (!b || b.parent === undefined) return { ids: ids.reverse(), complete: false };
    cur = b.parent;
  }
  return { ids: ids.reverse(), complete: cur === null };
}

/** Honest nodes still following the chain, with their final tips. */
function finalTips(ctx: VerifyContext, f: Facts): [string, string][] {
  return [...f.nodes].filter(([n, nf]) => !ctx.adversaries.has(n) && !nf.stopped && nf.tip).map(([n, nf]) => [n, nf.tip!]);
}

export const RULES: Rule[] = [
  {
    id: 'vote-window',
    title: 'votes cast within [3·L_hdr, 3·L_hdr + L_vote] slots after the announcing RB',
    cip: 'CIP-164 Step 3; Agda VT-Role: slotNumber eb + 3·Lhdr ≤ slot, validityCheckTime eb ≤ 3·Lhdr + Lvote',
    check(ctx, f) {
      const o = outcome('vote-window');
      const { lHdr, lVote } = ctx.params;
      if (lHdr === undefined || lVote === undefined || !ctx.params.slotLengthS) {
        o.reason = 'genesis lacks leios.lHdrSlots/lVoteSlots or slotLengthS';
        o.unchecked = f.votesCast.length;
        return o;
      }
      for (const v of f.votesCast) {
        if (!honestVoter(ctx, v.voter) || ctx.adversaries.has(v.node)) continue;
        if (ctx.clockFaulted.has(v.node)) {
          o.unchecked++;
          continue;
        }
        const a = electionOf(f, v);
        if (a === undefined || v.castSlot === undefined) {
          o.unchecked++;
          continue;
        }
        o.checks++;
        const lo = a + 3 * lHdr;
        const hi = a + 3 * lHdr + lVote;
        // time_s (performance clock) and the node's slot clock (Date.now) may differ by a few ms:
        // a vote judged from time_s is out of the window only beyond CLOCK_TOLERANCE_S
        const L = ctx.params.slotLengthS;
        const early = v.castSlotExplicit ? v.castSlot < lo : v.timeS < lo * L - CLOCK_TOLERANCE_S;
        const late = v.castSlotExplicit ? v.castSlot > hi : v.timeS >= (hi + 1) * L + CLOCK_TOLERANCE_S;
        if (early || late) {
          o.add({
            node: v.node,
            slot: v.castSlot,
            ref: v.eb,
            message: `${v.voter} voted for EB ${short(v.eb)} (announced at slot ${a}) in slot ${v.castSlot} (t=${v.timeS.toFixed(3)} s): ${early ? `before the equivocation-detection period ends (slot ${lo})` : `after the voting period (last slot ${hi})`}`,
          });
        }
        if (v.election !== undefined) {
          const slots = f.ebSlots.get(v.eb);
          if (slots && slots.size > 0 && !slots.has(v.election))
            o.add({ node: v.node, slot: v.election, ref: v.eb, message: `${v.voter} voted in election ${v.election} for EB ${short(v.eb)}, which was announced at slot(s) ${[...slots].join(', ')}` });
        }
      }
      if (o.unchecked && !o.reason) o.reason = ctx.clockFaulted.size ? `votes of clock-faulted nodes (${[...ctx.clockFaulted].join(', ')}) or without an announcing slot are not checked` : 'votes whose EB announcement is not in the traces';
      if (o.checks === 0 && !o.reason) o.reason = 'no VTBundleGenerated events (no votes cast)';
      return o;
    },
  },
  {
    id: 'one-vote-per-election',
    title: 'at most one vote per voter per election',
    cip: 'CIP-164 Voting & Certification ("casts only one vote", "at most one vote per committee member per slot"); Agda VT-Role: hash eb ∉ VotedEBs',
    check(ctx, f) {
      const o = outcome('one-vote-per-election');
      const byVoter = new Map<string, Map<string, VoteFact>>();
      for (const v of f.votesSeen.values()) {
        if (!honestVoter(ctx, v.voter)) continue;
        const a = electionOf(f, v);
        if (a === undefined) {
          o.unchecked++;
          continue;
        }
        const key = `${v.voter}|${a}`;
        let m = byVoter.get(key);
        if (!m) byVoter.set(key, (m = new Map()));
        if (!m.has(v.eb)) m.set(v.eb, v);
      }
      for (const [key, m] of byVoter) {
        o.checks++;
        if (m.size > 1) {
          const [voter, a] = key.split('|');
          const vs = [...m.values()];
          o.add({ node: vs.find((v) => v.generated)?.node ?? voter, slot: Number(a), ref: vs[0]!.eb, message: `${voter} voted ${m.size} times in election ${a}: EBs ${vs.map((v) => short(v.eb)).join(', ')}` });
        }
      }
      if (o.checks === 0) o.reason = 'no votes (VTBundleGenerated/VTBundleReceived) in the traces';
      return o;
    },
  },
  {
    id: 'certificate-quorum',
    title: 'every certificate carries votes of ≥ τ of the total active stake',
    cip: 'CIP-164 Step 4: Σ stake(v) ≥ τ × stake_total-active; Certificate Validation 3–4 (committee members, quorum)',
    check(ctx, f) {
      const o = outcome('certificate-quorum');
      const tau = ctx.params.quorum;
      if (tau === undefined || ctx.totalStake <= 0) {
        o.reason = 'genesis lacks leios.quorum or pools with stake';
        o.unchecked = certRbs(f).length;
        return o;
      }
      const anyVotes = f.votesSeen.size > 0;
      // voters seen per (EB, election)
      const seen = new Map<string, Set<string>>();
      for (const v of f.votesSeen.values()) {
        const a = electionOf(f, v);
        const key = `${v.eb}|${a}`;
        let set = seen.get(key);
        if (!set) seen.set(key, (set = new Set()));
        set.add(v.voter);
      }
      let upperBound = 0;
      for (const b of certRbs(f)) {
        const a = announceSlot(f, b);
        let lists: string[][] | undefined = b.certVoters;
        const exact = lists !== undefined;
        if (!lists) {
          if (!anyVotes || a === undefined) {
            o.unchecked++;
            continue;
          }
          lists = [[...(seen.get(`${b.certifiedEb}|${a}`) ?? [])]];
          upperBound++;
        }
        // every distinct voter list the nodes reported for this certificate must reach the quorum
        for (const voters of lists) {
          o.checks++;
          const eligible = voters.filter((p) => ctx.stake.has(p) && (!ctx.committee || ctx.committee.has(p)));
          const outside = voters.filter((p) => !eligible.includes(p));
          const stake = eligible.reduce((acc, p) => acc + (ctx.stake.get(p) ?? 0), 0);
          const share = stake / ctx.totalStake;
          if (share < tau - 1e-12)
            o.add({
              node: b.producer,
              slot: b.slot,
              ref: b.id,
              message: `RB ${short(b.id)} (slot ${b.slot ?? '?'}) certifies EB ${short(b.certifiedEb)} with ${exact ? '' : 'at most '}${(share * 100).toFixed(1)} % of the total active stake (${exact ? `voters ${eligible.join(', ') || 'none'}` : `${eligible.length} voter(s) seen voting in election ${a}`}); τ = ${tau * 100} %`,
            });
          if (exact && outside.length > 0) o.add({ node: b.producer, slot: b.slot, ref: b.id, message: `certificate in RB ${short(b.id)} names voters outside the committee: ${outside.join(', ')}` });
        }
      }
      if (upperBound > 0) o.reason = `${upperBound} certificate(s) checked against the votes seen (an upper bound): the traces do not name the certificate's voters (CertIncluded.voters)`;
      if (o.unchecked > 0) o.reason = (o.reason ? o.reason + '; ' : '') + `${o.unchecked} certificate(s) without votes or announcing RB in the traces`;
      if (o.checks === 0 && !o.reason) o.reason = 'no certificates on chain';
      return o;
    },
  },
  {
    id: 'certrb-timing',
    title: 'a CertRB comes ≥ 3·L_hdr + L_vote + L_diff slots after the announcing RB',
    cip: 'CIP-164 Step 5.3; Agda Base₂: slotNumber eb + 3·Lhdr + Lvote + Ldiff ≤ slot',
    check(ctx, f) {
      const o = outcome('certrb-timing');
      const { lHdr, lVote, lDiff } = ctx.params;
      if (lHdr === undefined || lVote === undefined || lDiff === undefined) {
        o.reason = 'genesis lacks leios.lHdrSlots/lVoteSlots/lDiffSlots';
        o.unchecked = certRbs(f).length;
        return o;
      }
      const w = 3 * lHdr + lVote + lDiff;
      for (const b of certRbs(f)) {
        const a = announceSlot(f, b);
        if (a === undefined || b.slot === undefined) {
          o.unchecked++;
          continue;
        }
        o.checks++;
        if (b.slot - a < w)
          o.add({ node: b.producer, slot: b.slot, ref: b.id, message: `RB ${short(b.id)} at slot ${b.slot} certifies EB ${short(b.certifiedEb)} announced at slot ${a}: ${b.slot - a} slots later, need ≥ ${w}` });
      }
      if (o.unchecked) o.reason = `${o.unchecked} CertRB(s) whose announcing RB slot is not in the traces`;
      if (o.checks === 0 && !o.reason) o.reason = 'no certificates on chain';
      return o;
    },
  },
  {
    id: 'certrb-parent-eb',
    title: "the certified EB is the one announced by the CertRB's parent",
    cip: 'CIP-164 Step 5.1a, RB header certified_eb ("the EB announced by the previous RB"), Certificate Validation 5',
    check(ctx, f) {
      const o = outcome('certrb-parent-eb');
      for (const b of certRbs(f)) {
        if (b.parent === null) {
          o.checks++;
          o.add({ node: b.producer, slot: b.slot, ref: b.id, message: `RB ${short(b.id)} certifies EB ${short(b.certifiedEb)} but has no parent RB` });
          continue;
        }
        const p = announcing(f, b);
        if (!p || p.announcedEb === undefined) {
          o.unchecked++;
          continue;
        }
        o.checks++;
        if (p.announcedEb !== b.certifiedEb)
          o.add({
            node: b.producer,
            slot: b.slot,
            ref: b.id,
            message: `RB ${short(b.id)} (slot ${b.slot ?? '?'}) certifies EB ${short(b.certifiedEb)}, but its parent ${short(p.id)} (slot ${p.slot ?? '?'}) announced ${p.announcedEb ? 'EB ' + short(p.announcedEb) : 'no EB'}`,
          });
      }
      if (o.unchecked) o.reason = `${o.unchecked} CertRB(s) whose parent or the parent's announced EB is not in the traces (RBGenerated.parent / RBGenerated.announced_eb)`;
      if (o.checks === 0 && !o.reason) o.reason = 'no certificates on chain';
      return o;
    },
  },
  {
    id: 'certrb-no-txs',
    title: 'an RB carrying a certificate carries no transactions',
    cip: 'CIP-164 Step 5.1 ("either a certificate or a list of transactions"); Agda Base₂ txsOrEbCert',
    check(_ctx, f) {
      const o = outcome('certrb-no-txs');
      const traced = (f.counts.get('RBAdopted') ?? 0) > 0;
      for (const b of certRbs(f)) {
        if (!traced && b.bodyTxCount === undefined && b.bodyTxs === undefined) {
          o.unchecked++;
          continue;
        }
        o.checks++;
        const nTx = Math.max(b.bodyTxs?.length ?? 0, b.bodyTxCount ?? 0);
        if (nTx > 0) o.add({ node: b.producer, slot: b.slot, ref: b.id, message: `RB ${short(b.id)} (slot ${b.slot ?? '?'}) carries the certificate of EB ${short(b.certifiedEb)} and ${nTx} transaction(s) in its body` });
      }
      if (o.checks === 0 && !o.reason) o.reason = o.unchecked ? 'no RBAdopted/TxIncluded events' : 'no certificates on chain';
      return o;
    },
  },
  {
    id: 'no-double-inclusion',
    title: 'no transaction included twice on a final chain (RB bodies and certified EBs)',
    cip: 'CIP-164 Ledger Management (EB txs validated against the announcing RB\'s ledger; certified txs applied once); ledger UTxO rule',
    check(ctx, f) {
      const o = outcome('no-double-inclusion');
      const done = new Set<string>();
      for (const [node, tip] of finalTips(ctx, f)) {
        if (done.has(tip)) continue;
        done.add(tip);
        const { ids } = chainOf(f, tip);
        const where = new Map<string, string>();
        const reported = new Set<string>();
        for (const id of ids) {
          const b = f.blocks.get(id)!;
          const txs = [...(b.bodyTxs ?? []).map((t) => [t, 'body'] as const), ...(b.certifiedEb ? (b.ebTxs ?? []).map((t) => [t, 'EB ' + short(b.certifiedEb)] as const) : [])];
          for (const [t, how] of txs) {
            o.checks++;
            const first = where.get(t);
            if (first === undefined) where.set(t, `RB ${short(id)} (slot ${b.slot ?? '?'}, ${how})`);
            else if (!reported.has(t)) {
              reported.add(t);
              o.add({ node, slot: b.slot, ref: t, message: `tx ${short(t)} included twice on ${node}'s chain: ${first} and RB ${short(id)} (slot ${b.slot ?? '?'}, ${how})` });
            }
          }
        }
      }
      if (f.txIncludedWithoutIds > 0) {
        o.unchecked = f.txIncludedWithoutIds;
        o.reason = `${f.txIncludedWithoutIds} TxIncluded event(s) without ids`;
      }
      if (o.checks === 0 && !o.reason) o.reason = 'no TxIncluded events with ids on the final chains';
      return o;
    },
  },
  {
    id: 'rollback-depth',
    title: 'no honest node rolls back more than k blocks',
    cip: 'Ouroboros Praos common prefix (unchanged by CIP-164: "Chain Selection" follows Praos/Genesis), k = securityParam',
    check(ctx, f) {
      const o = outcome('rollback-depth');
      const k = ctx.params.k;
      if (k === undefined) {
        o.reason = 'genesis lacks securityParam';
        return o;
      }
      for (const [node, nf] of f.nodes) {
        if (ctx.adversaries.has(node) || nf.adopted === 0) continue;
        o.checks++;
        for (const r of nf.rollbacks) if (r.depth > k) o.add({ node, ref: r.from, message: `${node} rolled back ${r.depth} blocks at t=${r.timeS.toFixed(3)} s (k = ${k})` });
      }
      if (o.checks === 0) o.reason = 'no RBAdopted events from honest nodes';
      return o;
    },
  },
  {
    id: 'common-prefix',
    title: "honest nodes' final chains share all but at most k blocks",
    cip: 'Ouroboros Praos common prefix with k = securityParam (CIP-164 keeps Praos chain selection)',
    check(ctx, f) {
      const o = outcome('common-prefix');
      const k = ctx.params.k;
      const tips = finalTips(ctx, f);
      if (k === undefined) {
        o.reason = 'genesis lacks securityParam';
        return o;
      }
      if (tips.length < 2) {
        o.reason = 'fewer than two honest following nodes with a tip';
        return o;
      }
      const chains = new Map<string, { ids: string[]; complete: boolean }>();
      for (const [, t] of tips) if (!chains.has(t)) chains.set(t, chainOf(f, t));
      // reference: the longest chain (most nodes on it among equals)
      const onTip = (t: string) => tips.filter(([, x]) => x === t).length;
      const ref = [...chains].sort((a, b) => b[1].ids.length - a[1].ids.length || onTip(b[0]) - onTip(a[0]))[0]!;
      const refSet = new Set(ref[1].ids);
      for (const [node, t] of tips) {
        const c = chains.get(t)!;
        let i = c.ids.length - 1;
        while (i >= 0 && !refSet.has(c.ids[i]!)) i--;
        if (i < 0 && !c.complete) {
          o.unchecked++;
          continue;
        }
        o.checks++;
        const depth = c.ids.length - 1 - i;
        if (depth > k) o.add({ node, ref: t, message: `${node}'s final chain has ${depth} blocks off the longest honest chain (tip ${short(ref[0])}); more than k = ${k}` });
      }
      if (o.unchecked) o.reason = `${o.unchecked} node(s) whose chain has gaps in the traces`;
      return o;
    },
  },
  {
    id: 'no-double-production',
    title: 'no honest producer makes two RBs in one slot',
    cip: 'CIP-164 Equivocation Detection (one block per slot and issuer); Praos',
    check(ctx, f) {
      const o = outcome('no-double-production');
      for (const [key, ids] of f.produced) {
        const [producer, slot] = key.split('|');
        if (ctx.adversaries.has(producer!)) continue;
        o.checks++;
        if (ids.size > 1) o.add({ node: producer, slot: Number(slot), message: `${producer} produced ${ids.size} RBs in slot ${slot}: ${[...ids].map(short).join(', ')}` });
      }
      if (o.checks === 0) o.reason = 'no RBGenerated events from honest nodes';
      return o;
    },
  },
];
