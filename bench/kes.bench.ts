// npm run bench:kes — Sum6KES (node/crypto/kes.ts) next to plain Ed25519 (node:crypto):
// keygen, sign, verify, evolve, and a whole header check (opcert + KES) against the old cold-key one.
import { performance } from 'node:perf_hooks';
import { ed25519PublicKey, ed25519Sign, ed25519Signer, ed25519Verify } from '../node/crypto/ed25519.ts';
import { kesEvolve, kesEvolveTo, kesKeygen, kesSign, kesVerificationKey, kesVerify } from '../node/crypto/kes.ts';
import { checkOpCert, issueOpCert } from '../node/crypto/opcert.ts';

function time(label: string, n: number, f: (i: number) => void): number {
  for (let i = 0; i < Math.min(50, n); i++) f(i); // warm-up
  const t = performance.now();
  for (let i = 0; i < n; i++) f(i);
  const us = ((performance.now() - t) * 1000) / n;
  console.log(`${label.padEnd(46)} ${us.toFixed(1).padStart(9)} µs`);
  return us;
}

const seed = new Uint8Array(32).fill(7);
const msg = new Uint8Array(700).fill(1); // about a header body
const edSign = ed25519Signer(seed);
const edVk = ed25519PublicKey(seed);
const edSig = edSign(msg);
const N = 2000;

console.log('# Ed25519 (node:crypto)');
const edS = time('ed25519 sign (cached key)', N, () => edSign(msg));
time('ed25519 sign (seed each time)', N, () => ed25519Sign(seed, msg));
const edV = time('ed25519 verify', N, () => ed25519Verify(edVk, msg, edSig));

console.log('# Sum6KES (64 periods, 448 B signatures)');
time('kes keygen (period 0)', 100, (i) => kesKeygen(new Uint8Array(32).fill(i & 255)));
const keys = [0, 31, 32, 63].map((t) => kesEvolveTo(kesKeygen(seed), t));
const vk = kesVerificationKey(keys[0]);
const sigs = keys.map((k) => kesSign(k, msg));
const kS = time('kes sign', N, (i) => kesSign(keys[i & 3], msg));
const kV = time('kes verify', N, (i) => kesVerify(vk, keys[i & 3].period, msg, sigs[i & 3]));
let k = kesKeygen(seed);
time('kes evolve (mean over 63 evolutions)', 63, () => (k = k.period < 63 ? kesEvolve(k) : kesKeygen(seed)));
const oc = issueOpCert(seed, vk, 0, 0);
const rules = { slotsPerKesPeriod: 100, maxKesEvolutions: 64 }; // the sampled periods go up to 63
const hV = time('header auth: opcert check + kes verify', N, (i) => {
  const slot = keys[i & 3].period * 100;
  const r = checkOpCert(oc, slot, edVk, 0, rules);
  if (r.error !== null || !kesVerify(vk, r.evolution, msg, sigs[i & 3])) throw new Error('bad');
});
console.log(`# ratios: kes sign / ed25519 sign ${(kS / edS).toFixed(2)}×, kes verify / ed25519 verify ${(kV / edV).toFixed(2)}×, header auth / ed25519 verify ${(hV / edV).toFixed(2)}×`);
