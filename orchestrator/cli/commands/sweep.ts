// `leiosnet sweep <profile> --vary k=a..b[:step] [--vary …] [--bisect --assert …]`: a grid or a
// bisection of runs, one run dir per point under the sweep dir, a sweep report with the knee
// and the protocol ceiling. Started again with the same --out, it resumes.
// Exit: 0 the sweep completed; 1 a bisection found no passing value; 2 bad input; 3 infra; 130 interrupted.

import { Option, type Command } from 'commander';
import { Progress } from '../../pipeline/progress.ts';
import { DEFAULT_KNEE_THRESHOLD } from '../../sweep/knee.ts';
import { METRIC_ALIASES } from '../../sweep/plan.ts';
import { analyseSweep } from '../../sweep/report.ts';
import { runSweep } from '../../sweep/run.ts';
import { RUNTIME_NAMES } from '../../runtime/registry.ts';
import { UserError } from '../../errors.ts';
import type { CliIO } from '../program.ts';

const collect = (v: string, prev: string[]) => [...prev, v];
const num = (name: string) => (v: string) => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new UserError(`${name}: expected a number, got ${JSON.stringify(v)}`);
  return n;
};

export function registerSweep(program: Command, io: CliIO, exit: (code: number) => void): void {
  program
    .command('sweep')
    .description('run a profile over a grid of values (or bisect toward the highest load meeting --assert); sweep report with the knee and the protocol ceiling')
    .argument('<profile>', 'profile name or path')
    .requiredOption('--vary <path=range>', 'a..b (5 values), a..b:step, or a,b,c; repeat for a grid', collect, [])
    .option('--bisect', 'search one range for the highest value whose run meets every --assert (default --assert efficiency>=0.9)')
    .option('--assert <metric op value>', `a bound per point, e.g. inclusion-p95<=60 rb-p95<=2000 (metrics: ${Object.keys(METRIC_ALIASES).join(', ')}, or a summary.json path)`, collect, [])
    .option('--set <path=value>', 'override a profile field for every point (repeatable)', collect, [])
    .addOption(new Option('--runtime <name>', 'where nodes run').choices([...RUNTIME_NAMES]).default('process'))
    .option('--out <dir>', 'sweep dir (default sweeps/sweep-<profile>-<stamp>); an existing sweep there is resumed')
    .option('--knee <share>', 'efficiency threshold of the knee', num('--knee'), DEFAULT_KNEE_THRESHOLD)
    .option('--max-points <n>', 'run at most n points now, then stop (resume later)', num('--max-points'))
    .option('--scrape-interval <ms>', 'metrics scrape interval of each run', num('--scrape-interval'))
    .option('--json', 'print the sweep state as JSON')
    .action(async (profile: string, o: { vary: string[]; bisect?: boolean; assert: string[]; set: string[]; runtime: string; out?: string; knee: number; maxPoints?: number; scrapeInterval?: number; json?: boolean }) => {
      const abort = new AbortController();
      let signals = 0;
      const onSignal = () => {
        signals++;
        io.err(signals === 1 ? '\ninterrupt: stopping after tearing the current point down (run the same command to resume)\n' : '\ninterrupt again: exiting now\n');
        if (signals === 1) abort.abort();
        else process.exit(130);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const r = await runSweep({
          profile,
          vary: o.vary,
          bisect: o.bisect,
          assert: o.assert,
          sets: o.set,
          runtime: o.runtime,
          out: o.out,
          cwd: io.cwd,
          kneeThreshold: o.knee,
          maxPoints: o.maxPoints,
          scrapeIntervalMs: o.scrapeInterval,
          signal: abort.signal,
          log: (l) => io.err(`${l}\n`),
          progress: () => new Progress({ tty: false, quiet: true }),
        });
        const a = analyseSweep(r.sweepDir, r.state);
        if (o.json) io.out(JSON.stringify({ sweepDir: r.sweepDir, report: r.report, complete: r.complete, state: r.state, knees: a.groups.map((g) => ({ group: g.label, ...g.knee })), ceiling: a.ceiling }, null, 2) + '\n');
        else {
          for (const g of a.groups) io.err(`${g.label ? `${g.label}: ` : ''}${g.knee.explanation}\n`);
          if (a.ceiling) io.err(`protocol ceiling ${a.ceiling.txkbPerS.toFixed(1)} TxkB/s\n`);
          if (r.state.result) io.err(`bisection: best ${r.state.result.best ?? 'none'}${r.state.result.firstFailing !== null ? `, first failing ${r.state.result.firstFailing}` : ''}\n`);
          if (!r.complete) io.err(`sweep incomplete: resume with the same command${o.out ? '' : ` --out ${r.sweepDir}`}\n`);
          io.out(`sweep report: ${r.report.html}\n              ${r.report.md}\n`);
        }
        if (r.interrupted) return exit(130);
        if (r.state.result && r.state.result.best === null) return exit(1);
        exit(0);
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
