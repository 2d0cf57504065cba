import { praosParams, type Genesis, type UtxoEntry } from '../../node/genesis/schema.ts';
import { toHex } from '../../node/crypto/hash.ts';
import type { Plan } from '../profile/plan.ts';
import { apportion } from '../profile/apportion.ts';
import { deriveBytes } from '../profile/rng.ts';
import { paymentKey, poolKeys, type PaymentKey, type PoolKeys } from './keys.ts';

/** The key material of a run, all derived from the plan's seed. */
export interface RunKeys {
  pools: Map<string, PoolKeys>;
  generator: PaymentKey;
}

export const GENERATOR_KEY_OWNER = 'generator';

export function runKeys(plan: Plan): RunKeys {
  const pools = new Map<string, PoolKeys>();
  for (const n of plan.nodes) if (n.role === 'pool') pools.set(n.name, poolKeys(plan.seed, n.name));
  return { pools, generator: paymentKey(plan.seed, GENERATOR_KEY_OWNER) };
}

/** systemStart: `now` plus the plan's start delay, to the millisecond. */
export function systemStart(plan: Plan, now: Date): string {
  return new Date(now.getTime() + Math.round(plan.genesis.startDelayS * 1000)).toISOString();
}

/** The generator's funds split into `generatorOutputs` outputs of one pseudo transaction. */
export function generatorUtxo(plan: Plan, generator: PaymentKey): UtxoEntry[] {
  const { generatorFunds, generatorOutputs } = plan.genesis.utxo;
  const txId = toHex(deriveBytes(plan.seed, 'genesis/utxo/generator'));
  const address = toHex(generator.address);
  return apportion(generatorFunds, new Array<number>(generatorOutputs).fill(1)).map((amount, index) => ({ txId, index, address, amount }));
}

/** The genesis file. Deterministic given (plan, now). */
export function buildGenesis(plan: Plan, now: Date, keys: RunKeys = runKeys(plan)): Genesis {
  const g = plan.genesis;
  return {
    networkMagic: g.networkMagic,
    systemStart: systemStart(plan, now),
    slotLengthS: g.slotLengthS,
    epochLengthSlots: g.epochLengthSlots,
    activeSlotCoeff: g.activeSlotCoeff,
    securityParam: g.securityParam,
    initialNonce: g.initialNonce,
    protocolParams: { ...g.protocolParams },
    eras: structuredClone(g.eras),
    leios: structuredClone(g.leios),
    // only when a Praos variant is asked for, so genesis files of plain profiles stay as they were
    ...(g.praos && g.praos.leaderIntervalSlots !== 1 ? { praos: praosParams({ praos: { leaderIntervalSlots: g.praos.leaderIntervalSlots } }) } : {}),
    updateThreshold: g.updateThreshold,
    pools: plan.nodes
      .filter((n) => n.role === 'pool')
      .map((n) => {
        const k = keys.pools.get(n.name)!;
        return {
          id: n.name,
          stake: n.stake,
          coldVkey: toHex(k.cold.vkey),
          vrfVkey: toHex(k.vrf.vkey),
          blsVkey: toHex(k.bls.vkey),
          blsPop: toHex(k.bls.pop),
        };
      }),
    initialUtxo: generatorUtxo(plan, keys.generator),
  };
}
