#!/usr/bin/env node
// `node tx-generator/main.ts --config generator/config.json`
// Exit codes: 0 done (also after SIGTERM/SIGINT: the summary is written first), 2 bad config,
// 3 infrastructure failure.
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { GeneratorConfigError, loadGeneratorConfig } from './config.ts';
import { GeneratorError, runGenerator } from './generator.ts';

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help || !values.config) {
    process.stdout.write(
      'usage: node tx-generator/main.ts --config <config.json>\n\n' +
        'Submits signed transactions to Leios nodes over TxSubmission and writes summary.json,\n' +
        'txs.jsonl and submissions.jsonl to the config\'s outDir. Schema: tx-generator/config.ts.\n',
    );
    return values.help ? 0 : 2;
  }
  const log = pino({ name: 'tx-generator', base: undefined }, pino.destination({ dest: 1, sync: true }));
  let cfg;
  try {
    cfg = loadGeneratorConfig(values.config);
  } catch (e) {
    if (e instanceof GeneratorConfigError) {
      process.stderr.write(`tx-generator: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const ac = new AbortController();
  const stop = (sig: string) => {
    if (ac.signal.aborted) return;
    log.info({ sig }, 'stopping: writing the summary');
    ac.abort();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  let lastLog = 0;
  try {
    const s = await runGenerator(cfg, {
      signal: ac.signal,
      log: (level, msg, fields) => log[level](fields ?? {}, msg),
      onProgress: (p) => {
        const now = Date.now();
        if (now - lastLog < 5000 && p.phase !== 'done') return;
        lastLog = now;
        log.info(p, 'progress');
      },
    });
    log.info(
      { submitted: s.submitted, included: s.included, rejected: s.rejected, pending: s.pending, effectiveTps: s.effectiveTps, rateErrorPct: s.rateErrorPct, p50: s.latency.inclusionP50S, p95: s.latency.inclusionP95S },
      'summary written',
    );
    return 0;
  } catch (e) {
    if (e instanceof GeneratorConfigError) {
      process.stderr.write(`tx-generator: ${e.message}\n`);
      return 2;
    }
    if (e instanceof GeneratorError) {
      process.stderr.write(`tx-generator: ${e.message}\n`);
      return 3;
    }
    throw e;
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    fs.writeSync(2, `tx-generator: fatal: ${(e as Error).stack ?? e}\n`);
    process.exit(3);
  },
);
