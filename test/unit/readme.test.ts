import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import { withReference } from '../../orchestrator/profile/reference.ts';

describe('README', () => {
  it('carries the current profile reference generated from the schema (npm run docs)', () => {
    const text = fs.readFileSync('README.md', 'utf8');
    expect(withReference(text)).toBe(text);
    expect(text).toContain('| `generator.tps` |');
  });
  it('has the two-command quick start', () => {
    const text = fs.readFileSync('README.md', 'utf8');
    expect(text).toContain('npm ci && npm start');
    expect(text).toContain('npm ci && npm test');
  });
});
