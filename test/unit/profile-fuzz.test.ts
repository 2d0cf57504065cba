// Hostile profiles, property-based and seeded: thousands of mutations of the library's own
// profiles (values swapped for non-finite / fractional / huge / wrongly typed ones, keys added
// or dropped, YAML text corrupted, alias bombs) go through the real loader and planner. Each one
// either yields a Plan whose every value survives JSON (what child processes get: no Infinity or
// NaN turned null) or fails as bad input: a ProfileError, exit code 2, a message without a stack
// trace that names the file. A handful go through the real CLI (`leiosnet run <file> --out …`):
// exit 2, no stack trace, nothing created.

import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { LeiosnetError, ProfileError } from '../../orchestrator/errors.ts';
import { knownProfiles, PROFILES_DIR } from '../../orchestrator/profile/load.ts';
import { loadPlan } from '../../orchestrator/profile/resolve.ts';
import { YAML_LIMITS } from '../../orchestrator/profile/yaml.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'leiosnet-profile-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// library profiles name topology files relative to themselves
cpSync(join(PROFILES_DIR, 'topologies'), join(dir, 'topologies'), { recursive: true });

const library = knownProfiles().map((name) => ({ name, value: parse(readFileSync(join(PROFILES_DIR, `${name}.yaml`), 'utf8')) as Record<string, unknown> }));

/** Every path to a value in a parsed profile. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

const hostileScalar = fc.oneof(
  fc.constantFrom(Infinity, -Infinity, NaN, -1, 0, 0.5, 2.5, -0.000001, 1e300, -1e300, 2 ** 53, 2 ** 53 + 2, 4294967296, 1e-300),
  fc.constantFrom('', ' ', 'fast', '.inf', '1e999', '__proto__', '../../etc/passwd', 'pool-999', '\u0000', 'a'.repeat(300), 'kind'),
  fc.constantFrom(true, false, null),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 12 }),
);
// plausible values too, so that a good share of mutants still plans (and its values are checked)
const benign = fc.constantFrom(1, 2, 3, 4, 10, 60, 100, 0.2, 0.5, 1.5, 'pool-1', 'all', true);
const hostile = fc.oneof(
  { weight: 4, arbitrary: benign },
  { weight: 6, arbitrary: hostileScalar },
  { weight: 1, arbitrary: fc.constantFrom({}, [], [[]], { kind: 'nope' }, { seconds: Infinity }, { slots: 0.5 }, { __proto__: { x: 1 } }) },
  { weight: 1, arbitrary: fc.array(hostileScalar, { maxLength: 4 }) },
);

type Mutation =
  | { op: 'set'; pick: number; value: unknown }
  | { op: 'delete'; pick: number }
  | { op: 'add'; pick: number; key: string; value: unknown };
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ op: fc.constant('set' as const), pick: fc.nat(), value: hostile }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('add' as const), pick: fc.nat(), key: fc.constantFrom('tsp', 'constructor', '__proto__', 'extends', 'kind', 'x'), value: hostile }),
  },
);

function mutate(base: Record<string, unknown>, ms: Mutation[]): unknown {
  let root: unknown = structuredClone(base);
  for (const m of ms) {
    const all = paths(root);
    const p = all.length > 1 ? all[1 + (m.pick % (all.length - 1))]! : [];
    if (p.length === 0) {
      if (m.op === 'set') root = m.value;
      continue;
    }
    let parent = root as Record<string | number, unknown>;
    for (const s of p.slice(0, -1)) parent = parent[s] as Record<string | number, unknown>;
    const last = p[p.length - 1]!;
    if (m.op === 'set') parent[last] = structuredClone(m.value);
    else if (m.op === 'delete') delete parent[last];
    else {
      const target = parent[last];
      if (target !== null && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, m.key, { value: structuredClone(m.value), enumerable: true, writable: true, configurable: true });
    }
  }
  return root;
}

/** YAML text of a value, keeping .inf/.nan (the yaml library writes them that way). */
function toText(v: unknown): string {
  return v === undefined ? '' : stringify(v);
}

