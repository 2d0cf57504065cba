import { resolve as resolvePath } from 'node:path';
import { toHex } from '../../node/crypto/hash.ts';
import { BEHAVIOUR_NAMES, poolsUpToShare, smallestPoolShare } from '../../node/adversary/index.ts';
import { ProfileError, type ProfileIssue } from '../errors.ts';
import { buildTopology, TopologyError, type Topology } from '../topology/index.ts';
import { baseDirFor, profileFromObject, profileLocator, type LoadedProfile, type LoadOptions, loadProfile } from './load.ts';
import type { Plan, PlanNode } from './plan.ts';
import { apportion } from './apportion.ts';
import { releaseInfo, type ReleaseInfo, type ReleaseName } from './releases.ts';
import { deriveBytes, Rng } from './rng.ts';
import { expandCampaigns } from './campaign.ts';
import { METRIC_LATE_SECTIONS, type Duration, type Profile, type StakeSpec, type Step } from './schema.ts';
import { displayPath, type Segment } from './validate.ts';

// Profile → Plan: name the nodes, split the stake, build the topology, resolve releases,
// generator targets and defaults that depend on other fields; check cross-field rules.
// Everything random comes from the seed; nothing depends on the clock.

export function stakeDistribution(spec: StakeSpec, pools: number, rng: Rng): number[] {
  switch (spec.kind) {
    case 'equal':
      return apportion(spec.total, new Array<number>(pools).fill(1));
    case 'pareto': {
      const r = rng.fork('stake');
      // Inverse CDF of Pareto(x_m = 1, alpha).
      return apportion(spec.total, Array.from({ length: pools }, () => (1 - r.next()) ** (-1 / spec.alpha)));
    }
    case 'explicit':
      return [...spec.stakes];
  }
}

export function estimateDurationS(d: Duration, slotLengthS: number, f: number): number {
  if ('slots' in d) return d.slots * slotLengthS;
  if ('seconds' in d) return d.seconds;
  return (d.blocks * slotLengthS) / f;
}

/** Node names a step refers to, with the field path of each reference. */
function stepNodeRefs(step: Step, at: Segment[]): [string, Segment[]][] {
  const refs: [string, Segment[]][] = [];
  const list = (names: readonly string[] | 'all' | undefined, path: Segment[]) => {
    if (Array.isArray(names)) names.forEach((n, i) => refs.push([n, [...path, i]]));
  };
  if ('fault' in step) {
    const f = step.fault;
    if ('node' in f) refs.push([f.node, [...at, 'fault', 'node']]);
    if ('peer' in f && f.peer !== undefined) refs.push([f.peer, [...at, 'fault', 'peer']]);
    if ('groups' in f) f.groups.forEach((g, i) => list(g, [...at, 'fault', 'groups', i]));
  } else if ('upgrade' in step) {
    list(step.upgrade.nodes, [...at, 'upgrade', 'nodes']);
  } else if ('adversary' in step) {
    refs.push([step.adversary.node, [...at, 'adversary', 'node']]);
  } else if ('campaign' in step) {
    list(step.campaign.nodes, [...at, 'campaign', 'nodes']);
  } else if ('assert' in step && 'nodes' in step.assert) {
    list(step.assert.nodes, [...at, 'assert', 'nodes']);
  }
  return refs;
}

