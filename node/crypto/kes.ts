import { ed25519PublicKey, ed25519Sign, ed25519Verify } from './ed25519.ts';
import { bytesEqual, hash256 } from './hash.ts';

// Key-evolving signatures: the binary sum composition of MMM (Malkin, Micciancio, Miner 2001,
// §3.1) over Ed25519, as cardano-base's `SumKES Blake2b_256 (... (SingleKES Ed25519DSIGN))`.
// Sum6KES (depth 6, 64 periods) signs Cardano block headers.
//
//   depth 0:  one Ed25519 key, one period; vk = the Ed25519 public key (32 B)
//   depth d:  sk = (sk_sub, r_1, vk_0, vk_1): the active subtree's key, the right subtree's
//             seed (zeroed once the right half is entered), both subtrees' verification keys
//             vk   = Blake2b-256(vk_0 ‖ vk_1)
//             sig  = sig_sub ‖ vk_0 ‖ vk_1          (64 + 64·d bytes: 448 for Sum6)
//   keygen:   (r_0, r_1) = (Blake2b-256(0x01 ‖ seed), Blake2b-256(0x02 ‖ seed))  (expandSeed)
//   update:   period t → t+1; at t+1 = 2^(d-1) the left key is dropped and the right one is
//             generated from r_1; past the last period the key cannot evolve.
//
// The raw layouts match cardano-base's rawSerialise{VerKey,Sig}KES, so signatures are
// byte-compatible with Sum6KES given the same 32-byte seed (Ed25519 seeds as libsodium's).

export const SUM6_DEPTH = 6;
const SEED_BYTES = 32;
const VK_BYTES = 32;
const ED_SIG_BYTES = 64;

interface Leaf {
  depth: 0;
  seed: Uint8Array;
  vk: Uint8Array;
}
interface Node {
  depth: number;
  sk: KesTree;
  r1: Uint8Array | null;
  vk0: Uint8Array;
  vk1: Uint8Array;
}
type KesTree = Leaf | Node;

/** A KES signing key at a period (immutable: `kesEvolve` returns a new key). */
export interface KesSigningKey {
  readonly depth: number;
  readonly period: number;
  readonly tree: KesTree;
}

export function kesTotalPeriods(depth: number = SUM6_DEPTH): number {
  return 2 ** depth;
}

export function kesSignatureSize(depth: number = SUM6_DEPTH): number {
  return ED_SIG_BYTES + 2 * VK_BYTES * depth;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const o = new Uint8Array(n);
  let i = 0;
  for (const p of parts) (o.set(p, i), (i += p.length));
  return o;
}

/** cardano-base expandSeed with Blake2b-256: (H(1 ‖ s), H(2 ‖ s)). */
export function expandSeed(seed: Uint8Array): [Uint8Array, Uint8Array] {
  return [hash256(cat(Uint8Array.of(1), seed)), hash256(cat(Uint8Array.of(2), seed))];
}

/** Verification key of a pair of subtrees: Blake2b-256(vk_0 ‖ vk_1). */
export function hashPairOfVKeys(vk0: Uint8Array, vk1: Uint8Array): Uint8Array {
  return hash256(cat(vk0, vk1));
}

function treeVk(t: KesTree): Uint8Array {
  return t.depth === 0 ? (t as Leaf).vk : hashPairOfVKeys((t as Node).vk0, (t as Node).vk1);
}

function gen(seed: Uint8Array, depth: number): KesTree {
  if (seed.length !== SEED_BYTES) throw new Error(`KES seed must be ${SEED_BYTES} bytes`);
  if (depth === 0) return { depth: 0, seed, vk: ed25519PublicKey(seed) };
  const [r0, r1] = expandSeed(seed);
  const sk0 = gen(r0, depth - 1);
  const vk1 = treeVk(gen(r1, depth - 1));
  return { depth, sk: sk0, r1, vk0: treeVk(sk0), vk1 };
}

