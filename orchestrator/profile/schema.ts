import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CommitteeSchema, EraSchema, GenesisSchema, LeiosParamsSchema, ProtocolParamsSchema } from '../../node/genesis/schema.ts';
import { LinkShapeSchema } from '../../node/config/schema.ts';
import { AdversariesSchema, AdversaryBehaviourSchema, BEHAVIOURS } from '../../node/adversary/index.ts';
import { DEFAULT_RELEASE, ReleaseNameSchema } from './releases.ts';
import { RULE_IDS } from '../verify/rule-ids.ts';
import { CHECKS } from '../scenario/checks/names.ts';

// The profile: what a user writes (profiles/*.yaml). Sections after cardano-profile: composition,
// genesis, node, generator, scenario, analysis. Fields with a `default` may be omitted: the loader
// fills them in before validating, so `Profile` (the Static type) is the fully defaulted profile.
// The published JSON Schema (profiles/profile.schema.json) drops defaulted fields from `required`.

const strict = { additionalProperties: false } as const;

function withDefault<T extends TSchema>(schema: T, value: Static<T>, description?: string): T {
  return { ...schema, default: value, ...(description ? { description } : {}) };
}

const NodeName = Type.String({ minLength: 1, description: 'node name: pool-<i> or relay-<j>' });
const NodeNames = Type.Array(NodeName, { minItems: 1 });

export const DurationSchema = Type.Union(
  [
    Type.Object({ slots: Type.Integer({ minimum: 1 }) }, strict),
    Type.Object({ blocks: Type.Integer({ minimum: 1, description: 'ranking blocks on the chain' }) }, strict),
    Type.Object({ seconds: Type.Number({ exclusiveMinimum: 0 }) }, strict),
  ],
  { description: 'one of {slots}, {blocks}, {seconds}' },
);

// ---------------------------------------------------------------------------------- composition

export const TopologySpecSchema = Type.Union(
  [
    Type.Object({ kind: Type.Literal('line', { description: 'pool-1 — pool-2 — … — relay-M' }) }, strict),
    Type.Object({ kind: Type.Literal('uni-circle', { description: 'directed ring: node i fetches from node i-1' }) }, strict),
    Type.Object(
      {
        kind: Type.Literal('torus', { description: '2D grid with wrap-around, 4 neighbours per node' }),
        columns: Type.Optional(Type.Integer({ minimum: 1, description: 'must divide the node count; default: the divisor closest to √N' })),
      },
      strict,
    ),
    Type.Object(
      {
        kind: Type.Literal('random-regular', { description: 'connected random graph, every node with `degree` peers' }),
        degree: Type.Integer({ minimum: 2 }),
      },
      strict,
    ),
    Type.Object({ kind: Type.Literal('full-mesh') }, strict),
    Type.Object(
      {
        kind: Type.Literal('regions', { description: 'nodes spread over regions by share; random-regular graph; latency by region pair' }),
        regions: Type.Array(
          Type.Object({ name: Type.String({ minLength: 1 }), share: Type.Number({ exclusiveMinimum: 0 }) }, strict),
          { minItems: 1 },
        ),
        latencyMs: Type.Array(Type.Array(Type.Number({ minimum: 0 })), {
          description: 'matrix [from region][to region] of one-way latency in ms, in the order of `regions`',
        }),
        degree: Type.Integer({ minimum: 2, default: 4, description: 'peers per node (full mesh if ≥ N-1)' }),
      },
      strict,
    ),
    Type.Object(
      {
        kind: Type.Literal('leios-sim', { description: 'a Leios simulator topology file, imported as is' }),
        file: Type.String({ minLength: 1, description: 'path relative to the profile file (YAML or JSON)' }),
      },
      strict,
    ),
  ],
  { default: { kind: 'full-mesh' } },
);

export const LinksSchema = Type.Object(
  {
    latencyMs: LinkShapeSchema.properties.latencyMs,
    bandwidthBps: LinkShapeSchema.properties.bandwidthBps,
    loss: LinkShapeSchema.properties.loss,
  },
  { ...strict, default: {}, description: 'link shape of every edge unless the topology says otherwise' },
);

