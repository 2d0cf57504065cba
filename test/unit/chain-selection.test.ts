import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BlockTree, preferCandidate, type TreeNode } from '../../node/consensus/chain-selection.ts';
import { chooseForgeParent } from '../../node/consensus/forge.ts';

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

  it('restricted VRF tiebreak: only between tips at most vrfTiebreakMaxSlots apart', () => {
    const v = (x: number) => new Uint8Array([x]);
    const tip = { blockNo: 5, vrf: v(9), slot: 100, issuer: 'A', issueNo: 0 };
    expect(preferCandidate(tip, { blockNo: 5, vrf: v(1), slot: 105, issuer: 'B' }, 5)).toBe(true);
    expect(preferCandidate(tip, { blockNo: 5, vrf: v(1), slot: 95, issuer: 'B' }, 5)).toBe(true);
    expect(preferCandidate(tip, { blockNo: 5, vrf: v(1), slot: 106, issuer: 'B' }, 5)).toBe(false);
    expect(preferCandidate(tip, { blockNo: 5, vrf: v(1), slot: 106, issuer: 'B' })).toBe(true); // unrestricted
    expect(preferCandidate(tip, { blockNo: 6, vrf: v(99), slot: 500, issuer: 'B' }, 5)).toBe(true); // longer always wins
    // Same issuer, same slot: the higher opcert issue number wins whatever the VRF.
    expect(preferCandidate(tip, { blockNo: 5, vrf: v(200), slot: 100, issuer: 'A', issueNo: 1 }, 5)).toBe(true);
    expect(preferCandidate({ ...tip, issueNo: 2 }, { blockNo: 5, vrf: v(1), slot: 100, issuer: 'A', issueNo: 1 }, 5)).toBe(false);
    // Same issuer, same slot, same issue number: the VRF (equal for honest pairs; here not) decides.
    expect(preferCandidate(tip, { blockNo: 5, vrf: v(1), slot: 100, issuer: 'A', issueNo: 0 }, 5)).toBe(true);
    // Same issuer in another slot: no issue-number comparison, the VRF within the distance.
    expect(preferCandidate(tip, { blockNo: 5, vrf: v(200), slot: 101, issuer: 'A', issueNo: 1 }, 5)).toBe(false);
  });

  it('BlockTree with a restricted tiebreak keeps a distant equal-length tip', () => {
    const t = new BlockTree<null>();
    t.vrfTiebreakMaxSlots = 5;
    t.add({ key: 'a', prev: null, slot: 1, blockNo: 1, vrf: new Uint8Array([1]), data: null });
    t.add({ key: 'x', prev: 'a', slot: 10, blockNo: 2, vrf: new Uint8Array([9]), data: null });
    t.add({ key: 'y', prev: 'a', slot: 20, blockNo: 2, vrf: new Uint8Array([3]), data: null });
    t.add({ key: 'z', prev: 'a', slot: 14, blockNo: 2, vrf: new Uint8Array([5]), data: null });
    expect(t.selectBest('x', 2)).toBe('z'); // y is 10 slots away: not armed; z is 4 away and lower
    expect(t.selectBest('y', 2)).toBe('y'); // z is 6 slots from y
  });

  it('property: with a restricted tiebreak a switch always beats the current tip', () => {
    fc.assert(
      fc.property(treeArb, fc.nat(), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 6 }), (nodes, tipPick, k, dist) => {
        const t = new BlockTree<null>();
        t.vrfTiebreakMaxSlots = dist;
        nodes.forEach((n) => t.add(n));
        const tip = nodes[tipPick % nodes.length];
        const best = t.selectBest(tip.key, k)!;
        expect(t.rollbackDepth(tip.key, best)).toBeLessThanOrEqual(k);
        if (best !== tip.key) expect(preferCandidate(tip, t.get(best)!, dist)).toBe(true);
        for (const n of nodes) if (n.blockNo > t.get(best)!.blockNo) expect(t.rollbackDepth(tip.key, n.key)).toBeGreaterThan(k);
      }),
    );
  });

  it('same-slot forging: a leader whose tip is in its slot forges on the tip\'s predecessor', () => {
    const nodes = new Map([
      ['p', { slot: 7, prev: null, issuer: 'B' }],
      ['t', { slot: 9, prev: 'p', issuer: 'B' }],
    ]);
    const get = (k: string) => nodes.get(k);
    expect(chooseForgeParent(undefined, 3, 'A', get)).toEqual({ parent: null, alternative: false });
    expect(chooseForgeParent(get('t'), 10, 'A', get)).toEqual({ parent: get('t'), alternative: false });
    expect(chooseForgeParent(get('t'), 9, 'A', get)).toEqual({ parent: get('p'), alternative: true });
    expect(chooseForgeParent(get('p'), 7, 'A', get)).toEqual({ parent: null, alternative: true });
    expect(chooseForgeParent(get('t'), 9, 'B', get)).toBeUndefined(); // our own block for this slot
    expect(chooseForgeParent(get('t'), 8, 'A', get)).toBeUndefined(); // tip ahead of our clock
    expect(chooseForgeParent({ slot: 9, prev: 'gone', issuer: 'B' }, 9, 'A', get)).toBeUndefined();
  });
});
