import { Type, type TObject, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { Tx } from '../ledger/index.ts';
import type { AdversaryEnv, AdversaryHooks, Behaviour, CertContext, EbRef, TxRef } from './types.ts';
import { ebWithholding } from './eb-withholding.ts';
import { protocolBurst } from './protocol-burst.ts';
import { lateEb } from './late-eb.ts';
import { lazyVoter } from './lazy-voter.ts';
import { withholdVotes } from './withhold-votes.ts';
import { withholdCerts } from './withhold-certs.ts';
import { ebEquivocation } from './eb-equivocation.ts';
import { invalidEbTx } from './invalid-eb-tx.ts';
import { invalidVotes } from './invalid-votes.ts';
import { invalidCert } from './invalid-cert.ts';
import { rbEquivocation } from './rb-equivocation.ts';
import { mempoolPartitioning } from './mempool-partitioning.ts';
import { eclipse } from './eclipse.ts';
import { malformedBlock } from './malformed-block.ts';
import type { Block } from '../chain/block.ts';

export type { AdversaryEnv, AdversaryHooks, Behaviour, CertContext, EbRef, TxRef } from './types.ts';

// The registry of adversary behaviours (one file each) and `Adversary`, the node's composition
// of the enabled ones. The profile schema (node.adversaries, the `adversary` step), the node
// config schema (`adversary`), the admin API (PUT/GET /adversary) and `leiosnet attack` all
// take their names and params schemas from here.

export const BEHAVIOURS: readonly Behaviour[] = [
  ebWithholding,
  protocolBurst,
  lateEb,
  lazyVoter,
  withholdVotes,
  withholdCerts,
  ebEquivocation,
  invalidEbTx,
  invalidVotes,
  invalidCert,
  rbEquivocation,
  mempoolPartitioning,
  eclipse,
  malformedBlock,
] as unknown as readonly Behaviour[];

export const BEHAVIOUR_NAMES: readonly string[] = BEHAVIOURS.map((b) => b.name);

export function behaviour(name: string): Behaviour | undefined {
  return BEHAVIOURS.find((b) => b.name === name);
}

/** `eb-withholding | protocol-burst | …` */
export const AdversaryBehaviourSchema = Type.Union(
  BEHAVIOURS.map((b) => Type.Literal(b.name, { description: b.summary })),
  { description: 'an adversary behaviour (node/adversary/)' },
);

/** Behaviours on from the start, with their params: `{ eb-withholding: {}, late-eb: { delayMs: 4000 } }`. */
export const AdversariesSchema = Type.Object(
  Object.fromEntries(BEHAVIOURS.map((b) => [b.name, Type.Optional(b.params as TSchema)])) as Record<string, TSchema>,
  { additionalProperties: false, description: `adversary behaviours and their params (known: ${BEHAVIOUR_NAMES.join(', ')})` },
);

export type AdversaryConfig = Record<string, Record<string, unknown>>;

/**
 * Pools holding at most `share` of the stake together, smallest stake first, ties by id (attack
 * tools size an adversary by stake share, not node count: the profile's node.adversaryStake and
 * `leiosnet attack --stake` both use this). Empty when even the smallest pool holds more than
 * `share`, or when no pool holds stake.
 *
 * Zero-stake pools (relays, pools without delegation) are left out: they add nothing to an
 * adversary's share of the stake — they elect no leader slots and cast no stake-weighted votes —
 * so counting them would size an adversary of "20 % of the stake" with nodes that hold none.
 */
export function poolsUpToShare(pools: readonly { id: string; stake: number }[], share: number): string[] {
  const total = pools.reduce((a, p) => a + p.stake, 0);
  if (total <= 0) return [];
  const out: string[] = [];
  let sum = 0;
  for (const p of [...pools].filter((p) => p.stake > 0).sort((a, b) => a.stake - b.stake || a.id.localeCompare(b.id))) {
    if ((sum + p.stake) / total > share + 1e-12) break;
    sum += p.stake;
    out.push(p.id);
  }
  return out;
}

/** The smallest share of the stake a pool holds, among pools that hold any (undefined: none does). */
export function smallestPoolShare(pools: readonly { id: string; stake: number }[]): number | undefined {
  const total = pools.reduce((a, p) => a + p.stake, 0);
  const staked = pools.filter((p) => p.stake > 0);
  return total > 0 && staked.length ? Math.min(...staked.map((p) => p.stake)) / total : undefined;
}

/** Problems with one behaviour's params, each as `field: message` (empty: valid). */
export function paramsProblems(name: string, params: unknown, prefix = 'params'): string[] {
  const b = behaviour(name);
  if (!b) return [`${prefix}: unknown adversary behaviour "${name}" (known: ${BEHAVIOUR_NAMES.join(', ')})`];
  const out: string[] = [];
  for (const e of Value.Errors(b.params as TObject, params ?? {})) {
    const field = e.path ? `${prefix}${e.path.replaceAll('/', '.')}` : prefix;
    out.push(`${field}: ${e.message}`);
    if (out.length >= 5) break;
  }
  return out;
}

/** Thrown by `Adversary.set` on bad input; `status` 404 for an unknown behaviour, 400 for bad params. */
export class AdversaryInputError extends Error {
  readonly status: 400 | 404;
  constructor(status: 400 | 404, message: string) {
    super(message);
    this.name = 'AdversaryInputError';
    this.status = status;
  }
}

interface Enabled {
  params: Record<string, unknown>;
  hooks: AdversaryHooks;
}

/**
 * The enabled behaviours of one node and the composition of their hooks. With none enabled
 * every hook is the honest answer. Several may be on at once: offers go to the first
 * behaviour that takes them, serving needs every one to agree, vote and certificate hooks
 * are applied in turn.
 */
/** The network side's part of the environment (node/sync.ts attaches it once peers can connect). */
export type AdversaryNetwork = Pick<AdversaryEnv, 'offerEb' | 'peers'>;
/** The consensus side's part (node.ts attaches it once the pool's keys and header relay exist). */
export type AdversaryConsensus = Pick<AdversaryEnv, 'signHeader' | 'relayHeaders'>;

export class Adversary {
  private readonly env: AdversaryEnv;
  private readonly on = new Map<string, Enabled>();
  private net: AdversaryNetwork | undefined;
  private cons: AdversaryConsensus | undefined;

  /**
   * `env` without offerEb/peers/relayHeaders/signHeader: those come from attachNetwork and
   * attachConsensus (until then, offers and relayed headers go nowhere).
   */
  constructor(env: Omit<AdversaryEnv, 'offerEb' | 'peers' | 'relayHeaders' | 'signHeader'> & Partial<AdversaryNetwork> & Partial<AdversaryConsensus>) {
    this.env = {
      ...env,
      offerEb: (eb, peers) => (this.net ?? env).offerEb?.(eb, peers),
      peers: () => (this.net ?? env).peers?.() ?? [],
      relayHeaders: (h) => (this.cons ?? env).relayHeaders?.(h),
    };
    // signHeader is present only when some side can sign (a pool)
    Object.defineProperty(this.env, 'signHeader', { enumerable: true, get: () => (this.cons ?? env).signHeader });
  }

  attachNetwork(net: AdversaryNetwork): void {
    this.net = net;
  }

  attachConsensus(c: AdversaryConsensus): void {
    this.cons = c;
  }

  get poolId(): string | undefined {
    return this.env.poolId;
  }

  /** Turn a behaviour on (again, with new params) or off. */
  set(name: string, enabled: boolean, params: Record<string, unknown> = {}): void {
    const b = behaviour(name);
    if (!b) throw new AdversaryInputError(404, `unknown adversary behaviour "${name}" (known: ${BEHAVIOUR_NAMES.join(', ')})`);
    const problems = enabled ? paramsProblems(name, params) : [];
    if (problems.length) throw new AdversaryInputError(400, `${name}: ${problems.join('; ')}`);
    this.on.get(name)?.hooks.stop?.();
    this.on.delete(name);
    if (enabled) this.on.set(name, { params: structuredClone(params), hooks: b.create(params as never, this.env) });
    this.env.log.warn({ behaviour: name, enabled, params }, 'adversary behaviour toggled');
    this.env.trace(name, enabled ? 'enabled' : 'disabled', enabled ? { params } : {});
  }

  /** Enable every behaviour of a node config's `adversary` section. */
  configure(config: Record<string, unknown> | undefined): void {
    for (const [name, params] of Object.entries(config ?? {})) this.set(name, true, (params ?? {}) as Record<string, unknown>);
  }

  has(name: string): boolean {
    return this.on.has(name);
  }

  get active(): { behaviour: string; params: Record<string, unknown> }[] {
    return [...this.on].map(([behaviour, e]) => ({ behaviour, params: e.params }));
  }

  get any(): boolean {
    return this.on.size > 0;
  }

  private hooks(): AdversaryHooks[] {
    return [...this.on.values()].map((e) => e.hooks);
  }

  // ---- hook points (called by the honest node) --------------------------------------------

  /** true: offer the EB to peers now (the honest answer). */
  ebOffer(eb: EbRef): boolean {
    for (const h of this.hooks()) {
      const d = h.ebOffer?.(eb) ?? 'pass';
      if (d !== 'pass') return false;
    }
    return true;
  }

  ebServe(hashHex: string, peer: string): boolean {
    return this.hooks().every((h) => h.ebServe?.(hashHex, peer) ?? true);
  }

  ebTxs(txs: Tx[], slot: number): Tx[] {
    let out = txs;
    for (const h of this.hooks()) if (h.ebTxs) out = h.ebTxs(out, slot);
    return out;
  }

  castVote(electionSlot: number): boolean {
    return this.hooks().every((h) => h.castVote?.(electionSlot) ?? true);
  }

  votesOut(votes: Uint8Array[], slot: number): Uint8Array[] {
    let out = votes;
    for (const h of this.hooks()) if (h.votesOut) out = h.votesOut(out, slot);
    return out;
  }

  certificate(c: CertContext): Uint8Array | undefined {
    let out = c.real;
    for (const h of this.hooks()) if (h.certificate) out = h.certificate(c, out);
    return out;
  }

  rbForged(b: Block): void {
    for (const h of this.hooks()) h.rbForged?.(b);
  }

  txRefused(tx: Tx, reason: string): void {
    for (const h of this.hooks()) h.txRefused?.(tx, reason);
  }

  txIdsOut(peer: string, txs: TxRef[]): TxRef[] {
    let out = txs;
    for (const h of this.hooks()) if (h.txIdsOut) out = h.txIdsOut(peer, out);
    return out;
  }

  txBytes(idHex: string): Uint8Array | undefined {
    for (const h of this.hooks()) {
      const b = h.txBytes?.(idHex);
      if (b) return b;
    }
    return undefined;
  }

  blockOut(b: Block, own: boolean): Uint8Array | undefined {
    for (const h of this.hooks()) {
      const out = h.blockOut?.(b, own);
      if (out) return out;
    }
    return undefined;
  }

  /** false: every enabled behaviour that cares starves `peer` of anything new (eclipse). */
  serves(peer: string): boolean {
    return this.hooks().every((h) => h.serves?.(peer) ?? true);
  }

  tip(t: { slot: number; own: boolean }): void {
    for (const h of this.hooks()) h.tip?.(t);
  }

  /** Turn everything off (node shutdown). */
  close(): void {
    for (const e of this.on.values()) e.hooks.stop?.();
    this.on.clear();
  }
}
