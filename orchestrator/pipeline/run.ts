// `leiosnet run` and `leiosnet up`, as a list of small verbs (after the cardano workbench):
//   plan → genesis → up → generator → scenario → collect → down → analyse → report
// Everything lands in the run dir; events.jsonl records the timeline. Ctrl-C (SIGINT/SIGTERM)
// stops the scenario, tears down and still writes what it has; a second Ctrl-C kills at once.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { analyseRun, writeSummary } from '../analysis/analyse.ts';
import type { Summary } from '../analysis/summary.ts';
import { Collector, defaultScrapeIntervalMs } from '../collect/collector.ts';
import { SCRAPER_SAMPLES_FILE } from '../collect/files.ts';
import { Observation } from '../observe/observation.ts';
import { requirePrometheus } from '../observe/prometheus.ts';
import { InfraError, LeiosnetError, UserError } from '../errors.ts';
import { generatorSpec, writeRunFiles } from '../genesis/index.ts';
import type { Plan } from '../profile/plan.ts';
import { loadPlan } from '../profile/resolve.ts';
import { writeJunit, writeReports } from '../report/index.ts';
import { attachConformance } from '../verify/attach.ts';
import { REPO_ROOT } from '../runtime/process/node22.ts';
import { getRuntime } from '../runtime/registry.ts';
import type { Deployment, GeneratorSpec, Runtime } from '../runtime/runtime.ts';
import { AbortedError, ScenarioEngine, scenarioSlot, type GeneratorControl } from '../scenario/engine.ts';
import { faultNeeds } from '../scenario/faults.ts';
import { EventLog } from './events.ts';
import { lateStart, recordBringup, startLead } from './bringup.ts';
import { Progress } from './progress.ts';
import { nonceWindowProblem } from '../../node/consensus/nonce.ts';

export interface RunOptions {
  profile: string;
  sets?: string[];
  runtime?: string;
  /** Run dir; default runs/<run-id> under cwd. */
  out?: string;
  cwd?: string;
  /** `up`: leave the testnet running after the generator started (no scenario, no analysis). */
  keepUp?: boolean;
  progress?: Progress;
  /** Interval of metric scrapes. */
  scrapeIntervalMs?: number;
  /** Scrape with a real Prometheus (orchestrator/observe); the analysis reads its samples. */
  prometheus?: boolean;
  /** Abort from outside (tests); SIGINT/SIGTERM are handled unless `handleSignals` is false. */
  signal?: AbortSignal;
  handleSignals?: boolean;
  /** Also write the assertions and checks as JUnit XML here (`--junit FILE`). */
  junit?: string;
}

export interface RunResult {
  runId: string;
  runDir: string;
  exitCode: number;
  status: 'passed' | 'failed' | 'interrupted' | 'error' | 'up';
  summary?: Summary;
  report?: { md: string; html: string };
  error?: string;
}

export interface RunMeta {
  runId: string;
  profile: string;
  runtime: string;
  seed: number;
  versions: { leiosnet: string; node: string; releases: Record<string, string> };
  gitCommit: string | null;
  argv: string[];
  startedAt: string;
  endedAt?: string;
  status: 'running' | 'up' | RunResult['status'];
}

const EXIT_INTERRUPTED = 130;

/** `<profile>-<yyyymmdd-hhmmss>-<4 hex>`, UTC. */
export function makeRunId(profile: string, now = new Date()): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `${profile}-${stamp}-${randomBytes(2).toString('hex')}`;
}

export function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || null;
  } catch {
    return null;
  }
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** Refuse up front what the runtime cannot do (rather than failing midway). */
export function checkCapabilities(plan: Plan, rt: Runtime): void {
  plan.scenario.steps.forEach((step, i) => {
    if ('fault' in step) {
      const need = faultNeeds(step.fault);
      if (need && !rt.capabilities[need]) throw new UserError(`scenario.steps[${i}].fault.kind: ${step.fault.kind} is not supported by runtime ${rt.name}`);
    }
    if ('upgrade' in step && !rt.capabilities.restartWith) {
      throw new UserError(`scenario.steps[${i}].upgrade: runtime ${rt.name} cannot swap releases`);
    }
  });
}