const TOTAL_STAKE = 1_000_000_000_000;

export const StakeSchema = Type.Union(
  [
    Type.Object(
      { kind: Type.Literal('equal'), total: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, default: TOTAL_STAKE, description: 'lovelace delegated to all pools' }) },
      strict,
    ),
    Type.Object(
      {
        kind: Type.Literal('pareto'),
        alpha: Type.Number({ exclusiveMinimum: 0, default: 1.16, description: 'shape; 1.16 is the 80/20 rule' }),
        total: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, default: TOTAL_STAKE }),
      },
      strict,
    ),
    Type.Object(
      { kind: Type.Literal('explicit'), stakes: Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1, description: 'one entry per pool' }) },
      strict,
    ),
  ],
  { default: { kind: 'equal', total: TOTAL_STAKE }, description: 'ignored by leios-sim topologies (stake comes from the file)' },
);

export const CompositionSchema = Type.Object(
  {
    pools: Type.Integer({ minimum: 1, maximum: 5000, default: 4, description: 'block producers pool-1..N' }),
    relays: Type.Integer({ minimum: 0, maximum: 5000, default: 0, description: 'relays relay-1..M (no stake)' }),
    topology: TopologySpecSchema,
    links: LinksSchema,
    stake: StakeSchema,
  },
  { ...strict, default: {}, description: 'nodes, graph and stake; a leios-sim topology defines nodes and stake itself' },
);

// --------------------------------------------------------------------------------------- genesis

const LeiosSectionSchema = Type.Object(
  {
    ...LeiosParamsSchema.properties,
    committee: withDefault(Type.Union(CommitteeSchema.anyOf), { kind: 'truncation', sigmaC: 0.99 }, 'voting committee selection'),
  },
  { ...strict, default: {} },
);

const pp = ProtocolParamsSchema.properties;
const ProtocolParamsSectionSchema = Type.Object(
  {
    minFeeA: withDefault(pp.minFeeA, 44),
    minFeeB: withDefault(pp.minFeeB, 155_381),
    maxTxSize: withDefault(pp.maxTxSize, 16_384),
    maxBlockBodySize: withDefault(pp.maxBlockBodySize, 90_112),
    maxHeaderSize: withDefault(pp.maxHeaderSize, 1_100),
  },
  { ...strict, default: {} },
);

const g = GenesisSchema.properties;
export const GenesisSectionSchema = Type.Object(
  {
    networkMagic: withDefault(g.networkMagic, 42),
    slotLengthS: withDefault(g.slotLengthS, 1),
    epochLengthSlots: withDefault(g.epochLengthSlots, 100),
    f: withDefault(g.activeSlotCoeff, 0.05, 'active slot coefficient: chance that a slot has a leader'),
    k: withDefault(g.securityParam, 10, 'security parameter: maximum rollback in blocks'),
    updateThreshold: g.updateThreshold,
    eras: withDefault(
      Type.Array(EraSchema, { minItems: 1 }),
      [
        { era: 'praos', startEpoch: 0, protocolVersion: 1 },
        { era: 'leios', startEpoch: 1, protocolVersion: 2 },
      ],
      'era schedule, ordered by startEpoch, the first at epoch 0; a later era is a hard fork',
    ),
    leios: LeiosSectionSchema,
    praos: Type.Object(
      {
        leaderIntervalSlots: Type.Integer({
          minimum: 1,
          default: 1,
          description:
            'leadership checked only every N-th slot, f recalibrated to N·f so the mean block interval stays 1/f slots (the "reduce leader slot frequency" proposal; needs N·f ≤ 1); 1 = Praos',
        }),
      },
      { ...strict, default: {}, description: 'Praos variants' },
    ),
    protocolParams: ProtocolParamsSectionSchema,
    utxo: Type.Object(
      {
        generatorFunds: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, default: 1_000_000_000_000_000, description: 'lovelace for the tx generator' }),
        generatorOutputs: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000, description: 'genesis outputs the funds are split into' }),
      },
      { ...strict, default: {} },
    ),
    startDelayS: Type.Number({ minimum: 0, default: 10, description: 'systemStart = now + startDelayS: time for every node to come up' }),
  },
  { ...strict, default: {} },
);

