import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adversary, AdversaryInputError, BEHAVIOURS, BEHAVIOUR_NAMES, paramsProblems, type AdversaryEnv, type EbRef } from '../../node/adversary/index.ts';
import { NodeConfigSchema } from '../../node/config/schema.ts';
import { decodeVote, encodeVote } from '../../node/leios/eb.ts';
import { decodeCertificate, encodeCertificate } from '../../node/leios/certificate.ts';
import { tryDecodeTx } from '../../node/ledger/index.ts';
import { blsKeygen, blsSign } from '../../node/crypto/bls.ts';
import { toHex } from '../../node/crypto/hash.ts';
import { loadProfile } from '../../orchestrator/profile/load.ts';
import { resolvePlan } from '../../orchestrator/profile/resolve.ts';
import { ProfileError } from '../../orchestrator/errors.ts';
import { runCli, type CliIO } from '../../orchestrator/cli/program.ts';

const ROOT = join(import.meta.dirname, '../..');

function loadError(ref: string, sets: string[]): ProfileError {
  try {
    loadProfile(ref, { sets });
  } catch (e) {
    expect(e).toBeInstanceOf(ProfileError);
    expect((e as ProfileError).exitCode).toBe(2);
    return e as ProfileError;
  }
  throw new Error('expected a ProfileError');
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = { out: (s) => void (out += s), err: (s) => void (err += s), cwd: ROOT, tty: false };
  return { code: await runCli(args, io), out, err };
}

/** A recording stand-in for the node side of the hooks (what node wiring implements). */
function env(poolId = 'pool-5') {
  const sk = blsKeygen(new Uint8Array(32).fill(7)).sk;
  const offered: { eb: string; peers?: string[] }[] = [];
  const traces: { behaviour: string; action: string }[] = [];
  const e: AdversaryEnv = {
    name: poolId,
    poolId,
    log: { warn: () => {}, info: () => {} },
    trace: (behaviour, action) => void traces.push({ behaviour, action }),
    currentSlot: () => 100,
    slotLengthS: 0.2,
    offerEb: (eb, peers) => void offered.push({ eb: eb.hashHex, peers }),
    peers: () => ['pool-1', 'pool-2', 'pool-3', 'pool-4'],
    ebClosure: () => undefined,
    holdEb: () => {},
    blsSign: (msg) => blsSign(sk, msg),
  };
  return { env: e, offered, traces, sk };
}

const eb = (n: number, own = true): EbRef => {
  const hash = new Uint8Array(32).fill(n);
  return { hash, hashHex: toHex(hash), slot: n, size: 100, own };
};

describe('adversary registry', () => {
  it('has one file per behaviour, each with a strict params schema, a summary and what honest nodes must still do', () => {
    const files = readdirSync(join(ROOT, 'node/adversary')).filter((f) => f.endsWith('.ts') && f !== 'index.ts' && f !== 'types.ts').map((f) => f.replace(/\.ts$/, ''));
    expect([...BEHAVIOUR_NAMES].sort()).toEqual(files.sort());
    for (const b of BEHAVIOURS) {
      expect(b.params.additionalProperties, b.name).toBe(false);
      expect(b.summary.length, b.name).toBeGreaterThan(10);
      expect(b.expect.length, b.name).toBeGreaterThan(10);
      expect(paramsProblems(b.name, {}), b.name).toEqual([]);
    }
  });

  it('a profile naming an unknown behaviour or bad params is exit 2 naming the field (and the known names)', () => {
    const typo = loadError('ci-test', ['node.adversaries.pool-2={eb-withholdin: {}}']);
    expect(typo.message).toContain('node.adversaries.pool-2.eb-withholdin');
    expect(typo.message).toContain('did you mean "eb-withholding"');
    const badParam = loadError('ci-test', ['node.adversaries.pool-2={late-eb: {delayMs: soon}}']);
    expect(badParam.message).toContain('node.adversaries.pool-2.late-eb.delayMs');
    const unknownParam = loadError('ci-test', ['node.adversaries.pool-2={late-eb: {delay: 3000}}']);
    expect(unknownParam.message).toMatch(/late-eb\.delay: unknown field "delay"; did you mean "delayMs"/);
    const step = loadError('ci-test', ['scenario.steps=[{adversary: {node: pool-1, behaviour: eclipse}}]']);
    expect(step.message).toContain('scenario.steps[0].adversary.behaviour');
    for (const n of BEHAVIOUR_NAMES) expect(step.message).toContain(`"${n}"`);
    const stepParam = loadError('ci-test', ['scenario.steps=[{adversary: {node: pool-1, behaviour: invalid-eb-tx, params: {kind: forged}}}]']);
    expect(stepParam.message).toContain('scenario.steps[0].adversary.params.kind');
  });

  it('valid adversaries flow into the plan and the node config, whose schema refuses unknown ones', () => {
    const plan = resolvePlan(loadProfile('ci-test', { sets: ['node.adversaries.pool-2={late-eb: {delayMs: 4000}}'] }));
    expect(plan.nodes.find((n) => n.name === 'pool-2')!.adversary).toEqual({ 'late-eb': { delayMs: 4000 } });
    const ajv = new Ajv({ strict: false });
    const check = ajv.compile(NodeConfigSchema);
    const base = { name: 'n', genesisFile: 'g', release: { version: '1', maxProtocolVersion: 2 }, listen: { host: '127.0.0.1', port: 1 }, admin: { host: '127.0.0.1', port: 2, token: 'tokentoken' }, peers: [], dbPath: 'db', clockOffsetMs: 0 };
    expect(check({ ...base, adversary: { 'late-eb': { delayMs: 1 } } })).toBe(true);
    expect(check({ ...base, adversary: { 'late-ebb': {} } })).toBe(false);
    expect(check({ ...base, adversary: { 'late-eb': { delayMs: -1 } } })).toBe(false);
  });

  it('every attack profile loads and resolves, names a known adversary and checks honest nodes only', () => {
    const dir = join(ROOT, 'profiles/attacks');
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(7);
    for (const f of files) {
      const plan = resolvePlan(loadProfile(join(dir, f)));
      expect(plan.genesis.slotLengthS, f).toBe(0.2);
      expect(plan.scenario.estimatedDurationS + plan.genesis.startDelayS, f).toBeLessThan(120);
      const adv = new Set([...plan.nodes.filter((n) => n.adversary).map((n) => n.name), ...plan.scenario.steps.flatMap((s) => ('adversary' in s ? [s.adversary.node] : []))]);
      const tip = plan.analysis.assertions.find((a) => a.kind === 'tip-agreement') as { nodes?: string[] } | undefined;
      expect(tip?.nodes, f).toBeDefined();
      for (const n of adv) expect(tip!.nodes, f).not.toContain(n);
      if (f !== 'baseline.yaml') expect(adv.size, f).toBe(1);
    }
  });
});

