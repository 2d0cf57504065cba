import { describe, expect, it } from 'vitest';
import { applyGovernance, EMPTY_GOV, isGovernanceReplay } from '../../node/consensus/governance.ts';
import type { StakeView } from '../../node/consensus/stake.ts';
import { proposalId, signTx, type TxUpdate } from '../../node/ledger/index.ts';

// Governance txs spend no inputs, so the UTxO ledger never consumes them: without a replay rule
// the same proposal or endorsement could be included again in every later block (a trace audit
// of upgrade-suite-governance found four such txs in two RBs 7 slots apart).

const pools = ['pool-1', 'pool-2', 'pool-3', 'pool-4'].map((id) => ({ id, stake: 1n, coldVkey: new Uint8Array(32), vrfVkey: new Uint8Array(32), blsVkey: new Uint8Array(96) }));
const stake: StakeView = { total: 4n, pools, byColdKey: () => undefined, byId: (id) => pools.find((p) => p.id === id) };
const p = { stake, threshold: 0.75, epochLengthSlots: 100 };
const sig = new Uint8Array(64);
const propose: TxUpdate = { kind: 'propose', protocolVersion: 2, era: 'leios', epoch: 2, poolId: 'pool-1', sig };
const endorse = (poolId: string): TxUpdate => ({ kind: 'endorse', proposalId: proposalId(propose as TxUpdate & { kind: 'propose' }), poolId, sig });
const tx = (u: TxUpdate) => signTx({ inputs: [], outputs: [], fee: 0, update: u }, []);

describe('governance replay', () => {
  it('nothing is a replay before the proposal is on the chain', () => {
    expect(isGovernanceReplay(propose, EMPTY_GOV)).toBe(false);
    expect(isGovernanceReplay(endorse('pool-2'), EMPTY_GOV)).toBe(false);
  });

  it('once on the chain: the same proposal, the proposer endorsing and a second endorsement are replays; a new endorser is not', () => {
    const g1 = applyGovernance(EMPTY_GOV, [tx(propose)], 10, p);
    expect(isGovernanceReplay(propose, g1)).toBe(true);
    expect(isGovernanceReplay(endorse('pool-1'), g1)).toBe(true);
    expect(isGovernanceReplay(endorse('pool-2'), g1)).toBe(false);
    const g2 = applyGovernance(g1, [tx(endorse('pool-2'))], 11, p);
    expect(isGovernanceReplay(endorse('pool-2'), g2)).toBe(true);
    expect(isGovernanceReplay(endorse('pool-3'), g2)).toBe(false);
    expect(isGovernanceReplay({ ...propose, poolId: 'pool-2' }, g2)).toBe(false); // another pool's proposal is another id
  });
});