// ------------------------------------------------------------------------------------------ node

export const ResourcesSchema = Type.Object(
  {
    cpus: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    memoryMb: Type.Optional(Type.Integer({ minimum: 16 })),
  },
  strict,
);

export const NodeSectionSchema = Type.Object(
  {
    release: withDefault(ReleaseNameSchema, DEFAULT_RELEASE, 'release every node starts on'),
    releases: Type.Record(NodeName, ReleaseNameSchema, { default: {}, description: 'per-node release, e.g. { pool-3: praos-1.0 }' }),
    resources: Type.Optional(ResourcesSchema),
    mempoolCapacityBytes: Type.Optional(Type.Integer({ minimum: 1, description: 'default 2 × (maxBlockBodySize + ebMaxTxBytes)' })),
    logLevel: Type.Optional(Type.Union((['trace', 'debug', 'info', 'warn', 'error'] as const).map((l) => Type.Literal(l)))),
    adversaries: Type.Record(NodeName, AdversariesSchema, {
      default: {},
      description: 'adversary behaviours on from the start, per node: { pool-2: { eb-withholding: {} } } (node/adversary/)',
    }),
    adversaryStake: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        description:
          'size the adversary by stake share, not node count: the pools holding at most this share together, smallest stake first (ties by name, as `leiosnet attack --stake`), run node.adversaryBehaviours from the start',
      }),
    ),
    adversaryBehaviours: Type.Optional(
      Type.Object(AdversariesSchema.properties, {
        additionalProperties: false,
        description: `the behaviours (and params) the node.adversaryStake pools run, e.g. { lazy-voter: {} } (known: ${BEHAVIOURS.map((b) => b.name).join(', ')})`,
      }),
    ),
  },
  { ...strict, default: {} },
);

// ------------------------------------------------------------------------------------- generator

export const WorkloadSchema = Type.Union(
  (['value', 'conflict', 'duplicate', 'burst', 'poisson'] as const).map((w) => Type.Literal(w)),
  { description: 'value: independent transfers at a steady rate; conflict: a share spends the same input twice; duplicate: resubmits; burst: on/off; poisson: exponential gaps' },
);

export const TargetsSchema = Type.Union([Type.Literal('all'), NodeNames], { default: 'all', description: 'nodes to submit to' });

export const BurstSchema = Type.Object(
  { onS: Type.Number({ exclusiveMinimum: 0 }), offS: Type.Number({ minimum: 0 }) },
  { ...strict, description: 'for workload burst: submit for onS seconds, pause offS seconds' },
);

export const GeneratorSectionSchema = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    tps: Type.Number({ exclusiveMinimum: 0, default: 5, description: 'transactions per second' }),
    txkbPerS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'if set, tps = txkbPerS × 1000 / txSizeBytes' })),
    txSizeBytes: Type.Integer({ minimum: 100, default: 400, description: 'padded size of each transaction' }),
    inputs: Type.Integer({ minimum: 1, maximum: 100, default: 1 }),
    outputs: Type.Integer({ minimum: 1, maximum: 100, default: 2 }),
    workload: withDefault(WorkloadSchema, 'value'),
    targets: TargetsSchema,
    durationS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'stop after; default: the whole run' })),
    rampUpS: Type.Optional(Type.Number({ minimum: 0, description: 'linear ramp from 0 to tps' })),
    conflictFraction: Type.Optional(Type.Number({ minimum: 0, maximum: 1, description: 'for workload conflict' })),
    burst: Type.Optional(BurstSchema),
  },
  { ...strict, default: {} },
);

// ------------------------------------------------------------------------------------ assertions