describe('Adversary (the composition the node calls)', () => {
  it('refuses unknown behaviours (404, naming the known ones) and bad params (400, naming the field)', () => {
    const a = new Adversary(env().env);
    expect(() => a.set('eclipse', true)).toThrow(AdversaryInputError);
    try {
      a.set('eclipse', true);
    } catch (e) {
      expect((e as AdversaryInputError).status).toBe(404);
      expect((e as Error).message).toContain('eb-withholding');
    }
    try {
      a.set('late-eb', true, { delayMs: 'x' });
    } catch (e) {
      expect((e as AdversaryInputError).status).toBe(400);
      expect((e as Error).message).toContain('params.delayMs');
    }
    expect(a.any).toBe(false);
  });

  it('with nothing enabled every hook gives the honest answer', () => {
    const a = new Adversary(env().env);
    expect(a.ebOffer(eb(1))).toBe(true);
    expect(a.ebServe(eb(1).hashHex, 'pool-1')).toBe(true);
    expect(a.castVote(10)).toBe(true);
    const votes = [new Uint8Array([1, 2])];
    expect(a.votesOut(votes, 10)).toBe(votes);
    const real = new Uint8Array([9]);
    expect(a.certificate({ parentSlot: 1, ebHash: new Uint8Array(32), slot: 20, allowed: true, real, persistentSeats: 5 })).toBe(real);
  });

  it('eb-withholding drops and refuses own EBs only; turning it off serves what comes next', () => {
    const { env: e } = env();
    const a = new Adversary(e);
    a.configure({ 'eb-withholding': {} });
    expect(a.ebOffer(eb(1))).toBe(false);
    expect(a.ebServe(eb(1).hashHex, 'pool-1')).toBe(false);
    expect(a.ebOffer(eb(2, false))).toBe(true);
    a.set('eb-withholding', false);
    expect(a.ebOffer(eb(3))).toBe(true);
  });

  it('protocol-burst holds count EBs, refuses to serve them, and releases all at once on an honest tip', () => {
    const r = env();
    const a = new Adversary(r.env);
    a.set('protocol-burst', true, { count: 2 });
    expect(a.ebOffer(eb(1))).toBe(false);
    a.tip({ slot: 5, own: false });
    expect(r.offered).toEqual([]); // one held: not yet
    expect(a.ebOffer(eb(2))).toBe(false);
    expect(a.ebServe(eb(2).hashHex, 'pool-1')).toBe(false);
    a.tip({ slot: 6, own: true });
    expect(r.offered).toEqual([]); // own RB: not the moment
    a.tip({ slot: 7, own: false });
    expect(r.offered.map((o) => o.eb)).toEqual([eb(1).hashHex, eb(2).hashHex]);
    expect(a.ebServe(eb(2).hashHex, 'pool-1')).toBe(true);
  });

  it('invalid-votes corrupts only its own votes; lazy-voter and withhold-votes keep them in', () => {
    const r = env();
    const a = new Adversary(r.env);
    a.set('invalid-votes', true);
    const mine = encodeVote({ electionId: 9, ebHash: new Uint8Array(32).fill(1), poolId: 'pool-5', sig: blsSign(r.sk, new Uint8Array([1])), eligibility: null });
    const theirs = encodeVote({ electionId: 9, ebHash: new Uint8Array(32).fill(1), poolId: 'pool-1', sig: blsSign(r.sk, new Uint8Array([2])), eligibility: null });
    const out = a.votesOut([mine, theirs], 9);
    expect(out[1]).toBe(theirs);
    expect(toHex(decodeVote(out[0]!).sig)).not.toBe(toHex(decodeVote(mine).sig));
    expect(decodeVote(out[0]!).poolId).toBe('pool-5');
    a.set('withhold-votes', true, { relayed: false });
    expect(a.votesOut([mine, theirs], 9)).toEqual([theirs]);
    a.set('lazy-voter', true);
    expect(a.castVote(9)).toBe(false);
  });

  it('invalid-cert forges a decodable certificate with another signature, also without a quorum; withhold-certs leaves it out', () => {
    const r = env();
    const a = new Adversary(r.env);
    a.set('invalid-cert', true);
    const ebHash = new Uint8Array(32).fill(3);
    const real = encodeCertificate({ electionId: 4, ebHash, persistentVoters: new Uint8Array([0b1111]), nonPersistentVoters: [], signature: blsSign(r.sk, new Uint8Array([4])) });
    const forged = a.certificate({ parentSlot: 4, ebHash, slot: 30, allowed: true, real, persistentSeats: 5 })!;
    expect(decodeCertificate(forged).persistentVoters).toEqual(new Uint8Array([0b1111]));
    expect(toHex(decodeCertificate(forged).signature)).not.toBe(toHex(decodeCertificate(real).signature));
    const noQuorum = decodeCertificate(a.certificate({ parentSlot: 4, ebHash, slot: 30, allowed: true, real: undefined, persistentSeats: 5 })!);
    expect(noQuorum.persistentVoters).toEqual(new Uint8Array([0b11111]));
    expect(a.certificate({ parentSlot: 4, ebHash, slot: 10, allowed: false, real: undefined, persistentSeats: 5 })).toBeUndefined();
    a.set('withhold-certs', true);
    expect(a.certificate({ parentSlot: 4, ebHash, slot: 30, allowed: true, real, persistentSeats: 5 })).toBeUndefined();
  });

  it('invalid-eb-tx adds one decodable tx per EB that spends nothing that exists (or carries a bad witness)', () => {
    const a = new Adversary(env().env);
    a.set('invalid-eb-tx', true, { kind: 'bad-witness' });
    const [bad] = a.ebTxs([], 12);
    const d = tryDecodeTx(bad!.bytes);
    expect(d.ok).toBe(true);
    expect(a.ebTxs([], 13)[0]!.idHex).not.toBe(bad!.idHex);
  });
});

