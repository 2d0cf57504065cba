import { createHash } from 'node:crypto';
import { ed25519, ed25519_hasher } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { vrfKeygen, vrfOutput, vrfProofToHash, vrfProve, vrfVerify } from '../../node/crypto/vrf.ts';
import { fromHex, toHex } from '../../node/crypto/hash.ts';

// RFC 9381 Appendix B.4 (ECVRF-EDWARDS25519-SHA512-ELL2), Examples 19–21.
const VECTORS = [
  {
    sk: '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    pk: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    alpha: '',
    pi: '7d9c633ffeee27349264cf5c667579fc583b4bda63ab71d001f89c10003ab46f14adf9a3cd8b8412d9038531e865c341cafa73589b023d14311c331a9ad15ff2fb37831e00f0acaa6d73bc9997b06501',
    beta: '9d574bf9b8302ec0fc1e21c3ec5368269527b87b462ce36dab2d14ccf80c53cccf6758f058c5b1c856b116388152bbe509ee3b9ecfe63d93c3b4346c1fbc6c54',
  },
  {
    sk: '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    pk: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    alpha: '72',
    pi: '47b327393ff2dd81336f8a2ef10339112401253b3c714eeda879f12c509072ef055b48372bb82efbdce8e10c8cb9a2f9d60e93908f93df1623ad78a86a028d6bc064dbfc75a6a57379ef855dc6733801',
    beta: '38561d6b77b71d30eb97a062168ae12b667ce5c28caccdf76bc88e093e4635987cd96814ce55b4689b3dd2947f80e59aac7b7675f8083865b46c89b2ce9cc735',
  },
  {
    sk: 'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    pk: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    alpha: 'af82',
    pi: '926e895d308f5e328e7aa159c06eddbe56d06846abf5d98c2512235eaa57fdce35b46edfc655bc828d44ad09d1150f31374e7ef73027e14760d42e77341fe05467bb286cc2c9d7fde29120a0b2320d04',
    beta: '121b7f9b9aaaa29099fc04a94ba52784d44eac976dd1a3cca458733be5cd090a7b5fbd148444f17f8daf1fb55cb04b1ae85a626e30a54b4b0f8abf4a43314a58',
  },
];

describe('ECVRF-EDWARDS25519-SHA512-ELL2 (RFC 9381)', () => {
  for (const [i, v] of VECTORS.entries()) {
    it(`matches RFC 9381 B.4 example ${19 + i}`, () => {
      const { sk, pk } = vrfKeygen(fromHex(v.sk));
      expect(toHex(sk)).toBe(v.sk);
      expect(toHex(pk)).toBe(v.pk);
      const pi = vrfProve(sk, fromHex(v.alpha));
      expect(toHex(pi)).toBe(v.pi);
      expect(toHex(vrfProofToHash(pi))).toBe(v.beta);
      // the leader check's shortcut (output without the proof) yields the same beta
      expect(toHex(vrfOutput(sk, fromHex(v.alpha)))).toBe(v.beta);
      const beta = vrfVerify(fromHex(v.pk), fromHex(v.pi), fromHex(v.alpha));
      expect(beta && toHex(beta)).toBe(v.beta);
    });
  }

  const v = VECTORS[1];
  const pk = fromHex(v.pk);
  const pi = fromHex(v.pi);
  const alpha = fromHex(v.alpha);

  it('rejects a wrong alpha, a wrong key and every single-bit flip of the proof', () => {
    expect(vrfVerify(pk, pi, fromHex('73'))).toBeNull();
    expect(vrfVerify(fromHex(VECTORS[0].pk), pi, alpha)).toBeNull();
    for (const byte of [0, 31, 32, 47, 48, 79]) {
      const bad = new Uint8Array(pi);
      bad[byte] ^= 0x01;
      expect(vrfVerify(pk, bad, alpha)).toBeNull();
    }
  });

  it('rejects malformed lengths, non-canonical s and small-order keys', () => {
    expect(vrfVerify(pk.subarray(0, 31), pi, alpha)).toBeNull();
    expect(vrfVerify(pk, pi.subarray(0, 79), alpha)).toBeNull();
    expect(vrfVerify(pk, new Uint8Array(81), alpha)).toBeNull();
    // s + q (still 32 bytes) must be rejected: s must be < q
    const q = 2n ** 252n + 27742317777372353535851937790883648493n;
    let s = 0n;
    for (let i = 79; i >= 48; i--) s = (s << 8n) | BigInt(pi[i]);
    let s2 = s + q;
    const bad = new Uint8Array(pi);
    for (let i = 48; i < 80; i++) {
      bad[i] = Number(s2 & 0xffn);
      s2 >>= 8n;
    }
    expect(vrfVerify(pk, bad, alpha)).toBeNull();
    // identity (y = 1) and a point of order 2 (y = −1) as public keys
    const identity = new Uint8Array(32);
    identity[0] = 1;
    expect(vrfVerify(identity, pi, alpha)).toBeNull();
    const order2 = fromHex('ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f');
    expect(vrfVerify(order2, pi, alpha)).toBeNull();
    // not a point at all
    expect(vrfVerify(fromHex('02' + '00'.repeat(31)), pi, alpha)).toBeNull();
    expect(() => vrfProve(new Uint8Array(31), alpha)).toThrow(/32 bytes/);
    expect(() => vrfProofToHash(new Uint8Array(10))).toThrow(/malformed/);
  });

  it('round-trips for fresh keys and is deterministic', () => {
    const seed = new Uint8Array(32).fill(7);
    const { sk, pk: k } = vrfKeygen(seed);
    const msg = new TextEncoder().encode('slot 42 nonce');
    const p1 = vrfProve(sk, msg);
    expect(toHex(vrfProve(sk, msg))).toBe(toHex(p1));
    expect(toHex(vrfVerify(k, p1, msg)!)).toBe(toHex(vrfProofToHash(p1)));
  });

  // Gamma = x·H comes from OpenSSL's X25519 ladder (u-coordinate, then the sign): against the
  // textbook computation with noble's scalar multiplication, and against an independent verify.
  it('the X25519 path gives the same Gamma as x·H, for random keys and inputs', () => {
    const sha512 = (...p: Uint8Array[]) => {
      const h = createHash('sha512');
      for (const x of p) h.update(x);
      return new Uint8Array(h.digest());
    };
    const q = ed25519.Point.Fn.ORDER;
    const dst = new TextEncoder().encode('ECVRF_edwards25519_XMD:SHA-512_ELL2_NU_\x04');
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 64 }), (seed, alpha) => {
        const { sk, pk } = vrfKeygen(seed);
        const a = sha512(sk).slice(0, 32);
        a[0] &= 248;
        a[31] &= 127;
        a[31] |= 64;
        const x = BigInt('0x' + Buffer.from(a).reverse().toString('hex')) % q;
        const H = ed25519_hasher.encodeToCurve(new Uint8Array([...pk, ...alpha]), { DST: dst });
        const beta = sha512(Uint8Array.of(0x04, 0x03), H.multiply(x).clearCofactor().toBytes(), Uint8Array.of(0x00));
        expect(toHex(vrfOutput(sk, alpha))).toBe(toHex(beta));
        expect(toHex(vrfVerify(pk, vrfProve(sk, alpha), alpha)!)).toBe(toHex(beta));
      }),
      { numRuns: 300, seed: 9381 },
    );
  });
});
