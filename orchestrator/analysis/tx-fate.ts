// Tx fate: the non-determinism Leios adds, measured. Of the generator's txs that some node
// accepted into its mempool (or that some EB referenced), how many never reached the ledger,
// and why:
//   lostConflict   another tx spending one of its inputs is on the final chain (the conflict
//                  workload's twins); `lostConflictInEb` of them had been referenced by an EB
//                  — a parallel EB that lost to the winner's block;
//   uncertifiedEb  no conflict won, but it was referenced only by EBs that were never certified;
//   expired        no conflict won and no EB took it: it sat in mempools until the run ended
//                  (or was evicted).
// Inputs: generator/txs*.jsonl (id, inputs, state, verdict), node traces (TxAccepted,
// TxIncluded, CertIncluded), and EB contents from each node's EB store
// (nodes/<name>/db/ebs/seg-*.log), when the runtime keeps chain DBs in the run dir (processes;
// a Docker volume is gone after `down`: then EB membership is unknown and `ebContents` says so).

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cborDecode } from '../../node/codec/cbor.ts';
import { toHex } from '../../node/crypto/hash.ts';
import { decodeEb } from '../../node/leios/eb.ts';
import { readJsonl, readTrace, runNodes, str } from './traces.ts';

export interface TxFate {
  /** generator txs some node accepted (or some EB referenced) */
  accepted: number;
  /** of those, on the final chain */
  reachedLedger: number;
  /** accepted but never on the ledger */
  lost: number;
  byCause: { lostConflict: number; lostConflictInEb: number; uncertifiedEb: number; expired: number };
  /** accepted txs that some EB referenced */
  inEbs: number;
  ebs: { seen: number; certified: number };
  /** where EB membership came from */
  ebContents: 'node-db' | 'unavailable';
  /** a few tx ids per cause, for digging in */
  examples: { lostConflict: string[]; uncertifiedEb: string[]; expired: string[] };
}

const RECORD_HEADER = 12;
const MAGIC = 0x4c444231;

/** EB hash → referenced tx ids, from one EB store directory (read-only; stops at a torn tail). */
export function readEbStore(dir: string, out: Map<string, string[]>): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir).filter((x) => /^seg-\d+\.log$/.test(x)).sort()) {
    const buf = readFileSync(join(dir, f));
    let off = 0;
    while (off + RECORD_HEADER <= buf.length) {
      if (buf.readUInt32BE(off) !== MAGIC) break;
      const len = buf.readUInt32BE(off + 4);
      if (off + RECORD_HEADER + len > buf.length) break;
      try {
        const rec = cborDecode(buf.subarray(off + RECORD_HEADER, off + RECORD_HEADER + len)) as unknown[];
        const hash = toHex(rec[0] as Uint8Array);
        if (!out.has(hash)) {
          const closure = cborDecode(rec[4] as Uint8Array) as unknown[];
          const eb = decodeEb(new Uint8Array(closure[0] as Uint8Array));
          out.set(hash, eb.eb.txs.map((t) => toHex(t.id)));
        }
      } catch {
        /* a record of another shape: skip it */
      }
      off += RECORD_HEADER + len;
    }
  }
}

export interface GenTx {
  inputs: string[];
  state?: string;
  verdict?: string | null;
}

/** What tx fate needs from the node traces, when the caller has already streamed them. */
export interface TxFateTraceFacts {
  /** ids some node traced TxAccepted for; undefined = not read (every generator tx has a verdict) */
  accepted?: ReadonlySet<string>;
  /** ids some node traced TxIncluded for */
  included: { has(id: string): boolean };
  /** EBs some node traced CertIncluded for */
  certified: ReadonlySet<string>;
  /** generator/txs*.jsonl as read by the caller (id → inputs, state, verdict) */
  txs?: Map<string, GenTx>;
}

