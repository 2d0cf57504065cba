import type { TObject, Static } from '@sinclair/typebox';
import type { EncodedEb } from '../leios/eb.ts';
import type { Tx } from '../ledger/index.ts';
import type { Block } from '../chain/block.ts';

// The shape of an adversary behaviour (node/adversary/<behaviour>.ts): a name, a TypeBox params
// schema (what profiles, node configs, the admin API and `leiosnet attack` validate against)
// and `create`, which returns the hooks it needs. The honest node calls the hooks at named
// points (node/adversary/index.ts `Adversary` composes the enabled ones); honest code carries
// no `if (behaviour === …)` branches (STYLE: attackers as actors, as in sim-rs).

/** An EB this node holds a complete closure of. */
export interface EbRef {
  hash: Uint8Array;
  hashHex: string;
  /** slot of the announcing RB */
  slot: number;
  /** encoded size (what an offer carries) */
  size: number;
  /** forged by this node */
  own: boolean;
}

/** What the RB being forged could certify (the parent's EB). */
export interface CertContext {
  /** slot of the parent RB (the election id) */
  parentSlot: number;
  ebHash: Uint8Array;
  /** slot of the RB being forged */
  slot: number;
  /** the timing rule allows a certificate in this RB, and the EB's closure is here */
  allowed: boolean;
  /** the real certificate (a quorum was reached), if any */
  real: Uint8Array | undefined;
  /** persistent committee seats (the certificate's bitset length in bits) */
  persistentSeats: number;
}

/** What the node offers a behaviour (implemented by node wiring; nothing else of the node). */
export interface AdversaryEnv {
  name: string;
  /** this node's pool id (undefined: a relay) */
  poolId?: string;
  log: { warn(o: object, msg: string): void; info(o: object, msg: string): void };
  /** a trace event `{type: 'Adversary', behaviour, action, ...}` (so a run shows what the adversary did) */
  trace(behaviour: string, action: string, fields?: Record<string, unknown>): void;
  currentSlot(): number;
  slotLengthS: number;
  /** offer an EB this node holds to peers: all connected node peers, or the named ones */
  offerEb(eb: EbRef, peers?: string[]): void;
  /** connected node peers (no tx-generators), sorted */
  peers(): string[];
  /** the EB's closure as held here */
  ebClosure(hashHex: string): { enc: EncodedEb; txs: Uint8Array[] } | undefined;
  /** keep an extra complete EB (e.g. an equivocating twin) so it can be served */
  holdEb(enc: EncodedEb, txs: Uint8Array[]): void;
  /** BLS signature with this pool's key over `msg` (a real curve point; undefined without a key) */
  blsSign(msg: Uint8Array): Uint8Array | undefined;
  /** KES signature of this pool's hot key for `slot` over a header body (absent: not a pool) */
  signHeader?(slot: number, msg: Uint8Array): Uint8Array;
  /** send RB headers to every peer off the chain (ChainSync RelayHeader, the two-header relay) */
  relayHeaders(headers: Uint8Array[]): void;
  /** the mempool tx spending one of `tx`'s inputs, if any (why a tx was refused as a conflict) */
  mempoolConflict?(tx: Tx): Tx | undefined;
  /** wall clock, ms (tests stand in their own) */
  nowMs?(): number;
}

/** A tx id as TxSubmission announces it. */
export interface TxRef {
  readonly id: Uint8Array;
  readonly idHex: string;
  readonly size: number;
}

/** Hook points in the honest node. Every hook is optional; `Adversary` composes them. */
export interface AdversaryHooks {
  /**
   * An EB's closure became complete here (own: forged; else received). 'pass': offer it now;
   * 'drop': never offer it; 'taken': the behaviour offers it itself (env.offerEb) later.
   */
  ebOffer?(eb: EbRef): 'pass' | 'drop' | 'taken';
  /** may `peer` fetch this EB from us now? */
  ebServe?(hashHex: string, peer: string): boolean;
  /** the transactions of an EB this node is about to forge (before it is encoded) */
  ebTxs?(txs: Tx[], slot: number): Tx[];
  /** cast a vote in this election at all? */
  castVote?(electionSlot: number): boolean;
  /** verified votes (own and relayed) about to be sent to peers; returns what is sent */
  votesOut?(votes: Uint8Array[], slot: number): Uint8Array[];
  /** the certificate the RB this node forges carries (undefined: none; then it carries txs) */
  certificate?(c: CertContext, current: Uint8Array | undefined): Uint8Array | undefined;
  /** this node forged `b` (before chain selection; its header goes out as usual) */
  rbForged?(b: Block): void;
  /** a tx this node's mempool refused, with the mempool's reason (e.g. 'conflict') */
  txRefused?(tx: Tx, reason: string): void;
  /** tx ids about to be announced to `peer` (TxSubmission); returns what is announced now (may hold some back, or swap in held txs) */
  txIdsOut?(peer: string, txs: TxRef[]): TxRef[];
  /** bytes of a tx the behaviour holds outside the mempool (served to a peer that asks for it) */
  txBytes?(idHex: string): Uint8Array | undefined;
  /** the bytes to serve for a block a peer fetches (BlockFetch); undefined: the block as it is. `own`: forged by this pool */
  blockOut?(b: Block, own: boolean): Uint8Array | undefined;
  /** may `peer` be served anything new (ChainSync, header relay, EB offers, votes, txs)? false: it is starved (eclipse) */
  serves?(peer: string): boolean;
  /** the selected chain's tip changed */
  tip?(t: { slot: number; own: boolean }): void;
  /** the behaviour is being turned off: release what it holds, clear timers */
  stop?(): void;
}

export interface Behaviour<P extends TObject = TObject> {
  name: string;
  /** one line: what it does (README table, --help, admin GET /adversary) */
  summary: string;
  /** what honest nodes must still do (README, attack profiles) */
  expect: string;
  params: P;
  create(params: Static<P>, env: AdversaryEnv): AdversaryHooks;
}

export function defineBehaviour<P extends TObject>(b: Behaviour<P>): Behaviour<P> {
  return b;
}

/** Deterministic choice of a share of items by hash: the same EB is always chosen or not. */
export function chosen(hash: Uint8Array | string, share: number): boolean {
  if (share >= 1) return true;
  if (share <= 0) return false;
  const b = typeof hash === 'string' ? parseInt(hash.slice(0, 4), 16) : (hash[0]! << 8) | hash[1]!;
  return b / 65536 < share;
}
