import { bytesEqual } from '../node/crypto/hash.ts';
import { inputKey, type Tx } from '../node/ledger/index.ts';

// What the generator keeps of a tx seen on the followed chain: its id, the inputs it spends and
// the outputs it pays to us. The follower reduces every decoded tx to this at once, so a block's
// (or a certified EB's) tx bytes, witnesses and other parties' outputs are never held: the
// generator's memory no longer steps up with the largest certified EB of a run.

export interface ChainTx {
  readonly id: Uint8Array;
  readonly idHex: string;
  /** `txIdHex#index` of every input */
  readonly inputs: readonly string[];
  /** outputs to our address: their index in the tx and amount */
  readonly ours: readonly { readonly index: number; readonly amount: number }[];
}

export function toChainTx(tx: Tx, address: Uint8Array): ChainTx {
  const ours: { index: number; amount: number }[] = [];
  tx.body.outputs.forEach((o, index) => {
    if (bytesEqual(o.address, address)) ours.push({ index, amount: o.amount });
  });
  // a copy: the id may be a view into a larger buffer the record would otherwise keep alive
  return { id: tx.id.slice(), idHex: tx.idHex, inputs: tx.body.inputs.map(inputKey), ours };
}
