import { BlockTree, type TreeNode } from '../consensus/chain-selection.ts';
import { applyBlockNonce, initialNonceState, type NonceState } from '../consensus/nonce.ts';
import { hash256, toHex, bytesEqual } from '../crypto/hash.ts';
import type { Block, Header } from './block.ts';
import { ownBytes } from '../codec/cbor.ts';
import type { GovState } from '../consensus/governance.ts';
import { praosParams, type PraosParams } from '../genesis/schema.ts';

// The node's view of the block tree and its selected chain. Pure bookkeeping plus the ledger
// port: headers are added after validation, bodies when fetched, and `select()` switches to
// the best fully-available chain within k, validating bodies on the way and falling back to
// the old chain if a body turns out invalid.

export interface BlockInfo {
  header: Header;
  headerBytes: Uint8Array;
  hash: Uint8Array;
  nonce: NonceState; // consensus state after this block
  /** Highest opcert counter per issuer (cold vkey hex) on the chain up to and including this block (shared until it changes). */
  counters: ReadonlyMap<string, number>;
  leaderValue: Uint8Array;
  poolId: string;
  block?: Block; // body present
  stored: boolean; // in the chain DB
  validated: boolean; // body passed full validation once
  invalid?: string; // body (or an ancestor's) failed validation
  receivedAtMs?: number;
  headerAtMs: number;
  /** Governance state after this block (set when its body is applied). */
  gov?: GovState;
  /** A certified block's certificate check (done off the event loop): 'pending', 'ok' or why not. */
  certCheck?: string;
}

/** The ledger as chain selection needs it: apply a block atomically, undo it on rollback. */
export interface LedgerPort<U> {
  applyBlock(info: BlockInfo, parent: BlockInfo | null, level: 'validate' | 'reapply'): { ok: true; undo: U } | { ok: false; reason: string };
  undoBlock(u: U): void;
}

export interface SwitchResult {
  rolledBack: BlockInfo[]; // newest first
  adopted: BlockInfo[]; // oldest first
  rejected: { info: BlockInfo; reason: string }[];
}

export class ChainState<U> {
  readonly tree = new BlockTree<BlockInfo>();
  /** Current chain, by block number (index 0 unused: genesis). */
  private chain: (TreeNode<BlockInfo> | undefined)[] = [undefined];
  private readonly undo = new Map<string, U>();
  readonly genesisNonce: NonceState;
  private readonly k: number;
  private readonly ledger: LedgerPort<U>;
  private readonly epochLengthSlots: number;
  private readonly stabilisationWindowSlots: number | undefined;
  readonly praos: PraosParams;
  private static readonly NO_COUNTERS: ReadonlyMap<string, number> = new Map();
  /**
   * Height of the immutable point: blocks at or below it on the chain are more than k deep and
   * can never be rolled back. Selection walks from there, forks below it are forgotten, and the
   * bodies of chain blocks below it are dropped from memory (read back through `bodyLoader`).
   */
  private anchorNo = 0;
  /**
   * Reads a stored block body back (the chain DB). Set by the node once the DB is open; without
   * it, bodies stay in memory. A dropped body is re-read on each access (serving an old block).
   */
  bodyLoader: ((hash: Uint8Array) => Block | undefined) | undefined;
  /** Bodies of immutable chain blocks still in memory: dropped when stored (see anchorNo). */
  private pendingDrop: TreeNode<BlockInfo>[] = [];

  /** Extra availability condition (Leios: a certified RB needs its EB's transactions). */
  private readonly ready: (n: TreeNode<BlockInfo>) => boolean;

  constructor(opts: {
    initialNonce: Uint8Array;
    k: number;
    epochLengthSlots: number;
    ledger: LedgerPort<U>;
    ready?: (n: TreeNode<BlockInfo>) => boolean;
    /** genesis `praos` (tiebreak distance, KES rules); defaults when absent */
    praos?: Partial<PraosParams>;
    /** randomness stabilisation window 4k/f (nonce.ts randomnessStabilisationWindow); default 2/3 of the epoch */
    stabilisationWindowSlots?: number;
  }) {
    this.praos = praosParams({ praos: opts.praos });
    this.tree.vrfTiebreakMaxSlots = this.praos.vrfTiebreakMaxSlots;
    this.stabilisationWindowSlots = opts.stabilisationWindowSlots;
    this.ready = opts.ready ?? (() => true);
    this.genesisNonce = initialNonceState(opts.initialNonce);
    this.k = opts.k;
    this.ledger = opts.ledger;
    this.epochLengthSlots = opts.epochLengthSlots;
  }

  tip(): TreeNode<BlockInfo> | undefined {
    return this.chain[this.chain.length - 1];
  }

  tipNonce(): NonceState {
    return this.tip()?.data.nonce ?? this.genesisNonce;
  }

  blockNo(): number {
    return this.chain.length - 1;
  }

