// leiosnet tx-generator: synthetic workloads submitted over the node's TxSubmission protocol.
//
//   runGenerator(config, { signal, onProgress, log, baseDir }) → Promise<GeneratorSummary>
//   GeneratorConfigSchema (TypeBox) / resolveGeneratorConfig(raw, baseDir) / loadGeneratorConfig(file)
//   GeneratorConfigError (bad input: exit 2), GeneratorError (infrastructure: exit 3)
//   outputs in config.outDir: summary.json, txs.jsonl (one line per tx), submissions.jsonl
//   (streamed {id, time_s, target}, what orchestrator/analysis reads)
export { runGenerator, GeneratorError, type RunGeneratorOptions, type GeneratorProgress, type GeneratorPhase, type GeneratorLog } from './generator.ts';
export {
  GeneratorConfigSchema,
  TargetSchema,
  WorkloadSchema,
  GeneratorConfigError,
  resolveGeneratorConfig,
  loadGeneratorConfig,
  targetTps,
  type GeneratorConfig,
  type GeneratorConfigInput,
  type GeneratorTarget,
  type WorkloadConfig,
  type WorkloadKind,
} from './config.ts';
export type { GeneratorSummary, TxLine } from './summary.ts';
export { makeWorkload, type Workload, type TxShape } from './workloads/index.ts';
