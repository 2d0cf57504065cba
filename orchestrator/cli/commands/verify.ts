// `leiosnet verify <run-dir>`: CIP-164 rules checked from the traces of a run.
// Exit 0 no violations, 1 violations, 2 a bad run dir (or an unknown --rule).

import type { Command } from 'commander';
import { UserError } from '../../errors.ts';
import { RULES, formatVerify, toConformance, verifyRun } from '../../verify/index.ts';
import { findRunDir } from '../runs.ts';

interface IO {
  out: (s: string) => void;
  cwd: string;
}

export function registerVerify(program: Command, io: IO, exit: (code: number) => void): void {
  program
    .command('verify')
    .description('check CIP-164 rules (vote window, one vote per election, quorum, CertRB timing/parent/no txs, no double inclusion, common prefix, rollback ≤ k, no double production) from the traces')
    .argument('<run-dir>', 'run dir or run id')
    .option('--rule <id>', `only this rule (repeatable): ${RULES.map((r) => r.id).join(', ')}`, (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--max-examples <n>', 'violations listed per rule (all are counted)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new UserError(`--max-examples: expected a non-negative integer, got ${JSON.stringify(v)}`);
      return n;
    }, 20)
    .option('--json', 'print the verification as JSON')
    .action(async (ref: string, o: { rule: string[]; maxExamples: number; json?: boolean }) => {
      const unknown = o.rule.filter((r) => !RULES.some((x) => x.id === r));
      if (unknown.length) throw new UserError(`--rule: unknown rule ${unknown.join(', ')} (known: ${RULES.map((r) => r.id).join(', ')})`);
      const runDir = findRunDir(ref, io.cwd);
      const report = await verifyRun(runDir, { rules: o.rule.length ? o.rule : undefined, maxExamples: o.maxExamples });
      if (o.json) io.out(JSON.stringify({ ...report, conformance: toConformance(report) }, null, 2) + '\n');
      else io.out(formatVerify(report));
      exit(report.passed ? 0 : 1);
    });
}
