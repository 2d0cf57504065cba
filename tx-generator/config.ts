import fs from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import { VALIDATOR_AJV_OPTIONS } from '../node/config/ajv-options.ts';

// The tx-generator's config: `tx-generator/main.ts --config generator/config.json`, or the
// object handed to `runGenerator`. Relative paths are relative to the config file (or to
// `baseDir` for an in-memory config). It accepts what orchestrator/genesis/generator-config.ts
// writes (workload as a name, conflictFraction and burst at the top level, enabled, logFile,
// summaryFile) and a few more fields of its own (workload as an object, txkbPerS, count,
// fanoutOutputs, outDir, tuning). `resolveGeneratorConfig` validates, fills defaults and
// normalises it to `GeneratorConfig`.

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
      minLength: 1,
      default: 'txgen-1',
      description: 'handshake name on every connection, prefixed with "txgen-" unless it starts with "txgen" (nodes treat txgen* peers as submit-only clients); unique per generator',
    }),
    enabled: Type.Boolean({ default: true, description: 'false: prepare (connect, import, fan out), then submit nothing until stopped' }),
    genesisFile: Type.String({ minLength: 1 }),
    paymentSkeyFile: Type.String({ minLength: 1, description: 'JSON {"type":"PaymentSigningKey","hex":<32-byte seed>} owning genesis funds' }),
    targets: Type.Array(TargetSchema, { minItems: 1 }),
    networkMagic: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff, description: 'default: the genesis networkMagic' })),
    tps: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'target tx/s (open loop); one of tps / txkbPerS' })),
    txkbPerS: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'target kB/s of txs; overrides tps (tps = txkbPerS·1000 / txSizeBytes)' })),
    txSizeBytes: Type.Integer({ minimum: 0, maximum: 65536, default: 300, description: 'pad each tx to this size (txs are never smaller than their natural size)' }),
    inputs: Type.Integer({ minimum: 1, maximum: 100, default: 1, description: 'inputs per tx' }),
    outputs: Type.Integer({ minimum: 1, maximum: 100, default: 2, description: 'outputs per tx (change included)' }),
    workload: Type.Union([WorkloadKindSchema, Type.Object(WorkloadSchema.properties, { additionalProperties: false })], { default: 'value' }),
    conflictFraction: Type.Optional(
      Type.Number({ minimum: 0, maximum: 1, description: 'conflict workload (same as workload.conflictFraction); above 0.5 it is 0.5: every fresh tx gets a twin' }),
    ),
    burst: Type.Optional(
      Type.Object(
        { onS: Type.Number({ exclusiveMinimum: 0 }), offS: Type.Number({ minimum: 0 }) },
        { additionalProperties: false, description: 'burst workload (same as workload.onS/offS)' },
      ),
    ),
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
    outDir: Type.Optional(Type.String({ minLength: 1, description: 'where summary.json, txs.jsonl, submissions.jsonl go (default: the summaryFile\'s directory, else the config file\'s)' })),
    summaryFile: Type.Optional(Type.String({ minLength: 1, description: 'the summary (default outDir/summary.json)' })),
    logFile: Type.Optional(Type.String({ description: 'accepted for the orchestrator; the generator logs to stdout (runtimes capture it there)' })),
    // ---- tuning (all optional)
    followTarget: Type.Optional(Type.String({ description: 'target whose chain is followed for inclusion (default: the first)' })),
    confirmations: Type.Integer({ minimum: 1, default: 2, description: 'blocks (the including one counts) before fan-out outputs are used' }),
    drainS: Type.Number({ minimum: 0, default: 20, description: 'after the benchmark phase, wait up to this long for pending txs' }),
    connectTimeoutS: Type.Number({ minimum: 0, default: 60, description: 'keep dialling targets this long at start' }),
    syncTimeoutS: Type.Number({ minimum: 1, default: 120, description: 'catching up with the followed chain' }),
    fanoutTimeoutS: Type.Number({ minimum: 1, default: 300, description: 'whole fan-out phase' }),
    utxoCount: Type.Optional(Type.Integer({ minimum: 1, description: 'UTxOs to prepare (default: enough for the whole run, or 10 min of it)' })),
    recycle: Type.Boolean({ default: true, description: 'reuse confirmed outputs of included txs when the prepared UTxOs run out' }),
    seed: Type.Integer({ minimum: 0, maximum: 0xffffffff, default: 1, description: 'seed for the poisson arrivals' }),
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
/** What a config file or caller may give (defaulted fields optional). */
export type GeneratorConfigInput = Partial<Static<typeof GeneratorConfigSchema>> &
  Pick<Static<typeof GeneratorConfigSchema>, 'genesisFile' | 'paymentSkeyFile' | 'targets'>;

