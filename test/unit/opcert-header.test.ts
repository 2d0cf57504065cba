import { describe, expect, it } from 'vitest';
import { decodeHeader, encodeHeader, type Block } from '../../node/chain/block.ts';
import { ChainState } from '../../node/chain/chain-state.ts';
import { checkLeadership, forgeBlock, type ForgeKeys } from '../../node/consensus/forge.ts';
import { HeaderError, validateHeader, type HeaderContext, type ParentInfo } from '../../node/consensus/header-validation.ts';
import { derivedKesSeed, KesCredential } from '../../node/consensus/kes-credential.ts';
import { initialNonceState } from '../../node/consensus/nonce.ts';
import type { StakeView } from '../../node/consensus/stake.ts';
import { ed25519PublicKey, ed25519Signer } from '../../node/crypto/ed25519.ts';
import { toHex } from '../../node/crypto/hash.ts';
import { kesKeygen, kesVerificationKey } from '../../node/crypto/kes.ts';
import { issueOpCert } from '../../node/crypto/opcert.ts';
import { vrfKeygen } from '../../node/crypto/vrf.ts';

const cold = new Uint8Array(32).fill(21);
const vrf = vrfKeygen(new Uint8Array(32).fill(22));
const pool = { id: 'pool-1', stake: 1000n, coldVkey: ed25519PublicKey(cold), vrfVkey: vrf.pk, blsVkey: new Uint8Array(96) };
const stake: StakeView = { total: 1000n, pools: [pool], byColdKey: (vk) => (toHex(vk) === toHex(pool.coldVkey) ? pool : undefined), byId: () => pool };
const rules = { slotsPerKesPeriod: 10, maxKesEvolutions: 4 };
const praos = { ...rules, vrfTiebreakMaxSlots: 5, leaderIntervalSlots: 1 };
const genesisNonce = initialNonceState(new Uint8Array(32).fill(1));
const ctx: HeaderContext = { stake, f: 1, epochLengthSlots: 1000, maxHeaderSize: 1100, currentSlot: 1e6, futureToleranceSlots: 2, protocolVersionAt: () => 1, praos };

function keysWith(kes?: KesCredential): ForgeKeys {
  return { poolId: 'pool-1', coldVkey: pool.coldVkey, sign: ed25519Signer(cold), vrfSk: vrf.sk, vrfVkey: vrf.pk, stake: 1000n, ...(kes ? { kes } : {}) };
}

function forge(slot: number, keys: ForgeKeys, parent: Block | null): Block {
  const lp = checkLeadership(slot, genesisNonce, keys, { epochLengthSlots: 1000, f: 1, totalStake: 1000n })!;
  return forgeBlock(lp, parent ? { hash: parent.hash, blockNo: parent.header.blockNo } : null, { txs: [], cert: null }, keys, 1);
}

function parentInfo(b: Block, counters: ReadonlyMap<string, number>): ParentInfo {
  return { hash: b.hash, slot: b.header.slot, blockNo: b.header.blockNo, nonce: genesisNonce, counters };
}

function reason(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (e) {
    if (e instanceof HeaderError) return e.reason;
    throw e;
  }
}

/** A rotated credential: new KES key, counter n, valid from `kesPeriod`. */
function rotated(n: number, kesPeriod: number): KesCredential {
  const seed = derivedKesSeed(ed25519Signer(cold), n);
  return new KesCredential(seed, issueOpCert(cold, kesVerificationKey(kesKeygen(seed)), n, kesPeriod), rules);
}