/** Resolve a loaded (or plain, then validated) profile into a Plan. */
export function resolvePlan(input: LoadedProfile | Profile): Plan {
  const { profile, source } = 'profile' in input && 'source' in input ? input : profileFromObject(input);
  const locate = profileLocator(source);
  const issues: ProfileIssue[] = [];
  const bad = (segments: Segment[], message: string, at: 'key' | 'value' = 'value') =>
    issues.push({ path: displayPath(segments), location: locate(segments, at), message });
  const { composition: comp, genesis: gen, node: nodeSec, generator: genr, scenario, analysis } = profile;
  const rng = new Rng(profile.seed);

  // --- topology and nodes
  let topo: Topology;
  try {
    topo = buildTopology(comp.topology, {
      pools: comp.pools,
      relays: comp.relays,
      links: comp.links,
      rng,
      baseDir: baseDirFor(source, ['composition', 'topology', 'file']),
      cwd: source.cwd,
    });
  } catch (err) {
    if (err instanceof TopologyError) {
      const path: Segment[] = ['composition', 'topology', ...(err.field ? [err.field] : [])];
      throw new ProfileError({ path: displayPath(path), location: locate(path, 'value'), message: err.message }, { cause: err });
    }
    throw err;
  }
  const poolNodes = topo.nodes.filter((n) => n.role === 'pool');
  if (poolNodes.length === 0) bad(['composition'], 'the topology has no pool (a node with stake > 0)');
  let stakes: number[];
  if (comp.topology.kind === 'leios-sim') {
    stakes = poolNodes.map((n) => n.stake ?? 0);
  } else {
    stakes = stakeDistribution(comp.stake, poolNodes.length, rng);
    if (stakes.length !== poolNodes.length) bad(['composition', 'stake', 'stakes'], `expected one stake per pool (${poolNodes.length}), got ${stakes.length}`);
  }
  const stakeOf = new Map(poolNodes.map((n, i) => [n.name, stakes[i] ?? 0]));
  const names = topo.nodes.map((n) => n.name);
  const known = new Set(names);
  const checkNode = (name: string, path: Segment[], at: 'key' | 'value' = 'value') => {
    if (!known.has(name)) bad(path, `unknown node "${name}"; nodes are ${summarizeNames(names)}`, at);
  };

  for (const name of Object.keys(nodeSec.releases)) checkNode(name, ['node', 'releases', name], 'key');
  for (const name of Object.keys(nodeSec.adversaries)) checkNode(name, ['node', 'adversaries', name], 'key');
  const byStake = stakeAdversaries(nodeSec, poolNodes.map((n) => ({ id: n.name, stake: stakeOf.get(n.name) ?? 0 })), bad);

  const nodes: PlanNode[] = topo.nodes.map((n) => {
    const picked = byStake.has(n.name) ? nodeSec.adversaryBehaviours : undefined;
    // explicit node.adversaries entries win per behaviour over the stake-sized ones
    const adversary = picked || nodeSec.adversaries[n.name] ? { ...(picked ?? {}), ...(nodeSec.adversaries[n.name] ?? {}) } : undefined;
    return {
      name: n.name,
      role: n.role,
      stake: n.role === 'pool' ? stakeOf.get(n.name)! : 0,
      release: (nodeSec.releases[n.name] ?? nodeSec.release) as ReleaseName,
      ...(n.region !== undefined ? { region: n.region } : {}),
      ...(n.origin !== undefined ? { origin: n.origin } : {}),
      ...(nodeSec.resources ? { resources: { ...nodeSec.resources } } : {}),
      ...(adversary ? { adversary: structuredClone(adversary) } : {}),
    };
  });

  // --- genesis
  const eras = gen.eras;
  if (eras[0]!.startEpoch !== 0) bad(['genesis', 'eras', 0, 'startEpoch'], `the first era must start at epoch 0, got ${eras[0]!.startEpoch}`);
  for (let i = 1; i < eras.length; i++) {
    if (eras[i]!.startEpoch <= eras[i - 1]!.startEpoch) bad(['genesis', 'eras', i, 'startEpoch'], `eras must be in increasing startEpoch order, got ${eras[i]!.startEpoch} after ${eras[i - 1]!.startEpoch}`);
    if (eras[i]!.protocolVersion < eras[i - 1]!.protocolVersion) bad(['genesis', 'eras', i, 'protocolVersion'], `protocol versions cannot go down, got ${eras[i]!.protocolVersion} after ${eras[i - 1]!.protocolVersion}`);
  }
  const leaderInterval = gen.praos.leaderIntervalSlots;
  if (leaderInterval * gen.f > 1 + 1e-12) {
    bad(['genesis', 'praos', 'leaderIntervalSlots'], `N·f must be at most 1 to keep the mean block interval 1/f: ${leaderInterval} × f ${gen.f} = ${Number((leaderInterval * gen.f).toPrecision(12))}`);
  }
  if (gen.utxo.generatorOutputs > gen.utxo.generatorFunds) bad(['genesis', 'utxo', 'generatorOutputs'], `cannot split ${gen.utxo.generatorFunds} lovelace into ${gen.utxo.generatorOutputs} outputs`);

  // --- generator
  const targets = genr.targets === 'all' ? names : genr.targets;
  if (genr.targets !== 'all') genr.targets.forEach((t, i) => checkNode(t, ['generator', 'targets', i]));
  if (genr.workload === 'burst' && !genr.burst) bad(['generator', 'burst'], 'workload burst needs burst: { onS, offS }');
  if (genr.txSizeBytes > gen.protocolParams.maxTxSize) bad(['generator', 'txSizeBytes'], `expected at most genesis.protocolParams.maxTxSize (${gen.protocolParams.maxTxSize}), got ${genr.txSizeBytes}`);
  const tps = genr.txkbPerS !== undefined ? (genr.txkbPerS * 1000) / genr.txSizeBytes : genr.tps;

  // --- scenario and analysis
  const usedReleases = new Set<ReleaseName>(nodes.map((n) => n.release));
  scenario.steps.forEach((step, i) => {
    for (const [name, path] of stepNodeRefs(step, ['scenario', 'steps', i])) checkNode(name, path);
    if ('upgrade' in step) usedReleases.add(step.upgrade.release as ReleaseName);
  });
  analysis.assertions.forEach((a, i) => {
    if ('nodes' in a && a.nodes) a.nodes.forEach((n, j) => checkNode(n, ['analysis', 'assertions', i, 'nodes', j]));
    if (a.kind === 'metric') {
      const at: Segment[] = ['analysis', 'assertions', i];
      if (a.min === undefined && a.max === undefined && a.maxWorsePct === undefined) bad([...at, 'kind'], 'a metric assertion needs min, max or maxWorsePct');
      if (a.min !== undefined && a.max !== undefined && a.min > a.max) bad([...at, 'min'], `min ${a.min} is above max ${a.max}`);
      const head = a.path.split('.')[0]!;
      if ((METRIC_LATE_SECTIONS as readonly string[]).includes(head)) bad([...at, 'path'], `summary.${head} is computed after the assertions are evaluated; a metric assertion cannot read it`);
    }
  });

  if (issues.length > 0) throw new ProfileError(issues);

  const releases: Record<string, ReleaseInfo> = {};
  for (const r of [...usedReleases].sort()) releases[r] = releaseInfo(r);

  return {
    planVersion: 1,
    profile: {
      name: profile.name,
      description: profile.description,
      ...(source.file ? { file: source.file } : {}),
      extends: source.chain.slice(1),
      sets: [...source.sets],
    },
    seed: profile.seed,
    releases,
    nodes,
    topology: { spec: structuredClone(comp.topology), edges: topo.edges },
    genesis: {
      networkMagic: gen.networkMagic,
      slotLengthS: gen.slotLengthS,
      epochLengthSlots: gen.epochLengthSlots,
      activeSlotCoeff: gen.f,
      securityParam: gen.k,
      initialNonce: toHex(deriveBytes(profile.seed, 'genesis/initial-nonce')),
      protocolParams: { ...gen.protocolParams },
      eras: structuredClone(eras),
      leios: structuredClone(gen.leios),
      ...(leaderInterval !== 1 ? { praos: { leaderIntervalSlots: leaderInterval } } : {}),
      updateThreshold: gen.updateThreshold,
      utxo: { ...gen.utxo },
      startDelayS: gen.startDelayS,
    },
    node: {
      mempoolCapacityBytes: nodeSec.mempoolCapacityBytes ?? 2 * (gen.protocolParams.maxBlockBodySize + gen.leios.ebMaxTxBytes),
      ...(nodeSec.logLevel !== undefined ? { logLevel: nodeSec.logLevel } : {}),
    },
    generator: { ...structuredClone(genr), tps, targets: [...targets], seed: rng.fork('generator').uint32() },
    scenario: {
      duration: structuredClone(scenario.duration),
      estimatedDurationS: estimateDurationS(scenario.duration, gen.slotLengthS, gen.f),
      steps: expandCampaigns(scenario.steps, rng.fork('scenario/campaigns')),
    },
    analysis: { ...structuredClone(analysis), ...(analysis.baseline !== undefined ? { baseline: resolvePath(source.cwd, analysis.baseline) } : {}) },
  };
}