function assertionKinds<P extends Record<string, TSchema>>(extra: P) {
  const o = <K extends string, Q extends Record<string, TSchema>>(kind: K, props: Q, description: string) =>
    Type.Object({ kind: Type.Literal(kind, { description }), ...props, ...extra }, strict);
  const nodes = Type.Optional(Type.Array(NodeName, { minItems: 1, description: 'nodes to check; default all running' }));
  return [
    o('tip-agreement', { nodes, maxBlocksApart: Type.Optional(Type.Integer({ minimum: 0 })) }, 'nodes agree on the tip (within maxBlocksApart, default 0)'),
    o('min-blocks', { n: Type.Integer({ minimum: 1 }) }, 'chain has at least n blocks'),
    o('certified-ebs', { min: Type.Integer({ minimum: 0 }) }, 'at least min EBs certified on chain'),
    o('max-fork-depth', { n: Type.Integer({ minimum: 0 }) }, 'no rollback deeper than n blocks'),
    o('txkb-per-s', { min: Type.Number({ minimum: 0 }) }, 'included transaction throughput in kB/s'),
    o('tps', { min: Type.Number({ minimum: 0 }) }, 'included transactions per second'),
    o('inclusion-p95', { maxS: Type.Number({ exclusiveMinimum: 0 }) }, 'p95 submission → inclusion latency'),
    o('rb-diffusion-p95', { maxMs: Type.Number({ exclusiveMinimum: 0 }) }, 'p95 ranking block diffusion'),
    o('protocol-version', { version: Type.Integer({ minimum: 1 }), nodes }, 'nodes are at this protocol version'),
    o('stopped-following', { nodes: NodeNames }, 'these nodes fell off the chain (e.g. an old release after the hard fork)'),
    o(
      'conformance',
      {
        maxViolations: Type.Optional(Type.Integer({ minimum: 0, description: 'default 0' })),
        rules: Type.Optional(Type.Array(Type.Union(RULE_IDS.map((r) => Type.Literal(r))), { minItems: 1, description: 'only these rules; default all' })),
      },
      'the trace verifier (leiosnet verify) finds at most maxViolations CIP-164 violations',
    ),
  ];
}

// End-of-run only (they read summary.adversary, which the analysis builds from the traces): what
// the adversaries did and what honest nodes did about it, so an attack profile's checks cannot
// pass without the attack having happened.
const AdversaryAssertionSchemas = (() => {
  const o = <K extends string, Q extends Record<string, TSchema>>(kind: K, props: Q, description: string) => Type.Object({ kind: Type.Literal(kind, { description }), ...props }, strict);
  const honestNodes = Type.Optional(Type.Array(NodeName, { minItems: 1, description: 'honest nodes to check; default every honest node' }));
  return [
    o(
      'adversary-acted',
      {
        nodes: Type.Optional(Type.Array(NodeName, { minItems: 1, description: 'adversarial nodes; default every one' })),
        behaviour: Type.Optional(AdversaryBehaviourSchema),
        action: Type.Optional(Type.String({ minLength: 1, description: "the behaviour's trace action, e.g. withheld, forged, sent, equivocated" })),
        min: Type.Optional(Type.Integer({ minimum: 1, description: 'default 1' })),
      },
      'each adversarial node traced at least min actions (Adversary events; enabling it is not an action)',
    ),
    o(
      'refused',
      {
        what: Type.Union([Type.Literal('votes'), Type.Literal('ebs'), Type.Literal('certificates'), Type.Literal('blocks')], { description: 'VoteRejected, EBRejected, CertificateRejected or BlockRejected traces' }),
        nodes: honestNodes,
        each: Type.Optional(Type.Boolean({ description: 'every node refused at least min (default: their sum)' })),
        min: Type.Optional(Type.Integer({ minimum: 1, description: 'default 1' })),
      },
      'honest nodes refused invalid data from peers (and said why in a trace)',
    ),
    o(
      'equivocation-detected',
      { nodes: honestNodes, min: Type.Optional(Type.Integer({ minimum: 1, description: 'default 1' })) },
      'every honest node traced at least min RB header equivocations of an adversarial producer, and none of an honest one',
    ),
    o(
      'not-certified',
      { producers: Type.Array(NodeName, { minItems: 1, description: 'EB producers' }) },
      'no EB these pools forged was certified on a chain an honest node adopted',
    ),
  ];
})();