/** A KES key at period 0 from a 32-byte seed (deterministic). */
export function kesKeygen(seed: Uint8Array, depth: number = SUM6_DEPTH): KesSigningKey {
  if (!Number.isInteger(depth) || depth < 0 || depth > 30) throw new Error(`KES depth must be an integer in [0, 30], got ${depth}`);
  return { depth, period: 0, tree: gen(seed, depth) };
}

export function kesVerificationKey(sk: KesSigningKey): Uint8Array {
  return treeVk(sk.tree);
}

function evolveTree(t: KesTree, period: number): KesTree {
  const n = t as Node;
  const half = 2 ** (n.depth - 1);
  if (period + 1 < half) return { ...n, sk: evolveTree(n.sk, period) };
  if (period + 1 === half) {
    if (!n.r1) throw new Error('KES: right-subtree seed already used');
    return { ...n, sk: gen(n.r1, n.depth - 1), r1: null };
  }
  return { ...n, sk: evolveTree(n.sk, period - half) };
}

/** The key for the next period. Throws past the last period (2^depth − 1). */
export function kesEvolve(sk: KesSigningKey): KesSigningKey {
  if (sk.period + 1 >= kesTotalPeriods(sk.depth)) throw new Error(`KES key cannot evolve past its last period ${kesTotalPeriods(sk.depth) - 1}`);
  return { depth: sk.depth, period: sk.period + 1, tree: evolveTree(sk.tree, sk.period) };
}

/** Evolve forward to `period` (≥ the key's period). */
export function kesEvolveTo(sk: KesSigningKey, period: number): KesSigningKey {
  if (!Number.isInteger(period) || period < sk.period) throw new Error(`KES key at period ${sk.period} cannot go to period ${period}`);
  if (period >= kesTotalPeriods(sk.depth)) throw new Error(`KES period ${period} is past the last period ${kesTotalPeriods(sk.depth) - 1}`);
  let k = sk;
  while (k.period < period) k = kesEvolve(k);
  return k;
}

function signTree(t: KesTree, period: number, msg: Uint8Array): Uint8Array {
  if (t.depth === 0) return ed25519Sign((t as Leaf).seed, msg);
  const n = t as Node;
  const half = 2 ** (n.depth - 1);
  return cat(signTree(n.sk, period < half ? period : period - half, msg), n.vk0, n.vk1);
}

/** Sign `msg` at the key's current period. */
export function kesSign(sk: KesSigningKey, msg: Uint8Array): Uint8Array {
  return signTree(sk.tree, sk.period, msg);
}

function verifyAt(vk: Uint8Array, depth: number, period: number, msg: Uint8Array, sig: Uint8Array): boolean {
  if (depth === 0) return ed25519Verify(vk, msg, sig);
  const n = sig.length;
  const vk0 = sig.subarray(n - 2 * VK_BYTES, n - VK_BYTES);
  const vk1 = sig.subarray(n - VK_BYTES, n);
  if (!bytesEqual(hashPairOfVKeys(vk0, vk1), vk)) return false;
  const half = 2 ** (depth - 1);
  const sub = sig.subarray(0, n - 2 * VK_BYTES);
  return period < half ? verifyAt(vk0, depth - 1, period, msg, sub) : verifyAt(vk1, depth - 1, period - half, msg, sub);
}

/** Does `sig` sign `msg` under `vk` at `period`? False (never throws) for malformed input. */
export function kesVerify(vk: Uint8Array, period: number, msg: Uint8Array, sig: Uint8Array, depth: number = SUM6_DEPTH): boolean {
  if (vk.length !== VK_BYTES || sig.length !== kesSignatureSize(depth)) return false;
  if (!Number.isInteger(period) || period < 0 || period >= kesTotalPeriods(depth)) return false;
  return verifyAt(vk, depth, period, msg, sig);
}

/** KES period of a slot: floor(slot / slotsPerKesPeriod). */
export function kesPeriodOf(slot: number, slotsPerKesPeriod: number): number {
  if (!(slotsPerKesPeriod >= 1)) throw new Error('slotsPerKesPeriod must be ≥ 1');
  return Math.floor(slot / slotsPerKesPeriod);
}