/** The pools node.adversaryStake picks (node/adversary poolsUpToShare), with its cross-field rules. */
function stakeAdversaries(
  nodeSec: Profile['node'],
  pools: { id: string; stake: number }[],
  bad: (segments: Segment[], message: string, at?: 'key' | 'value') => void,
): Set<string> {
  const share = nodeSec.adversaryStake;
  const behaviours = nodeSec.adversaryBehaviours;
  if (share === undefined) {
    if (behaviours) bad(['node', 'adversaryBehaviours'], 'needs node.adversaryStake (the stake share of the pools that run them), e.g. adversaryStake: 0.2', 'key');
    return new Set();
  }
  if (!behaviours || Object.keys(behaviours).length === 0) {
    const eg = `e.g. { ${BEHAVIOUR_NAMES[0]}: {} } (known: ${BEHAVIOUR_NAMES.join(', ')})`;
    if (behaviours) bad(['node', 'adversaryBehaviours'], `names no behaviour for the node.adversaryStake pools to run; ${eg}`);
    else bad(['node', 'adversaryStake'], `needs node.adversaryBehaviours (what the pools run), ${eg}`, 'key');
    return new Set();
  }
  const picked = poolsUpToShare(pools, share);
  if (picked.length === 0) {
    const smallest = smallestPoolShare(pools);
    bad(['node', 'adversaryStake'], smallest === undefined ? 'no pool holds stake: no pool fits' : `${share} is less than the smallest pool's share of the stake (${smallest.toFixed(4)}): no pool fits`);
  }
  return new Set(picked);
}

/** pool-1..pool-4, relay-1..relay-2 */
function summarizeNames(names: readonly string[]): string {
  const groups = new Map<string, number[]>();
  const other: string[] = [];
  for (const n of names) {
    const m = /^(.*)-(\d+)$/.exec(n);
    if (m) groups.set(m[1]!, [...(groups.get(m[1]!) ?? []), Number(m[2])]);
    else other.push(n);
  }
  const parts = [...groups].map(([p, ids]) => (ids.length === 1 ? `${p}-${ids[0]}` : `${p}-${Math.min(...ids)}..${p}-${Math.max(...ids)}`));
  return [...parts, ...other].join(', ');
}

/** loadProfile + resolvePlan. */
export function loadPlan(ref: string, opts: LoadOptions = {}): Plan {
  return resolvePlan(loadProfile(ref, opts));
}