export async function analyseTxFate(runDir: string, facts?: TxFateTraceFacts): Promise<TxFate | undefined> {
  const genDir = join(runDir, 'generator');
  const txs = facts?.txs ?? new Map<string, GenTx>();
  if (!facts?.txs) for (const f of existsSync(genDir) ? readdirSync(genDir).filter((x) => /^txs(-\d+)?\.jsonl$/.test(x)) : []) {
    await readJsonl<{ id?: unknown; inputs?: unknown; state?: unknown; verdict?: unknown }>(join(genDir, f), (t) => {
      if (typeof t.id !== 'string') return;
      txs.set(t.id, {
        inputs: Array.isArray(t.inputs) ? t.inputs.filter((x): x is string => typeof x === 'string') : [],
        state: typeof t.state === 'string' ? t.state : undefined,
        verdict: typeof t.verdict === 'string' ? t.verdict : null,
      });
    });
  }
  if (txs.size === 0) return undefined;

  const acceptedByNode = new Set<string>(facts?.accepted ?? []);
  const included: { has(id: string): boolean; add?(id: string): void } = facts?.included ?? new Set<string>();
  const certified = new Set<string>(facts?.certified ?? []);
  const ebContents = new Map<string, string[]>();
  let dbs = 0;
  for (const node of runNodes(runDir)) {
    if (!facts) await readTrace(join(runDir, 'nodes', node, 'trace.jsonl'), (e) => {
      const m = e.message;
      if (m.type === 'TxAccepted' || m.type === 'TxIncluded') {
        const ids = Array.isArray(m.ids) ? (m.ids as unknown[]) : [m.id];
        const into = (m.type === 'TxAccepted' ? acceptedByNode : included) as Set<string>;
        for (const id of ids) if (typeof id === 'string') into.add(id);
      } else if (m.type === 'CertIncluded') {
        const eb = str(m, 'eb');
        if (eb) certified.add(eb);
      }
    });
    const ebDir = join(runDir, 'nodes', node, 'db', 'ebs');
    if (existsSync(ebDir)) {
      dbs++;
      readEbStore(ebDir, ebContents);
    }
  }
  // tx → EBs referencing it
  const ebsOf = new Map<string, string[]>();
  for (const [eb, ids] of ebContents)
    for (const id of ids) {
      if (!txs.has(id)) continue;
      const l = ebsOf.get(id);
      if (l) l.push(eb);
      else ebsOf.set(id, [eb]);
    }

  // the generator follows the final chain (rollbacks undone); node TxIncluded traces fill in txs it missed
  const onLedger = (id: string) => txs.get(id)?.state === 'included' || included.has(id);
  const spenders = new Map<string, string[]>();
  for (const [id, t] of txs)
    for (const k of t.inputs) {
      const l = spenders.get(k);
      if (l) l.push(id);
      else spenders.set(k, [id]);
    }

  const fate: TxFate = {
    accepted: 0,
    reachedLedger: 0,
    lost: 0,
    byCause: { lostConflict: 0, lostConflictInEb: 0, uncertifiedEb: 0, expired: 0 },
    inEbs: 0,
    ebs: { seen: ebContents.size, certified: [...ebContents.keys()].filter((h) => certified.has(h)).length },
    ebContents: dbs > 0 ? 'node-db' : 'unavailable',
    examples: { lostConflict: [], uncertifiedEb: [], expired: [] },
  };
  const example = (k: keyof TxFate['examples'], id: string) => {
    if (fate.examples[k].length < 5) fate.examples[k].push(id);
  };
  for (const [id, t] of txs) {
    const ebs = ebsOf.get(id) ?? [];
    const accepted = t.verdict === 'accepted' || acceptedByNode.has(id) || ebs.length > 0 || t.state === 'included';
    if (!accepted) continue;
    fate.accepted++;
    if (ebs.length) fate.inEbs++;
    if (onLedger(id)) {
      fate.reachedLedger++;
      continue;
    }
    fate.lost++;
    const beaten = t.inputs.some((k) => (spenders.get(k) ?? []).some((other) => other !== id && onLedger(other)));
    if (beaten) {
      fate.byCause.lostConflict++;
      if (ebs.length) fate.byCause.lostConflictInEb++;
      example('lostConflict', id);
    } else if (ebs.length && ebs.every((eb) => !certified.has(eb))) {
      fate.byCause.uncertifiedEb++;
      example('uncertifiedEb', id);
    } else {
      fate.byCause.expired++;
      example('expired', id);
    }
  }
  return fate;
}
