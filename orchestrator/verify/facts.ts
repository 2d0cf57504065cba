// One pass over every node's trace, line by line, into the facts the rules need. Memory is
// bounded by what the protocol produced (blocks, EBs, distinct votes, tx ids on chain), not by
// the size of the traces: receipts, mempool batches and diffusion events are counted or dropped.
//
// Field names accepted (node/obs/trace.ts and trace-events.ts, plus the aliases the lead may add):
//   RBGenerated  id slot producer parent{id} endorsement{eb{id}} announced_eb{id} | eb (string)
//                tx_count? (body txs) cert_voters? (pool ids in the certificate)
//   RBAdopted    id slot blockNo parent
//   Rollback     from to depth
//   EBGenerated  id slot producer rb_ref?
//   VTBundleGenerated  id "<eb>:<pool>" slot producer votes{eb: n}
//                      election_id?|electionId? voter?|pool? vote_slot?
//   VTBundleReceived   id "<eb>:<pool>" slot (= election id today) election_id? voter?
//   CertIncluded eb rb slot ebSlot? voters?(string[])   CertCreated eb slot voters stake?
//   TxIncluded   rb eb? ids? count
//   StoppedFollowing

import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TraceEvent, TraceMessage } from '../analysis/traces.ts';
import type { VerifyContext } from './context.ts';

export interface BlockFact {
  id: string;
  slot?: number;
  /** null = the first block (parent genesis); undefined = not seen */
  parent?: string | null;
  producer?: string;
  /** from the producer's RBGenerated: null = announces none; undefined = not seen */
  announcedEb?: string | null;
  /** the EB whose certificate the block carries */
  certifiedEb?: string;
  /** tx ids in the RB body (TxIncluded without eb) */
  bodyTxs?: string[];
  bodyTxCount?: number;
  /** tx ids of the certified EB applied with this block */
  ebTxs?: string[];
  /** pool ids of the certificate, when traces carry them (CertIncluded.voters): each distinct list reported */
  certVoters?: string[][];
  /** election id of the certificate as the adopting node saw it (CertIncluded.ebSlot) */
  certEbSlot?: number;
  adoptedByHonest?: boolean;
}

export interface VoteFact {
  node: string;
  voter: string;
  eb: string;
  /** explicit election id (a field the trace names as such) */
  election?: number;
  /** the event's `slot` field (the node writes the election id there today) */
  slotField?: number;
  /** slot at which the vote was cast: explicit vote_slot, else floor(time_s / slot length) */
  castSlot?: number;
  /** castSlot came from the event (vote_slot), not from time_s */
  castSlotExplicit?: boolean;
  timeS: number;
  generated: boolean;
}

export interface NodeFacts {
  tip?: string;
  adopted: number;
  stopped: boolean;
  rollbacks: { depth: number; timeS: number; from?: string; to?: string }[];
}

export interface Facts {
  blocks: Map<string, BlockFact>;
  /** EB id → slots of the RBs (or EBGenerated) announcing it */
  ebSlots: Map<string, Set<number>>;
  /** votes cast (VTBundleGenerated), in trace order */
  votesCast: VoteFact[];
  /** distinct votes seen anywhere: `${eb}|${voter}|${election ?? ''}|${slotField ?? ''}` */
  votesSeen: Map<string, VoteFact>;
  /** `${producer}|${slot}` → RB ids generated */
  produced: Map<string, Set<string>>;
  nodes: Map<string, NodeFacts>;
  /** event counts by type */
  counts: Map<string, number>;
  /** field → events that lacked it (the rules list them as missing data) */
  missing: Map<string, number>;
  txIncludedWithoutIds: number;
  /** events the nodes' trace writers dropped (TraceDropped): rules may miss what they did not see */
  dropped: number;
  lines: number;
  bad: number;
}

const s = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const n = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const refId = (v: unknown): string | undefined => s(v) ?? (v && typeof v === 'object' ? s((v as { id?: unknown }).id) : undefined);
const strArr = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined);

