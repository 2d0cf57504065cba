import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';

// The tx-generator's config: `tx-generator/main.ts --config generator/config.json`, or the
// object handed to `runGenerator`. Relative paths are relative to the config file (or to
// `baseDir` for an in-memory config). Defaults are filled in by `resolveGeneratorConfig`.

export const TargetSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'node name (labels metrics and per-tx records)' }),
    host: Type.String({ minLength: 1 }),
    port: Type.Integer({ minimum: 1, maximum: 65535, description: 'the node-to-node port' }),
  },
  { additionalProperties: false },
);

export const WorkloadKindSchema = Type.Union([
  Type.Literal('value'),
  Type.Literal('conflict'),
  Type.Literal('duplicate'),
  Type.Literal('burst'),
  Type.Literal('poisson'),
]);

export const WorkloadSchema = Type.Object(
  {
    kind: WorkloadKindSchema,
    conflictFraction: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 0.5,
        description: 'conflict: share of txs that double-spend the inputs of the tx before them through another target',
      }),
    ),
    duplicateFanout: Type.Optional(Type.Integer({ minimum: 1, description: 'duplicate: how many targets get each tx (capped at the number of targets)' })),
    onS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'burst: seconds at the target rate' })),
    offS: Type.Optional(Type.Number({ minimum: 0, description: 'burst: seconds silent' })),
  },
  { additionalProperties: false },
);

export const GeneratorConfigSchema = Type.Object(
  {
    name: Type.String({
      pattern: '^txgen',
      default: 'txgen-1',
      description: 'handshake name on every connection (nodes treat txgen* peers as submit-only clients); unique per generator',
    }),
    genesisFile: Type.String({ minLength: 1 }),
    paymentSkeyFile: Type.String({ minLength: 1, description: 'JSON {"type":"PaymentSigningKey","hex":<32-byte seed>} owning genesis funds' }),
    targets: Type.Array(TargetSchema, { minItems: 1 }),
    networkMagic: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff, description: 'default: the genesis networkMagic' })),
    tps: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'target tx/s (open loop); one of tps / txkbPerS' })),
    txkbPerS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'target kB/s of txs; overrides tps (tps = txkbPerS·1000 / txSizeBytes)' })),
    txSizeBytes: Type.Integer({ minimum: 0, maximum: 65536, default: 300, description: 'pad each tx to this size (txs are never smaller than their natural size)' }),
    inputs: Type.Integer({ minimum: 1, maximum: 64, default: 1, description: 'inputs per tx' }),
    outputs: Type.Integer({ minimum: 1, maximum: 64, default: 2, description: 'outputs per tx (change included)' }),
    workload: Type.Object(WorkloadSchema.properties, { additionalProperties: false, default: { kind: 'value' } }),
    durationS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'benchmark phase length (ramp-up included)' })),
    count: Type.Optional(Type.Integer({ minimum: 1, description: 'stop after this many txs (whichever of durationS / count comes first; neither = until stopped)' })),
    rampUpS: Type.Number({ minimum: 0, default: 0, description: 'linear ramp from 0 to the target rate' }),
    fanoutOutputs: Type.Integer({ minimum: 2, maximum: 1000, default: 100, description: 'outputs per fan-out (UTxO splitting) tx' }),
    metrics: Type.Optional(
      Type.Object(
        { host: Type.String({ minLength: 1 }), port: Type.Integer({ minimum: 0, maximum: 65535 }) },
        { additionalProperties: false, description: 'serve GET /metrics (Prometheus) here' },
      ),
    ),
    outDir: Type.String({ minLength: 1, description: 'run dir generator/: summary.json, txs.jsonl, submissions.jsonl' }),
    // ---- tuning (all optional)
    followTarget: Type.Optional(Type.String({ description: 'target whose chain is followed for inclusion (default: the first)' })),
    confirmations: Type.Integer({ minimum: 1, default: 2, description: 'blocks (the including one counts) before fan-out outputs are used' }),
    drainS: Type.Number({ minimum: 0, default: 20, description: 'after the benchmark phase, wait up to this long for pending txs' }),
    connectTimeoutS: Type.Number({ minimum: 0, default: 60, description: 'keep dialling targets this long at start' }),
    syncTimeoutS: Type.Number({ minimum: 1, default: 120, description: 'catching up with the followed chain' }),
    fanoutTimeoutS: Type.Number({ minimum: 1, default: 300, description: 'whole fan-out phase' }),
    utxoCount: Type.Optional(Type.Integer({ minimum: 1, description: 'UTxOs to prepare (default: enough for the whole run, or 10 min of it)' })),
    recycle: Type.Boolean({ default: true, description: 'reuse confirmed outputs of included txs when the prepared UTxOs run out' }),
    seed: Type.Integer({ minimum: 0, default: 1, description: 'seed for the poisson arrivals' }),
    tickMs: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'emission timer period (the rate comes from the clock, not the ticks)' }),
    versions: Type.Array(Type.Integer({ minimum: 1 }), {
      minItems: 1,
      default: [1, 2],
      description: 'node-to-node versions offered in the handshake (2 carries LeiosFetch: certified EB txs are followed)',
    }),
    progressIntervalS: Type.Number({ exclusiveMinimum: 0, default: 1 }),
  },
  { additionalProperties: false },
);

