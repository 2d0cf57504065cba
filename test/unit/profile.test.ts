import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { ProfileError, UserError } from '../../orchestrator/errors.ts';
import { schemaFiles } from '../../orchestrator/profile/json-schema.ts';
import { validatorFiles } from '../../orchestrator/profile/standalone-validators.ts';
import { formatProfileList, listProfiles } from '../../orchestrator/profile/list.ts';
import { knownProfiles, loadProfile, profileFromObject, PROFILES_DIR } from '../../orchestrator/profile/load.ts';
import { resolvePlan } from '../../orchestrator/profile/resolve.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const FIX = 'test/fixtures/profiles/';
const opts = { cwd: REPO };

/** The ProfileError a load throws; fails the test if it does not throw one. */
function loadError(ref: string, sets?: string[]): ProfileError {
  try {
    resolvePlan(loadProfile(ref, { ...opts, sets }));
  } catch (err) {
    expect(err).toBeInstanceOf(ProfileError);
    expect(err).toBeInstanceOf(UserError);
    expect((err as ProfileError).exitCode).toBe(2);
    return err as ProfileError;
  }
  throw new Error(`${ref} loaded without error`);
}

describe('profile loader: bad input', () => {
  it('unknown field: file, line:col, path and the closest known name', () => {
    const e = loadError(`${FIX}unknown-field.yaml`);
    expect(e.message).toBe(`${FIX}unknown-field.yaml:3:3: generator.tsp: unknown field "tsp"; did you mean "tps"?`);
    expect(e.issues[0]).toMatchObject({ path: 'generator.tsp', location: { file: `${FIX}unknown-field.yaml`, line: 3, col: 3 } });
  });

  it('wrong type: what was expected and what was found', () => {
    const e = loadError(`${FIX}wrong-type.yaml`);
    expect(e.message).toBe(`${FIX}wrong-type.yaml:3:8: generator.tps: expected number > 0, got "fast"`);
  });

  it('out of range: every violation, each with its range', () => {
    const e = loadError(`${FIX}out-of-range.yaml`);
    expect(e.issues).toHaveLength(2);
    expect(e.message).toContain(`${FIX}out-of-range.yaml:3:10: composition.pools: expected integer ≥ 1 and ≤ 5000, got 0`);
    expect(e.message).toContain(`${FIX}out-of-range.yaml:5:16: genesis.slotLengthS: expected number ≥ 0.1, got 0.05`);
  });

  it('YAML syntax error names the file and line', () => {
    const e = loadError(`${FIX}syntax-error.yaml`);
    expect(e.message).toMatch(new RegExp(`^${FIX}syntax-error\\.yaml:[45]:\\d+: YAML syntax error: `));
  });

  it('missing file', () => {
    expect(loadError('./no-such-profile.yaml').message).toBe('profile file not found: ./no-such-profile.yaml');
  });

  it('unknown profile name: suggestion and the known names', () => {
    const e = loadError('ci-tst');
    expect(e.message).toContain('unknown profile "ci-tst"; did you mean "ci-test"?');
    // every library profile is named (the library grows: benchmark families, attacks)
    expect(e.message).toContain(`Known profiles: ${knownProfiles().join(', ')}`);
    expect(e.message).toMatch(/Known profiles: .*ci-bench, ci-praos, ci-test, .*pt-cluster-52, quickstart, scale-100/);
  });

  it('extends cycle', () => {
    const e = loadError(`${FIX}cycle-a.yaml`);
    expect(e.message).toContain('extends cycle:');
    expect(e.message).toContain(`${FIX}cycle-a.yaml → ${FIX}cycle-b.yaml → ${FIX}cycle-a.yaml`);
    expect(e.issues[0]!.location).toMatchObject({ file: `${FIX}cycle-b.yaml`, line: 2 });
  });

  it('bad --set path: unknown field with suggestion, attributed to the flag', () => {
    const e = loadError('quickstart', ['generator.tsp=5']);
    expect(e.message).toBe('--set generator.tsp=5: generator.tsp: unknown field "tsp"; did you mean "tps"?');
    expect(loadError('quickstart', ['nosuch.section=1']).message).toContain('unknown field "nosuch"');
    expect(loadError('quickstart', ['generator.tps.x=1']).message).toContain('generator.tps is a number: it has no field "x"');
    expect(loadError('quickstart', ['generator.tps']).message).toContain('expected path=value');
    // a field of another topology kind is not a field of this one
    expect(loadError('quickstart', ['composition.topology.degree=3']).message).toContain('unknown field "degree"');
  });

  it('--set values are validated like file values', () => {
    expect(loadError('quickstart', ['generator.tps=fast']).message).toBe('--set generator.tps=fast: generator.tps: expected number > 0, got "fast"');
  });

  it('unions report the branch the user meant', () => {
    const e = (raw: unknown) => {
      try {
        resolvePlan(profileFromObject(raw));
      } catch (err) {
        return (err as ProfileError).message;
      }
      throw new Error('no error');
    };
    expect(e({ composition: { topology: { kind: 'ring' } } })).toBe('composition.topology.kind: unknown kind "ring"; did you mean "line"?');
    expect(e({ composition: { topology: { kind: 'random-regular' } } })).toBe('composition.topology: missing required field "degree" (integer ≥ 2)');
    expect(e({ scenario: { steps: [{ wiat: { slots: 3 } }] } })).toBe('scenario.steps[0]: unknown step "wiat"; did you mean "wait"?');
    expect(e({ scenario: { steps: [{ wait: { slots: 1 } }, { fault: { kind: 'kill' } }] } })).toBe('scenario.steps[1].fault: missing required field "node" (non-empty string)');
    expect(e({ generator: { targets: 'al' } })).toBe('generator.targets: expected "all" or list of at least 1 non-empty string, got "al"');
  });

  it('cross-field rules are checked with positions', () => {
    const e = loadError(`${FIX}bad-semantics.yaml`);
    const f = `${FIX}bad-semantics.yaml`;
    expect(e.message).toContain(`${f}:9:15: node.releases.pool-9: unknown node "pool-9"; nodes are pool-1..pool-3`);
    expect(e.message).toContain(`${f}:6:33: genesis.eras[0].startEpoch: the first era must start at epoch 0, got 1`);
    expect(e.message).toContain('genesis.eras[1].protocolVersion: protocol versions cannot go down, got 1 after 2');
    expect(e.message).toContain(`${f}:12:34: scenario.steps[0].fault.node: unknown node "relay-1"`);
  });

  it('topology errors name the topology field', () => {
    expect(loadError('quickstart', ['composition.topology.kind=random-regular', 'composition.topology.degree=5']).message).toBe(
      '--set composition.topology.degree=5: composition.topology.degree: degree 5 needs at least 6 nodes, the profile has 4',
    );
    expect(loadError('quickstart', ['composition.topology.kind=torus', 'composition.topology.columns=3']).message).toContain('columns 3 does not divide the node count 4');
  });
});