export function newFacts(): Facts {
  return {
    blocks: new Map(),
    ebSlots: new Map(),
    votesCast: [],
    votesSeen: new Map(),
    produced: new Map(),
    nodes: new Map(),
    counts: new Map(),
    missing: new Map(),
    txIncludedWithoutIds: 0,
    dropped: 0,
    lines: 0,
    bad: 0,
  };
}

function block(f: Facts, id: string): BlockFact {
  let b = f.blocks.get(id);
  if (!b) f.blocks.set(id, (b = { id }));
  return b;
}

function addVoters(b: BlockFact, voters: string[]): void {
  const key = [...voters].sort().join(',');
  b.certVoters ??= [];
  if (!b.certVoters.some((l) => [...l].sort().join(',') === key)) b.certVoters.push(voters);
}

function ebSlot(f: Facts, eb: string, slot: number | undefined): void {
  if (slot === undefined) return;
  let set = f.ebSlots.get(eb);
  if (!set) f.ebSlots.set(eb, (set = new Set()));
  set.add(slot);
}

function miss(f: Facts, what: string): void {
  f.missing.set(what, (f.missing.get(what) ?? 0) + 1);
}

/** `<eb>:<pool>` as the node writes vote ids. */
function splitVoteId(id: string | undefined): { eb?: string; voter?: string } {
  if (!id) return {};
  const i = id.lastIndexOf(':');
  return i > 0 ? { eb: id.slice(0, i), voter: id.slice(i + 1) } : { eb: id };
}

function observe(f: Facts, ctx: VerifyContext, node: string, e: TraceEvent): void {
  const m: TraceMessage = e.message;
  const honest = !ctx.adversaries.has(node);
  f.counts.set(m.type, (f.counts.get(m.type) ?? 0) + 1);
  let nf = f.nodes.get(node);
  if (!nf) f.nodes.set(node, (nf = { adopted: 0, stopped: false, rollbacks: [] }));
  switch (m.type) {
    case 'RBGenerated': {
      const id = s(m.id);
      if (!id) return;
      const b = block(f, id);
      b.slot ??= n(m.slot);
      b.producer = s(m.producer) ?? node;
      if ('parent' in m) b.parent = refId(m.parent) ?? null;
      const end = m.endorsement as { eb?: unknown } | null | undefined;
      const certEb = end ? refId(end.eb) : undefined;
      if (certEb) b.certifiedEb = certEb;
      if ('announced_eb' in m) b.announcedEb = refId(m.announced_eb) ?? null;
      else if ('eb' in m) b.announcedEb = refId(m.eb) ?? null;
      else miss(f, 'RBGenerated.announced_eb');
      if (b.announcedEb) ebSlot(f, b.announcedEb, b.slot);
      const txc = n(m.tx_count);
      if (txc !== undefined) b.bodyTxCount = txc;
      const cv = strArr(m.cert_voters);
      if (cv) addVoters(b, cv);
      if (b.slot !== undefined) {
        const key = `${b.producer}|${b.slot}`;
        let set = f.produced.get(key);
        if (!set) f.produced.set(key, (set = new Set()));
        set.add(id);
      }
      return;
    }
    case 'RBAdopted': {
      const id = s(m.id);
      if (!id) return;
      const b = block(f, id);
      b.slot ??= n(m.slot);
      if (b.parent === undefined && 'parent' in m) b.parent = refId(m.parent) ?? null;
      if (honest) b.adoptedByHonest = true;
      nf.tip = id;
      nf.adopted++;
      return;
    }
    case 'Rollback': {
      const depth = n(m.depth);
      if (depth !== undefined) nf.rollbacks.push({ depth, timeS: e.time_s, from: s(m.from), to: s(m.to) });
      const to = s(m.to);
      if (to) nf.tip = to;
      return;
    }
    case 'StoppedFollowing':
      nf.stopped = true;
      return;
    case 'TraceDropped':
      f.dropped += n(m.count) ?? 0;
      return;
    case 'EBGenerated': {
      const id = s(m.id);
      if (id) ebSlot(f, id, n(m.slot));
      const rb = s(m.rb_ref);
      if (id && rb) {
        const b = block(f, rb);
        b.announcedEb ??= id;
      }
      return;
    }
    case 'CertIncluded': {
      const eb = s(m.eb);
      const rb = s(m.rb);
      if (!eb || !rb) return;
      const b = block(f, rb);
      b.certifiedEb ??= eb;
      b.slot ??= n(m.slot);
      if (honest) b.adoptedByHonest = true;
      const v = strArr(m.voters);
      if (v) addVoters(b, v);
      b.certEbSlot ??= n(m.ebSlot);
      return;
    }
    case 'TxIncluded': {
      const rb = s(m.rb);
      const ids = strArr(m.ids);
      if (!rb) return;
      if (!ids) {
        f.txIncludedWithoutIds++;
        return;
      }
      const b = block(f, rb);
      if (s(m.eb)) b.ebTxs ??= ids;
      else b.bodyTxs ??= ids;
      return;
    }
    case 'VTBundleGenerated':
    case 'VTBundleReceived': {
      const generated = m.type === 'VTBundleGenerated';
      const fromId = splitVoteId(s(m.id));
      const voter = s(m.voter) ?? s(m.pool) ?? fromId.voter ?? (generated ? (s(m.producer) ?? node) : undefined);
      if (!voter) {
        miss(f, `${m.type}.voter`);
        return;
      }
      const election = n(m.election_id) ?? n(m.electionId);
      const slotField = n(m.slot);
      const explicitSlot = n(m.vote_slot);
      const castSlot = explicitSlot ?? (generated && ctx.params.slotLengthS ? Math.floor(e.time_s / ctx.params.slotLengthS + 1e-9) : undefined);
      const ebs = generated && m.votes && typeof m.votes === 'object' ? Object.keys(m.votes as object) : fromId.eb ? [fromId.eb] : [];
      for (const eb of ebs) {
        const v: VoteFact = { node, voter, eb, election, slotField, castSlot, castSlotExplicit: explicitSlot !== undefined, timeS: e.time_s, generated };
        if (generated) f.votesCast.push(v);
        const key = `${eb}|${voter}|${election ?? ''}|${slotField ?? ''}`;
        if (!f.votesSeen.has(key)) f.votesSeen.set(key, v);
      }
      return;
    }
  }
}

