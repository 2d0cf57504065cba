// The `leiosnet` command line (DESIGN.md "CLI contract"). Exit codes: 0 ok; 1 an assertion
// failed; 2 bad input (profile, flag, file), with a message naming the field; 3 infrastructure.
// `--json` prints one JSON document on stdout; progress and messages go to stderr.

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { stringify as toYaml } from 'yaml';
import { analyseRun, writeSummary } from '../analysis/analyse.ts';
import { attachConformance } from '../verify/attach.ts';
import { getTip } from '../collect/admin.ts';
import { LeiosnetError, ProfileError, UserError } from '../errors.ts';
import { knownProfiles, loadProfile } from '../profile/load.ts';
import { resolvePlan } from '../profile/resolve.ts';
import { FaultSchema, type Fault } from '../profile/schema.ts';
import { validate } from '../profile/validate.ts';
import { runPipeline } from '../pipeline/run.ts';
import { Progress } from '../pipeline/progress.ts';
import { EventLog } from '../pipeline/events.ts';
import { compare, renderCompareMarkdown, writeCompare, writeReports } from '../report/index.ts';
import { RUNTIME_NAMES, getRuntime } from '../runtime/registry.ts';
import { applyFault, describeFault } from '../scenario/faults.ts';
import { sleep } from '../scenario/engine.ts';
import { attachRun, downRun, findRunDir, listLiveRuns, listRunDirs, runtimeOf } from './runs.ts';
import { registerServe } from './commands/serve.ts';
import { registerSweep } from './commands/sweep.ts';
import { registerVerify } from './commands/verify.ts';
import { registerObserve } from './commands/observe.ts';
import { followLog } from '../observe/follow.ts';
import { registerGenesis } from './commands/genesis.ts';
import { registerAttack } from './commands/attack.ts';
import { registerRotateKes } from './commands/rotate-kes.ts';

export interface CliIO {
  out: (s: string) => void;
  err: (s: string) => void;
  cwd: string;
  /** stderr is a terminal (progress line updated in place) */
  tty: boolean;
}

const defaultIO = (): CliIO => ({
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  cwd: process.cwd(),
  tty: Boolean(process.stderr.isTTY),
});

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function num(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n)) throw new UserError(`${name}: expected a number, got ${JSON.stringify(v)}`);
    return n;
  };
}

