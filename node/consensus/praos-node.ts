import { Counter, Gauge, type Registry } from 'prom-client';
import type { Header } from '../chain/block.ts';
import { fromHex, hash256, toHex } from '../crypto/hash.ts';
import { kesKeygen, kesPeriodOf, kesVerificationKey } from '../crypto/kes.ts';
import { opCertFromJson, verifyOpCertSignature, type OpCert } from '../crypto/opcert.ts';
import { HeaderRelay, type RelayVerdict } from '../network/chainsync.ts';
import { KesCredential, saveRotatedCredential, type KesRules } from './kes-credential.ts';

// The node's Praos side that is not chain selection: its KES credential (metrics, run-time
// rotation) and header diffusion independent of chain selection (the two-header relay and the
// equivocation evidence it produces). The node core calls in; nothing here touches the chain.

export interface PraosNodeDeps {
  registry: Registry;
  rules: KesRules;
  /** trace sink (TraceWriter.emit) */
  emit: (m: { type: string; [k: string]: unknown }) => void;
  log: { warn(o: object, m: string): void; info(o: object, m: string): void };
  poolIdOf: (issuer: Uint8Array) => string | undefined;
}

export interface Equivocation {
  slot: number;
  issuer: string; // cold vkey hex
  poolId: string;
  headers: [string, string]; // header hashes, first seen first
  from: string;
}

export class PraosNode {
  readonly relay = new HeaderRelay();
  readonly equivocations: Equivocation[] = [];
  private readonly d: PraosNodeDeps;
  private readonly relayListeners = new Set<(h: Uint8Array) => void>();
  private readonly kesPeriodGauge: Gauge;
  private readonly kesRemainingGauge: Gauge;
  private readonly opcertCounterGauge: Gauge;
  private readonly equivocationsTotal: Counter;
  private readonly relayedTotal: Counter;
  private readonly overLimitTotal: Counter;
  private readonly pipelinedTotal: Counter;
  credential: KesCredential | undefined;

  constructor(d: PraosNodeDeps) {
    this.d = d;
    const registers = [d.registry];
    this.kesPeriodGauge = new Gauge({ name: 'leios_kes_period', help: 'current KES period (floor(slot / slotsPerKesPeriod))', registers });
    this.kesRemainingGauge = new Gauge({ name: 'leios_kes_remaining_evolutions', help: "KES periods left on this pool's operational certificate, the current one included", registers });
    this.opcertCounterGauge = new Gauge({ name: 'leios_opcert_counter', help: "issue number of this pool's operational certificate", registers });
    this.equivocationsTotal = new Counter({ name: 'leios_rb_equivocations_total', help: 'RB header equivocations detected (two valid headers from one issuer for one slot)', registers });
    this.relayedTotal = new Counter({ name: 'leios_rb_headers_relayed_total', help: 'RB headers relayed off the chain (equivocation evidence)', registers });
    this.pipelinedTotal = new Counter({ name: 'leios_rb_headers_pipelined_total', help: 'fresh RB headers relayed on validation, before their body was fetched (header-first diffusion)', registers });
    this.overLimitTotal = new Counter({ name: 'leios_rb_headers_over_limit_total', help: 'RB headers dropped: a third header for a (slot, issuer)', registers });
  }

  /** Update the KES gauges for `slot` (called each slot). */
  onSlot(slot: number): void {
    this.kesPeriodGauge.set(kesPeriodOf(Math.max(0, slot), this.d.rules.slotsPerKesPeriod));
    if (this.credential) {
      this.kesRemainingGauge.set(this.credential.remainingAt(Math.max(0, slot)));
      this.opcertCounterGauge.set(this.credential.opcert.counter);
    }
  }

  // ---- header relay -----------------------------------------------------------------------

  /** ChainSyncProvider.onRelay: headers to send to every peer off the chain. */
  onRelay(cb: (h: Uint8Array) => void): () => void {
    this.relayListeners.add(cb);
    return () => this.relayListeners.delete(cb);
  }

  /** Send headers to every peer through ChainSync RelayHeader (adversary behaviours use this too). */
  relayHeaders(headers: Uint8Array[]): void {
    for (const h of headers) {
      this.relayedTotal.inc();
      this.toEveryPeer(h);
    }
  }

  private toEveryPeer(headerBytes: Uint8Array): void {
    for (const l of this.relayListeners) l(headerBytes);
  }

  /**
   * Header-first diffusion: the first valid header of a (slot, issuer) goes to every peer as
   * soon as it is validated, before its body is fetched or the chain switches — CIP-164 needs
   * RB headers everywhere within L_hdr (a voter refuses an RB whose header came later) and
   * header diffusion independent of chain selection. Relaying only what one adopted made every
   * hop cost a body fetch and validation: at 0.2 s slots (L_hdr = 200 ms) most voters saw the
   * header too late. Old headers (catch-up) are not relayed: `freshSlots` bounds the age.
   */
  relayFresh(h: Header, headerBytes: Uint8Array, verdict: RelayVerdict, currentSlot: number, freshSlots: number): void {
    if (verdict.kind !== 'first' || currentSlot - h.slot > freshSlots) return;
    this.pipelinedTotal.inc();
    this.toEveryPeer(headerBytes);
  }

