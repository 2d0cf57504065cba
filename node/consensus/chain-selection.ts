import { bytesCompare } from '../crypto/hash.ts';

// Praos chain selection, kept pure (no I/O, no crypto) so it can be property-tested:
// longest chain wins; at equal length ouroboros-consensus comparePraos decides: the same issuer
// in the same slot → the higher opcert issue number wins; otherwise the lower leader VRF value,
// but only if the two tips are at most `vrfTiebreakMaxSlots` slots apart
// (RestrictedVRFTiebreaker; Infinity = unrestricted); else stay. Never switch to a chain that
// forks off more than k blocks back.

export interface TreeNode<T = unknown> {
  key: string; // hex block hash
  prev: string | null;
  slot: number;
  blockNo: number;
  vrf: Uint8Array; // leader VRF value of the block, the slot-battle tiebreak
  /** issuer (cold vkey hex) and its opcert issue number: the same-issuer tiebreak */
  issuer?: string;
  issueNo?: number;
  data: T;
}

export interface TiebreakView {
  blockNo: number;
  vrf: Uint8Array;
  slot?: number;
  issuer?: string;
  issueNo?: number;
}

/** Is candidate strictly preferable to the current tip? */
export function preferCandidate(tip: TiebreakView | null, cand: TiebreakView, vrfTiebreakMaxSlots = Infinity): boolean {
  if (!tip) return true;
  if (cand.blockNo !== tip.blockNo) return cand.blockNo > tip.blockNo;
  const sameSlot = tip.slot !== undefined && tip.slot === cand.slot;
  if (sameSlot && tip.issuer !== undefined && tip.issuer === cand.issuer) {
    const a = tip.issueNo ?? 0;
    const b = cand.issueNo ?? 0;
    if (a !== b) return b > a;
  }
  if (vrfTiebreakMaxSlots !== Infinity) {
    if (tip.slot === undefined || cand.slot === undefined || Math.abs(tip.slot - cand.slot) > vrfTiebreakMaxSlots) return false;
  }
  return bytesCompare(cand.vrf, tip.vrf) < 0;
}

export class BlockTree<T = unknown> {
  /** RestrictedVRFTiebreaker distance (slots); Infinity = the VRF decides at any distance. */
  vrfTiebreakMaxSlots = Infinity;

  readonly nodes = new Map<string, TreeNode<T>>();
  private readonly children = new Map<string | null, Set<string>>();

  add(n: TreeNode<T>): void {
    if (this.nodes.has(n.key)) return;
    this.nodes.set(n.key, n);
    let s = this.children.get(n.prev);
    if (!s) this.children.set(n.prev, (s = new Set()));
    s.add(n.key);
  }

  get(key: string): TreeNode<T> | undefined {
    return this.nodes.get(key);
  }

  has(key: string): boolean {
    return this.nodes.has(key);
  }

  childrenOf(key: string | null): string[] {
    return [...(this.children.get(key) ?? [])];
  }

  /** Chain from the first block to `key`, oldest first; undefined if an ancestor is missing. */
  chainTo(key: string | null): TreeNode<T>[] | undefined {
    const out: TreeNode<T>[] = [];
    let k = key;
    while (k !== null) {
      const n = this.nodes.get(k);
      if (!n) return undefined;
      out.push(n);
      k = n.prev;
    }
    return out.reverse();
  }

  /** Deepest common ancestor of a and b (null = genesis). */
  commonAncestor(a: string | null, b: string | null): string | null {
    let x = a ? this.nodes.get(a) : undefined;
    let y = b ? this.nodes.get(b) : undefined;
    while (x && y && x.key !== y.key) {
      if (x.blockNo >= y.blockNo) x = x.prev ? this.nodes.get(x.prev) : undefined;
      else y = y.prev ? this.nodes.get(y.prev) : undefined;
    }
    return x && y && x.key === y.key ? x.key : null;
  }

  /** Blocks the current tip would roll back to switch to `cand`. */
  rollbackDepth(tip: string | null, cand: string): number {
    if (tip === null) return 0;
    const anc = this.commonAncestor(tip, cand);
    const tipNo = this.nodes.get(tip)!.blockNo;
    const ancNo = anc === null ? 0 : this.nodes.get(anc)!.blockNo + 0;
    return anc === null ? tipNo : tipNo - ancNo;
  }

  /**
   * Forget a block (it can never be selected again: it forks off below the immutable point).
   * Its children keep their entries; the caller removes whole branches.
   */
  remove(key: string): void {
    const n = this.nodes.get(key);
    if (!n) return;
    this.nodes.delete(key);
    const s = this.children.get(n.prev);
    if (s) {
      s.delete(key);
      if (s.size === 0) this.children.delete(n.prev);
    }
    if (this.children.get(key)?.size === 0) this.children.delete(key);
  }

  /** Leaves (blocks without children). */
  leaves(): TreeNode<T>[] {
    const out: TreeNode<T>[] = [];
    for (const n of this.nodes.values()) if (!this.children.get(n.key)?.size) out.push(n);
    return out;
  }

  /**
   * Best chain tip reachable from `tip` within rollback bound k, among `eligible` blocks
   * (e.g. those whose bodies are present and valid). Returns the current tip if nothing is better.
   */
  selectBest(tip: string | null, k: number, eligible: (n: TreeNode<T>) => boolean = () => true, from: string | null = null): string | null {
    let best = tip;
    const tipNode = tip ? this.nodes.get(tip)! : null;
    let bestNode = tipNode;
    // Walk every candidate chain whose blocks are all eligible, from genesis — or from `from`, a
    // block on the current chain more than k deep (every candidate within k descends from it).
    const stack: (string | null)[] = [from];
    while (stack.length) {
      const k0 = stack.pop()!;
      for (const c of this.childrenOf(k0)) {
        const n = this.nodes.get(c)!;
        if (!eligible(n)) continue;
        stack.push(c);
        // The tiebreak is not transitive under the slot-distance rule: a candidate must beat the
        // current tip itself, and then the best candidate so far.
        const m = this.vrfTiebreakMaxSlots;
        if (preferCandidate(tipNode, n, m) && (best === tip || preferCandidate(bestNode, n, m)) && this.rollbackDepth(tip, c) <= k) {
          best = c;
          bestNode = n;
        }
      }
    }
    return best;
  }
}
