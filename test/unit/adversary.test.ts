import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
import { hash256, toHex } from '../../node/crypto/hash.ts';
import { decodeHeader as decodeHeaderOf } from '../../node/chain/block.ts';
import { loadProfile } from '../../orchestrator/profile/load.ts';
import { resolvePlan } from '../../orchestrator/profile/resolve.ts';
import { ProfileError } from '../../orchestrator/errors.ts';
import { runCli, type CliIO } from '../../orchestrator/cli/program.ts';
import { checkLeadership, forgeBlock, kesCredentialOf, type ForgeKeys } from '../../node/consensus/forge.ts';
import { validateHeader, type HeaderContext } from '../../node/consensus/header-validation.ts';
import { derivedKesSeed, KesCredential } from '../../node/consensus/kes-credential.ts';
import { initialNonceState } from '../../node/consensus/nonce.ts';
import type { StakeView } from '../../node/consensus/stake.ts';
import { PraosNode } from '../../node/consensus/praos-node.ts';
import { ed25519PublicKey, ed25519Signer } from '../../node/crypto/ed25519.ts';
import { kesKeygen, kesVerificationKey } from '../../node/crypto/kes.ts';
import { issueOpCert } from '../../node/crypto/opcert.ts';
import { vrfKeygen } from '../../node/crypto/vrf.ts';
import { twinBlock } from '../../node/adversary/rb-equivocation.ts';
import type { Block } from '../../node/chain/block.ts';
import { Registry } from 'prom-client';
import { analyseAdversaries } from '../../orchestrator/analysis/adversary.ts';
import { evaluateAssertion } from '../../orchestrator/analysis/assertions.ts';
import type { Summary } from '../../orchestrator/analysis/summary.ts';
import type { Assertion } from '../../orchestrator/profile/schema.ts';
import { loadContext as loadContextOf } from '../../orchestrator/verify/context.ts';

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
  const traces: { behaviour: string; action: string; fields?: Record<string, unknown> }[] = [];
  const relayed: Uint8Array[] = [];
  const e: AdversaryEnv = {
    name: poolId,
    poolId,
    log: { warn: () => {}, info: () => {} },
    trace: (behaviour, action, fields) => void traces.push({ behaviour, action, fields }),
    currentSlot: () => 100,
    slotLengthS: 0.2,
    offerEb: (eb, peers) => void offered.push({ eb: eb.hashHex, peers }),
    peers: () => ['pool-1', 'pool-2', 'pool-3', 'pool-4'],
    ebClosure: () => undefined,
    holdEb: () => {},
    blsSign: (msg) => blsSign(sk, msg),
    relayHeaders: (h) => void relayed.push(...h),
  };
  return { env: e, offered, traces, sk, relayed };
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
    const step = loadError('ci-test', ['scenario.steps=[{adversary: {node: pool-1, behaviour: sybil}}]']);
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
      // one adversary each, but an eclipse needs every peer of its victim
      if (f !== 'baseline.yaml') expect(adv.size, f).toBe(f === 'eclipse.yaml' ? 2 : 1);
    }
  });
});

