import { Type, type Static } from '@sinclair/typebox';
import { EraSchema, GenesisSchema, LeiosParamsSchema, ProtocolParamsSchema } from '../../node/genesis/schema.ts';
import { EdgeSchema } from '../topology/types.ts';
import { ReleaseInfoSchema, ReleaseNameSchema } from './releases.ts';
import {
  AnalysisSectionSchema,
  DurationSchema,
  GeneratorSectionSchema,
  GenesisSectionSchema,
  ResourcesSchema,
  StepSchema,
  TopologySpecSchema,
} from './schema.ts';

// The Plan: a profile fully resolved — every node named, staked and released, every edge with its
// link shape, every default applied — and deterministic from the profile and its seed. It is
// JSON (written as profile.resolved.json); genesis, node configs and the runtime start from it.

const strict = { additionalProperties: false } as const;

export const PlanNodeSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    role: Type.Union([Type.Literal('pool'), Type.Literal('relay')]),
    stake: Type.Integer({ minimum: 0, description: 'lovelace delegated (0 for relays)' }),
    release: ReleaseNameSchema,
    region: Type.Optional(Type.String()),
    origin: Type.Optional(Type.String({ description: 'name in the imported topology file' })),
    resources: Type.Optional(ResourcesSchema),
    adversary: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'adversary behaviours on at start' })),
  },
  strict,
);

const gp = GenesisSchema.properties;
export const PlanGenesisSchema = Type.Object(
  {
    networkMagic: gp.networkMagic,
    slotLengthS: gp.slotLengthS,
    epochLengthSlots: gp.epochLengthSlots,
    activeSlotCoeff: gp.activeSlotCoeff,
    securityParam: gp.securityParam,
    initialNonce: gp.initialNonce,
    protocolParams: ProtocolParamsSchema,
    eras: Type.Array(EraSchema, { minItems: 1 }),
    leios: LeiosParamsSchema,
    praos: Type.Optional(GenesisSectionSchema.properties.praos),
    updateThreshold: gp.updateThreshold,
    utxo: GenesisSectionSchema.properties.utxo,
    startDelayS: GenesisSectionSchema.properties.startDelayS,
  },
  strict,
);

export const PlanGeneratorSchema = Type.Object(
  {
    ...GeneratorSectionSchema.properties,
    targets: Type.Array(Type.String({ minLength: 1 }), { description: 'node names, resolved from "all"' }),
    seed: Type.Integer({ minimum: 0, maximum: 0xffffffff, description: 'for the generator’s own random choices' }),
  },
  strict,
);

export const PlanSchema = Type.Object(
  {
    planVersion: Type.Literal(1),
    profile: Type.Object(
      {
        name: Type.String(),
        description: Type.String(),
        file: Type.Optional(Type.String({ description: 'the profile file, absolute' })),
        extends: Type.Array(Type.String(), { description: 'files it extends, nearest first' }),
        sets: Type.Array(Type.String(), { description: '--set overrides applied' }),
      },
      strict,
    ),
    seed: Type.Integer({ minimum: 0, maximum: 0xffffffff }),
    releases: Type.Record(Type.String(), ReleaseInfoSchema, { description: 'capabilities of every release the plan uses' }),
    nodes: Type.Array(PlanNodeSchema, { minItems: 1, description: 'pools first, then relays' }),
    topology: Type.Object({ spec: TopologySpecSchema, edges: Type.Array(EdgeSchema) }, strict),
    genesis: PlanGenesisSchema,
    node: Type.Object(
      {
        mempoolCapacityBytes: Type.Integer({ minimum: 1 }),
        logLevel: Type.Optional(Type.String()),
      },
      strict,
    ),
    generator: PlanGeneratorSchema,
    scenario: Type.Object(
      {
        duration: DurationSchema,
        estimatedDurationS: Type.Number({ minimum: 0, description: 'run length after systemStart, for progress and timeouts' }),
        steps: Type.Array(StepSchema),
      },
      strict,
    ),
    analysis: AnalysisSectionSchema,
  },
  { ...strict, title: 'leiosnet plan (profile.resolved.json)' },
);

export type Plan = Static<typeof PlanSchema>;
export type PlanNode = Static<typeof PlanNodeSchema>;
export type PlanGenesis = Static<typeof PlanGenesisSchema>;
export type PlanGenerator = Static<typeof PlanGeneratorSchema>;
