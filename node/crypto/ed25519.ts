import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

// node:crypto (OpenSSL) is ~15x faster than pure-JS Ed25519 here; keys are raw 32-byte seeds/points.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

const pubCache = new Map<string, KeyObject>();

function privKey(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new Error('Ed25519 secret key must be 32 bytes');
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

function pubKey(pk: Uint8Array): KeyObject {
  const k = Buffer.from(pk).toString('hex');
  let o = pubCache.get(k);
  if (!o) {
    if (pk.length !== 32) throw new Error('Ed25519 public key must be 32 bytes');
    o = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pk]), format: 'der', type: 'spki' });
    if (pubCache.size > 10_000) pubCache.clear();
    pubCache.set(k, o);
  }
  return o;
}

export function ed25519PublicKey(seed: Uint8Array): Uint8Array {
  const der = createPublicKey(privKey(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(der.subarray(der.length - 32));
}

/** A signer that caches the parsed key: block producers and generators sign a lot. */
export function ed25519Signer(seed: Uint8Array): (msg: Uint8Array) => Uint8Array {
  const k = privKey(seed);
  return (msg) => new Uint8Array(sign(null, msg, k));
}

export function ed25519Sign(seed: Uint8Array, msg: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, msg, privKey(seed)));
}

export function ed25519Verify(pk: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (sig.length !== 64 || pk.length !== 32) return false;
  try {
    return verify(null, msg, pubKey(pk), sig);
  } catch {
    return false;
  }
}