describe('KES-signed headers under an operational certificate', () => {
  // A fresh counter-0 credential each time: a KES key only evolves forward.
  const fresh0 = () => keysWith(rotated(0, 0));
  const k0 = fresh0();
  const b1 = forge(5, k0, null);

  it('round-trips the header with its opcert and 448-byte KES signature', () => {
    expect(b1.header.signature.length).toBe(448);
    const d = decodeHeader(b1.headerBytes);
    expect(d.opcert).toEqual(b1.header.opcert);
    expect(toHex(encodeHeader(d))).toBe(toHex(b1.headerBytes));
    expect(b1.headerBytes.length).toBeLessThan(1100);
  });

  it('validates, at the evolution of the slot’s KES period', () => {
    expect(validateHeader(b1.header, b1.headerBytes.length, null, genesisNonce, ctx).counter).toBe(0);
    const b2 = forge(27, fresh0(), b1); // KES period 2: evolution 2
    expect(validateHeader(b2.header, b2.headerBytes.length, parentInfo(b1, new Map()), genesisNonce, ctx).poolId).toBe('pool-1');
    // Read with another period length, the evolution differs and the signature fails.
    expect(reason(() => validateHeader(b2.header, b2.headerBytes.length, parentInfo(b1, new Map()), genesisNonce, { ...ctx, praos: { ...praos, slotsPerKesPeriod: 100 } }))).toBe('bad-kes-signature');
  });

  it('refuses a header past the opcert’s last KES period, and the forger refuses to sign it', () => {
    expect(() => forge(40, fresh0(), null)).toThrow(/past the opcert's last period 3/);
    const late = forge(39, fresh0(), null);
    expect(reason(() => validateHeader(late.header, late.headerBytes.length, null, genesisNonce, { ...ctx, praos: { ...praos, maxKesEvolutions: 3 } }))).toBe('kes-after-end');
  });

  it('refuses a bit-flipped KES signature and an opcert not signed by the issuer’s cold key', () => {
    const flipped = { ...b1.header, signature: b1.header.signature.slice() };
    flipped.signature[100] ^= 4;
    expect(reason(() => validateHeader(flipped, b1.headerBytes.length, null, genesisNonce, ctx))).toBe('bad-kes-signature');
    const other = new Uint8Array(32).fill(99);
    const seed = new Uint8Array(32).fill(5);
    const rogue = new KesCredential(seed, issueOpCert(other, kesVerificationKey(kesKeygen(seed)), 0, 0), rules);
    const bad = forge(5, keysWith(rogue), null);
    expect(reason(() => validateHeader(bad.header, bad.headerBytes.length, null, genesisNonce, ctx))).toBe('bad-opcert-signature');
  });

  it('counter: a rotation (+1) is accepted; the old opcert replayed afterwards is refused; +2 is refused', () => {
    const chain = new ChainState<null>({
      initialNonce: new Uint8Array(32).fill(1),
      k: 10,
      epochLengthSlots: 1000,
      praos,
      ledger: { applyBlock: () => ({ ok: true, undo: null }), undoBlock: () => {} },
    });
    const issuer = toHex(pool.coldVkey);
    const add = (b: Block) => chain.addHeader(b.header, b.headerBytes, validateHeader(b.header, b.headerBytes.length, b.header.prevHash ? parentInfo(chain.get(toHex(b.header.prevHash))!.data.block ?? ({ hash: b.header.prevHash, header: chain.get(toHex(b.header.prevHash))!.data.header } as Block), chain.countersAt(toHex(b.header.prevHash))) : null, genesisNonce, ctx));
    const n1 = add(b1);
    expect(n1.data.counters.get(issuer)).toBe(0);
    const r1 = rotated(1, 1);
    const b2 = forge(12, keysWith(r1), b1);
    const n2 = add(b2);
    expect(n2.data.counters.get(issuer)).toBe(1);
    expect(n2.issueNo).toBe(1);
    // The old hot key and opcert (counter 0) on top of the rotated chain: stale.
    const replay = forge(15, fresh0(), b2);
    expect(reason(() => add(replay))).toBe('opcert-counter-too-small');
    // On the pre-rotation chain the old opcert is still fine (the counter is per chain).
    const sibling = forge(15, fresh0(), b1);
    expect(add(sibling).data.counters).toBe(n1.data.counters); // shared: unchanged
    // Skipping a counter is refused.
    const b3 = forge(16, keysWith(rotated(3, 1)), b2);
    expect(reason(() => add(b3))).toBe('opcert-counter-over-incremented');
    // A rotated opcert from a later KES period does not cover earlier slots.
    expect(() => forge(19, keysWith(rotated(2, 2)), b2)).toThrow(/before the opcert start 2/);
  });

  it('a node without KES files derives a counter-0 credential from its cold key', () => {
    const d = forge(5, keysWith(), null);
    expect(d.header.opcert.counter).toBe(0);
    expect(validateHeader(d.header, d.headerBytes.length, null, genesisNonce, { ...ctx, praos: undefined }).counter).toBe(0);
    expect(toHex(d.header.opcert.hotVkey)).toBe(toHex(KesCredential.derived(ed25519Signer(cold)).opcert.hotVkey));
  });
});