describe('profile loader: extends and --set', () => {
  it('deep-merges the parent, replaces lists, drops fields of a changed kind, null removes', () => {
    const { profile, source } = loadProfile(`${FIX}child.yaml`, opts);
    expect(profile.name).toBe('child');
    expect(profile.seed).toBe(5);
    expect(profile.composition.pools).toBe(6);
    expect(profile.composition.topology).toEqual({ kind: 'line' });
    expect(profile.composition.links).toEqual({ latencyMs: 40, loss: 0 });
    expect(profile.generator).toMatchObject({ tps: 10, txSizeBytes: 800, targets: ['pool-1', 'pool-2'] });
    expect(profile.analysis.assertions).toEqual([{ kind: 'tip-agreement' }]);
    expect(source.chain.map((f) => f.slice(REPO.length))).toEqual([`${FIX}child.yaml`, `${FIX}base.yaml`]);
  });

  it('--set overrides after extends, parses YAML values, and a new kind starts empty', () => {
    const sets = [
      'generator.tps=50',
      'composition.topology.kind=random-regular',
      'composition.topology.degree=3',
      'node.releases.pool-2=praos-1.0',
      'generator.targets=[pool-1, pool-3]',
      'genesis.eras[1].startEpoch=2',
    ];
    const plan = resolvePlan(loadProfile(`${FIX}child.yaml`, { ...opts, sets }));
    expect(plan.generator.tps).toBe(50);
    expect(plan.topology.spec).toEqual({ kind: 'random-regular', degree: 3 });
    expect(plan.nodes.find((n) => n.name === 'pool-2')!.release).toBe('praos-1.0');
    expect(plan.nodes.find((n) => n.name === 'pool-1')!.release).toBe('leios-2.0');
    expect(plan.generator.targets).toEqual(['pool-1', 'pool-3']);
    expect(plan.genesis.eras[1]!.startEpoch).toBe(2);
    expect(plan.profile.sets).toEqual(sets);
    expect(Object.keys(plan.releases).sort()).toEqual(['leios-2.0', 'praos-1.0']);
  });

  it('--set of a new kind keeps the fields both kinds share and drops the others', () => {
    const sets = ['scenario.steps=[{fault: {kind: kill, node: pool-1, forS: 3}}]', 'scenario.steps[0].fault.kind=link', 'composition.topology={kind: torus, columns: 2}', 'composition.topology.kind=line'];
    const plan = resolvePlan(loadProfile('quickstart', { ...opts, sets }));
    // link faults change only what they name: no defaulted latency or loss appear
    expect(plan.scenario.steps).toEqual([{ fault: { kind: 'link', node: 'pool-1', forS: 3 } }]);
    expect(plan.topology.spec).toEqual({ kind: 'line' });
    expect(loadError('quickstart', ['composition.topology.degree=3']).message).toContain(
      '(composition.topology is kind "full-mesh"; set composition.topology.kind first to change it)',
    );
  });

  it('a library profile extends another by name (ci-praos extends ci-test)', () => {
    const { profile, source } = loadProfile('ci-praos', opts);
    expect(source.chain.map((f) => f.slice(PROFILES_DIR.length))).toEqual(['ci-praos.yaml', 'ci-test.yaml']);
    expect(profile.name).toBe('ci-praos');
    expect(profile.genesis.slotLengthS).toBe(0.2); // inherited
    expect(profile.genesis.eras).toEqual([{ era: 'praos', startEpoch: 0, protocolVersion: 1 }]);
  });
});

