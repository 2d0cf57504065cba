import { ed25519Sign, ed25519Verify } from './ed25519.ts';
import { fromHex, toHex } from './hash.ts';
import { kesPeriodOf } from './kes.ts';

// Operational certificates (Shelley OCert): the cold key delegates block signing to a hot KES
// key from a KES period on. Signed bytes (cardano-ledger OCertSignable):
//   hot_vkey (32 B) ‖ counter (8 B big-endian) ‖ kes_period (8 B big-endian)
// A header carries the opcert and is KES-signed with the hot key at evolution
//   t = kes_period(slot) − opcert.kesPeriod.

export interface OpCert {
  hotVkey: Uint8Array; // KES verification key (32)
  counter: number; // issue number: raised by one on each rotation
  kesPeriod: number; // first KES period the certificate is valid for
  sigma: Uint8Array; // Ed25519 signature by the cold key (64)
}

export function opCertSignable(hotVkey: Uint8Array, counter: number, kesPeriod: number): Uint8Array {
  if (hotVkey.length !== 32) throw new Error('opcert hot key must be 32 bytes');
  if (!Number.isSafeInteger(counter) || counter < 0) throw new Error(`opcert counter must be a non-negative integer, got ${counter}`);
  if (!Number.isSafeInteger(kesPeriod) || kesPeriod < 0) throw new Error(`opcert KES period must be a non-negative integer, got ${kesPeriod}`);
  const o = new Uint8Array(48);
  o.set(hotVkey, 0);
  const dv = new DataView(o.buffer);
  dv.setBigUint64(32, BigInt(counter));
  dv.setBigUint64(40, BigInt(kesPeriod));
  return o;
}

/** Issue (sign with the cold key seed) an operational certificate. */
export function issueOpCert(coldSeed: Uint8Array, hotVkey: Uint8Array, counter: number, kesPeriod: number): OpCert {
  return { hotVkey, counter, kesPeriod, sigma: ed25519Sign(coldSeed, opCertSignable(hotVkey, counter, kesPeriod)) };
}

export function verifyOpCertSignature(coldVkey: Uint8Array, oc: OpCert): boolean {
  try {
    return ed25519Verify(coldVkey, opCertSignable(oc.hotVkey, oc.counter, oc.kesPeriod), oc.sigma);
  } catch {
    return false;
  }
}

export interface OpCertRules {
  slotsPerKesPeriod: number;
  maxKesEvolutions: number;
}

/**
 * The operational-certificate checks of Praos header validation (ouroboros-consensus
 * doValidateKESSignature), all but the KES signature itself. `lastCounter` is the highest issue
 * number of this pool on the chain so far (0 if none, as for a registered pool). Returns the
 * failure reason or null; `evolution` is the KES evolution the header must be signed at.
 */
export function checkOpCert(
  oc: OpCert,
  slot: number,
  coldVkey: Uint8Array,
  lastCounter: number,
  r: OpCertRules,
): { error: string; detail: string } | { error: null; evolution: number } {
  const kp = kesPeriodOf(slot, r.slotsPerKesPeriod);
  if (kp < oc.kesPeriod) return { error: 'kes-before-start', detail: `KES period ${kp} < opcert start ${oc.kesPeriod}` };
  if (kp >= oc.kesPeriod + r.maxKesEvolutions) return { error: 'kes-after-end', detail: `KES period ${kp} ≥ opcert start ${oc.kesPeriod} + ${r.maxKesEvolutions}` };
  if (oc.counter < lastCounter) return { error: 'opcert-counter-too-small', detail: `counter ${oc.counter} < last seen ${lastCounter}` };
  if (oc.counter > lastCounter + 1) return { error: 'opcert-counter-over-incremented', detail: `counter ${oc.counter} > last seen ${lastCounter} + 1` };
  if (!verifyOpCertSignature(coldVkey, oc)) return { error: 'bad-opcert-signature', detail: `counter ${oc.counter}, KES period ${oc.kesPeriod}` };
  return { error: null, evolution: kp - oc.kesPeriod };
}

// ---- files: genesis writes one per pool; a rotation writes a new one -----------------------

export const OPCERT_FILE_TYPE = 'NodeOperationalCertificate';

export interface OpCertJson {
  type: typeof OPCERT_FILE_TYPE;
  hotVkey: string;
  counter: number;
  kesPeriod: number;
  sigma: string;
}

export function opCertToJson(oc: OpCert): OpCertJson {
  return { type: OPCERT_FILE_TYPE, hotVkey: toHex(oc.hotVkey), counter: oc.counter, kesPeriod: oc.kesPeriod, sigma: toHex(oc.sigma) };
}

/** Parse an opcert file / admin body; throws an Error naming the field. */
export function opCertFromJson(j: unknown, where = 'opcert'): OpCert {
  const o = j as Record<string, unknown>;
  if (!o || typeof o !== 'object') throw new Error(`${where}: expected an object`);
  if (o.type !== undefined && o.type !== OPCERT_FILE_TYPE) throw new Error(`${where}: field type: expected "${OPCERT_FILE_TYPE}"`);
  if (typeof o.hotVkey !== 'string' || !/^[0-9a-f]{64}$/.test(o.hotVkey)) throw new Error(`${where}: field hotVkey: expected 64 hex characters`);
  if (typeof o.sigma !== 'string' || !/^[0-9a-f]{128}$/.test(o.sigma)) throw new Error(`${where}: field sigma: expected 128 hex characters`);
  for (const f of ['counter', 'kesPeriod'] as const) if (!Number.isSafeInteger(o[f]) || (o[f] as number) < 0) throw new Error(`${where}: field ${f}: expected a non-negative integer`);
  return { hotVkey: fromHex(o.hotVkey), counter: o.counter as number, kesPeriod: o.kesPeriod as number, sigma: fromHex(o.sigma) };
}

export function opCertFileText(oc: OpCert): string {
  return `${JSON.stringify(opCertToJson(oc), null, 2)}\n`;
}
