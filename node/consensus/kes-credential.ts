import fs from 'node:fs';
import path from 'node:path';
import { fromHex, hash256, toHex } from '../crypto/hash.ts';
import { kesEvolveTo, kesKeygen, kesPeriodOf, kesSign, kesTotalPeriods, kesVerificationKey, type KesSigningKey } from '../crypto/kes.ts';
import { opCertFromJson, opCertSignable, opCertToJson, verifyOpCertSignature, type OpCert } from '../crypto/opcert.ts';

// A block producer's hot credential: its Sum6KES key and the operational certificate the cold
// key issued for it. The key evolves forward (never back) to the KES period of the slot it signs.

export interface KesRules {
  slotsPerKesPeriod: number;
  maxKesEvolutions: number;
}

export const DEFAULT_KES_RULES: KesRules = { slotsPerKesPeriod: 129_600, maxKesEvolutions: 62 };

export class KesCredential {
  readonly opcert: OpCert;
  readonly rules: KesRules;
  private key: KesSigningKey;

  constructor(kesSeed: Uint8Array, opcert: OpCert, rules: KesRules = DEFAULT_KES_RULES) {
    this.key = kesKeygen(kesSeed);
    this.opcert = opcert;
    this.rules = rules;
    const vk = kesVerificationKey(this.key);
    if (vk.length !== opcert.hotVkey.length || vk.some((b, i) => b !== opcert.hotVkey[i])) throw new Error('KES key does not match the operational certificate hot key');
  }

  /**
   * The credential a node falls back to when it has no KES key files: a KES seed and an opcert
   * (counter 0, from KES period 0) derived from the cold key alone. Ed25519 signatures are
   * deterministic, so only the cold key's holder can derive them.
   */
  static derived(coldSign: (msg: Uint8Array) => Uint8Array, rules: KesRules = DEFAULT_KES_RULES): KesCredential {
    const seed = derivedKesSeed(coldSign, 0);
    const hot = kesVerificationKey(kesKeygen(seed));
    return new KesCredential(seed, { hotVkey: hot, counter: 0, kesPeriod: 0, sigma: coldSign(opCertSignable(hot, 0, 0)) }, rules);
  }

  /** Evolutions used at `slot` (kes_period − opcert start), or why the slot cannot be signed. */
  evolutionAt(slot: number): { evolution: number } | { error: string } {
    const kp = kesPeriodOf(slot, this.rules.slotsPerKesPeriod);
    const t = kp - this.opcert.kesPeriod;
    if (t < 0) return { error: `KES period ${kp} is before the opcert start ${this.opcert.kesPeriod}` };
    if (t >= this.rules.maxKesEvolutions || t >= kesTotalPeriods()) return { error: `KES period ${kp} is past the opcert's last period ${this.opcert.kesPeriod + Math.min(this.rules.maxKesEvolutions, kesTotalPeriods()) - 1}` };
    if (t < this.key.period) return { error: `KES key already evolved past period ${kp}` };
    return { evolution: t };
  }

  /** Remaining evolutions at `slot` (for the metric): periods left including the current one. */
  remainingAt(slot: number): number {
    const t = kesPeriodOf(slot, this.rules.slotsPerKesPeriod) - this.opcert.kesPeriod;
    return Math.max(0, Math.min(this.rules.maxKesEvolutions, kesTotalPeriods()) - Math.max(0, t));
  }

  /** KES-sign `msg` for a header at `slot`; throws if the opcert does not cover the slot. */
  signAt(slot: number, msg: Uint8Array): Uint8Array {
    const e = this.evolutionAt(slot);
    if ('error' in e) throw new Error(`cannot KES-sign slot ${slot}: ${e.error}`);
    if (e.evolution > this.key.period) this.key = kesEvolveTo(this.key, e.evolution);
    return kesSign(this.key, msg);
  }
}