/** Fixed-width table for humans. */
function table(rows: string[][]): string {
  if (rows.length === 0) return '';
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** Build the program; `exit` receives the command's exit code. */
export function buildProgram(io: CliIO, exit: (code: number) => void): Command {
  const json = (v: unknown) => io.out(JSON.stringify(v, null, 2) + '\n');
  const program = new Command('leiosnet')
    .description('Deploy, load, fault and measure Ouroboros Leios (CIP-164) testnets.')
    .version(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version as string)
    .showHelpAfterError('(leiosnet <command> --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride()
    .addHelpText(
      'after',
      `
Exit codes: 0 ok · 1 an assertion failed · 2 bad input (profile, flag, file) · 3 infrastructure failure.
State: live runs are recorded in $LEIOSNET_HOME (default ~/.leiosnet); run dirs go to runs/<run-id>/.
Quick start: leiosnet run quickstart`,
    )
    // kubernetes runtime: which cluster context and namespace prefix (read by the runtime from env)
    .option('--kube-context <name>', 'kubernetes runtime: kubeconfig context (default: its current-context; kubeconfig from $KUBECONFIG, ~/.kube/config or in-cluster)')
    .option('--namespace-prefix <prefix>', 'kubernetes runtime: namespace = <prefix><run-id> (default leiosnet-)')
    .hook('preAction', (cmd) => {
      const o = cmd.opts() as { kubeContext?: string; namespacePrefix?: string };
      if (o.kubeContext) process.env.LEIOSNET_KUBE_CONTEXT = o.kubeContext;
      if (o.namespacePrefix) process.env.LEIOSNET_K8S_NAMESPACE_PREFIX = o.namespacePrefix;
    });

  const runtimeOpt = () =>
    new Option('--runtime <name>', 'where nodes run').choices([...RUNTIME_NAMES]).default('process');

  const startRun = async (profile: string, o: { runtime: string; set: string[]; out?: string; json?: boolean; scrapeInterval?: number; junit?: string; prometheus?: boolean }, keepUp: boolean) => {
    const progress = new Progress({ tty: io.tty, quiet: false, stream: process.stderr });
    const r = await runPipeline({
      profile,
      sets: o.set,
      runtime: o.runtime,
      out: o.out,
      cwd: io.cwd,
      keepUp,
      progress,
      scrapeIntervalMs: o.scrapeInterval,
      junit: o.junit,
      prometheus: o.prometheus,
    });
    if (o.json) {
      json({ runId: r.runId, runDir: r.runDir, status: r.status, exitCode: r.exitCode, error: r.error, summary: r.summary, report: r.report });
    } else if (keepUp) {
      io.err(`testnet ${r.runId} is up (run dir ${r.runDir})\n  leiosnet status ${r.runId}\n  leiosnet down ${r.runId}\n`);
      io.out(r.runId + '\n');
    } else {
      const s = r.summary;
      if (s) {
        io.err(`\n${r.status.toUpperCase()}: ${s.assertions.filter((a) => a.passed).length}/${s.assertions.length} assertions passed`);
        io.err(` · ${s.chain.blocks} blocks · RB p95 ${s.diffusion.rb.p95Ms ?? '–'} ms · ${s.throughput.tps ?? '–'} tx/s\n`);
        for (const a of s.assertions.filter((x) => !x.passed)) io.err(`  FAIL ${a.name}: ${a.detail}\n`);
      }
      if (r.error) io.err(`error: ${r.error}\n`);
      io.err(`run dir: ${r.runDir}\n`);
      if (r.report) io.out(`report: ${r.report.html}\n`);
    }
    exit(r.exitCode);
  };

  program
    .command('run')
    .description('run a profile end to end: up, workload, scenario, collect, analyse, report, down')
    .argument('<profile>', 'profile name (profiles/<name>.yaml) or path')
    .addOption(runtimeOpt())
    .option('--set <path=value>', 'override a profile field, e.g. generator.tps=200 (repeatable)', collect, [])
    .option('--out <dir>', 'run dir (default runs/<run-id>)')
    .option('--scrape-interval <ms>', 'metrics scrape interval (default: 2 s, 100 ms per node beyond 20)', num('--scrape-interval'))
    .option('--prometheus', 'scrape with a real Prometheus server (analysis reads its samples); see `leiosnet observe`')
    .option('--junit <file>', 'also write every assertion and check as a JUnit XML testcase (for CI)')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExit code: 0 all assertions passed, 1 one failed, 2 bad profile or flag, 3 infrastructure failure, 130 interrupted.')
    .action((profile: string, o) => startRun(profile, o, false));

  program
    .command('up')
    .description('start a long-lived testnet (nodes and generator) and return; stop it with `leiosnet down`')
    .argument('<profile>', 'profile name or path')
    .addOption(runtimeOpt())
    .option('--set <path=value>', 'override a profile field (repeatable)', collect, [])
    .option('--out <dir>', 'run dir (default runs/<run-id>)')
    .option('--json', 'print the result as JSON')
    .action((profile: string, o) => startRun(profile, o, true));

  program
    .command('down')
    .description('stop and remove a testnet (idempotent; works after the orchestrator died)')
    .argument('[run-id]', 'run to remove')
    .option('--all', 'remove every run the runtimes know of')
    .addOption(new Option('--runtime <name>', 'with --all: only runs of this runtime').choices([...RUNTIME_NAMES]))
    .option('--json', 'print what was removed as JSON')
    .action(async (runId: string | undefined, o: { all?: boolean; runtime?: string; json?: boolean }) => {
      if (!runId && !o.all) throw new UserError('down: give a run id or --all');
      const removed: { runId: string; runtime: string }[] = [];
      if (o.all) {
        const { runs } = await listLiveRuns(o.runtime);
        for (const r of runs) {
          await downRun(await getRuntime(r.runtime), r.runId);
          removed.push({ runId: r.runId, runtime: r.runtime });
        }
      } else {
        const rt = await runtimeOf(runId!);
        if (rt) {
          await downRun(rt, runId!);
          removed.push({ runId: runId!, runtime: rt.name });
        }
      }
      if (o.json) json({ removed });
      else if (removed.length === 0) io.err(runId ? `no run ${runId}: nothing to do\n` : 'no runs: nothing to do\n');
      else for (const r of removed) io.err(`removed ${r.runId} (${r.runtime})\n`);
      exit(0);
    });

  program
    .command('ls')
    .description('list live testnets (and finished runs under ./runs with --finished)')
    .option('--finished', 'also list finished runs under ./runs')
    .addOption(new Option('--runtime <name>', 'only runs of this runtime').choices([...RUNTIME_NAMES]))
    .option('--json', 'print as JSON')
    .action(async (o: { finished?: boolean; runtime?: string; json?: boolean }) => {
      const { runs, problems } = await listLiveRuns(o.runtime);
      const finished = o.finished ? listRunDirs(io.cwd) : [];
      if (o.json) {
        json({ live: runs, finished, problems });
        return exit(0);
      }
      for (const p of problems) io.err(`warning: ${p}\n`);
      if (runs.length === 0) io.err('no live testnets\n');
      else
        io.out(
          table([
            ['RUN', 'RUNTIME', 'PROFILE', 'NODES', 'RUNNING', 'DIR'],
            ...runs.map((r) => [r.runId, r.runtime, r.profile ?? '', String(r.nodes), String(r.running), r.runDir ?? '']),
          ]),
        );
      if (o.finished) {
        io.out(
          table([
            ['FINISHED RUN', 'PROFILE', 'RUNTIME', 'STATUS', 'STARTED'],
            ...finished.map((r) => [r.runId, r.profile ?? '', r.runtime ?? '', r.status ?? '', r.startedAt ?? '']),
          ]),
        );
      }
      exit(0);
    });

  program
    .command('status')
    .description('live testnets, or one testnet in detail (each node: running, slot, block, tip)')
    .argument('[run-id]')
    .option('--json', 'print as JSON')
    .action(async (runId: string | undefined, o: { json?: boolean }) => {
      if (!runId) {
        const { runs } = await listLiveRuns();
        if (o.json) json(runs);
        else if (runs.length === 0) io.err('no live testnets\n');
        else io.out(table([['RUN', 'RUNTIME', 'NODES', 'RUNNING'], ...runs.map((r) => [r.runId, r.runtime, String(r.nodes), String(r.running)])]));
        return exit(0);
      }
      const { rt, dep } = await attachRun(runId);
      const nodes = await Promise.all(
        dep.nodes().map(async (h) => {
          const running = await h.running();
          const tip = running ? await getTip(h.endpoints()) : undefined;
          return { name: h.name, running, endpoint: h.endpoints().adminUrl, slot: tip?.slot, blockNo: tip?.blockNo, hash: tip?.hash, protocolVersion: tip?.protocolVersion, following: tip?.following };
        }),
      );
      if (o.json) json({ runId, runtime: rt.name, runDir: dep.runDir, nodes });
      else {
        io.out(`${runId} (${rt.name}) ${dep.runDir}\n`);
        io.out(
          table([
            ['NODE', 'RUNNING', 'SLOT', 'BLOCK', 'TIP', 'PV', 'ADMIN'],
            ...nodes.map((n) => [n.name, n.running ? 'yes' : 'no', String(n.slot ?? '–'), String(n.blockNo ?? '–'), (n.hash ?? '–').slice(0, 12), String(n.protocolVersion ?? '–'), n.endpoint]),
          ]),
        );
      }
      exit(0);
    });

  program
    .command('logs')
    .description("print a node's log")
    .argument('<run-id>', 'run id or run dir')
    .argument('<node>', 'node name')
    .option('-n, --lines <n>', 'only the last n lines', num('--lines'))
    .option('-f, --follow', 'keep printing as the log grows (Ctrl-C to stop)')
    .action(async (runId: string, node: string, o: { lines?: number; follow?: boolean }) => {
      const runDir = findRunDir(runId, io.cwd);
      const file = join(runDir, 'nodes', node, 'node.log');
      let text: string;
      let from = 0;
      let logs: (() => Promise<string>) | undefined;
      if (existsSync(file)) {
        const bytes = readFileSync(file);
        from = bytes.length;
        text = bytes.toString('utf8');
      } else {
        // a runtime that keeps logs elsewhere (container engine): ask the live node
        const rt = await runtimeOf(runId);
        const dep = rt ? await rt.attach(runId) : undefined;
        const h = dep?.nodes().find((n) => n.name === node);
        if (!h) {
          const nodes = existsSync(join(runDir, 'nodes')) ? readdirSync(join(runDir, 'nodes')) : [];
          throw new UserError(`node: no log for ${JSON.stringify(node)} in ${runDir} (nodes: ${nodes.join(', ') || 'none'})`);
        }
        text = await h.logs();
        logs = () => h.logs();
      }
      const printed = text;
      if (o.lines !== undefined) text = text.split('\n').slice(-o.lines - 1).join('\n');
      io.out(text);
      if (o.follow) await followLog(logs ? { logs, printed, out: io.out } : { file, from, out: io.out });
      exit(0);
    });

  program
    .command('fault')
    .description('inject a fault into a running testnet')
    .argument('<run-id>')
    .argument('<kind>', 'kill | stop | start | pause | resume | restart | link | partition | clock')
    .option('--node <name>', 'the node (all kinds but partition)')
    .option('--peer <name>', 'link: only the link to this peer')
    .option('--latency-ms <ms>', 'link: one-way delay', num('--latency-ms'))
    .option('--bandwidth-bps <bps>', 'link: bytes per second', num('--bandwidth-bps'))
    .option('--loss <p>', 'link: message loss probability 0..1', num('--loss'))
    .option('--down', 'link: cut the link')
    .option('--offset-ms <ms>', 'clock: offset of the node clock', num('--offset-ms'))
    .option('--groups <groups>', 'partition: groups of nodes, e.g. "pool-1,pool-2/pool-3,pool-4"')
    .option('--for <s>', 'undo after this many seconds (this command waits)', num('--for'))
    .option('--json', 'print the result as JSON')
    .action(async (runId: string, kind: string, o: Record<string, unknown>) => {
      const f: Record<string, unknown> = { kind };
      if (o.node !== undefined) f.node = o.node;
      if (o.peer !== undefined) f.peer = o.peer;
      if (o.latencyMs !== undefined) f.latencyMs = o.latencyMs;
      if (o.bandwidthBps !== undefined) f.bandwidthBps = o.bandwidthBps;
      if (o.loss !== undefined) f.loss = o.loss;
      if (o.down !== undefined) f.down = true;
      if (o.offsetMs !== undefined) f.offsetMs = o.offsetMs;
      if (o.groups !== undefined) f.groups = String(o.groups).split('/').map((g) => g.split(',').map((s) => s.trim()).filter(Boolean));
      if (o.for !== undefined && kind !== 'clock') f.forS = o.for;
      const issues = validate(FaultSchema, f, () => undefined);
      if (issues.length) {
        throw new ProfileError(issues.map((i) => ({ ...i, path: `fault${i.path ? '.' + i.path : ''}` })));
      }
      const fault = f as Fault;
      const { dep } = await attachRun(runId);
      const events = new EventLog(join(dep.runDir, 'events.jsonl'));
      const label = describeFault(fault);
      events.emit('fault', { fault, description: label, source: 'cli' });
      const undo = await applyFault(dep, fault);
      io.err(`applied ${label} to ${runId}\n`);
      if (typeof o.for === 'number') {
        await sleep(o.for * 1000);
        await undo();
        events.emit('fault-undone', { fault: label, source: 'cli' });
        io.err(`undone after ${o.for} s\n`);
      }
      if (o.json) json({ runId, fault, undone: typeof o.for === 'number' });
      exit(0);
    });

  program
    .command('report')
    .description('re-analyse a run dir: summary.json, report.md, report.html')
    .argument('<run-dir>', 'run dir or run id')
    .option('--json', 'print summary.json')
    .action(async (ref: string, o: { json?: boolean }) => {
      const runDir = findRunDir(ref, io.cwd);
      const analysis = await analyseRun(runDir);
      // The trace verifier is part of the analysis: a re-analysed run keeps its conformance.
      await attachConformance(runDir, analysis);
      writeSummary(runDir, analysis.summary);
      const files = writeReports(runDir, analysis);
      if (o.json) json(analysis.summary);
      else io.out(`${analysis.summary.passed ? 'PASSED' : 'FAILED'} ${analysis.summary.run.id}\nreport: ${files.html}\n        ${files.md}\n`);
      exit(analysis.summary.passed ? 0 : 1);
    });

  program
    .command('compare')
    .description('compare a candidate run with a baseline: Δ and Δ% per metric, regressions marked')
    .argument('<base>', 'baseline run dir (or summary.json)')
    .argument('<candidate>', 'candidate run dir (or summary.json)')
    .option('--threshold <pct>', 'a change beyond this % the wrong way is a regression', num('--threshold'), 5)
    .option('--out <dir>', 'where compare.md/compare.json go (default: the candidate run dir)')
    .option('--fail-on-regression', 'exit 1 if any metric regressed')
    .option('--in-slots', 'durations and rates in slots, for runs at different slot lengths (the time-scaled model)')
    .option('--json', 'print compare.json')
    .action((base: string, cand: string, o: { threshold: number; out?: string; failOnRegression?: boolean; inSlots?: boolean; json?: boolean }) => {
      const resolveRef = (r: string) => (existsSync(resolve(io.cwd, r)) ? resolve(io.cwd, r) : findRunDir(r, io.cwd));
      const b = resolveRef(base);
      const c = resolveRef(cand);
      const r = compare(b, c, o.threshold, { inSlots: o.inSlots });
      const outDir = o.out ?? (statSync(c).isDirectory() ? c : join(c, '..'));
      const files = writeCompare(r, outDir);
      if (o.json) json(r);
      else io.out(renderCompareMarkdown(r) + `\nwritten: ${files.md}\n         ${files.json}\n`);
      exit(o.failOnRegression && r.regressions.length > 0 ? 1 : 0);
    });

  const profiles = program.command('profiles').description('the profile library');
  profiles
    .command('list')
    .description('profiles in profiles/ with their descriptions')
    .option('--json', 'print as JSON')
    .action((o: { json?: boolean }) => {
      const rows = knownProfiles().map((name) => {
        try {
          const p = loadProfile(name, { cwd: io.cwd }).profile;
          return { name, description: p.description, pools: p.composition.pools, relays: p.composition.relays };
        } catch (e) {
          return { name, description: `(invalid: ${(e as Error).message.split('\n')[0]})` };
        }
      });
      if (o.json) json(rows);
      else io.out(table([['PROFILE', 'DESCRIPTION'], ...rows.map((r) => [r.name, r.description])]));
      exit(0);
    });
  profiles
    .command('show')
    .description('a profile with every default filled in (YAML), or the resolved plan')
    .argument('<name>', 'profile name or path')
    .option('--set <path=value>', 'override a field (repeatable)', collect, [])
    .option('--plan', 'show the resolved plan (nodes, topology, genesis) instead')
    .option('--json', 'print as JSON')
    .action((name: string, o: { set: string[]; plan?: boolean; json?: boolean }) => {
      const loaded = loadProfile(name, { sets: o.set, cwd: io.cwd });
      const value = o.plan ? resolvePlan(loaded) : loaded.profile;
      if (o.json) json(value);
      else io.out(toYaml(value));
      exit(0);
    });

  const image = program.command('image').description('node images for the docker and kubernetes runtimes');
  image
    .command('build')
    .description('build node/Dockerfile into leiosnet/node:<release> (offline base when no registry answers)')
    .option('--release <name>', 'release to build (repeatable; default: every release)', collect, [])
    .addOption(new Option('--base <kind>', 'base image').choices(['auto', 'official', 'offline']).default('auto'))
    .option('--force', 'rebuild even if the content is unchanged')
    .option('--verbose', "show the engine's build output")
    .option('--json', 'print the results as JSON')
    .action(async (o: { release: string[]; base: string; force?: boolean; verbose?: boolean; json?: boolean }) => {
      const { imageBuildCommand } = await import('../image/command.ts');
      exit(await imageBuildCommand({ ...o, log: (l) => io.err(`${l}\n`), print: (l) => io.out(`${l}\n`) }));
    });

  registerServe(program, io, exit);

  registerSweep(program, io, exit);
  registerVerify(program, io, exit);
  registerObserve(program, io, exit);
  registerGenesis(program, io, exit);
  registerAttack(program, io, exit);
  registerRotateKes(program, io, exit);

  return program;
}

/** Run the CLI with `argv` (without node and script); resolves to the exit code. */
export async function runCli(argv: string[], io: CliIO = defaultIO()): Promise<number> {
  let code: number | undefined;
  const program = buildProgram(io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code ?? 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version print and exit 0; unknown options, missing arguments, bad choices are bad input
      return e.exitCode === 0 || e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : 2;
    }
    if (e instanceof LeiosnetError) {
      io.err(`leiosnet: ${e.message}\n`);
      return e.exitCode;
    }
    io.err(`leiosnet: ${(e as Error).stack ?? String(e)}\n`);
    return 3;
  }
}
