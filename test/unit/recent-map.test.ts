import { describe, expect, it } from 'vitest';
import { RecentMap } from '../../node/util/recent-map.ts';

describe('RecentMap', () => {
  it('evicts the oldest past the count', () => {
    const m = new RecentMap<number>({ maxEntries: 3 });
    for (let i = 0; i < 5; i++) m.set(`k${i}`, i);
    expect(m.size).toBe(3);
    expect(m.get('k0')).toBeUndefined();
    expect(m.get('k1')).toBeUndefined();
    expect(m.get('k4')).toBe(4);
  });

  it('keeps the byte budget and accounts replacements', () => {
    const m = new RecentMap<Uint8Array>({ maxBytes: 100, sizeOf: (b) => b.length });
    m.set('a', new Uint8Array(40));
    m.set('b', new Uint8Array(40));
    m.set('a', new Uint8Array(10)); // replaced: a is now the newest, 50 bytes held
    expect(m.bytes).toBe(50);
    m.set('c', new Uint8Array(60)); // 110 > 100: b (the oldest) goes
    expect(m.has('b')).toBe(false);
    expect(m.bytes).toBe(70);
    expect(m.delete('a')).toBe(true);
    expect(m.bytes).toBe(60);
  });

  it('forgets entries older than maxAgeMs on the next set, whatever the count', () => {
    let now = 0;
    const m = new RecentMap<string>({ maxEntries: 1000, maxAgeMs: 60_000, now: () => now });
    for (let i = 0; i < 10; i++) ((now = i * 1000), m.set(`old${i}`, 'x'));
    now = 65_000; // old0..old4 are past 60 s
    m.set('new', 'y');
    expect(m.size).toBe(6);
    expect(m.has('old4')).toBe(false);
    expect(m.has('old5')).toBe(true);
    // a steady rate holds a steady size: one entry per second for ten minutes keeps ≤ 61
    for (let s = 66; s < 666; s++) ((now = s * 1000), m.set(`s${s}`, 'z'));
    expect(m.size).toBeLessThanOrEqual(61);
  });

  it('never evicts the entry just set, even when it alone is over budget', () => {
    const m = new RecentMap<Uint8Array>({ maxBytes: 10, sizeOf: (b) => b.length });
    m.set('big', new Uint8Array(50));
    expect(m.has('big')).toBe(true);
    m.set('next', new Uint8Array(5));
    expect(m.has('big')).toBe(false);
    expect(m.bytes).toBe(5);
  });
});