/** KES seed number `n` derived from the cold key (n = 0 for the fallback credential). */
export function derivedKesSeed(coldSign: (msg: Uint8Array) => Uint8Array, n: number): Uint8Array {
  return hash256(coldSign(new TextEncoder().encode(`leiosnet/kes-seed/${n}`)));
}

// ---- where a node's credential comes from -----------------------------------------------------

export const KES_KEY_FILE_TYPE = 'KesSigningKey';

/** Genesis writes these next to the pool's cold key file: `<pool>.kes.skey`, `<pool>.opcert.json`. */
export function kesFilesBeside(coldSkeyFile: string, poolId: string): { kesSkeyFile: string; opcertFile: string } {
  const dir = path.dirname(coldSkeyFile);
  return { kesSkeyFile: path.join(dir, `${poolId}.kes.skey`), opcertFile: path.join(dir, `${poolId}.opcert.json`) };
}

/** A rotation delivered at run time is kept in the chain DB directory, so it survives restarts. */
export function rotatedCredentialFile(dbPath: string): string {
  return path.join(dbPath, 'kes-credential.json');
}

function readHexSeed(file: string, type: string): Uint8Array {
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { type?: unknown; hex?: unknown };
  if (j.type !== type) throw new Error(`${file}: field type: expected "${type}"`);
  if (typeof j.hex !== 'string' || !/^[0-9a-f]{64}$/.test(j.hex)) throw new Error(`${file}: field hex: expected 64 hex characters`);
  return fromHex(j.hex);
}

/**
 * The node's KES credential, first found of: a rotation kept in `dbPath`; the genesis files
 * beside the cold key; the credential derived from the cold key (KesCredential.derived; genesis
 * writes exactly that one, so all three agree until a rotation). The opcert must carry the
 * pool's cold-key signature.
 */
export function loadKesCredential(o: {
  coldSign: (msg: Uint8Array) => Uint8Array;
  coldVkey: Uint8Array;
  poolId: string;
  coldSkeyFile?: string;
  dbPath?: string;
  rules: KesRules;
}): { credential: KesCredential; source: 'rotation' | 'files' | 'derived' } {
  const check = (c: KesCredential, where: string) => {
    if (!verifyOpCertSignature(o.coldVkey, c.opcert)) throw new Error(`${where}: the operational certificate is not signed by pool ${o.poolId}'s cold key`);
    return c;
  };
  if (o.dbPath) {
    const f = rotatedCredentialFile(o.dbPath);
    if (fs.existsSync(f)) {
      const j = JSON.parse(fs.readFileSync(f, 'utf8')) as { kesSeed?: string; opcert?: unknown };
      if (typeof j.kesSeed !== 'string' || !/^[0-9a-f]{64}$/.test(j.kesSeed)) throw new Error(`${f}: field kesSeed: expected 64 hex characters`);
      return { credential: check(new KesCredential(fromHex(j.kesSeed), opCertFromJson(j.opcert, f), o.rules), f), source: 'rotation' };
    }
  }
  if (o.coldSkeyFile) {
    const { kesSkeyFile, opcertFile } = kesFilesBeside(o.coldSkeyFile, o.poolId);
    if (fs.existsSync(kesSkeyFile) && fs.existsSync(opcertFile)) {
      const seed = readHexSeed(kesSkeyFile, KES_KEY_FILE_TYPE);
      const oc = opCertFromJson(JSON.parse(fs.readFileSync(opcertFile, 'utf8')), opcertFile);
      return { credential: check(new KesCredential(seed, oc, o.rules), opcertFile), source: 'files' };
    }
  }
  return { credential: KesCredential.derived(o.coldSign, o.rules), source: 'derived' };
}

/** Keep a rotated credential (0600, atomic) in the chain DB directory. */
export function saveRotatedCredential(dbPath: string, kesSeed: Uint8Array, opcert: OpCert): void {
  fs.mkdirSync(dbPath, { recursive: true });
  const f = rotatedCredentialFile(dbPath);
  const tmp = `${f}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ kesSeed: toHex(kesSeed), opcert: opCertToJson(opcert) }, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, f);
}