/** A validated config: defaults filled in, workload an object, paths absolute. */
export type GeneratorConfig = Omit<Static<typeof GeneratorConfigSchema>, 'workload' | 'conflictFraction' | 'burst' | 'outDir' | 'summaryFile'> & {
  workload: WorkloadConfig;
  /** the name sent in the handshake (starts with "txgen") */
  handshakeName: string;
  outDir: string;
  summaryFile: string;
};

export class GeneratorConfigError extends Error {
  override name = 'GeneratorConfigError';
}

const ajv = new Ajv(VALIDATOR_AJV_OPTIONS);
const validate = ajv.compile(GeneratorConfigSchema);

function describe(where: string, errors: ErrorObject[] | null | undefined): string {
  if (!errors?.length) return `${where}: invalid`;
  // the most specific error (deepest path) says most; a union of literals reads as "one of"
  const depth = (e: ErrorObject) => e.instancePath.split('/').length;
  const e = errors.reduce((best, x) => (depth(x) > depth(best) ? x : best), errors[0]);
  const field = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)';
  const consts = errors.filter((x) => x.instancePath === e.instancePath && x.keyword === 'const').map((x) => JSON.stringify((x.params as { allowedValue: unknown }).allowedValue));
  if (consts.length > 1) return `${where}: field ${field}: must be one of ${consts.join(', ')}`;
  const extra = e.keyword === 'additionalProperties' ? ` '${(e.params as { additionalProperty: string }).additionalProperty}'` : '';
  return `${where}: field ${field}: ${e.message}${extra}`;
}

const resolved = new WeakSet<object>();

/** Validate, fill defaults, normalise, make paths absolute (relative to baseDir), check cross-field
 *  rules. A config this function returned is passed through as is. */
export function resolveGeneratorConfig(input: unknown, baseDir = process.cwd(), where = 'generator config'): GeneratorConfig {
  if (typeof input === 'object' && input !== null && resolved.has(input)) return input as GeneratorConfig;
  const raw = structuredClone(input) as Record<string, unknown>;
  if (!validate(raw)) throw new GeneratorConfigError(describe(where, validate.errors));
  const c = raw as unknown as Static<typeof GeneratorConfigSchema>;
  const err = (field: string, msg: string) => new GeneratorConfigError(`${where}: field ${field}: ${msg}`);
  if (c.tps === undefined && c.txkbPerS === undefined) throw err('tps', 'one of tps or txkbPerS is required');
  const names = new Set<string>();
  for (const t of c.targets) {
    if (names.has(t.name)) throw err('targets', `duplicate target name ${t.name}`);
    names.add(t.name);
  }
  if (c.followTarget !== undefined && !names.has(c.followTarget)) throw err('followTarget', `no target named ${c.followTarget}`);
  const w: WorkloadConfig = typeof c.workload === 'string' ? { kind: c.workload } : { ...c.workload };
  if (c.conflictFraction !== undefined) {
    if (w.conflictFraction !== undefined) throw err('conflictFraction', 'given twice (also workload.conflictFraction)');
    if (w.kind === 'conflict') w.conflictFraction = Math.min(0.5, c.conflictFraction);
  }
  if (c.burst !== undefined && w.kind === 'burst') {
    if (w.onS !== undefined || w.offS !== undefined) throw err('burst', 'given twice (also workload.onS/offS)');
    w.onS = c.burst.onS;
    w.offS = c.burst.offS;
  }
  if (w.kind !== 'conflict' && w.conflictFraction !== undefined) throw err('workload.conflictFraction', 'only for kind conflict');
  if (w.kind !== 'duplicate' && w.duplicateFanout !== undefined) throw err('workload.duplicateFanout', 'only for kind duplicate');
  if (w.kind !== 'burst' && (w.onS !== undefined || w.offS !== undefined)) throw err('workload.onS', 'only for kind burst');
  const abs = (p: string) => path.resolve(baseDir, p);
  const summaryFile = c.summaryFile !== undefined ? abs(c.summaryFile) : undefined;
  const outDir = c.outDir !== undefined ? abs(c.outDir) : summaryFile !== undefined ? path.dirname(summaryFile) : path.resolve(baseDir);
  const { conflictFraction: _cf, burst: _b, ...rest } = c;
  const out: GeneratorConfig = {
    ...rest,
    workload: w,
    handshakeName: c.name.startsWith('txgen') ? c.name : `txgen-${c.name}`,
    genesisFile: abs(c.genesisFile),
    paymentSkeyFile: abs(c.paymentSkeyFile),
    outDir,
    summaryFile: summaryFile ?? path.join(outDir, 'summary.json'),
  };
  resolved.add(out);
  return out;
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