  /** Block at height n on the current chain. */
  atHeight(n: number): TreeNode<BlockInfo> | undefined {
    return this.chain[n];
  }

  onChain(key: string): boolean {
    const n = this.tree.get(key);
    return !!n && this.chain[n.blockNo]?.key === key;
  }

  get(key: string): TreeNode<BlockInfo> | undefined {
    return this.tree.get(key);
  }

  /** Opcert counters on the chain ending at `key` (null = genesis: none). */
  countersAt(key: string | null): ReadonlyMap<string, number> {
    return (key === null ? undefined : this.tree.get(key)?.data.counters) ?? ChainState.NO_COUNTERS;
  }

  /** Add a validated header. `nonceValue` is the VRF nonce contribution of this block. */
  addHeader(h: Header, headerBytes: Uint8Array, v: { leaderValue: Uint8Array; nonceValue: Uint8Array; poolId: string }): TreeNode<BlockInfo> {
    // kept in the tree: not as a view into the whole network message it came in
    headerBytes = ownBytes(headerBytes);
    const hash = hash256(headerBytes);
    const key = toHex(hash);
    const existing = this.tree.get(key);
    if (existing) return existing;
    const parent = h.prevHash ? this.tree.get(toHex(h.prevHash)) : undefined;
    const nonce = applyBlockNonce(
      parent ? parent.data.nonce : this.genesisNonce,
      h.slot,
      v.nonceValue,
      { epochLengthSlots: this.epochLengthSlots, stabilisationWindowSlots: this.stabilisationWindowSlots },
      h.prevHash,
    );
    // Copy on write: the map changes only when an issuer's counter does (a rotation, a new pool).
    const issuer = toHex(h.issuerVkey);
    const before = parent ? parent.data.counters : ChainState.NO_COUNTERS;
    let counters = before;
    if ((before.get(issuer) ?? -1) < h.opcert.counter) counters = new Map(before).set(issuer, h.opcert.counter);
    const node: TreeNode<BlockInfo> = {
      key,
      prev: h.prevHash ? toHex(h.prevHash) : null,
      slot: h.slot,
      blockNo: h.blockNo,
      vrf: v.leaderValue,
      issuer,
      issueNo: h.opcert.counter,
      data: { header: h, headerBytes, hash, nonce, counters, leaderValue: v.leaderValue, poolId: v.poolId, stored: false, validated: false, headerAtMs: Date.now() },
    };
    if (parent?.data.invalid) node.data.invalid = 'invalid-ancestor';
    this.tree.add(node);
    return node;
  }

  /** Attach a fetched body; checks it matches its header. Returns an error reason or null. */
  addBody(b: Block): string | null {
    const n = this.tree.get(toHex(b.hash));
    if (!n) return 'unknown-header';
    if (n.data.block) return null;
    if (!bytesEqual(hash256(b.bodyBytes), n.data.header.bodyHash)) return 'body-hash-mismatch';
    if (b.bodyBytes.length !== n.data.header.bodySize) return 'body-size-mismatch';
    n.data.block = b;
    n.data.receivedAtMs ??= Date.now();
    return null;
  }

  /** Is the chain ending at this node worth fetching/considering at all? */
  couldImprove(n: TreeNode<BlockInfo>): boolean {
    const tip = this.tip();
    if (!tip) return true;
    if (n.blockNo < tip.blockNo) return false;
    return this.tree.rollbackDepth(tip.key, n.key) <= this.k;
  }

  private eligible = (n: TreeNode<BlockInfo>): boolean => !!n.data.block && !n.data.invalid && this.ready(n);

  /** Switch to the best available chain (within k). */
  select(): SwitchResult {
    const res: SwitchResult = { rolledBack: [], adopted: [], rejected: [] };
    for (;;) {
      const tip = this.tip();
      const best = this.tree.selectBest(tip?.key ?? null, this.k, this.eligible, this.anchorNo > 0 ? this.chain[this.anchorNo]!.key : null);
      if (best === (tip?.key ?? null)) {
        this.advanceAnchor();
        return res;
      }
      const r = this.switchTo(best!);
      res.rolledBack.push(...r.rolledBack);
      res.adopted.push(...r.adopted);
      res.rejected.push(...r.rejected);
      if (r.rejected.length === 0) {
        this.advanceAnchor();
        return res;
      }
    }
  }

