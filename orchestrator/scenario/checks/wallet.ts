// The checks' own funds. The genesis UTxO belongs to the tx-generator's key; the first check
// that needs funds spends one genesis output from the far end of the list (the generator hands
// its outputs out oldest first and splits the first ones, so it reaches the last ones least)
// into outputs of a key of the checks' own. Every later check spends those, so checks and the
// generator never compete for an input. Outputs come back once a check saw its tx included.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, hash256, toHex } from '../../../node/crypto/hash.ts';
import type { Genesis } from '../../../node/genesis/schema.ts';
import { buildTx, makeSigner, type BuildTxInput, type Tx, type TxOut, type TxSigner } from '../../../node/ledger/tx.ts';

export interface Coin extends BuildTxInput {
  readonly amount: number;
  readonly signer: TxSigner;
  readonly key: string;
}

export const CHECK_OUTPUT = 2_000_000_000;

export class CheckWallet {
  readonly genesis: Genesis;
  readonly funder: TxSigner;
  readonly own: TxSigner;
  private readonly coins: Coin[] = [];
  /** genesis outputs not tried yet, the last first */
  private readonly genesisLeft: Coin[];

  constructor(genesis: Genesis, funderSeed: Uint8Array) {
    this.genesis = genesis;
    this.funder = makeSigner(funderSeed);
    this.own = makeSigner(hash256(new Uint8Array([...funderSeed, ...new TextEncoder().encode('leiosnet/checks')])));
    const addr = toHex(this.funder.address);
    this.genesisLeft = genesis.initialUtxo
      .filter((u) => u.address === addr)
      .map((u) => ({ txId: fromHex(u.txId), index: u.index, amount: u.amount, signer: this.funder, key: `${u.txId}#${u.index}` }))
      .reverse();
  }

  static fromRunDir(runDir: string): CheckWallet {
    const genesis = JSON.parse(readFileSync(join(runDir, 'genesis', 'genesis.json'), 'utf8')) as Genesis;
    const key = JSON.parse(readFileSync(join(runDir, 'genesis', 'keys', 'generator.skey'), 'utf8')) as { hex: string };
    return new CheckWallet(genesis, fromHex(key.hex));
  }

  get pp() {
    return this.genesis.protocolParams;
  }

  get available(): number {
    return this.coins.length;
  }

  /** A funding tx: one genesis output into `n` outputs of our own key (plus change); undefined when none is left. */
  fundingTx(n: number): { tx: Tx; spent: Coin } | undefined {
    const g = this.genesisLeft.shift();
    if (!g) return undefined;
    const outputs: TxOut[] = Array.from({ length: n }, () => ({ address: this.own.address, amount: CHECK_OUTPUT }));
    const tx = buildTx({ inputs: [g], outputs, changeAddress: this.own.address, protocolParams: this.pp, signers: [g.signer] });
    return { tx, spent: g };
  }

  /** Take one of our coins (it is ours again only through `add` of a tx's outputs). */
  take(): Coin | undefined {
    return this.coins.shift();
  }

  /** Give back a coin whose tx was refused everywhere. */
  giveBack(c: Coin): void {
    this.coins.unshift(c);
  }

  /** The outputs of an included tx that belong to our key become spendable. */
  add(tx: Tx): void {
    tx.body.outputs.forEach((o, index) => {
      if (toHex(o.address) !== toHex(this.own.address)) return;
      this.coins.push({ txId: tx.id, index, amount: o.amount, signer: this.own, key: `${tx.idHex}#${index}` });
    });
  }
}
