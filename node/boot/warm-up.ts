import { checkLeadership, forgeBlock, type ForgeKeys } from '../consensus/forge.ts';
import { validateHeader, type HeaderContext } from '../consensus/header-validation.ts';
import { KesCredential } from '../consensus/kes-credential.ts';
import { initialNonceState } from '../consensus/nonce.ts';
import type { StakeView } from '../consensus/stake.ts';
import { ed25519PublicKey, ed25519Signer } from '../crypto/ed25519.ts';
import { vrfKeygen } from '../crypto/vrf.ts';

// A node's first header costs several times a warm one: noble builds its base-point tables on
// the first VRF prove and verify, and V8 compiles the header path (~70 ms of CPU against ~5 ms).
// When every node of a large testnet meets the first block at the same moment, that burst
// holds event loops past slot boundaries (missed leadership checks right after the first
// block). Forging and validating one throwaway header at start-up pays it before the clock runs.

const RULES = { slotsPerKesPeriod: 100, maxKesEvolutions: 4 };

/** Forge and fully validate a header under throwaway keys; returns the CPU milliseconds spent. */
export function warmHeaderPath(): number {
  const t0 = process.cpuUsage();
  const cold = new Uint8Array(32).fill(0x5a);
  const vrf = vrfKeygen(new Uint8Array(32).fill(0xa5));
  const sign = ed25519Signer(cold);
  const pool = { id: 'warm-up', stake: 1n, coldVkey: ed25519PublicKey(cold), vrfVkey: vrf.pk, blsVkey: new Uint8Array(96) };
  const stake: StakeView = { total: 1n, pools: [pool], byColdKey: () => pool, byId: () => pool };
  const keys: ForgeKeys = { poolId: pool.id, coldVkey: pool.coldVkey, sign, kes: KesCredential.derived(sign, RULES), vrfSk: vrf.sk, vrfVkey: vrf.pk, stake: 1n };
  const nonce = initialNonceState(new Uint8Array(32));
  const lp = checkLeadership(1, nonce, keys, { epochLengthSlots: 1000, f: 1, totalStake: 1n });
  if (!lp) throw new Error('warm-up: a pool with all stake at f = 1 must lead');
  const block = forgeBlock(lp, null, { txs: [], cert: null }, keys, 1);
  const ctx: HeaderContext = { stake, f: 1, epochLengthSlots: 1000, maxHeaderSize: 1 << 16, currentSlot: 1, futureToleranceSlots: 0, protocolVersionAt: () => 1, praos: RULES };
  validateHeader(block.header, block.headerBytes.length, null, nonce, ctx);
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000;
}
