// generator/config.json: everything the tx-generator starts from. ONE schema, owned by the
// tx-generator (tx-generator/config.ts) and imported here: the orchestrator writes what the
// generator reads, with the same bounds and required fields.
//
// The plan gives a runtime-neutral template (targets by node name, no addresses, no paths); the
// runtime renders it at each generator start with its resolver (renderGeneratorConfig) and writes
// it through orchestrator/rundir (config.json, then config-2.json ... per start segment).

import type { Endpoint } from '../runtime/runtime.ts';
import type { GeneratorConfigInput } from '../../tx-generator/config.ts';

export { GeneratorConfigSchema, TargetSchema as GeneratorTargetSchema, type GeneratorTarget } from '../../tx-generator/config.ts';

/** A generator config as written into the run dir (the tx-generator's input form). */
export type GeneratorConfig = GeneratorConfigInput;

type Rendered = 'targets' | 'metrics' | 'genesisFile' | 'paymentSkeyFile' | 'logFile' | 'summaryFile' | 'outDir';

/** What the plan decides: everything but addresses and paths; targets are node names. */
export type GeneratorTemplate = Omit<GeneratorConfigInput, Rendered> & { name: string; targets: string[] };

/** Paths in a rendered generator config, as the generator sees them. */
export interface GeneratorPaths {
  genesisFile: string;
  paymentSkeyFile: string;
  /** where summary.json, txs.jsonl, submissions.jsonl go */
  outDir?: string;
  summaryFile: string;
  logFile?: string;
}

/** Relative to generator/config.json in the run dir (process and docker runtimes). */
export const GENERATOR_RUN_DIR_PATHS: GeneratorPaths = {
  genesisFile: '../genesis/genesis.json',
  paymentSkeyFile: '../genesis/keys/generator.skey',
  summaryFile: 'summary.json',
  logFile: 'generator.log',
};

export interface GeneratorRenderContext {
  /** a target node as the generator dials it */
  target(name: string): Endpoint;
  /** where the generator serves /metrics (bind address in its own environment) */
  metrics?: Endpoint;
  paths: GeneratorPaths;
}

/** A generator config from its template and a runtime's addresses (pure). */
export function renderGeneratorConfig(t: GeneratorTemplate, ctx: GeneratorRenderContext): GeneratorConfig {
  const { targets, ...rest } = t;
  const p = ctx.paths;
  return {
    ...structuredClone(rest),
    genesisFile: p.genesisFile,
    paymentSkeyFile: p.paymentSkeyFile,
    targets: targets.map((name) => {
      const a = ctx.target(name);
      return { name, host: a.host, port: a.port };
    }),
    ...(ctx.metrics ? { metrics: { host: ctx.metrics.host, port: ctx.metrics.port } } : {}),
    ...(p.outDir !== undefined ? { outDir: p.outDir } : {}),
    summaryFile: p.summaryFile,
    ...(p.logFile !== undefined ? { logFile: p.logFile } : {}),
  };
}