/** summary.json sections computed after the assertions are evaluated: a `metric` assertion cannot read them. */
export const METRIC_LATE_SECTIONS = ['txFate', 'fairness', 'faults', 'assertions', 'passed'] as const;

// End-of-run only: any numeric figure of summary.json against bounds, or against the same figure of
// the attack-free baseline run (analysis.baseline).
const MetricAssertionSchema = Type.Object(
  {
    kind: Type.Literal('metric', { description: 'a summary.json figure (dotted path) is within bounds, or within maxWorsePct of the baseline run' }),
    path: Type.String({
      pattern: '^[A-Za-z][A-Za-z0-9]*(\\.[A-Za-z0-9_-]+)+$',
      description: `dotted summary.json path, e.g. leios.certRate, diffusion.rb.p95Ms, adversary.ebTwinsCertified (not ${METRIC_LATE_SECTIONS.join(', ')}: computed after assertions)`,
    }),
    min: Type.Optional(Type.Number()),
    max: Type.Optional(Type.Number()),
    maxWorsePct: Type.Optional(
      Type.Number({ minimum: 0, description: 'at most this % worse than the same figure of analysis.baseline (worse: lower, or higher for latencies; as leiosnet compare)' }),
    ),
  },
  strict,
);

export const AssertionSchema = Type.Union([...assertionKinds({}), ...AdversaryAssertionSchemas, MetricAssertionSchema]);

// -------------------------------------------------------------------------------------- scenario

const NodeFaultSchema = Type.Object(
  {
    kind: Type.Union((['kill', 'stop', 'start', 'pause', 'resume', 'restart'] as const).map((k) => Type.Literal(k))),
    node: NodeName,
    forS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'undo after this many seconds (start after kill/stop, resume after pause)' })),
  },
  strict,
);

const LinkFaultSchema = Type.Object(
  {
    kind: Type.Literal('link', { description: 'reshape links of a node (all peers, or one)' }),
    node: NodeName,
    peer: Type.Optional(NodeName),
    // No defaults here: a link fault changes only what it names.
    latencyMs: Type.Optional(Type.Number({ minimum: 0 })),
    bandwidthBps: LinkShapeSchema.properties.bandwidthBps,
    loss: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    down: Type.Optional(Type.Boolean()),
    forS: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  },
  strict,
);

const ClockFaultSchema = Type.Object({ kind: Type.Literal('clock'), node: NodeName, offsetMs: Type.Number() }, strict);

const PartitionFaultSchema = Type.Object(
  {
    kind: Type.Literal('partition', { description: 'cut every link between the groups' }),
    groups: Type.Array(NodeNames, { minItems: 2 }),
    forS: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  },
  strict,
);

export const FaultSchema = Type.Union([NodeFaultSchema, LinkFaultSchema, ClockFaultSchema, PartitionFaultSchema]);

