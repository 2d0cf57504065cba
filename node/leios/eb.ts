import { cborDecode, cborEncode, asArray, asBytes, asUint, DecodeError } from '../codec/cbor.ts';
import { hash256 } from '../crypto/hash.ts';

// Endorser block: CBOR [slot, producer, [[txId, txSize], ...]]. It needs no signature of its
// own: the RB header that announces it (signed) carries its hash and sizes.

export interface TxRef {
  id: Uint8Array; // 32
  size: number;
}

export interface EndorserBlock {
  slot: number;
  producer: string;
  txs: TxRef[];
}

export interface EncodedEb {
  eb: EndorserBlock;
  bytes: Uint8Array;
  hash: Uint8Array;
  /** Sum of the referenced transactions' sizes (S_EB-tx accounting). */
  txBytes: number;
}

export function encodeEb(eb: EndorserBlock): EncodedEb {
  const bytes = cborEncode([eb.slot, eb.producer, eb.txs.map((t) => [t.id, t.size])]);
  return { eb, bytes, hash: hash256(bytes), txBytes: eb.txs.reduce((s, t) => s + t.size, 0) };
}

export function decodeEb(bytes: Uint8Array): EncodedEb {
  const a = asArray(cborDecode(bytes), 'eb', 3);
  if (typeof a[1] !== 'string' || a[1].length > 64) throw new DecodeError('eb.producer');
  const txs = asArray(a[2], 'eb.txs').map((r, i) => {
    const p = asArray(r, `eb.txs[${i}]`, 2);
    return { id: asBytes(p[0], 'eb tx id', 32), size: asUint(p[1], 'eb tx size') };
  });
  const eb = { slot: asUint(a[0], 'eb.slot'), producer: a[1], txs };
  return { eb, bytes, hash: hash256(bytes), txBytes: txs.reduce((s, t) => s + t.size, 0) };
}

/** Bytes one more reference adds to an EB (id + size, CBOR framed). */
export function refBytes(size: number): number {
  return 1 + 2 + 32 + (size < 24 ? 1 : size < 256 ? 2 : size < 65536 ? 3 : 5);
}

export type EbLimitError = 'eb-empty' | 'eb-too-large' | 'eb-txs-too-large';

/** CIP-164 size rules: never empty, ≤ S_EB of references, ≤ S_EB-tx of transactions. */
export function checkEbLimits(e: EncodedEb, p: { ebMaxRefBytes: number; ebMaxTxBytes: number }): EbLimitError | null {
  if (e.eb.txs.length === 0) return 'eb-empty';
  if (e.bytes.length > p.ebMaxRefBytes) return 'eb-too-large';
  if (e.txBytes > p.ebMaxTxBytes) return 'eb-txs-too-large';
  return null;
}

// Votes: CBOR [electionId (slot of the announcing RB), ebHash, poolId, sig, eligibility | null].

export interface VoteMsg {
  electionId: number;
  ebHash: Uint8Array;
  poolId: string;
  sig: Uint8Array;
  eligibility: Uint8Array | null;
}

export function encodeVote(v: VoteMsg): Uint8Array {
  return cborEncode([v.electionId, v.ebHash, v.poolId, v.sig, v.eligibility]);
}

export function decodeVote(bytes: Uint8Array): VoteMsg {
  const a = asArray(cborDecode(bytes), 'vote', 5);
  if (typeof a[2] !== 'string' || a[2].length > 64) throw new DecodeError('vote.poolId');
  return {
    electionId: asUint(a[0], 'vote.electionId'),
    ebHash: asBytes(a[1], 'vote.ebHash', 32),
    poolId: a[2],
    sig: asBytes(a[3], 'vote.sig', 48),
    eligibility: a[4] === null ? null : asBytes(a[4], 'vote.eligibility', 48),
  };
}
