import { chmodSync, closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import { blsKeygen, blsPop } from '../../node/crypto/bls.ts';
import { ed25519PublicKey, ed25519Signer } from '../../node/crypto/ed25519.ts';
import { derivedKesSeed } from '../../node/consensus/kes-credential.ts';
import { kesKeygen, kesVerificationKey } from '../../node/crypto/kes.ts';
import { issueOpCert, type OpCert } from '../../node/crypto/opcert.ts';
import { hash224, toHex } from '../../node/crypto/hash.ts';
import { vrfKeygen } from '../../node/crypto/vrf.ts';
import { deriveBytes } from '../profile/rng.ts';

// Every key derives from (profile seed, owner, role): the same seed gives the same keys, bytes
// for bytes. Key files hold the 32-byte secret seed; the node re-derives the key pair from it.

export type KeyType = 'ColdSigningKey' | 'VrfSigningKey' | 'BlsSigningKey' | 'PaymentSigningKey' | 'KesSigningKey';

export interface PoolKeys {
  cold: { seed: Uint8Array; vkey: Uint8Array };
  vrf: { seed: Uint8Array; vkey: Uint8Array };
  bls: { seed: Uint8Array; vkey: Uint8Array; pop: Uint8Array };
  /** Sum6KES hot key (seed derived from the cold key, so a node without the file derives the same) */
  kes: { seed: Uint8Array; vkey: Uint8Array };
  /** operational certificate for it: counter 0, valid from KES period 0 */
  opcert: OpCert;
}

export interface PaymentKey {
  seed: Uint8Array;
  vkey: Uint8Array;
  /** Blake2b-224 of vkey: the address genesis outputs are paid to. */
  address: Uint8Array;
}

export function poolKeys(seed: number, pool: string): PoolKeys {
  const cold = deriveBytes(seed, `keys/${pool}/cold`);
  const vrf = deriveBytes(seed, `keys/${pool}/vrf`);
  const bls = deriveBytes(seed, `keys/${pool}/bls`);
  const b = blsKeygen(bls);
  const coldSign = ed25519Signer(cold);
  const kesSeed = derivedKesSeed(coldSign, 0);
  const kesVkey = kesVerificationKey(kesKeygen(kesSeed));
  return {
    kes: { seed: kesSeed, vkey: kesVkey },
    opcert: issueOpCert(cold, kesVkey, 0, 0),
    cold: { seed: cold, vkey: ed25519PublicKey(cold) },
    vrf: { seed: vrf, vkey: vrfKeygen(vrf).pk },
    bls: { seed: bls, vkey: b.pk, pop: blsPop(b.sk) },
  };
}

export function paymentKey(seed: number, owner: string): PaymentKey {
  const s = deriveBytes(seed, `keys/${owner}/payment`);
  const vkey = ed25519PublicKey(s);
  return { seed: s, vkey, address: hash224(vkey) };
}

/** Key file contents (docs/HELPERS.md): {"type": ..., "hex": "<32-byte secret seed>"}. */
export function keyFileText(type: KeyType, secret: Uint8Array): string {
  if (secret.length !== 32) throw new Error(`${type}: secret seed must be 32 bytes`);
  return `${JSON.stringify({ type, hex: toHex(secret) }, null, 2)}\n`;
}

/**
 * Write a secret (key file, a config holding a token) readable by its owner only: created 0600
 * under a temporary name and renamed into place, so it is never visible with wider permissions
 * (writeFileSync's `mode` applies only when the file is created; an existing 0644 file would
 * keep its mode).
 */
export function writeSecretFile(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    chmodSync(tmp, 0o600); // against a umask or a leftover tmp file
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Write a key file (keyFileText) with 0600 permissions. */
export function writeKeyFile(file: string, type: KeyType, secret: Uint8Array): void {
  writeSecretFile(file, keyFileText(type, secret));
}