// Step-only assertions: relative to an earlier value, or over a window of time.
const withinS = Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'poll until this deadline' }));
export const GROWS_METRICS = ['height', 'certified-ebs', 'tx-applied', 'tx-kb-applied'] as const;
const RelativeAssertionSchemas = [
  Type.Object(
    {
      kind: Type.Literal('grows', { description: 'a figure grows by at least `by` from its value at `since` (a mark) or at this step' }),
      metric: Type.Union(GROWS_METRICS.map((m) => Type.Literal(m)), { description: 'height: best block; certified-ebs; tx-applied / tx-kb-applied: ledger counters (best node)' }),
      by: Type.Number({ exclusiveMinimum: 0 }),
      since: Type.Optional(Type.String({ minLength: 1, description: 'a `mark` label earlier in the timeline' })),
      withinS,
    },
    strict,
  ),
  Type.Object(
    {
      kind: Type.Literal('majority-agreement', { description: 'more than `minShare` of the running nodes share a tip (within maxBlocksApart); a disagreement counts only once it outlasts `graceS`' }),
      minShare: Type.Number({ minimum: 0, maximum: 1, default: 0.5 }),
      maxBlocksApart: Type.Integer({ minimum: 0, default: 1 }),
      graceS: Type.Number({ minimum: 0, default: 30 }),
      forS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'watch this long (health); default: one check, passing once agreement is seen within graceS' })),
      nodes: Type.Optional(NodeNames),
    },
    strict,
  ),
  Type.Object(
    {
      kind: Type.Literal('throughput-above-praos', { description: 'ledger bytes applied per second over `windowS` exceed factor × Praos capacity (maxBlockBodySize · f / slotLengthS)' }),
      windowS: Type.Number({ exclusiveMinimum: 0, default: 20 }),
      factor: Type.Number({ exclusiveMinimum: 0, default: 1 }),
      withinS,
    },
    strict,
  ),
];

export const StepAssertionSchema = Type.Union([...assertionKinds({ withinS }), ...RelativeAssertionSchemas]);

export const CheckSchema = Type.Object(
  {
    name: Type.Union(
      Object.entries(CHECKS).map(([n, d]) => Type.Literal(n, { description: d })),
      { description: `functional check: ${Object.keys(CHECKS).join(' | ')}` },
    ),
    node: Type.Optional(NodeName),
    nodes: Type.Optional(NodeNames),
    withinS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'deadline for inclusion or for what the check waits for; default 60' })),
    outputs: Type.Optional(Type.Integer({ minimum: 2, maximum: 1000, description: 'multi-output: number of outputs (default 20)' })),
    groups: Type.Optional(Type.Array(NodeNames, { minItems: 2, maxItems: 2, description: 'rollback: [minority, majority]; default: the first pool vs the rest' })),
  },
  { ...strict, description: 'a functional check: submit over the admin API, see it included or refused with its reason' },
);

export const ProposeSchema = Type.Object(
  {
    node: NodeName,
    era: Type.Union([Type.Literal('praos'), Type.Literal('leios')]),
    protocolVersion: Type.Integer({ minimum: 1 }),
    epoch: Type.Integer({ minimum: 0, description: 'earliest epoch it takes effect' }),
    endorsers: Type.Array(NodeName, { default: [], description: 'pools that endorse it (POST /update on each)' }),
    withinS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'how long endorsers may take to see the proposal; default 60' })),
  },
  { ...strict, description: 'on-chain hard-fork proposal: `node` proposes, `endorsers` endorse' },
);

const RangeS = Type.Object(
  { min: Type.Number({ minimum: 0 }), max: Type.Number({ minimum: 0 }) },
  { ...strict, description: 'seconds, drawn uniformly from [min, max] with the profile seed' },
);

export const CampaignSchema = Type.Object(
  {
    kind: Type.Union((['kill', 'stop', 'pause', 'restart'] as const).map((k) => Type.Literal(k)), { default: 'kill' }),
    nodes: NodeNames,
    rounds: Type.Integer({ minimum: 1, maximum: 100, default: 1, description: 'each node is hit once per round, in a seeded order' }),
    gapS: RangeS,
    downS: Type.Optional(RangeS),
  },
  { ...strict, description: 'a seeded fault campaign, expanded by the planner into wait + fault steps: before each fault a gap of gapS, then the node is down for downS (restarted from its DB)' },
);

