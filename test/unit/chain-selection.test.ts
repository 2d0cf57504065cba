import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BlockTree, preferCandidate, type TreeNode } from '../../node/consensus/chain-selection.ts';

// A random block tree: each new block extends a random earlier block (or genesis).
const treeArb = fc
  .array(fc.record({ parentPick: fc.nat(), slotGap: fc.integer({ min: 1, max: 5 }), vrf: fc.uint8Array({ minLength: 4, maxLength: 4 }) }), {
    minLength: 1,
    maxLength: 40,
  })
  .map((specs) => {
    const nodes: TreeNode<null>[] = [];
    specs.forEach((s, i) => {
      const parent = s.parentPick % (nodes.length + 1) === nodes.length ? null : nodes[s.parentPick % (nodes.length + 1)];
      nodes.push({
        key: `b${i}`,
        prev: parent ? parent.key : null,
        slot: (parent ? parent.slot : 0) + s.slotGap,
        blockNo: (parent ? parent.blockNo : 0) + 1,
        vrf: s.vrf,
        data: null,
      });
    });
    return nodes;
  });

describe('chain selection', () => {
  it('from genesis picks the longest chain, lowest tip VRF among equals', () => {
    fc.assert(
      fc.property(treeArb, (nodes) => {
        const t = new BlockTree<null>();
        nodes.forEach((n) => t.add(n));
        const best = t.selectBest(null, 1_000)!;
        const bn = t.get(best)!;
        for (const n of nodes) {
          expect(n.blockNo).toBeLessThanOrEqual(bn.blockNo);
          if (n.blockNo === bn.blockNo) expect(Buffer.compare(bn.vrf, n.vrf)).toBeLessThanOrEqual(0);
        }
      }),
    );
  });

  it('never rolls back more than k blocks, and switches only to a strictly preferred chain', () => {
    fc.assert(
      fc.property(treeArb, fc.nat(), fc.integer({ min: 0, max: 6 }), (nodes, tipPick, k) => {
        const t = new BlockTree<null>();
        nodes.forEach((n) => t.add(n));
        const tip = nodes[tipPick % nodes.length];
        const best = t.selectBest(tip.key, k)!;
        expect(t.rollbackDepth(tip.key, best)).toBeLessThanOrEqual(k);
        if (best !== tip.key) expect(preferCandidate(tip, t.get(best)!)).toBe(true);
        // Nothing within the bound is preferable to the choice.
        for (const n of nodes) {
          if (t.rollbackDepth(tip.key, n.key) <= k) expect(preferCandidate(t.get(best)!, n)).toBe(false);
        }
      }),
    );
  });

  it('settles a slot battle by the lower VRF value', () => {
    const t = new BlockTree<null>();
    t.add({ key: 'a', prev: null, slot: 1, blockNo: 1, vrf: new Uint8Array([1]), data: null });
    t.add({ key: 'x', prev: 'a', slot: 5, blockNo: 2, vrf: new Uint8Array([9]), data: null });
    t.add({ key: 'y', prev: 'a', slot: 5, blockNo: 2, vrf: new Uint8Array([3]), data: null });
    expect(t.selectBest('x', 2)).toBe('y');
    expect(t.selectBest('y', 2)).toBe('y');
  });

  it('ignores ineligible blocks (bodies missing or invalid)', () => {
    const t = new BlockTree<null>();
    t.add({ key: 'a', prev: null, slot: 1, blockNo: 1, vrf: new Uint8Array([1]), data: null });
    t.add({ key: 'b', prev: 'a', slot: 2, blockNo: 2, vrf: new Uint8Array([1]), data: null });
    expect(t.selectBest('a', 5, (n) => n.key !== 'b')).toBe('a');
  });
});