const textMutation = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), s: fc.constantFrom('\t', ':', '- ', '&a ', '*a', '*x', '{', '[', '"', '\n  - ', '!!binary ', '!!js/function ', '? ', '%YAML 1.1\n', '---\n', '\u0000', '\ufeff', '<<: *a\n') }),
  fc.record({ kind: fc.constant('duplicate-line' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), s: fc.constantFrom('', '# only a comment\n', '\n\n', '~\n', '[]\n', '42\n', '"a string"\n', '---\n---\n', 'a: 1\n---\nb: 2\n') }),
);

function mutateText(text: string, m: { kind: string; at?: number; s?: string }): string {
  switch (m.kind) {
    case 'truncate':
      return text.slice(0, (m.at ?? 0) % (text.length + 1));
    case 'insert': {
      const i = (m.at ?? 0) % (text.length + 1);
      return text.slice(0, i) + m.s + text.slice(i);
    }
    case 'duplicate-line': {
      const lines = text.split('\n');
      const i = (m.at ?? 0) % lines.length;
      lines.splice(i, 0, lines[i]!);
      return lines.join('\n');
    }
    default:
      return m.s ?? '';
  }
}

function aliasBomb(width: number, depth: number): string {
  const lines = [`l0: &l0 [${Array(width).fill('x').join(',')}]`];
  for (let d = 1; d <= depth; d++) lines.push(`l${d}: &l${d} [${Array(width).fill(`*l${d - 1}`).join(',')}]`);
  return lines.join('\n') + '\n';
}

const outcomes = new Map<string, number>();
const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);

/** Load a file and check the outcome; returns the class of outcome. */
function check(file: string, display: string, sets: string[] = []): string {
  let plan: unknown;
  try {
    plan = loadPlan(file, { cwd: dir, sets });
  } catch (err) {
    if (!(err instanceof ProfileError) && !(err instanceof LeiosnetError)) {
      throw new Error(`${display}: not bad input but ${(err as Error)?.constructor?.name}: ${(err as Error)?.stack ?? String(err)}\n--- profile:\n${readFileSync(file, 'utf8').slice(0, 2000)}`);
    }
    expect((err as LeiosnetError).exitCode, (err as Error).message).toBe(2);
    const msg = (err as Error).message;
    expect(msg.length).toBeGreaterThan(0);
    expect(msg).not.toMatch(/\n\s+at .+:\d+:\d+\)?$/m);
    if (err instanceof ProfileError) {
      // a file is named (the profile, one it extends, a topology file it points at) or the --set
      expect(msg.includes(display) || msg.includes('--set') || /^[^\s:]+:\d+:\d+: /m.test(msg) || /[\w/.-]+\.(ya?ml|json)\b/.test(msg) || /file not found: \S/.test(msg), msg).toBe(true);
      if (process.env.FUZZ_DEBUG && msg.includes(process.env.FUZZ_DEBUG)) console.log(msg, '\n', readFileSync(file, 'utf8').slice(0, 600));
      return `exit 2: ${err.issues[0]!.message.replace(/"[^"]*"|\d[\d.e+-]*|:\d+:\d+/g, '…').slice(0, 50)}`;
    }
    return 'exit 2 (other)';
  }
  // a plan: everything a child process gets survives JSON unchanged (no Infinity/NaN → null)
  const walk = (v: unknown, at: string): void => {
    if (typeof v === 'number') expect(Number.isFinite(v), `${display}: plan value ${at} = ${v}`).toBe(true);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${at}[${i}]`));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${at}.${k}`);
  };
  walk(plan, 'plan');
  expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  return 'plan';
}

let n = 0;
function writeProfile(text: string): { file: string; display: string } {
  const display = `p${n++}.yaml`;
  const file = join(dir, display);
  writeFileSync(file, text);
  return { file, display };
}

