import { describe, expect, it } from 'vitest';
import { ed25519PublicKey, ed25519Verify } from '../../node/crypto/ed25519.ts';
import { kesKeygen, kesVerificationKey } from '../../node/crypto/kes.ts';
import { checkOpCert, issueOpCert, opCertFromJson, opCertSignable, opCertToJson, verifyOpCertSignature } from '../../node/crypto/opcert.ts';

const cold = new Uint8Array(32).fill(11);
const coldVk = ed25519PublicKey(cold);
const hot = kesVerificationKey(kesKeygen(new Uint8Array(32).fill(12)));
const rules = { slotsPerKesPeriod: 10, maxKesEvolutions: 3 };

describe('operational certificate', () => {
  it('signs hot_vkey ‖ counter (8 B BE) ‖ kes_period (8 B BE) with the cold key', () => {
    const s = opCertSignable(hot, 0x0102, 0x0304);
    expect(s.length).toBe(48);
    expect([...s.subarray(32)]).toEqual([0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 3, 4]);
    const oc = issueOpCert(cold, hot, 0x0102, 0x0304);
    expect(ed25519Verify(coldVk, s, oc.sigma)).toBe(true);
    expect(verifyOpCertSignature(coldVk, oc)).toBe(true);
    expect(verifyOpCertSignature(coldVk, { ...oc, counter: 0x0103 })).toBe(false);
    expect(verifyOpCertSignature(coldVk, { ...oc, kesPeriod: 0 })).toBe(false);
    expect(verifyOpCertSignature(ed25519PublicKey(new Uint8Array(32).fill(13)), oc)).toBe(false);
  });

  it('period bounds: opcert_start ≤ kes_period < opcert_start + maxKesEvolutions', () => {
    const oc = issueOpCert(cold, hot, 0, 2); // valid for KES periods 2, 3, 4 = slots 20..49
    expect(checkOpCert(oc, 19, coldVk, 0, rules)).toMatchObject({ error: 'kes-before-start' });
    expect(checkOpCert(oc, 20, coldVk, 0, rules)).toEqual({ error: null, evolution: 0 });
    expect(checkOpCert(oc, 49, coldVk, 0, rules)).toEqual({ error: null, evolution: 2 });
    expect(checkOpCert(oc, 50, coldVk, 0, rules)).toMatchObject({ error: 'kes-after-end' });
  });

  it('counter: a stale counter is refused, one step up is accepted, two steps are refused', () => {
    const at = (n: number) => issueOpCert(cold, hot, n, 0);
    expect(checkOpCert(at(0), 5, coldVk, 0, rules).error).toBeNull();
    expect(checkOpCert(at(1), 5, coldVk, 0, rules).error).toBeNull();
    expect(checkOpCert(at(3), 5, coldVk, 3, rules).error).toBeNull();
    expect(checkOpCert(at(2), 5, coldVk, 3, rules).error).toBe('opcert-counter-too-small');
    expect(checkOpCert(at(5), 5, coldVk, 3, rules).error).toBe('opcert-counter-over-incremented');
    expect(checkOpCert({ ...at(1), sigma: new Uint8Array(64) }, 5, coldVk, 1, rules).error).toBe('bad-opcert-signature');
  });

  it('JSON file round trip, with field-naming errors', () => {
    const oc = issueOpCert(cold, hot, 4, 7);
    const j = opCertToJson(oc);
    expect(j.type).toBe('NodeOperationalCertificate');
    expect(opCertFromJson(JSON.parse(JSON.stringify(j)))).toEqual(oc);
    expect(() => opCertFromJson({ ...j, counter: -1 })).toThrow(/field counter/);
    expect(() => opCertFromJson({ ...j, hotVkey: 'zz' })).toThrow(/field hotVkey/);
    expect(() => opCertFromJson({ ...j, type: 'X' })).toThrow(/field type/);
  });
});