/** Event types any rule reads; other lines are counted and skipped without being parsed. */
const RELEVANT = new Set([
  'RBGenerated',
  'RBAdopted',
  'Rollback',
  'StoppedFollowing',
  'TraceDropped',
  'EBGenerated',
  'CertIncluded',
  'TxIncluded',
  'VTBundleGenerated',
  'VTBundleReceived',
]);
const TYPE_RE = /"type"\s*:\s*"([A-Za-z]+)"/;

/** Stream one trace file line by line; only lines of a relevant type are parsed. */
async function readRelevant(file: string, each: (e: TraceEvent) => void): Promise<{ lines: number; bad: number }> {
  let lines = 0;
  let bad = 0;
  if (!existsSync(file)) return { lines, bad };
  const rl = createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    lines++;
    const t = TYPE_RE.exec(line.length > 256 ? line.slice(0, 256) : line);
    if (t && !RELEVANT.has(t[1]!)) continue;
    let e: TraceEvent;
    try {
      e = JSON.parse(line) as TraceEvent;
    } catch {
      bad++;
      continue;
    }
    if (e && typeof e.time_s === 'number' && e.message && typeof e.message.type === 'string') each(e);
    else bad++;
  }
  return { lines, bad };
}

/** Read every node's trace once, line by line (bounded memory: only the facts are kept). */
export async function collectFacts(ctx: VerifyContext): Promise<Facts> {
  const f = newFacts();
  for (const node of ctx.nodes) {
    const r = await readRelevant(join(ctx.runDir, 'nodes', node, 'trace.jsonl'), (e) => {
      const who = typeof e.message.node === 'string' && e.message.node !== '' ? e.message.node : node;
      observe(f, ctx, who, e);
    });
    f.lines += r.lines;
    f.bad += r.bad;
  }
  return f;
}