  private switchTo(target: string): SwitchResult {
    const tip = this.tip();
    const anc = this.tree.commonAncestor(tip?.key ?? null, target);
    const ancNo = anc ? this.tree.get(anc)!.blockNo : 0;
    const old = this.chain.slice(ancNo + 1) as TreeNode<BlockInfo>[];
    // Roll back to the fork point.
    for (let i = old.length - 1; i >= 0; i--) {
      const u = this.undo.get(old[i].key);
      if (u === undefined) throw new Error(`no undo record for ${old[i].key}`);
      this.ledger.undoBlock(u);
      this.undo.delete(old[i].key);
    }
    this.chain.length = ancNo + 1;
    const path = this.tree.chainTo(target)!.slice(ancNo);
    const adopted: TreeNode<BlockInfo>[] = [];
    for (const n of path) {
      const parent = n.prev ? this.tree.get(n.prev)!.data : null;
      const r = this.ledger.applyBlock(n.data, parent, n.data.validated ? 'reapply' : 'validate');
      if (!r.ok) {
        this.markInvalid(n, r.reason);
        // Back to the old chain, which was valid.
        for (let i = adopted.length - 1; i >= 0; i--) {
          this.ledger.undoBlock(this.undo.get(adopted[i].key)!);
          this.undo.delete(adopted[i].key);
        }
        this.chain.length = ancNo + 1;
        for (const o of old) this.push(o, this.ledger.applyBlock(o.data, o.prev ? this.tree.get(o.prev)!.data : null, 'reapply'));
        return { rolledBack: [], adopted: [], rejected: [{ info: n.data, reason: r.reason }] };
      }
      n.data.validated = true;
      this.push(n, r);
      adopted.push(n);
    }
    this.pruneUndo();
    return { rolledBack: old.reverse().map((o) => o.data), adopted: adopted.map((a) => a.data), rejected: [] };
  }

  private push(n: TreeNode<BlockInfo>, r: { ok: true; undo: U } | { ok: false; reason: string }): void {
    if (!r.ok) throw new Error(`re-applying a previously valid block failed: ${r.reason}`);
    this.undo.set(n.key, r.undo);
    this.chain.push(n);
  }

  private markInvalid(n: TreeNode<BlockInfo>, reason: string): void {
    const stack = [n];
    while (stack.length) {
      const x = stack.pop()!;
      x.data.invalid = x === n ? reason : 'invalid-ancestor';
      for (const c of this.tree.childrenOf(x.key)) stack.push(this.tree.get(c)!);
    }
  }

  /** Undo records deeper than k can never be used (rollback is bounded by k). */
  private pruneUndo(): void {
    const limit = this.chain.length - 1 - this.k - 1;
    if (limit < 1) return;
    for (let i = Math.max(1, limit - 5); i <= limit; i++) {
      const n = this.chain[i];
      if (n) this.undo.delete(n.key);
    }
  }

  /** Immutable point's height (blocks at or below it on the chain are final). */
  get immutableNo(): number {
    return this.anchorNo;
  }

  /**
   * Move the immutable point up to k+1 blocks below the tip: forget the forks that leave the
   * chain below it (never selectable again) and drop stored bodies of chain blocks at or below
   * it (read back on demand). Bodies not yet stored are dropped on a later call.
   */
  private advanceAnchor(): void {
    const target = this.chain.length - 1 - this.k - 1;
    if (target > this.anchorNo) {
      const from = this.anchorNo;
      this.anchorNo = target;
      for (let i = from + 1; i <= target; i++) this.pendingDrop.push(this.chain[i]!);
      // unreachable: every block neither on the chain (below the anchor) nor descending from the anchor
      const above = new Set<string>();
      const stack = [this.chain[target]!.key];
      while (stack.length) {
        const k = stack.pop()!;
        above.add(k);
        for (const c of this.tree.childrenOf(k)) stack.push(c);
      }
      const drop: string[] = [];
      for (const [key, n] of this.tree.nodes) if (!above.has(key) && this.chain[n.blockNo]?.key !== key) drop.push(key);
      for (const key of drop) this.tree.remove(key);
    }
    if (!this.bodyLoader || this.pendingDrop.length === 0) return;
    const rest: TreeNode<BlockInfo>[] = [];
    for (const n of this.pendingDrop) {
      // (the descriptor, not n.data.block: reading a dropped body's getter would go to disk)
      if (!n.data.stored) rest.push(n);
      else if (Object.getOwnPropertyDescriptor(n.data, 'block')?.value) ChainState.dropBody(n.data, this.bodyLoader);
    }
    this.pendingDrop = rest;
  }

  /** Replace an in-memory body by a read from the chain DB on each access. */
  private static dropBody(d: BlockInfo, load: (hash: Uint8Array) => Block | undefined): void {
    const hash = d.hash;
    Object.defineProperty(d, 'block', {
      configurable: true,
      enumerable: true,
      get: () => load(hash),
      set: (b: Block | undefined) => Object.defineProperty(d, 'block', { value: b, writable: true, configurable: true, enumerable: true }),
    });
  }

  /** Points from tip backwards at exponential distances, for ChainSync FindIntersect. */
  samplePoints(): { slot: number; hash: Uint8Array }[] {
    const out: { slot: number; hash: Uint8Array }[] = [];
    let step = 1;
    for (let n = this.blockNo(); n >= 1; n -= step) {
      const b = this.chain[n]!;
      out.push({ slot: b.slot, hash: b.data.hash });
      if (out.length > 4) step *= 2;
    }
    return out;
  }
}
