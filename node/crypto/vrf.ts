/**
 * ECVRF-EDWARDS25519-SHA512-ELL2 (RFC 9381 §5.5, suite_string 0x04).
 *
 * - Keys: RFC 8032 §5.1.5 — the 32-byte secret is a seed; SHA-512(seed) gives the clamped scalar x
 *   (first half) and the nonce prefix (second half); pk = x·B.
 * - encode_to_curve: RFC 9380 `edwards25519_XMD:SHA-512_ELL2_NU_` (noble's `ed25519_hasher`,
 *   cofactor cleared) on PK_string || alpha with DST "ECVRF_" || h2c_suite_ID || 0x04.
 * - Nonce: ECVRF_nonce_generation_RFC8032 (§5.4.2.2). Challenge: §5.4.3 with 5 points
 *   (Y, H, Gamma, U, V), cLen = 16. Proof = Gamma(32) || c(16, LE) || s(32, LE) = 80 bytes.
 * - proof_to_hash: SHA-512(0x04 || 0x03 || 8·Gamma || 0x00) = 64 bytes.
 * - Verification runs validate_key (rejects small-order public keys, §5.4.5) and rejects
 *   non-canonical points and s ≥ q, so it never returns a beta for malformed input.
 *
 * Checked against the RFC 9381 Appendix B.4 test vectors (test/unit/vrf.test.ts).
 * Cost (noble 2.x, one core): see bench/leios.bench.ts.
 */
import { createHash, createPrivateKey, createPublicKey, diffieHellman, type KeyObject } from 'node:crypto';
import { ed25519, ed25519_hasher } from '@noble/curves/ed25519.js';
import { ed25519PublicKey } from './ed25519.ts';

const Point = ed25519.Point;
type EdPoint = InstanceType<typeof Point>;
const q = Point.Fn.ORDER; // 2^252 + 27742317777372353535851937790883648493

const SUITE = 0x04;
const H2C_DST = new TextEncoder().encode('ECVRF_edwards25519_XMD:SHA-512_ELL2_NU_\x04');
const C_LEN = 16;
export const VRF_PROOF_BYTES = 80;
export const VRF_OUTPUT_BYTES = 64;
export const VRF_PK_BYTES = 32;
export const VRF_SK_BYTES = 32;