describe('profile library', () => {
  const REQUIRED = ['quickstart', 'ci-praos', 'ci-test', 'ci-bench', 'scale-100', 'pt-cluster-52'];

  it('holds the required profiles, each with the schema modeline and a one-line description', () => {
    expect(knownProfiles()).toEqual(expect.arrayContaining(REQUIRED));
    const list = listProfiles();
    for (const name of REQUIRED) {
      const text = readFileSync(`${PROFILES_DIR}${name}.yaml`, 'utf8');
      expect(text.startsWith('# yaml-language-server: $schema=./profile.schema.json\n')).toBe(true);
      const entry = list.find((p) => p.name === name)!;
      expect(entry.error).toBeUndefined();
      expect(entry.description).toMatch(/^[^\n]{10,200}$/);
    }
    expect(formatProfileList(list).split('\n')).toHaveLength(list.length);
  });

  it('every profile loads and resolves', () => {
    const plans = Object.fromEntries(REQUIRED.map((n) => [n, resolvePlan(loadProfile(n, opts))]));
    const p = (n: string) => plans[n]!;
    const leiosFrom = (n: string) => p(n).genesis.eras.find((e) => e.era === 'leios')?.startEpoch;

    expect(p('quickstart').nodes.filter((n) => n.role === 'pool')).toHaveLength(4);
    expect(leiosFrom('quickstart')).toBe(1);
    expect(p('quickstart').scenario.estimatedDurationS).toBeLessThanOrEqual(180);

    expect(p('ci-praos').genesis.eras.map((e) => e.era)).toEqual(['praos']);
    expect(p('ci-praos').nodes).toHaveLength(3);

    const ciTest = p('ci-test');
    expect(ciTest.nodes).toHaveLength(5);
    expect(leiosFrom('ci-test')).toBe(1);
    expect(ciTest.genesis.eras[0]!.era).toBe('praos');
    // under 3 minutes including the start delay (DESIGN.md: ci-test under 3 minutes)
    expect(ciTest.scenario.estimatedDurationS + ciTest.genesis.startDelayS).toBeLessThan(180);

    const bench = p('ci-bench');
    expect(bench.nodes.filter((n) => n.role === 'pool')).toHaveLength(10);
    expect(leiosFrom('ci-bench')).toBeLessThanOrEqual(1);
    const praosCapacityBps = (bench.genesis.protocolParams.maxBlockBodySize * bench.genesis.activeSlotCoeff) / bench.genesis.slotLengthS;
    expect(bench.generator.tps * bench.generator.txSizeBytes).toBeGreaterThan(2 * praosCapacityBps);

    expect(p('scale-100').nodes).toHaveLength(100);
    expect(p('scale-100').topology.spec.kind).toBe('random-regular');

    const pt = p('pt-cluster-52');
    expect(pt.nodes).toHaveLength(52);
    expect(pt.topology.spec).toEqual({ kind: 'leios-sim', file: 'topologies/topology-benchmark-cluster-52.yaml' });
    expect(pt.topology.edges).toHaveLength(312);
  });

  it('the committed JSON Schemas and compiled node validators equal the generated ones (npm run schemas)', () => {
    const files = [...schemaFiles(), ...validatorFiles()];
    expect(files.map((f) => f.path)).toContain('node/config/validators.generated.js');
    for (const f of files) expect(readFileSync(f.absolute, 'utf8'), `${f.path} is stale: npm run schemas`).toBe(f.text);
  });

  it('the published schema accepts the library as written (defaulted fields optional) and rejects typos', () => {
    const ajv = new Ajv({ strict: false });
    const validate = ajv.compile(JSON.parse(schemaFiles()[0]!.text) as object);
    for (const name of knownProfiles()) {
      const raw = parse(readFileSync(`${PROFILES_DIR}${name}.yaml`, 'utf8'));
      expect(validate(raw), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
    expect(validate({ generator: { tsp: 1 } })).toBe(false);
  });
});
