import { describe, expect, it } from 'vitest';
import { warmHeaderPath } from '../../node/boot/warm-up.ts';

describe('start-up warm-up', () => {
  it('forges and fully validates a throwaway header (validateHeader throws on any failed check)', () => {
    const ms = warmHeaderPath();
    expect(Number.isFinite(ms)).toBe(true);
    expect(ms).toBeGreaterThan(0);
    expect(() => warmHeaderPath()).not.toThrow();
  });
});
