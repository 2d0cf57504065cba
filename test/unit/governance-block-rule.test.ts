import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ed25519Sign } from '../../node/crypto/ed25519.ts';
import { toHex } from '../../node/crypto/hash.ts';
import { proposalId, signTx, updateSigningBytes, type Tx, type TxUpdate } from '../../node/ledger/index.ts';
import { inProcessNode } from '../support/in-process-node.ts';

// The replay rule in block validation, not only at intake: honest nodes no longer offer an
// included governance tx again (governance-replay.test.ts), but a forger can still put one in a
// block or an EB. One real LeiosNode in this process; blocks are forged with real keys and fed as
// from a peer. pool-2 holds next to no stake: it is here to endorse.

const t = inProcessNode({ prefix: 'leiosnet-govrule-', stakes: [1000, 1], utxos: 0 });
const { node, forge, feed } = t;
const cold = t.pools.map((p) => p.cold);
beforeAll(() => node.open());
afterAll(() => node.close());

function govTx(i: number, unsigned: TxUpdate): Tx {
  const update = { ...unsigned, sig: ed25519Sign(cold[i], updateSigningBytes(unsigned)) } as TxUpdate;
  return signTx({ inputs: [], outputs: [], fee: 0, update }, []);
}
const propose = govTx(0, { kind: 'propose', protocolVersion: 3, era: 'leios', epoch: 5, poolId: 'pool-1', sig: new Uint8Array(0) });
const pid = proposalId(propose.body.update as TxUpdate & { kind: 'propose' });
const endorse2 = govTx(1, { kind: 'endorse', proposalId: pid, poolId: 'pool-2', sig: new Uint8Array(0) });
// pool-2's signature under pool-1's name
const forgedEndorse = signTx({ inputs: [], outputs: [], fee: 0, update: { ...endorse2.body.update!, poolId: 'pool-1' } }, []);

const body = (txs: Tx[]) => ({ txs: txs.map((x) => x.bytes), cert: null });

describe('governance actions in block validation', () => {
  it('a block repeating an action already on its chain, or twice in itself, is refused; a new endorsement is adopted', () => {
    const b1 = forge(10, null, body([propose]));
    feed(b1);
    expect(node.tip()?.key).toBe(toHex(b1.hash));
    expect(node.tipGov().proposals[toHex(pid)]?.endorsers).toEqual(['pool-1']);

    // Each refused block at its own slot: a third header per slot and issuer is not admitted at all.
    let next = b1.header.slot + 1;
    const refused = (txs: Tx[], reason: string): void => {
      const b = forge(next, b1, body(txs));
      next = b.header.slot + 1;
      feed(b);
      expect(node.tip()?.key).toBe(toHex(b1.hash));
      expect(node.chain.get(toHex(b.hash))?.data.invalid).toBe(reason);
    };
    // The same proposal again on b1, and the proposer endorsing its own proposal: both replays.
    for (const replay of [propose, govTx(0, { kind: 'endorse', proposalId: pid, poolId: 'pool-1', sig: new Uint8Array(0) })]) {
      refused([replay], 'update-duplicate');
    }
    // One block carrying pool-2's endorsement twice: the second is a replay of the first.
    refused([endorse2, endorse2], 'update-duplicate');
    // An endorsement whose pool id was changed no longer carries that pool's signature.
    refused([forgedEndorse], 'update-bad-signature');

    const b2 = forge(next, b1, body([endorse2]));
    feed(b2);
    expect(node.tip()?.key).toBe(toHex(b2.hash));
    expect(node.tipGov().proposals[toHex(pid)]?.endorsers).toEqual(['pool-1', 'pool-2']);
  });

  it("an EB closure's actions are checked against the tip's governance state before a vote", () => {
    expect(node.kernel.governanceOkOnTip([endorse2])).toBe(false); // on the chain since b2
    expect(node.kernel.governanceOkOnTip([propose])).toBe(false);
    const other = govTx(1, { kind: 'propose', protocolVersion: 3, era: 'leios', epoch: 6, poolId: 'pool-2', sig: new Uint8Array(0) });
    expect(node.kernel.governanceOkOnTip([other])).toBe(true);
    expect(node.kernel.governanceOkOnTip([other, other])).toBe(false);
    expect(node.kernel.governanceOkOnTip([forgedEndorse])).toBe(false);
  });
});
