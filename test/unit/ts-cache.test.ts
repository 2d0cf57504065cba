import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { NODE22 } from '../support/testnet.ts';

// node/boot/ts-cache.js, preloaded in real Node processes: a start whose sources did not change
// loads the stored stripped JavaScript (it never re-strips), a changed source gets a new entry,
// positions survive (stack traces name the .ts line), and a cache that cannot be written costs
// only the saving.

const HOOK = pathToFileURL(path.resolve('node/boot/ts-cache.js')).href;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-tscache-'));
const src = path.join(dir, 'src');
const cache = path.join(dir, 'cache');
fs.mkdirSync(src);
fs.writeFileSync(path.join(src, 'package.json'), '{"type":"module"}');
fs.writeFileSync(path.join(src, 'b.ts'), 'export function twice(n: number): number {\n  return 2 * n;\n}\n');
const A = (marker: string) =>
  `import { twice } from './b.ts';\ninterface Shape { n: number }\nconst s: Shape = { n: 21 };\nconsole.log('${marker}', twice(s.n));\nif (process.argv[2] === 'throw') throw new Error('boom');\n`;
fs.writeFileSync(path.join(src, 'a.ts'), A('first'));

function run(cacheDir: string, ...args: string[]) {
  const r = spawnSync(NODE22, ['--import', HOOK, path.join(src, 'a.ts'), ...args], { env: { ...process.env, LEIOSNET_TS_CACHE: cacheDir }, encoding: 'utf8' });
  return { code: r.status, out: r.stdout.trim(), err: r.stderr };
}
const entries = () => fs.readdirSync(cache).filter((f) => f.endsWith('.js'));

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('stripped-source cache (node --import node/boot/ts-cache.js)', () => {
  it('strips and stores each module once, without Node\'s experimental warning', () => {
    const r = run(cache);
    expect(r).toMatchObject({ code: 0, out: 'first 42' });
    expect(r.err).not.toMatch(/ExperimentalWarning|stripTypeScriptTypes/);
    expect(entries()).toHaveLength(2);
    const a = entries().map((f) => fs.readFileSync(path.join(cache, f), 'utf8')).find((s) => s.includes("'first'"))!;
    expect(a).not.toMatch(/interface Shape|: Shape/); // plain JavaScript
  });

  it('an unchanged source is loaded from the cache, not stripped again', () => {
    const f = entries().find((e) => fs.readFileSync(path.join(cache, e), 'utf8').includes("'first'"))!;
    const js = fs.readFileSync(path.join(cache, f), 'utf8');
    fs.writeFileSync(path.join(cache, f), js.replace("'first'", "'from-cache'"));
    expect(run(cache)).toMatchObject({ code: 0, out: 'from-cache 42' });
    fs.writeFileSync(path.join(cache, f), js);
  });

  it('a changed source gets its own entry; stack traces keep the .ts line numbers', () => {
    fs.writeFileSync(path.join(src, 'a.ts'), A('second'));
    expect(run(cache)).toMatchObject({ code: 0, out: 'second 42' });
    expect(entries()).toHaveLength(3);
    const t = run(cache, 'throw');
    expect(t.code).not.toBe(0);
    expect(t.err).toContain(`a.ts:5`);
    expect(t.err).toContain('boom');
  });

  it('a cache directory that cannot be created only costs the saving', () => {
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, 'x');
    const r = run(path.join(blocker, 'cache'));
    expect(r).toMatchObject({ code: 0, out: 'second 42' });
    expect(r.err).not.toMatch(/ExperimentalWarning|ENOTDIR/);
  });
});