export type GeneratorTarget = Static<typeof TargetSchema>;
export type WorkloadKind = Static<typeof WorkloadKindSchema>;
export type WorkloadConfig = Static<typeof WorkloadSchema>;
/** A validated config with defaults filled in and paths absolute. */
export type GeneratorConfig = Static<typeof GeneratorConfigSchema>;
/** What a caller may pass: defaulted fields optional. */
export type GeneratorConfigInput = Omit<
  GeneratorConfig,
  | 'name'
  | 'txSizeBytes'
  | 'inputs'
  | 'outputs'
  | 'workload'
  | 'rampUpS'
  | 'fanoutOutputs'
  | 'confirmations'
  | 'drainS'
  | 'connectTimeoutS'
  | 'syncTimeoutS'
  | 'fanoutTimeoutS'
  | 'recycle'
  | 'seed'
  | 'tickMs'
  | 'versions'
  | 'progressIntervalS'
> &
  Partial<GeneratorConfig>;

export class GeneratorConfigError extends Error {
  override name = 'GeneratorConfigError';
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false });
const validate = ajv.compile(GeneratorConfigSchema);

function describe(where: string, errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return `${where}: invalid`;
  const field = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)';
  const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
  return `${where}: field ${field}: ${e.message}${extra}`;
}

/** Validate, fill defaults, make paths absolute (relative to baseDir), check cross-field rules. */
export function resolveGeneratorConfig(input: unknown, baseDir = process.cwd(), where = 'generator config'): GeneratorConfig {
  const raw = structuredClone(input) as Record<string, unknown>;
  if (!validate(raw)) throw new GeneratorConfigError(describe(where, validate.errors));
  const c = raw as unknown as GeneratorConfig;
  if (c.tps === undefined && c.txkbPerS === undefined) throw new GeneratorConfigError(`${where}: field tps: one of tps or txkbPerS is required`);
  const names = new Set<string>();
  for (const t of c.targets) {
    if (names.has(t.name)) throw new GeneratorConfigError(`${where}: field targets: duplicate target name ${t.name}`);
    names.add(t.name);
  }
  if (c.followTarget !== undefined && !names.has(c.followTarget))
    throw new GeneratorConfigError(`${where}: field followTarget: no target named ${c.followTarget}`);
  const w = c.workload;
  if (w.kind !== 'conflict' && w.conflictFraction !== undefined) throw new GeneratorConfigError(`${where}: field workload.conflictFraction: only for kind conflict`);
  if (w.kind !== 'duplicate' && w.duplicateFanout !== undefined) throw new GeneratorConfigError(`${where}: field workload.duplicateFanout: only for kind duplicate`);
  if (w.kind !== 'burst' && (w.onS !== undefined || w.offS !== undefined)) throw new GeneratorConfigError(`${where}: field workload.onS: only for kind burst`);
  const abs = (p: string) => path.resolve(baseDir, p);
  return { ...c, genesisFile: abs(c.genesisFile), paymentSkeyFile: abs(c.paymentSkeyFile), outDir: abs(c.outDir) };
}

/** Read and resolve a config file. */
export function loadGeneratorConfig(file: string): GeneratorConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new GeneratorConfigError(`cannot read generator config ${file}: ${(e as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new GeneratorConfigError(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return resolveGeneratorConfig(raw, path.dirname(path.resolve(file)), file);
}

/** The target rate in tx/s (txkbPerS wins when both are given). */
export function targetTps(c: Pick<GeneratorConfig, 'tps' | 'txkbPerS' | 'txSizeBytes'>, naturalSizeBytes = 0): number {
  if (c.txkbPerS !== undefined) return (c.txkbPerS * 1000) / Math.max(c.txSizeBytes, naturalSizeBytes, 1);
  return c.tps!;
}