describe('Adversary (the composition the node calls)', () => {
  it('refuses unknown behaviours (404, naming the known ones) and bad params (400, naming the field)', () => {
    const a = new Adversary(env().env);
    expect(() => a.set('sybil', true)).toThrow(AdversaryInputError);
    try {
      a.set('sybil', true);
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

  it('rb-equivocation signs a second valid header for each forged slot, relays it, and honest header validation detects the pair', () => {
    // a real pool: cold, VRF and KES keys under an opcert; headers validated as the node does
    const cold = new Uint8Array(32).fill(21);
    const vrf = vrfKeygen(new Uint8Array(32).fill(22));
    const pool = { id: 'pool-5', stake: 1000n, coldVkey: ed25519PublicKey(cold), vrfVkey: vrf.pk, blsVkey: new Uint8Array(96) };
    const stake: StakeView = { total: 1000n, pools: [pool], byColdKey: (vk) => (toHex(vk) === toHex(pool.coldVkey) ? pool : undefined), byId: () => pool };
    const rules = { slotsPerKesPeriod: 10, maxKesEvolutions: 4 };
    const seed = derivedKesSeed(ed25519Signer(cold), 0);
    const keys: ForgeKeys = { poolId: 'pool-5', coldVkey: pool.coldVkey, sign: ed25519Signer(cold), vrfSk: vrf.sk, vrfVkey: vrf.pk, stake: 1000n, kes: new KesCredential(seed, issueOpCert(cold, kesVerificationKey(kesKeygen(seed)), 0, 0), rules) };
    const nonce = initialNonceState(new Uint8Array(32).fill(1));
    const ctx: HeaderContext = { stake, f: 1, epochLengthSlots: 1000, maxHeaderSize: 1100, currentSlot: 1e6, futureToleranceSlots: 2, protocolVersionAt: () => 1, praos: { ...rules, vrfTiebreakMaxSlots: 5, leaderIntervalSlots: 1 } };
    const forge = (slot: number, body: { txs: Uint8Array[]; cert: Uint8Array | null }, ebAnnounce = false): Block =>
      forgeBlock(checkLeadership(slot, nonce, keys, { epochLengthSlots: 1000, f: 1, totalStake: 1000n })!, null, body, keys, 1, { ebAnnounce: ebAnnounce ? { hash: new Uint8Array(32).fill(4), size: 100, txBytes: 1000 } : null, certified: false });
    const r = env();
    const a = new Adversary(r.env);
    a.attachConsensus({ signHeader: (slot, msg) => kesCredentialOf(keys).signAt(slot, msg), relayHeaders: (h) => r.env.relayHeaders(h) });
    a.set('rb-equivocation', true);
    const real = forge(3, { txs: [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])], cert: null });
    a.rbForged(real);
    expect(r.relayed).toHaveLength(1);
    const twinBytes = r.relayed[0]!;
    expect(toHex(twinBytes)).not.toBe(toHex(real.headerBytes));
    // both headers are valid for the same slot and issuer
    const decode = (b: Uint8Array) => validateHeader(decodeHeaderOf(b), b.length, null, nonce, ctx);
    expect(decode(real.headerBytes).poolId).toBe('pool-5');
    expect(decode(twinBytes).poolId).toBe('pool-5');
    expect(r.traces.at(-1)).toMatchObject({ behaviour: 'rb-equivocation', action: 'equivocated', fields: { slot: 3, variant: 'one-tx-fewer' } });
    // an honest node's Praos side sees two headers for (slot 3, pool-5): evidence, traced and relayed as a pair
    const emitted: { type: string; [k: string]: unknown }[] = [];
    const honest = new PraosNode({ registry: new Registry(), rules, emit: (m) => void emitted.push(m), log: { warn: () => {}, info: () => {} }, poolIdOf: (vk) => stake.byColdKey(vk)?.id });
    const pairs: Uint8Array[] = [];
    honest.onRelay((h) => void pairs.push(h));
    expect(honest.noteValidated(real.header, toHex(real.hash), real.headerBytes, 'pool-5').kind).toBe('first');
    const twinHeader = decodeHeaderOf(twinBytes);
    expect(honest.noteValidated(twinHeader, toHex(hash256(twinBytes)), twinBytes, 'pool-5').kind).toBe('equivocation');
    expect(emitted).toEqual([expect.objectContaining({ type: 'RBHeaderEquivocation', slot: 3, producer: 'pool-5' })]);
    expect(pairs).toHaveLength(2);
    // the other variants: a certificate dropped, an EB announcement dropped; an empty block has none
    const sign = (slot: number, msg: Uint8Array) => kesCredentialOf(keys).signAt(slot, msg);
    expect(twinBlock(forge(4, { txs: [], cert: new Uint8Array([7]) }), sign)?.variant).toBe('no-certificate');
    const noEb = twinBlock(forge(5, { txs: [], cert: null }, true), sign)!;
    expect(noEb.variant).toBe('no-eb');
    expect(noEb.block.header.ebAnnounce).toBeNull();
    expect(twinBlock(forge(6, { txs: [], cert: null }), sign)).toBeUndefined();
    a.rbForged(forge(7, { txs: [], cert: null }));
    expect(r.traces.at(-1)).toMatchObject({ action: 'skipped' });
    // share 0: nothing equivocated
    a.set('rb-equivocation', true, { share: 0 });
    a.rbForged(forge(8, { txs: [new Uint8Array([1])], cert: null }));
    expect(r.relayed).toHaveLength(1);
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
      [['attack', 'r1', 'sybil', '--node', 'pool-1'], /behaviour: unknown adversary behaviour "sybil" \(known: eb-withholding/],
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

describe('adversary analysis and assertions (summary.adversary)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'leiosnet-adv-analysis-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const line = (t: number, m: Record<string, unknown>) => JSON.stringify({ time_s: t, message: m });
  beforeAll(() => {
    const w = (n: string, lines: string[]) => {
      mkdirSync(join(dir, 'nodes', n), { recursive: true });
      writeFileSync(join(dir, 'nodes', n, 'trace.jsonl'), lines.join('\n') + '\n');
    };
    mkdirSync(join(dir, 'genesis'), { recursive: true });
    writeFileSync(join(dir, 'genesis', 'genesis.json'), JSON.stringify({ slotLengthS: 0.2, pools: [] }));
    // pool-3 is adversarial by the plan (withholding), pool-4 by `leiosnet attack` only (events.jsonl)
    writeFileSync(join(dir, 'profile.resolved.json'), JSON.stringify({ node: { adversaries: { 'pool-3': { 'eb-withholding': {} } } }, scenario: { steps: [] } }));
    writeFileSync(join(dir, 'events.jsonl'), [JSON.stringify({ t: 1, type: 'adversary', node: 'pool-4', behaviour: 'rb-equivocation', enabled: true, source: 'cli' })].join('\n') + '\n');
    w('pool-1', [
      line(1, { type: 'EBGenerated', id: 'e1', producer: 'pool-1' }),
      line(2, { type: 'CertIncluded', eb: 'e1', rb: 'r1' }),
      line(3, { type: 'RBHeaderEquivocation', slot: 9, producer: 'pool-4', headers: ['a', 'b'] }),
      line(4, { type: 'VoteRejected', sender: 'pool-3' }),
    ]);
    w('pool-2', [line(2, { type: 'CertIncluded', eb: 'e1', rb: 'r1' })]);
    w('pool-3', [
      line(0, { type: 'Adversary', behaviour: 'eb-withholding', action: 'enabled' }),
      line(1, { type: 'EBGenerated', id: 'e3', producer: 'pool-3' }),
      line(1, { type: 'Adversary', behaviour: 'eb-withholding', action: 'withheld', detail: { eb: 'e3' } }),
      line(5, { type: 'CertIncluded', eb: 'e3', rb: 'r9' }), // its own chain: not an honest one
    ]);
    w('pool-4', [line(0, { type: 'Adversary', behaviour: 'rb-equivocation', action: 'enabled' })]);
  });

  it('reads what each adversary did and what honest nodes refused or detected; `leiosnet attack` targets count as adversarial', async () => {
    const s = (await analyseAdversaries(dir))!;
    expect(s.nodes).toEqual(['pool-3', 'pool-4']);
    expect(s.actions).toEqual({ 'pool-3': { 'eb-withholding/withheld': 1 }, 'pool-4': {} });
    expect(s.honest['pool-1']).toEqual({ votesRefused: 1, ebsRefused: 0, certificatesRefused: 0, blocksRefused: 0, equivocationsDetected: 1 });
    expect(s.ebs).toEqual({ 'pool-1': { forged: 1, certified: 1 }, 'pool-3': { forged: 1, certified: 0 } });
    // the verifier holds the same nodes to no honest rule
    expect([...loadContextOf(dir).adversaries].sort()).toEqual(['pool-3', 'pool-4']);

    const view = { summary: { adversary: s } as unknown as Summary, nodes: {} };
    const ev = (a: Record<string, unknown>) => evaluateAssertion(a as Assertion, view);
    expect(ev({ kind: 'adversary-acted', nodes: ['pool-3'] }).passed).toBe(true);
    const idle = ev({ kind: 'adversary-acted' }); // pool-4 was switched on and did nothing: the check bites
    expect(idle.passed).toBe(false);
    expect(idle.detail).toContain('pool-4 0');
    expect(ev({ kind: 'adversary-acted', behaviour: 'eb-withholding', action: 'released', nodes: ['pool-3'] }).passed).toBe(false);
    expect(ev({ kind: 'refused', what: 'votes' }).passed).toBe(true);
    expect(ev({ kind: 'refused', what: 'votes', each: true }).passed).toBe(false); // pool-2 refused none
    expect(ev({ kind: 'refused', what: 'certificates' }).passed).toBe(false);
    expect(ev({ kind: 'equivocation-detected', nodes: ['pool-1'] }).passed).toBe(true);
    expect(ev({ kind: 'equivocation-detected' }).passed).toBe(false);
    expect(ev({ kind: 'not-certified', producers: ['pool-3'] })).toMatchObject({ passed: true, detail: expect.stringContaining('pool-3 0 of 1 forged') });
    expect(ev({ kind: 'not-certified', producers: ['pool-1'] }).passed).toBe(false);
    // without adversaries the adversary kinds fail rather than pass empty
    const none = { summary: {} as Summary, nodes: {} };
    expect(evaluateAssertion({ kind: 'adversary-acted' } as Assertion, none).passed).toBe(false);
    expect(evaluateAssertion({ kind: 'refused', what: 'votes' } as Assertion, none).passed).toBe(false);
  });

  it('the new kinds are in the profile schema (a typo in `what` is exit 2)', () => {
    const e = loadError('profiles/attacks/invalid-votes.yaml', ['analysis.assertions=[{kind: refused, what: vote}]']);
    expect(e.message).toContain('analysis.assertions');
  });
});