  /** Before validating a header: false for a third distinct header of its (slot, issuer). */
  admit(h: Header, hash: string): boolean {
    const ok = this.relay.admit(h.slot, toHex(h.issuerVkey), hash);
    if (!ok) this.overLimitTotal.inc();
    return ok;
  }

  /**
   * A validated header (received or forged): record it; on the second distinct header of its
   * (slot, issuer) trace the evidence, count it and relay the pair to every peer.
   */
  noteValidated(h: Header, hash: string, headerBytes: Uint8Array, from: string): RelayVerdict {
    const issuer = toHex(h.issuerVkey);
    const v = this.relay.offer(h.slot, issuer, hash, headerBytes);
    if (v.kind === 'equivocation') {
      const first = this.firstHash(h.slot, issuer, hash);
      const e: Equivocation = { slot: h.slot, issuer, poolId: this.d.poolIdOf(h.issuerVkey) ?? '?', headers: [first, hash], from };
      this.equivocations.push(e);
      if (this.equivocations.length > 1000) this.equivocations.shift();
      this.equivocationsTotal.inc();
      this.d.emit({ type: 'RBHeaderEquivocation', slot: h.slot, producer: e.poolId, issuer, headers: e.headers, sender: from });
      this.d.log.warn({ slot: h.slot, pool: e.poolId, headers: e.headers, from }, 'RB header equivocation');
      this.relayHeaders(v.pair);
    }
    return v;
  }

  private firstHash(slot: number, issuer: string, not: string): string {
    for (const b of this.relay.headers(slot, issuer)) {
      const hx = toHex(hashOf(b));
      if (hx !== not) return hx;
    }
    return '?';
  }

  // ---- hot-key rotation ---------------------------------------------------------------------

  /**
   * Install a new hot key and opcert (an SPO's KES rotation, delivered through the admin API):
   * the opcert must be signed by our cold key, certify the given KES key, and carry a higher
   * counter than the current one. Kept in the chain DB directory so a restart keeps it.
   */
  rotate(o: { kesSeed: Uint8Array; opcert: OpCert; coldVkey: Uint8Array; dbPath: string; currentSlot: number }): { counter: number; kesPeriod: number } {
    const cur = this.credential;
    if (!verifyOpCertSignature(o.coldVkey, o.opcert)) throw new RotationError('opcert: not signed by this pool’s cold key');
    const vk = kesVerificationKey(kesKeygen(o.kesSeed));
    if (toHex(vk) !== toHex(o.opcert.hotVkey)) throw new RotationError('opcert.hotVkey is not the verification key of kesSeed');
    if (cur && o.opcert.counter <= cur.opcert.counter) throw new RotationError(`opcert.counter ${o.opcert.counter} is not above the current ${cur.opcert.counter}`);
    const next = new KesCredential(o.kesSeed, o.opcert, this.d.rules);
    const e = next.evolutionAt(Math.max(0, o.currentSlot));
    if ('error' in e) throw new RotationError(`opcert does not cover the current slot ${o.currentSlot}: ${e.error}`);
    saveRotatedCredential(o.dbPath, o.kesSeed, o.opcert);
    this.credential = next;
    this.d.log.info({ counter: o.opcert.counter, kesPeriod: o.opcert.kesPeriod }, 'KES key rotated');
    this.d.emit({ type: 'KesRotated', counter: o.opcert.counter, kes_period: o.opcert.kesPeriod, slot: o.currentSlot });
    this.onSlot(o.currentSlot);
    return { counter: o.opcert.counter, kesPeriod: o.opcert.kesPeriod };
  }
}

export class RotationError extends Error {
  override name = 'RotationError';
}

function hashOf(b: Uint8Array): Uint8Array {
  return hash256(b);
}

/** Parse an admin rotation body {kesSeed, opcert}; throws RotationError naming the field. */
export function parseRotation(body: unknown): { kesSeed: Uint8Array; opcert: OpCert } {
  const b = (body ?? {}) as { kesSeed?: unknown; opcert?: unknown };
  if (typeof b.kesSeed !== 'string' || !/^[0-9a-f]{64}$/.test(b.kesSeed)) throw new RotationError('body.kesSeed must be 64 hex characters');
  try {
    return { kesSeed: fromHex(b.kesSeed), opcert: opCertFromJson(b.opcert, 'body.opcert') };
  } catch (e) {
    throw new RotationError((e as Error).message);
  }
}
