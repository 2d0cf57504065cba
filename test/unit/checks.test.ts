// Functional checks: the registry covers every name the profile schema accepts, and the txs the
// checks build are what the real ledger and mempool say they are (accepted, conflict,
// missing-input, too-large, bad-witness). The checks against live nodes run in the
// upgrade-suite e2e.
import { describe, expect, it } from 'vitest';
import { hash256, toHex } from '../../node/crypto/hash.ts';
import type { Genesis } from '../../node/genesis/schema.ts';
import { buildTx, Ledger, makeSigner, signTx } from '../../node/ledger/index.ts';
import { Mempool } from '../../node/mempool/index.ts';
import { profileFromObject } from '../../orchestrator/profile/load.ts';
import { CHECK_NAMES, CHECK_REGISTRY, CheckWallet } from '../../orchestrator/scenario/checks/index.ts';
import { payment } from '../../orchestrator/scenario/checks/common.ts';
import type { CheckContext } from '../../orchestrator/scenario/checks/types.ts';

const pp = { minFeeA: 44, minFeeB: 155_381, maxTxSize: 3000, maxBlockBodySize: 4096, maxHeaderSize: 1100 };
const seed = new Uint8Array(32).fill(3);
const funder = makeSigner(seed);
const genesis = {
  protocolParams: pp,
  securityParam: 10,
  initialUtxo: Array.from({ length: 4 }, (_, index) => ({ txId: toHex(hash256(new Uint8Array([9]))), index, address: toHex(funder.address), amount: 1_000_000_000_000 })),
} as unknown as Genesis;

function setup() {
  const wallet = new CheckWallet(genesis, seed);
  const ledger = Ledger.fromGenesis(genesis);
  const mempool = new Mempool(ledger, { capacityBytes: 1_000_000 });
  const ctx = { wallet } as unknown as CheckContext;
  // fund: the last genesis output into our own key's outputs, applied as a block would
  const f = wallet.fundingTx(8)!;
  expect(ledger.applyTx(f.tx).ok ?? true).toBeTruthy();
  wallet.add(f.tx);
  return { wallet, ledger, mempool, ctx, funding: f };
}

describe('check registry', () => {
  it('has one check per name the schema knows, each named as registered', () => {
    expect(Object.keys(CHECK_REGISTRY).sort()).toEqual([...CHECK_NAMES].sort());
    for (const [n, def] of Object.entries(CHECK_REGISTRY)) expect(def.name).toBe(n);
  });
});

describe('check wallet and the txs checks build', () => {
  it('funds from the last genesis output into outputs of its own key', () => {
    const { wallet, funding } = setup();
    expect(funding.spent.index).toBe(3);
    expect(funding.tx.body.outputs.every((o) => toHex(o.address) === toHex(wallet.own.address))).toBe(true);
    expect(wallet.available).toBe(9); // 8 + change
    expect(toHex(wallet.own.address)).not.toBe(toHex(funder.address));
  });

  it('a payment and a multi-output tx from its coins validate on the real ledger', () => {
    const { wallet, ledger, ctx } = setup();
    const a = payment(wallet.take()!, [{ address: new Uint8Array(28).fill(1), amount: 1_000_000 }], ctx);
    expect(ledger.checkTx(a)).toBeNull();
    const outs = Array.from({ length: 20 }, (_, i) => ({ address: new Uint8Array(28).fill(i + 1), amount: 1_000_000 + i }));
    const m = payment(wallet.take()!, outs, ctx);
    expect(m.body.outputs.length).toBe(21);
    expect(ledger.checkTx(m)).toBeNull();
  });

  it('double spend: the mempool says conflict while the first waits, the ledger missing-input after it', () => {
    const { wallet, ledger, mempool, ctx } = setup();
    const coin = wallet.take()!;
    const a = payment(coin, [{ address: new Uint8Array(28).fill(1), amount: 1_000_000 }], ctx);
    const b = payment(coin, [{ address: new Uint8Array(28).fill(2), amount: 2_000_000 }], ctx);
    expect(mempool.addTx(a).ok).toBe(true);
    expect(mempool.addTx(b)).toMatchObject({ ok: false, reason: 'conflict' });
    ledger.applyTx(a);
    expect(ledger.checkTx(b)).toBe('missing-input');
  });

  it('a flipped signature bit and a stranger key are both bad-witness', () => {
    const { wallet, ledger, ctx } = setup();
    const good = payment(wallet.take()!, [{ address: new Uint8Array(28).fill(1), amount: 1_000_000 }], ctx);
    const bytes = new Uint8Array(good.bytes);
    bytes[bytes.length - 64] ^= 1; // the signature is the encoding's last 64 bytes
    const m = new Mempool(ledger, { capacityBytes: 1_000_000 });
    expect(m.add(bytes)).toMatchObject({ ok: false, reason: 'bad-witness' });
    const stranger = signTx(good.body, [makeSigner(new Uint8Array(32).fill(7))]);
    expect(ledger.checkTx(stranger)).toBe('bad-witness');
  });

  it('max size: exactly maxTxSize is accepted, one byte more is too-large', () => {
    const { wallet, ledger, mempool } = setup();
    const coin = wallet.take()!;
    const { maxTxSize, ...fees } = pp;
    const build = (size: number, p: object) =>
      buildTx({ inputs: [coin], outputs: [{ address: wallet.own.address, amount: 1_000_000 }], changeAddress: wallet.own.address, protocolParams: p as typeof pp, signers: [coin.signer], padToBytes: size });
    const max = build(maxTxSize, pp);
    expect(max.size).toBe(maxTxSize);
    expect(ledger.checkTx(max)).toBeNull();
    const over = build(maxTxSize + 1, fees);
    expect(over.size).toBe(maxTxSize + 1);
    expect(mempool.add(over.bytes)).toMatchObject({ ok: false, reason: 'too-large' });
  });
});

describe('check steps in a profile', () => {
  it('accepts the known names and refuses a typo naming the field', () => {
    const base = { scenario: { steps: [{ check: { name: 'payment', node: 'pool-1' } }, { check: { name: 'rollback', groups: [['pool-1'], ['pool-2']] } }] } };
    expect(() => profileFromObject(base)).not.toThrow();
    let msg = '';
    try {
      profileFromObject({ scenario: { steps: [{ check: { name: 'paymnet' } }] } });
    } catch (e) {
      msg = (e as Error).message;
      expect((e as { exitCode?: number }).exitCode).toBe(2);
    }
    expect(msg).toMatch(/scenario\.steps\[0\]\.check\.name/);
    expect(msg).toMatch(/payment/);
  });
});