describe('profile fuzz (seeded, in-process loader and planner)', () => {
  it('mutated values of every library profile: a plan with finite values, or exit 2 naming the file', () => {
    fc.assert(
      fc.property(fc.nat({ max: library.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, ms) => {
        const base = library[which]!;
        // keep `extends` usable from the temp dir: name the parent by name, not relative path
        const v = mutate(base.value, ms);
        const { file, display } = writeProfile(toText(v));
        count(check(file, display));
      }),
      { seed: 0x12, numRuns: 1000 },
    );
  });

  it('corrupted YAML text: exit 2 naming the file, never a library error', () => {
    fc.assert(
      fc.property(fc.nat({ max: library.length - 1 }), fc.array(textMutation, { minLength: 1, maxLength: 3 }), (which, ms) => {
        let text = readFileSync(join(PROFILES_DIR, `${library[which]!.name}.yaml`), 'utf8');
        for (const m of ms) text = mutateText(text, m);
        const { file, display } = writeProfile(text);
        count(check(file, display));
      }),
      { seed: 0x1212, numRuns: 800 },
    );
  });

  it('hostile --set values on a library profile', () => {
    const targets = ['generator.tps', 'generator.txkbPerS', 'genesis.slotLengthS', 'genesis.k', 'composition.pools', 'scenario.duration', 'scenario.duration.seconds', 'seed', 'composition.links.latencyMs', 'composition.links.bandwidthBps', 'genesis.eras[0].startEpoch', 'node.adversaries.pool-1.x', 'analysis.assertions[0].n', '__proto__.polluted', 'composition.topology.kind'];
    const values = ['.inf', '-.inf', '.nan', '1e999', '2.5', '-1', '9007199254740993', '1e300', '[]', '{}', '', '~', 'x', '*a', '&a [*a]', '{seconds: .inf}', '{slots: 1e20}', '"5"'];
    fc.assert(
      fc.property(fc.constantFrom(...targets), fc.constantFrom(...values), fc.constantFrom('ci-praos', 'ci-test', 'ci-bench', 'quickstart'), (t, v, base) => {
        const spec = `${t}=${v}`;
        count(check(base, `--set ${spec}`, [spec]));
      }),
      { seed: 0x121212, numRuns: 300 },
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('resource limits: alias bombs, deep nesting and size are bad input with the limit named', () => {
    const cases: [string, RegExp][] = [
      [aliasBomb(9, 6), /aliases expand too much/],
      [aliasBomb(30, 3), /aliases expand too much/],
      [`a: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, /nested too deeply|YAML syntax error/],
      [`a: ${'['.repeat(YAML_LIMITS.maxDepth + 2)}${']'.repeat(YAML_LIMITS.maxDepth + 2)}\n`, /nested too deeply/],
      [`x: &x ${'['.repeat(40)}1${']'.repeat(40)}\ny: ${'['.repeat(40)}*x${']'.repeat(40)}\n`, /nested too deeply/],
      [`description: "${'a'.repeat(YAML_LIMITS.maxBytes)}"\n`, /too large/],
      ['', /empty/],
      ['# a comment\n\n# another\n', /empty/],
      ['~\n', /only null/],
      ['generator:\n  tps: .inf\n', /generator\.tps: expected number > 0, got \.inf/],
      ['generator:\n  tps: .nan\n', /generator\.tps: expected number > 0, got \.nan/],
      ['composition:\n  pools: 2.5\n', /composition\.pools: expected integer/],
      ['analysis:\n  warmupSlots: 1e300\n', /analysis\.warmupSlots: expected at most 9007199254740991/],
      ['scenario:\n  steps:\n    - wait: { seconds: 1e9 }\n', /wait\.seconds: expected at most 2000000/],
      ['genesis:\n  slotLengthS: 1000\nscenario:\n  duration: { slots: 100000 }\n', /scenario\.duration: the run would last/],
      ['generator:\n  txkbPerS: 9000000\n  txSizeBytes: 100\n', /generator\.txkbPerS/],
      ['composition:\n  links:\n    bandwidthBps: 0.001\n', /bandwidthBps: expected at least 1000/],
    ];
    for (const [text, re] of cases) {
      const { file, display } = writeProfile(text);
      const t0 = Date.now();
      let err: unknown;
      try {
        loadPlan(file, { cwd: dir });
      } catch (e) {
        err = e;
      }
      expect(err, display).toBeInstanceOf(ProfileError);
      expect((err as ProfileError).message, text.slice(0, 80)).toMatch(re);
      expect((err as ProfileError).message).toContain(display);
      expect(Date.now() - t0, 'a limit is hit early, not after expanding').toBeLessThan(10_000);
    }
  });

  it('every outcome class was seen (the fuzz reaches both sides)', () => {
    const plans = outcomes.get('plan') ?? 0;
    const bad = [...outcomes].filter(([k]) => k.startsWith('exit 2')).reduce((a, [, v]) => a + v, 0);
    console.log(`profile fuzz: ${plans} plans, ${bad} exit 2; top classes:\n` + [...outcomes].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `  ${v}\t${k}`).join('\n'));
    expect(plans).toBeGreaterThan(50);
    expect(bad).toBeGreaterThan(1000);
  });
});

describe('profile fuzz through the real CLI', () => {
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  const cases: [string, string][] = [
    ['bomb.yaml', aliasBomb(9, 6)],
    ['empty.yaml', '# nothing here\n'],
    ['inf.yaml', 'extends: ci-praos\ngenerator:\n  tps: .inf\n'],
    ['frac.yaml', 'extends: ci-praos\ncomposition:\n  pools: 2.5\n'],
    ['deep.yaml', `extends: ci-praos\ndescription: ${'['.repeat(200)}${']'.repeat(200)}\n`],
    ['wait.yaml', 'extends: ci-praos\nscenario:\n  steps:\n    - wait: { seconds: 1e12 }\n'],
  ];
  it('each: exit 2, one clear message naming the file, nothing started or created (run side by side)', async () => {
    const results = await Promise.all(
      cases.map(([name, text]) => {
        const file = join(dir, name);
        writeFileSync(file, text);
        const out = join(dir, `out-${name}`);
        return new Promise<{ name: string; out: string; status: number | null; stderr: string }>((resolve) => {
          const child = spawn(process.execPath, [join(REPO, 'bin/leiosnet.js'), 'run', file, '--out', out], { cwd: dir, env: { ...process.env, LEIOSNET_HOME: home }, stdio: ['ignore', 'ignore', 'pipe'] });
          let stderr = '';
          child.stderr.on('data', (c) => (stderr += c));
          const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
          child.on('exit', (status) => {
            clearTimeout(timer);
            resolve({ name, out, status, stderr });
          });
        });
      }),
    );
    for (const r of results) {
      expect(r.status, `${r.name}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(r.name);
      expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+\)?$/m);
      expect(r.stderr.trim().split('\n').length).toBeLessThanOrEqual(5);
      expect(existsSync(r.out), `${r.name}: no run dir`).toBe(false);
    }
    expect(existsSync(join(home, 'runs')) ? readdirSync(join(home, 'runs')) : []).toEqual([]);
  }, 120_000);
});

describe('path tricks in a profile', () => {
  it('extends or a topology file pointing at a device, a directory or a long chain: exit 2', () => {
    const cases: [string, RegExp][] = [
      ['extends: /dev/zero\n', /not a regular file/],
      ['extends: /dev/null\n', /not a regular file/],
      [`extends: ${dir}\n`, /is a directory/],
      ['composition:\n  topology: { kind: leios-sim, file: /dev/urandom }\n', /not a regular file/],
    ];
    for (const [text, re] of cases) {
      const { file } = writeProfile(text);
      let err: unknown;
      try {
        loadPlan(file, { cwd: dir });
      } catch (e) {
        err = e;
      }
      expect(err, text).toBeInstanceOf(ProfileError);
      expect((err as Error).message, text).toMatch(re);
    }
    // a chain of 40 profiles, each extending the next
    for (let i = 0; i < 40; i++) writeFileSync(join(dir, `chain-${i}.yaml`), i === 39 ? 'seed: 3\n' : `extends: ./chain-${i + 1}.yaml\n`);
    expect(() => loadPlan(join(dir, 'chain-0.yaml'), { cwd: dir })).toThrow(/extends chain longer than 32/);
  });
});