export const StepSchema = Type.Union([
  Type.Object({ wait: DurationSchema }, strict),
  Type.Object({ campaign: CampaignSchema }, strict),
  Type.Object({ fault: FaultSchema }, strict),
  Type.Object(
    { upgrade: Type.Object({ nodes: Type.Union([Type.Literal('all'), NodeNames]), release: ReleaseNameSchema }, strict) },
    strict,
  ),
  Type.Object({ assert: StepAssertionSchema }, strict),
  Type.Object({ check: CheckSchema }, strict),
  Type.Object({ propose: ProposeSchema }, strict),
  Type.Object(
    {
      generator: Type.Object(
        { enabled: Type.Optional(Type.Boolean()), tps: Type.Optional(Type.Number({ exclusiveMinimum: 0 })) },
        { ...strict, description: 'change the load' },
      ),
    },
    strict,
  ),
  Type.Object(
    {
      adversary: Type.Object(
        {
          node: NodeName,
          behaviour: AdversaryBehaviourSchema,
          enabled: Type.Boolean({ default: true }),
          params: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: "the behaviour's params (node/adversary/<behaviour>.ts)" })),
        },
        {
          ...strict,
          description: 'turn an adversary behaviour on (or off) at this point of the timeline',
          // each behaviour's params schema applies to `params` when `behaviour` names it
          allOf: BEHAVIOURS.map((b) => ({ if: { properties: { behaviour: { const: b.name } }, required: ['behaviour'] }, then: { properties: { params: b.params } } })),
        },
      ),
    },
    strict,
  ),
  Type.Object({ mark: Type.String({ minLength: 1, description: 'a labelled event in events.jsonl' }) }, strict),
]);

export const ScenarioSectionSchema = Type.Object(
  {
    duration: withDefault(DurationSchema, { slots: 200 }, 'how long the run lasts after systemStart'),
    steps: Type.Array(StepSchema, { default: [], description: 'timeline run in order from systemStart' }),
  },
  { ...strict, default: {} },
);

export const AnalysisSectionSchema = Type.Object(
  {
    diffusionWithinS: Type.Number({ exclusiveMinimum: 0, default: 5, description: 'a block counts as diffused if it reached a node within this' }),
    warmupSlots: Type.Integer({ minimum: 0, default: 0, description: 'slots after the load starts that the sustained throughput (throughput.windowTxkbPerS) leaves out, while the inclusion pipeline fills' }),
    assertions: Type.Array(AssertionSchema, { default: [] }),
    baseline: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'an attack-free run to compare with (its run dir or summary.json, relative to the working directory): summary.adversary.degradation and the report state Δ of certification rate, throughput and RB diffusion p95; e.g. --set analysis.baseline=runs/<baseline-run>',
      }),
    ),
  },
  { ...strict, default: {} },
);

// --------------------------------------------------------------------------------------- profile

export const ProfileSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', default: 'custom', description: 'defaults to the file name' }),
    description: Type.String({ maxLength: 200, pattern: '^[^\\n]*$', default: '', description: 'one line, shown by `leiosnet profiles list`' }),
    extends: Type.Optional(Type.String({ minLength: 1, description: 'a profile name or a path relative to this file; deep-merged under this one' })),
    seed: Type.Integer({ minimum: 0, maximum: 0xffffffff, default: 1, description: 'every random choice (keys, stake, topology, fault times) derives from it; admin tokens do not (random per run)' }),
    composition: CompositionSchema,
    genesis: GenesisSectionSchema,
    node: NodeSectionSchema,
    generator: GeneratorSectionSchema,
    scenario: ScenarioSectionSchema,
    analysis: AnalysisSectionSchema,
  },
  { ...strict, title: 'leiosnet profile' },
);

export type Profile = Static<typeof ProfileSchema>;
export type TopologySpec = Static<typeof TopologySpecSchema>;
export type Links = Static<typeof LinksSchema>;
export type StakeSpec = Static<typeof StakeSchema>;
export type Duration = Static<typeof DurationSchema>;
export type Assertion = Static<typeof AssertionSchema>;
export type Fault = Static<typeof FaultSchema>;
export type Step = Static<typeof StepSchema>;
export type StepAssertion = Static<typeof StepAssertionSchema>;
export type CheckSpec = Static<typeof CheckSchema>;
export type ProposeSpec = Static<typeof ProposeSchema>;
export type Resources = Static<typeof ResourcesSchema>;
export type GeneratorSection = Static<typeof GeneratorSectionSchema>;