function writeMeta(runDir: string, meta: RunMeta): void {
  writeFileSync(join(runDir, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
}

/** Later meta.json updates are best effort: a vanished run dir must not stop the teardown. */
function updateMeta(runDir: string, meta: RunMeta): void {
  try {
    writeMeta(runDir, meta);
  } catch {
    /* reported through events/status */
  }
}

function generatorControl(dep: Deployment, spec: GeneratorSpec, events: EventLog): GeneratorControl {
  let running = false;
  let segments = 0;
  // the runtime renders a new config per start segment from the template (configs are immutable)
  let template = spec.template;
  const ctl: GeneratorControl = {
    async start() {
      if (running) return;
      // a restart writes summary.json and txs.jsonl anew: keep the earlier segment's as *-<n>
      const earlier = join(spec.dir, 'summary.json');
      if (existsSync(earlier)) {
        segments++;
        for (const [f, ext] of [['summary', 'json'], ['txs', 'jsonl']]) {
          const file = join(spec.dir, `${f}.${ext}`);
          if (existsSync(file)) renameSync(file, join(spec.dir, `${f}-${segments}.${ext}`));
        }
      }
      if (template.enabled === false) template = { ...template, enabled: true };
      await dep.startGenerator({ ...spec, template });
      running = true;
      events.emit('generator', { phase: 'started' });
    },
    async stop() {
      if (!running) return;
      await dep.stopGenerator();
      running = false;
      events.emit('generator', { phase: 'stopped' });
    },
    async setTps(tps: number) {
      template = { ...template, tps };
      if (running) {
        await ctl.stop();
        await ctl.start();
      }
    },
  };
  return ctl;
}

export async function runPipeline(opts: RunOptions): Promise<RunResult> {
  const cwd = opts.cwd ?? process.cwd();
  const progress = opts.progress ?? new Progress({ quiet: true });

  // plan: bad input fails here, before anything is created
  const plan = loadPlan(opts.profile, { sets: opts.sets ?? [], cwd });
  const rt = await getRuntime(opts.runtime ?? 'process');
  checkCapabilities(plan, rt);
  // what the runtime's environment cannot run (a cluster's allocatable resources): before anything exists
  if (rt.admit) await rt.admit(plan);
  if (opts.prometheus && !opts.keepUp) requirePrometheus();
  const runId = makeRunId(plan.profile.name);
  const runDir = resolve(cwd, opts.out ?? join('runs', runId));
  if (existsSync(runDir) && readdirSync(runDir).length > 0) throw new UserError(`--out: ${runDir} exists and is not empty`);
  mkdirSync(runDir, { recursive: true });

  const events = new EventLog(join(runDir, 'events.jsonl'));
  const meta: RunMeta = {
    runId,
    profile: plan.profile.name,
    runtime: rt.name,
    seed: plan.seed,
    versions: {
      leiosnet: packageVersion(),
      node: process.version,
      releases: Object.fromEntries(Object.entries(plan.releases).map(([k, v]) => [k, v.version])),
    },
    gitCommit: gitCommit(),
    argv: process.argv.slice(2),
    startedAt: new Date().toISOString(),
    status: 'running',
  };
  writeMeta(runDir, meta);
  events.emit('run', { runId, profile: plan.profile.name, runtime: rt.name, runDir });

  // Ctrl-C: first → stop the scenario and tear down; second → kill now
  const abort = new AbortController();
  opts.signal?.addEventListener('abort', () => abort.abort(), { once: true });
  let interrupts = 0;
  let dep: Deployment | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    events.emit('signal', { signal: sig, count: interrupts });
    if (interrupts === 1) {
      progress.log(`${sig}: stopping the run and tearing down (again to kill at once)`);
      abort.abort();
    } else {
      progress.log(`${sig}: killing ${runId} now`);
      void rt.down(runId).finally(() => process.exit(EXIT_INTERRUPTED));
    }
  };
  // an unexpected error anywhere (a timer, a stray promise) must tear the run down, not
  // leave its nodes orphaned: it aborts the run like Ctrl-C, and the run ends as an error
  let fatal: string | undefined;
  const onFatal = (e: unknown) => {
    const msg = e instanceof Error ? (e.stack ?? e.message) : String(e);
    if (fatal === undefined) {
      fatal = msg;
      events.emit('error', { message: msg, fatal: true });
      progress.log(`error: ${msg}`);
    }
    abort.abort();
  };
  const handleSignals = opts.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('unhandledRejection', onFatal);
    process.on('uncaughtException', onFatal);
  }

  const phase = (name: string) => {
    progress.setPhase(name);
    events.emit('phase', { phase: name });
  };
  const slots = 'slots' in plan.scenario.duration ? plan.scenario.duration.slots : undefined;
  let collector: Collector | undefined;
  let observation: Observation | undefined;
  let generator: GeneratorControl | undefined;
  let status: RunResult['status'] = 'error';
  let error: string | undefined;
  let exitCode = 3;
  let summary: Summary | undefined;
  let report: RunResult['report'];
  let leaveUp = false;

  try {
    // images first (a build can take minutes): the chain's clock below must not include it
    if (rt.prepare) await rt.prepare(Object.keys(plan.releases));
    if (abort.signal.aborted) throw new AbortedError();
    phase('genesis');
    // current Praos freezes the nonce candidate 4k/f slots before the epoch's end: shorter epochs
    // run, but their epoch nonce never takes in VRF output (the node logs the same at start-up)
    const nonceWindow = nonceWindowProblem(plan.genesis);
    if (nonceWindow) {
      events.emit('warning', { field: 'genesis.epochLengthSlots', message: nonceWindow });
      progress.log(`warning: genesis.epochLengthSlots: ${nonceWindow}`);
    }
    // runtimes that take long to bring nodes up (kubernetes) move the chain's start past it
    const allowanceS = rt.startupAllowanceS?.(plan.nodes.length) ?? 0;
    // the chain must not start before the testnet is up: systemStart = now + the larger of the
    // profile's start delay and the bring-up measured here before (bringup.ts)
    const lead = startLead(plan.genesis.startDelayS, rt.name, plan.nodes.length, allowanceS);
    if (lead.extraS > 0) {
      const msg = `start delay extended by ${lead.extraS} s to ${lead.neededS} s: genesis.startDelayS ${lead.profileDelayS} s is shorter than the expected bring-up of ${plan.nodes.length} nodes (${lead.basis})`;
      events.emit('start-delay', { extendedByS: lead.extraS, delayS: lead.neededS, profileDelayS: lead.profileDelayS, basis: lead.basis });
      progress.log(msg);
    }
    const genesisAtMs = Date.now();
    const specs = writeRunFiles(plan, runDir, { now: new Date(genesisAtMs + (allowanceS + lead.extraS) * 1000) });
    const genesis = JSON.parse(readFileSync(join(runDir, 'genesis', 'genesis.json'), 'utf8')) as { systemStart: string };
    const systemStartMs = Date.parse(genesis.systemStart);
    const usesGenerator = plan.generator.enabled || plan.scenario.steps.some((s) => 'generator' in s);
    const genSpec = usesGenerator ? generatorSpec(plan, runDir) : undefined;
    // the generator's metrics URL is the runtime's to say, once it runs (collector reads this object)
    const extra: Record<string, string> = {};
    if (abort.signal.aborted) throw new AbortedError();

    phase(`up (${specs.length} nodes, ${rt.name})`);
    dep = await rt.up(runId, runDir, specs);
    const upAtMs = Date.now();
    recordBringup(rt.name, specs.length, (upAtMs - genesisAtMs) / 1000);
    events.emit('up', { nodes: specs.length, bringupS: Math.round(upAtMs - genesisAtMs) / 1000, systemStartInS: Math.round(systemStartMs - upAtMs) / 1000 });
    const late = lateStart(systemStartMs, genesisAtMs, upAtMs, plan.genesis.startDelayS);
    if (late) {
      events.emit('start-delay', { tooShort: true, message: late });
      progress.log(`warning: ${late}`);
    }
    if (abort.signal.aborted) throw new AbortedError();

    const scrapeIntervalMs = opts.scrapeIntervalMs ?? defaultScrapeIntervalMs(plan.nodes.length);
    if (opts.prometheus && !opts.keepUp) {
      const generatorUrl = genSpec ? await dep.generatorUrl?.() : undefined; // runtime-resolved (see Deployment.targets())
      observation = await Observation.start({ dep, runDir, events, scrapeIntervalMs, generatorUrl });
      events.emit('prometheus', { url: observation.url, targets: observation.targets.length });
      progress.log(`prometheus: ${observation.url} (targets ${observation.url}/targets; data in ${join(runDir, 'prometheus')})`);
    }
    if (!opts.keepUp) {
      collector = new Collector(dep, runDir, {
        intervalMs: scrapeIntervalMs,
        extra,
        samplesFile: observation ? SCRAPER_SAMPLES_FILE : undefined,
      });
      collector.start();
    }
    // The slot from the genesis clock: the last scrape's is a scrape interval old (5 s at 50
    // nodes) and later still when scrapes queue under load.
    const slotMs = plan.genesis.slotLengthS * 1000;
    const statusTimer = setInterval(() => {
      const c = collector;
      if (!c) return;
      const txRate = c.latest.get('generator')?.values.leios_txgen_rate_tps;
      const slot = Math.min(slots ?? Infinity, Math.max(0, scenarioSlot(systemStartMs, slotMs)));
      progress.update({ slot, slots, blocks: c.max('leios_block_height'), txRate });
    }, 1_000);
    statusTimer.unref();

    try {
      if (genSpec) {
        generator = generatorControl(dep, genSpec, events);
        if (plan.generator.enabled) {
          phase('generator');
          await generator.start();
          const url = await dep.generatorUrl?.();
          if (url) extra.generator = url;
        }
      }

      if (opts.keepUp) {
        await dep.release?.();
        status = 'up';
        exitCode = 0;
        leaveUp = true;
        meta.status = 'up';
        updateMeta(runDir, meta);
        return { runId, runDir, exitCode, status };
      }

      phase('scenario');
      events.on((e) => {
        if (e.type === 'assertion') progress.log(`${e.passed ? 'PASS' : 'FAIL'} ${String(e.name)}: ${String(e.detail)}`);
        else if (e.type === 'fault' || e.type === 'upgrade' || e.type === 'mark') progress.log(`${e.type}: ${String(e.description ?? e.label ?? `${String(e.node)} → ${String(e.release)} ${String(e.phase)}`)}`);
      });
      const engine = new ScenarioEngine({ deployment: dep, runDir, plan, systemStartMs, events, generator, signal: abort.signal });
      await engine.run();
    } finally {
      clearInterval(statusTimer);
    }
    status = 'passed';
  } catch (e) {
    if ((e instanceof AbortedError || abort.signal.aborted) && fatal === undefined) {
      status = 'interrupted';
      exitCode = EXIT_INTERRUPTED;
    } else {
      status = 'error';
      error = (e as Error).message;
      exitCode = e instanceof LeiosnetError ? e.exitCode : 3;
      events.emit('error', { message: error, exitCode });
      progress.log(`error: ${error}`);
    }
  } finally {
    if (!leaveUp) {
      // collect → down: whatever happened, stop everything and keep what we have
      phase('collect');
      if (generator) await generator.stop().catch((e: Error) => events.emit('error', { phase: 'generator stop', message: e.message }));
      if (collector && dep && interrupts < 2) {
        await collector.stop();
        await collector.scrapeOnce().catch(() => {}); // the last figures, after the scenario
        await collector.finalTips(abort.signal.aborted ? 0 : Math.max(3_000, plan.genesis.slotLengthS * 3_000)).catch(() => {});
        await collector.gatherLogs().catch(() => {});
      }
      // artifacts that live with the runtime (kubernetes: in the pods) into the run dir
      if (dep && interrupts < 2) await Promise.all(dep.nodes().map((h) => h.fetchArtifacts().catch((e: Error) => events.emit('error', { phase: 'fetch artifacts', node: h.name, message: e.message }))));
      if (observation) {
        // the run's samples from Prometheus (after its last scrape), then stop it
        if (dep && interrupts < 2) {
          await observation
            .exportSamples()
            .then((x) => events.emit('prometheus', { exported: x.samples, nodes: x.nodes, series: x.series }))
            .catch((e: Error) => events.emit('error', { phase: 'prometheus export', message: e.message }));
        }
        await observation.stop().catch(() => {});
      }
      phase('down');
      try {
        if (dep) await dep.down();
        else await rt.down(runId);
      } catch (e) {
        events.emit('error', { phase: 'down', message: (e as Error).message });
        if (exitCode === 0 || status === 'passed') {
          status = 'error';
          exitCode = 3;
        }
      }
    }
    if (handleSignals) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('unhandledRejection', onFatal);
      process.off('uncaughtException', onFatal);
    }
    if (fatal !== undefined) {
      status = 'error';
      error = fatal.split('\n')[0];
      exitCode = 3;
    }
  }

  // analyse → report (also after an interruption or a failure, with whatever is there)
  phase('analyse');
  if (!existsSync(join(runDir, 'profile.resolved.json'))) {
    // the run dir was removed under us: nothing to analyse, and not a pass
    const msg = `run dir ${runDir} lost its files during the run`;
    events.emit('error', { message: msg });
    progress.done();
    return { runId, runDir, exitCode: 3, status: 'error', error: error ?? msg };
  }
  meta.endedAt = new Date().toISOString();
  updateMeta(runDir, meta);
  try {
    const analysis = await analyseRun(runDir);
    const conformance = await attachConformance(runDir, analysis);
    if (conformance) progress.log(`conformance: ${conformance.checks} checks, ${conformance.violations} violation(s)`);
    summary = analysis.summary;
    writeSummary(runDir, summary);
    phase('report');
    report = writeReports(runDir, analysis);
    if (status === 'passed') {
      status = summary.passed ? 'passed' : 'failed';
      exitCode = summary.passed ? 0 : 1;
    }
  } catch (e) {
    events.emit('error', { phase: 'analyse', message: (e as Error).message });
    if (status === 'passed') {
      status = 'error';
      error = (e as Error).message;
      exitCode = 3;
    }
  }
  meta.status = status;
  updateMeta(runDir, meta);
  events.emit('done', { status, exitCode });
  if (opts.junit) {
    try {
      writeJunit(resolve(cwd, opts.junit), { runId, runDir, profile: plan.profile.name, runtime: rt.name, status, exitCode, error, startedAt: meta.startedAt, durationS: summary?.run.durationS }, summary);
    } catch (e) {
      progress.log(`--junit: ${(e as Error).message}`);
    }
  }
  progress.done();
  return { runId, runDir, exitCode, status, summary, report, error };
}
