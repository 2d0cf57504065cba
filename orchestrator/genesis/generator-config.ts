import { Type, type Static } from '@sinclair/typebox';
import { BurstSchema, WorkloadSchema } from '../profile/schema.ts';

// generator/config.json: everything the tx-generator starts from. Written by writeGeneratorConfig
// from the Plan; paths are relative to this file. The generator pays from the genesis outputs at
// the address of its payment key (Blake2b-224 of the Ed25519 public key) and submits over the
// node-to-node tx-submission protocol to `targets`.

export const GeneratorTargetSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
  },
  { additionalProperties: false },
);

export const GeneratorConfigSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'shown in logs and metrics' }),
    genesisFile: Type.String({ description: 'genesis.json: network magic, systemStart, initial UTxO' }),
    paymentSkeyFile: Type.String({ description: 'key file {"type": "PaymentSigningKey", "hex": ...}' }),
    networkMagic: Type.Integer({ minimum: 0 }),
    targets: Type.Array(GeneratorTargetSchema, { minItems: 1 }),
    enabled: Type.Boolean({ description: 'submit from the start; false = wait to be enabled by the scenario' }),
    tps: Type.Number({ exclusiveMinimum: 0, description: 'target rate, transactions per second across all targets' }),
    txSizeBytes: Type.Integer({ minimum: 100, description: 'each transaction is padded to this size' }),
    inputs: Type.Integer({ minimum: 1 }),
    outputs: Type.Integer({ minimum: 1 }),
    workload: WorkloadSchema,
    conflictFraction: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
    burst: Type.Optional(BurstSchema),
    rampUpS: Type.Optional(Type.Number({ minimum: 0 })),
    durationS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'stop after; absent = until stopped' })),
    seed: Type.Integer({ minimum: 0, maximum: 0xffffffff, description: 'for the generator’s own random choices' }),
    metrics: Type.Optional(
      Type.Object(
        { host: Type.String(), port: Type.Integer({ minimum: 0, maximum: 65535 }) },
        { additionalProperties: false, description: 'serve GET /metrics (leios_txgen_*) here' },
      ),
    ),
    logFile: Type.String(),
    summaryFile: Type.String({ description: 'written on exit: submitted/accepted/rejected, effective rate' }),
  },
  { additionalProperties: false, title: 'leiosnet tx-generator config' },
);

export type GeneratorConfig = Static<typeof GeneratorConfigSchema>;
export type GeneratorTarget = Static<typeof GeneratorTargetSchema>;