describe('leiosnet attack', () => {
  const home = mkdtempSync(join(tmpdir(), 'leiosnet-attack-'));
  let saved: string | undefined;
  beforeAll(() => {
    saved = process.env.LEIOSNET_HOME;
    process.env.LEIOSNET_HOME = home; // never the user's state dir
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.LEIOSNET_HOME;
    else process.env.LEIOSNET_HOME = saved;
    rmSync(home, { recursive: true, force: true });
  });

  it('--help lists every behaviour with its params', async () => {
    const r = await cli(['attack', '--help']);
    for (const n of BEHAVIOUR_NAMES) expect(r.out).toContain(n);
    expect(r.out).toContain('delayMs');
  });

  it('bad input is exit 2 naming the field, before any testnet is looked up', async () => {
    const cases: [string[], RegExp][] = [
      [['attack', 'r1', 'eclipse', '--node', 'pool-1'], /behaviour: unknown adversary behaviour "eclipse" \(known: eb-withholding/],
      [['attack', 'r1', 'late-eb', '--node', 'pool-1', '--set', 'delayMs=-1'], /params\.delayMs/],
      [['attack', 'r1', 'late-eb', '--node', 'pool-1', '--params', '{"delay": 1}'], /params\.delay: unknown field "delay"; did you mean "delayMs"/],
      [['attack', 'r1', 'late-eb', '--node', 'pool-1', '--params', '[1]'], /--params: expected a JSON object/],
      [['attack', 'r1', 'late-eb', '--node', 'pool-1', '--for', '0'], /--for/],
      [['attack', 'r1', 'late-eb', '--stake', '1.5'], /--stake/],
      [['attack', 'r1', 'late-eb'], /--node: name the adversarial node/],
      [['attack', 'no-such-run', 'late-eb', '--node', 'pool-1'], /run-id: no running testnet "no-such-run"/],
    ];
    for (const [args, re] of cases) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err, args.join(' ')).toMatch(re);
    }
  });
});
