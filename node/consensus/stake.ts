import type { Genesis } from '../genesis/schema.ts';
import { fromHex, toHex } from '../crypto/hash.ts';

// The stake distribution is fixed by genesis in our testnets (no delegation changes), so
// every epoch's leader schedule uses it.

export interface PoolView {
  id: string;
  stake: bigint;
  coldVkey: Uint8Array;
  vrfVkey: Uint8Array;
  blsVkey: Uint8Array;
}

export interface StakeView {
  total: bigint;
  pools: PoolView[];
  byColdKey(vk: Uint8Array): PoolView | undefined;
  byId(id: string): PoolView | undefined;
}

export function stakeFromGenesis(g: Genesis): StakeView {
  const pools = g.pools.map((p) => ({
    id: p.id,
    stake: BigInt(p.stake),
    coldVkey: fromHex(p.coldVkey),
    vrfVkey: fromHex(p.vrfVkey),
    blsVkey: fromHex(p.blsVkey),
  }));
  const byCold = new Map(pools.map((p) => [toHex(p.coldVkey), p]));
  const byId = new Map(pools.map((p) => [p.id, p]));
  const total = pools.reduce((a, p) => a + p.stake, 0n);
  if (total <= 0n) throw new Error('genesis has no stake');
  return { total, pools, byColdKey: (vk) => byCold.get(toHex(vk)), byId: (id) => byId.get(id) };
}