function sha512(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha512');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function leToBigint(b: Uint8Array): bigint {
  let n = 0n;
  for (let i = b.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(b[i]);
  return n;
}

function bigintToLe(n: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return out;
}

function mod(a: bigint): bigint {
  const r = a % q;
  return r < 0n ? r + q : r;
}

/** RFC 8032 §5.1.5 secret expansion: clamped scalar (reduced mod q) and nonce prefix. */
function expandSecret(sk: Uint8Array): { x: bigint; prefix: Uint8Array; clamped: Uint8Array } {
  if (!(sk instanceof Uint8Array) || sk.length !== VRF_SK_BYTES) {
    throw new Error(`VRF secret key must be ${VRF_SK_BYTES} bytes, got ${sk?.length}`);
  }
  const h = sha512(sk);
  const a = h.slice(0, 32);
  a[0] &= 248;
  a[31] &= 127;
  a[31] |= 64;
  return { x: mod(leToBigint(a)), prefix: h.slice(32, 64), clamped: a };
}

/** Strict RFC 8032 decoding (canonical y < p); null on failure. */
function decodePoint(b: Uint8Array): EdPoint | null {
  try {
    return Point.fromBytes(b, false);
  } catch {
    return null;
  }
}

function encodeToCurve(pkBytes: Uint8Array, alpha: Uint8Array): EdPoint {
  const msg = new Uint8Array(pkBytes.length + alpha.length);
  msg.set(pkBytes, 0);
  msg.set(alpha, pkBytes.length);
  return ed25519_hasher.encodeToCurve(msg, { DST: H2C_DST }) as EdPoint;
}

/** §5.4.3 ECVRF_challenge_generation(P1..P5) → c as integer (first cLen bytes, little-endian). */
function challenge(points: EdPoint[]): bigint {
  const parts: Uint8Array[] = [Uint8Array.of(SUITE, 0x02)];
  for (const p of points) parts.push(p.toBytes());
  parts.push(Uint8Array.of(0x00));
  return leToBigint(sha512(...parts).subarray(0, C_LEN));
}

// The public key x·B is the Ed25519 public key of the same seed (RFC 9381 §5.5 derives x as RFC
// 8032 does), so OpenSSL computes it: noble's first base multiplication builds its precomputed
// table, a sixth of a node's start-up CPU, and a node that never leads never needs it.
export function vrfKeygen(seed: Uint8Array): { sk: Uint8Array; pk: Uint8Array } {
  expandSecret(seed); // validates the length
  return { sk: new Uint8Array(seed), pk: ed25519PublicKey(seed) };
}

interface Secret {
  x: bigint;
  prefix: Uint8Array;
  pkBytes: Uint8Array;
  /** x·B, decoded once */
  Y: EdPoint;
  /** The clamped scalar as an X25519 private key (OpenSSL): see gammaOf. */
  x25519: KeyObject;
}
const secretCache = new Map<string, Secret>();

const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');

/** The expanded secret and public key of a VRF key, computed once per key (a leader check runs every slot). */
function secretOf(sk: Uint8Array): Secret {
  const k = Buffer.from(sk).toString('hex');
  let c = secretCache.get(k);
  if (!c) {
    const { x, prefix, clamped } = expandSecret(sk);
    const pkBytes = ed25519PublicKey(sk);
    const x25519 = createPrivateKey({ key: Buffer.concat([X25519_PKCS8, clamped]), format: 'der', type: 'pkcs8' });
    c = { x, prefix, pkBytes, Y: Point.fromBytes(pkBytes), x25519 };
    if (secretCache.size > 64) secretCache.clear();
    secretCache.set(k, c);
  }
  return c;
}

const Fp = Point.Fp;
const D = Point.CURVE().d;

/** u(a·P) by OpenSSL's X25519 for the clamped scalar a of `s` (a ≡ x mod q). */
function x25519U(s: Secret, u: bigint): bigint {
  const pub = createPublicKey({ key: Buffer.concat([X25519_SPKI, bigintToLe(u, 32)]), format: 'der', type: 'spki' });
  return leToBigint(diffieHellman({ privateKey: s.x25519, publicKey: pub }));
}

/**
 * Gamma = x·H for H in the prime-order subgroup (hash-to-curve clears the cofactor), without
 * noble's BigInt scalar multiplication (1.0–1.4 ms, most of a leader check, which runs every
 * slot): OpenSSL's X25519 ladder gives u(x·H) (its clamped scalar a ≡ x mod q, and H has order
 * q), which fixes Gamma up to its sign; a second ladder, u(x·(H + B)) = u(Gamma + Y), picks the
 * sign. Two field inversions and one square root, no affine conversions. Falls back to the
 * multiplication where a u-coordinate is undefined (probability ~2^-252).
 */
function gammaOf(s: Secret, H: EdPoint): EdPoint {
  const HB = H.add(Point.BASE);
  // u = (1 + y) / (1 − y) = (Z + Y) / (Z − Y); both inversions in one
  const d1 = Fp.sub(H.Z, H.Y);
  const d2 = Fp.sub(HB.Z, HB.Y);
  const d12 = Fp.mul(d1, d2);
  if (Fp.is0(d12)) return H.multiply(s.x);
  const inv = Fp.inv(d12);
  const uH = Fp.mul(Fp.add(H.Z, H.Y), Fp.mul(inv, d2));
  const uHB = Fp.mul(Fp.add(HB.Z, HB.Y), Fp.mul(inv, d1));
  const u = x25519U(s, uH);
  const w = x25519U(s, uHB);
  // y = (u − 1) / (u + 1), so x² = (y² − 1) / (d·y² + 1) = −4u / (d·(u − 1)² + (u + 1)²); with
  // Z = u + 1 the point is (x·(u + 1) : u − 1 : u + 1 : x·(u − 1)). Either root: the sign is
  // chosen below.
  const um = Fp.sub(u, Fp.ONE);
  const up = Fp.add(u, Fp.ONE);
  const den = Fp.add(Fp.mul(D, Fp.sqr(um)), Fp.sqr(up));
  if (Fp.is0(up) || Fp.is0(den)) return H.multiply(s.x);
  let x: bigint;
  try {
    x = Fp.sqrt(Fp.mul(Fp.neg(Fp.mul(4n, u)), Fp.inv(den)));
  } catch {
    return H.multiply(s.x);
  }
  const g0 = new Point(Fp.mul(x, up), um, up, Fp.mul(x, um));
  for (const g of [g0, g0.negate()]) {
    const r = g.add(s.Y);
    // u(g + Y) = w  ⇔  Z + Y = w·(Z − Y)
    if (Fp.eql(Fp.add(r.Z, r.Y), Fp.mul(w, Fp.sub(r.Z, r.Y)))) return g;
  }
  return H.multiply(s.x);
}

/**
 * The VRF output (beta) alone: hash-to-curve and Gamma = x·H (gammaOf), the same beta
 * vrfProve's proof hashes to. A leader check needs only this; the proof (two more scalar
 * multiplications) is made only when the slot is won.
 */
export function vrfOutput(sk: Uint8Array, alpha: Uint8Array): Uint8Array {
  const s = secretOf(sk);
  return gammaToHash(gammaOf(s, encodeToCurve(s.pkBytes, alpha)));
}

/** ECVRF_prove (§5.1). Throws on a malformed secret key. */
export function vrfProve(sk: Uint8Array, alpha: Uint8Array): Uint8Array {
  if (!(alpha instanceof Uint8Array)) throw new Error('VRF alpha must be a Uint8Array');
  const sec = secretOf(sk);
  const { x, prefix, pkBytes, Y } = sec;
  const H = encodeToCurve(pkBytes, alpha);
  const hBytes = H.toBytes();
  const gamma = gammaOf(sec, H);
  // §5.4.2.2: k = SHA-512(prefix || h_string) mod q
  let k = mod(leToBigint(sha512(prefix, hBytes)));
  if (k === 0n) k = 1n; // probability 2^-252; keeps multiply() in range (never hit by the vectors)
  const c = challenge([Y, H, gamma, Point.BASE.multiply(k), H.multiply(k)]);
  const s = mod(k + c * x);
  const pi = new Uint8Array(VRF_PROOF_BYTES);
  pi.set(gamma.toBytes(), 0);
  pi.set(bigintToLe(c, C_LEN), 32);
  pi.set(bigintToLe(s, 32), 48);
  return pi;
}

function decodeProof(proof: Uint8Array): { gamma: EdPoint; c: bigint; s: bigint } | null {
  if (!(proof instanceof Uint8Array) || proof.length !== VRF_PROOF_BYTES) return null;
  const gamma = decodePoint(proof.subarray(0, 32));
  if (!gamma) return null;
  const c = leToBigint(proof.subarray(32, 48));
  const s = leToBigint(proof.subarray(48, 80));
  if (s >= q) return null;
  return { gamma, c, s };
}

function gammaToHash(gamma: EdPoint): Uint8Array {
  return sha512(Uint8Array.of(SUITE, 0x03), gamma.clearCofactor().toBytes(), Uint8Array.of(0x00));
}

/**
 * ECVRF_proof_to_hash (§5.2). Does NOT verify the proof: only call it on proofs you produced or
 * already verified. Throws on a proof that does not even decode.
 */
export function vrfProofToHash(proof: Uint8Array): Uint8Array {
  const d = decodeProof(proof);
  if (!d) throw new Error('malformed VRF proof');
  return gammaToHash(d.gamma);
}

/** ECVRF_verify (§5.3) with validate_key. Returns beta (64 bytes) if valid, else null. */
export function vrfVerify(pk: Uint8Array, proof: Uint8Array, alpha: Uint8Array): Uint8Array | null {
  if (!(pk instanceof Uint8Array) || pk.length !== VRF_PK_BYTES) return null;
  if (!(alpha instanceof Uint8Array)) return null;
  const Y = decodePoint(pk);
  if (!Y || Y.isSmallOrder()) return null;
  const d = decodeProof(proof);
  if (!d) return null;
  const { gamma, c, s } = d;
  const H = encodeToCurve(pk, alpha);
  // U = s·B − c·Y ; V = s·H − c·Gamma (public values: variable-time is fine)
  const U = Point.BASE.multiplyUnsafe(s).subtract(Y.multiplyUnsafe(c));
  const V = H.multiplyUnsafe(s).subtract(gamma.multiplyUnsafe(c));
  if (challenge([Y, H, gamma, U, V]) !== c) return null;
  return gammaToHash(gamma);
}
