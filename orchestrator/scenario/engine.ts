// The scenario engine: runs a plan's timeline from systemStart until its duration — waits by
// slots, blocks or seconds; faults via NodeHandle and the node admin API (undone after `forS`);
// adversary toggles; upgrades via NodeHandle.restartWith; generator changes; marks; functional
// checks (./checks); on-chain hard-fork proposals; and assertions that poll until `withinS` and
// report the last value seen — including step-only ones relative to an earlier value (`grows`),
// majority agreement with a grace period, and throughput against Praos capacity. After each
// fault, every affected node's recovery time (./recovery.ts). Every step and result goes to
// events.jsonl.

import { assertionName, evaluateAssertion, type AssertionView, type Evaluation, type NodeState } from '../analysis/assertions.ts';
import type { AssertionResult } from '../analysis/summary.ts';
import { setAdversary } from '../collect/admin.ts';
import type { EventLog } from '../pipeline/events.ts';
import type { Plan } from '../profile/plan.ts';
import type { Assertion, CheckSpec, Duration, Fault, ProposeSpec, Step, StepAssertion } from '../profile/schema.ts';
import type { Deployment } from '../runtime/runtime.ts';
import { CHECK_REGISTRY, CheckWallet, type CheckContext, type CheckName } from './checks/index.ts';
import { postUpdate } from './checks/client.ts';
import { applyFault, describeFault, type Undo } from './faults.ts';
import { snapshot, type Snapshot } from './live.ts';
import { affectedNodes, baseline, endsByItself, hasRecovered, upgradeLabel } from './recovery.ts';
import { evaluateGrows, isRelative, majorityNow, measureThroughput, type RelativeAssertion } from './relative.ts';
import { liveView, needsTraces, nodeStates } from './view.ts';

export interface GeneratorControl {
  start(): Promise<void>;
  stop(): Promise<void>;
  setTps(tps: number): Promise<void>;
}

export interface ScenarioEnv {
  deployment: Deployment;
  runDir: string;
  plan: Pick<Plan, 'genesis' | 'scenario' | 'nodes'>;
  /** genesis systemStart, ms since the epoch */
  systemStartMs: number;
  events: EventLog;
  generator?: GeneratorControl;
  signal?: AbortSignal;
  /** How assertions see the network; default: node tips (+ the traces so far where needed). */
  view?: (a: Assertion) => Promise<AssertionView>;
  /** Poll period of waits and assertions; default half a slot, at least 250 ms. */
  pollMs?: number;
}

export class AbortedError extends Error {
  constructor() {
    super('scenario aborted');
    this.name = 'AbortedError';
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Highest block number any running node reports. */
async function bestBlock(dep: Deployment): Promise<number> {
  const states = await nodeStates(dep);
  return Math.max(0, ...Object.values(states).map((s) => s.blockNo ?? 0));
}

/** Poll `check` until it passes or `withinS` elapses; the result carries the last value seen. */
export async function pollAssertion(
  check: () => Promise<Evaluation>,
  withinS: number,
  pollMs: number,
  signal?: AbortSignal,
): Promise<Evaluation & { elapsedS: number }> {
  const start = Date.now();
  const deadline = start + withinS * 1000;
  for (;;) {
    let ev: Evaluation;
    try {
      ev = await check();
    } catch (e) {
      ev = { passed: false, detail: `could not check: ${(e as Error).message}` };
    }
    if (ev.passed || Date.now() >= deadline) return { ...ev, elapsedS: Math.round((Date.now() - start) / 100) / 10 };
    await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())), signal);
  }
}

/** The chain's slot by the genesis clock (negative before systemStart). */
export function scenarioSlot(systemStartMs: number, slotMs: number, nowMs = Date.now()): number {
  return Math.floor((nowMs - systemStartMs) / slotMs);
}

export class ScenarioEngine {
  private readonly env: ScenarioEnv;
  private readonly dep: Deployment;
  private readonly slotMs: number;
  private readonly pollMs: number;
  private readonly pending = new Map<number, { timer: NodeJS.Timeout; undo: Undo; label: string }>();
  private undoSeq = 0;
  /** set when the timeline is over: background work (recovery timing) stops */
  private finished = false;
  /** recovery measurements still running: fault label → nodes */
  private readonly measuring = new Map<number, { fault: string; node: string }>();
  private measureSeq = 0;
  /** figures at each mark, for `grows … since` */
  private readonly marks = new Map<string, Snapshot>();
  /** each node's release now (upgrades change it) */
  readonly releases: Record<string, string> = {};
  private wallet?: CheckWallet;
  readonly results: AssertionResult[] = [];

  constructor(env: ScenarioEnv) {
    this.env = env;
    this.dep = env.deployment;
    this.slotMs = env.plan.genesis.slotLengthS * 1000;
    this.pollMs = env.pollMs ?? Math.max(250, this.slotMs / 2);
    for (const n of env.plan.nodes) this.releases[n.name] = n.release;
  }

  private slotNow(): number {
    return scenarioSlot(this.env.systemStartMs, this.slotMs);
  }

  private get signal(): AbortSignal | undefined {
    return this.env.signal;
  }

  /** Expected time for `n` blocks (one per slot / f), with room: 5× plus a minute. */
  private blocksTimeoutMs(n: number): number {
    return ((n * this.slotMs) / this.env.plan.genesis.activeSlotCoeff) * 5 + 60_000;
  }

  private async waitBlocks(n: number, label: string): Promise<boolean> {
    const target = (await bestBlock(this.dep)) + n;
    return this.waitBlockNo(target, this.blocksTimeoutMs(n), label);
  }

  private async waitBlockNo(target: number, timeoutMs: number, label: string): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const best = await bestBlock(this.dep);
      if (best >= target) return true;
      if (Date.now() >= deadline) {
        this.record({ name: label, passed: false, detail: `block ${best} after ${Math.round(timeoutMs / 1000)} s (want ${target})` });
        return false;
      }
      await sleep(this.pollMs, this.signal);
    }
  }

  /** A result: into `results` and events.jsonl (with the deadline and, for checks, the evidence). */
  private record(r: AssertionResult & { elapsedS?: number; deadlineS?: number; [k: string]: unknown }): void {
    this.results.push({ name: r.name, passed: r.passed, detail: r.detail });
    this.env.events.emit('assertion', { ...r });
  }

  private scheduleUndo(undo: Undo, forS: number, label: string, nodes: string[]): void {
    const id = this.undoSeq++;
    const timer = setTimeout(() => {
      this.pending.delete(id);
      const atMs = Date.now();
      const slot = this.slotNow();
      const before: Promise<Record<string, NodeState>> = nodeStates(this.dep).catch(() => ({}));
      void undo().then(
        async () => {
          this.env.events.emit('fault-undone', { fault: label });
          const states = await before;
          for (const n of nodes) void this.measureRecovery(label, n, atMs, slot, states);
        },
        (e: Error) => this.env.events.emit('fault-undo-failed', { fault: label, error: e.message }),
      );
    }, forS * 1000);
    this.pending.set(id, { timer, undo, label });
  }

  /**
   * After a fault is undone (or from the start of a restart or upgrade): time until `node` has adopted a block forged
   * after that moment, on top of the chain it missed (recovery.ts), as a `recovered` event;
   * gives up after two minutes, or says so when the run ends first.
   */
  private async measureRecovery(label: string, node: string, atMs: number, slot: number, statesAtStart: Record<string, NodeState>): Promise<void> {
    const id = this.measureSeq++;
    this.measuring.set(id, { fault: label, node });
    const b = baseline(node, statesAtStart, atMs, slot);
    const missedBlocks = Math.max(0, b.missedTo - (statesAtStart[node]?.blockNo ?? 0));
    try {
      while (Date.now() - atMs < 120_000 && !this.finished) {
        const states: Record<string, NodeState> = await nodeStates(this.dep).catch(() => ({}));
        if (hasRecovered(node, b, states)) {
          const s = states[node]!;
          this.env.events.emit('recovered', { fault: label, node, recoveryS: Math.round((Date.now() - atMs) / 100) / 10, missedBlocks, fromSlot: slot, tip: { slot: s.slot, blockNo: s.blockNo } });
          return;
        }
        await new Promise((r) => setTimeout(r, this.pollMs));
      }
      if (!this.finished) this.env.events.emit('recovered', { fault: label, node, recoveryS: null, missedBlocks, detail: 'not within 120 s' });
    } finally {
      this.measuring.delete(id);
    }
  }

  /** Undo every fault whose `forS` has not run out yet (end of the scenario). */
  async undoPending(): Promise<void> {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      try {
        await p.undo();
        this.env.events.emit('fault-undone', { fault: p.label, early: true });
      } catch (e) {
        this.env.events.emit('fault-undo-failed', { fault: p.label, error: (e as Error).message });
      }
    }
  }

  async checkAssertion(a: StepAssertion, index?: number, baseAtStep?: Snapshot): Promise<AssertionResult> {
    if (isRelative(a)) return this.checkRelative(a, index, baseAtStep);
    const view = this.env.view ?? ((x: Assertion) => liveView(this.dep, this.env.runDir, needsTraces(x)));
    const name = assertionName(a);
    const { withinS, ...assertion } = a;
    const r = await pollAssertion(async () => evaluateAssertion(assertion as Assertion, await view(assertion as Assertion)), withinS ?? 0, this.pollMs, this.signal);
    const result = { name, passed: r.passed, detail: r.detail };
    this.record({ ...result, elapsedS: r.elapsedS, ...(withinS !== undefined ? { deadlineS: withinS } : {}), ...(index !== undefined ? { step: index + 1 } : {}) });
    return result;
  }

  private async checkRelative(a: RelativeAssertion, index?: number, baseAtStep?: Snapshot): Promise<AssertionResult> {
    const name = assertionName(a as unknown as Assertion & { withinS?: number });
    const step = index !== undefined ? { step: index + 1 } : {};
    const sleepFor = (ms: number) => sleep(ms, this.signal);
    let r: Evaluation & { elapsedS: number };
    let deadlineS: number | undefined;
    if (a.kind === 'grows') {
      const base = a.since !== undefined ? this.marks.get(a.since) : (baseAtStep ?? (await snapshot(this.dep)));
      if (!base) {
        const res = { name, passed: false, detail: `no mark "${a.since}" before this step (marks: ${[...this.marks.keys()].join(', ') || 'none'})` };
        this.record({ ...res, ...step });
        return res;
      }
      const label = a.since !== undefined ? `mark "${a.since}"` : 'this step';
      deadlineS = a.withinS;
      r = await pollAssertion(async () => evaluateGrows(a, base, await snapshot(this.dep), label), a.withinS ?? 0, this.pollMs, this.signal);
    } else if (a.kind === 'majority-agreement') {
      const graceS = a.graceS ?? 30;
      if (a.forS === undefined) {
        deadlineS = graceS;
        r = await pollAssertion(async () => majorityNow(a, await nodeStates(this.dep)), graceS, this.pollMs, this.signal);
      } else {
        // health over a window: a disagreement fails only once it outlasts the grace period
        deadlineS = a.forS;
        const start = Date.now();
        let since: number | undefined;
        let longest = 0;
        let minShare = 1;
        let last = '';
        let failed: string | undefined;
        while (Date.now() - start < a.forS * 1000) {
          const ev = majorityNow(a, await nodeStates(this.dep).catch(() => ({})));
          minShare = Math.min(minShare, ev.share);
          last = ev.detail;
          if (ev.passed) since = undefined;
          else {
            since ??= Date.now();
            longest = Math.max(longest, (Date.now() - since) / 1000);
            if (longest > graceS && failed === undefined) failed = `no majority for more than ${graceS} s from t+${Math.round((since - start) / 1000)} s: ${ev.detail}`;
          }
          await sleepFor(this.pollMs);
        }
        const elapsedS = Math.round((Date.now() - start) / 100) / 10;
        const lng = Math.round(longest * 10) / 10;
        r = failed
          ? { passed: false, detail: failed, elapsedS }
          : { passed: true, detail: `a majority agreed over ${a.forS} s (longest disagreement ${lng} s, grace ${graceS} s; lowest share ${Math.round(minShare * 100)} %); last: ${last}`, elapsedS };
      }
    } else {
      deadlineS = a.withinS ?? a.windowS ?? 20;
      r = await pollAssertion(() => measureThroughput(this.dep, a, this.env.plan.genesis, sleepFor), a.withinS ?? 0, 0, this.signal);
    }
    const result = { name, passed: r.passed, detail: r.detail };
    this.record({ ...result, elapsedS: r.elapsedS, ...(deadlineS !== undefined ? { deadlineS } : {}), ...step });
    return result;
  }

  private checkContext(): CheckContext {
    this.wallet ??= CheckWallet.fromRunDir(this.env.runDir);
    return {
      dep: this.dep,
      runDir: this.env.runDir,
      genesis: this.wallet.genesis,
      wallet: this.wallet,
      events: this.env.events,
      releases: this.releases,
      slotMs: this.slotMs,
      pollMs: this.pollMs,
      signal: this.signal,
      sleep: (ms) => sleep(ms, this.signal),
    };
  }

  /** A functional check: pass/fail (or skipped) with its evidence, as an assertion result. */
  async runCheck(spec: CheckSpec, index: number): Promise<AssertionResult> {
    const name = `check ${spec.name}${spec.node ? ` node=${spec.node}` : ''} (step ${index + 1})`;
    const start = Date.now();
    let res: { passed: boolean; skipped?: boolean; detail: string; evidence: Record<string, unknown> };
    try {
      const def = CHECK_REGISTRY[spec.name as CheckName];
      if (!def) throw new Error(`unknown check "${spec.name}"`);
      res = await def.run(this.checkContext(), spec);
    } catch (e) {
      if (e instanceof AbortedError) throw e;
      res = { passed: false, detail: `could not check: ${(e as Error).message}`, evidence: {} };
    }
    const result = { name, passed: res.passed, detail: res.skipped ? `skipped: ${res.detail}` : res.detail };
    this.record({
      ...result,
      check: spec.name,
      status: res.skipped ? 'skipped' : res.passed ? 'passed' : 'failed',
      step: index + 1,
      elapsedS: Math.round((Date.now() - start) / 100) / 10,
      deadlineS: spec.withinS ?? 60,
      evidence: res.evidence,
    });
    return result;
  }

  /** On-chain hard-fork proposal: `node` proposes (POST /update), each endorser endorses once it sees the proposal. */
  async runPropose(p: ProposeSpec, index: number): Promise<AssertionResult> {
    const name = `propose ${p.era} v${p.protocolVersion} from epoch ${p.epoch} by ${p.node} (step ${index + 1})`;
    const withinS = p.withinS ?? 60;
    const evidence: Record<string, unknown> = {};
    const done = (passed: boolean, detail: string) => {
      const result = { name, passed, detail };
      this.record({ ...result, step: index + 1, deadlineS: withinS, evidence });
      return result;
    };
    const r = await postUpdate(this.dep.node(p.node).endpoints(), { kind: 'propose', era: p.era, protocolVersion: p.protocolVersion, epoch: p.epoch }).catch((e: Error) => ({ status: 0, json: { reason: e.message } as Record<string, unknown> }));
    evidence.proposal = r.json;
    this.env.events.emit('governance', { index, action: 'propose', node: p.node, status: r.status, ...r.json });
    if (r.status !== 202) return done(false, `${p.node} could not propose: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    const id = String(r.json.proposalId);
    const endorsed: string[] = [];
    const deadline = Date.now() + withinS * 1000;
    for (const n of p.endorsers ?? []) {
      for (;;) {
        const e = await postUpdate(this.dep.node(n).endpoints(), { kind: 'endorse', proposalId: id }).catch((err: Error) => ({ status: 0, json: { reason: err.message } as Record<string, unknown> }));
        if (e.status === 202) {
          endorsed.push(n);
          this.env.events.emit('governance', { index, action: 'endorse', node: n, proposalId: id, ...e.json });
          break;
        }
        if (Date.now() >= deadline) {
          evidence.endorsed = endorsed;
          return done(false, `${n} could not endorse ${id.slice(0, 12)} within ${withinS} s: HTTP ${e.status} ${JSON.stringify(e.json)}`);
        }
        await sleep(this.pollMs, this.signal);
      }
    }
    evidence.endorsed = endorsed;
    return done(true, `proposal ${id.slice(0, 12)} by ${p.node}, endorsed by ${endorsed.join(', ') || 'nobody'}`);
  }

  async runStep(step: Step, index: number): Promise<void> {
    const ev = this.env.events;
    if ('wait' in step) {
      ev.emit('wait', { index, wait: step.wait });
      const w = step.wait;
      if ('slots' in w) await sleep(w.slots * this.slotMs, this.signal);
      else if ('seconds' in w) await sleep(w.seconds * 1000, this.signal);
      else await this.waitBlocks(w.blocks, `wait blocks=${w.blocks} (step ${index + 1})`);
    } else if ('fault' in step) {
      const f = step.fault;
      const label = describeFault(f);
      ev.emit('fault', { index, fault: f, description: label });
      try {
        const atMs = Date.now();
        const slot = this.slotNow();
        const before: Record<string, NodeState> = endsByItself(f) ? await nodeStates(this.dep).catch(() => ({})) : {};
        const undo = await applyFault(this.dep, f);
        if ('forS' in f && f.forS !== undefined) this.scheduleUndo(undo, f.forS, label, affectedNodes(f as Fault));
        else if (endsByItself(f)) for (const n of affectedNodes(f)) void this.measureRecovery(label, n, atMs, slot, before);
      } catch (e) {
        this.record({ name: `fault ${label} (step ${index + 1})`, passed: false, detail: (e as Error).message });
      }
    } else if ('upgrade' in step) {
      const u = step.upgrade;
      const names = u.nodes === 'all' ? this.dep.nodes().map((h) => h.name) : u.nodes;
      // one node at a time: the rest of the network keeps the chain going
      for (const n of names) {
        if (this.signal?.aborted) throw new AbortedError(); // Ctrl-C between two upgrades
        ev.emit('upgrade', { index, node: n, release: u.release, phase: 'start' });
        try {
          const atMs = Date.now();
          const slot = this.slotNow();
          const before: Record<string, NodeState> = await nodeStates(this.dep).catch(() => ({}));
          await this.dep.node(n).restartWith(u.release);
          this.releases[n] = u.release;
          ev.emit('upgrade', { index, node: n, release: u.release, phase: 'done' });
          // an upgrade is a restart: its recovery is measured like a fault's
          void this.measureRecovery(upgradeLabel(n, u.release), n, atMs, slot, before);
        } catch (e) {
          this.record({ name: `upgrade ${n} to ${u.release} (step ${index + 1})`, passed: false, detail: (e as Error).message });
        }
      }
    } else if ('assert' in step) {
      const base = step.assert.kind === 'grows' && step.assert.since === undefined ? await snapshot(this.dep) : undefined;
      await this.checkAssertion(step.assert, index, base);
    } else if ('check' in step) {
      ev.emit('check', { index, check: step.check.name, phase: 'start' });
      await this.runCheck(step.check, index);
    } else if ('propose' in step) {
      await this.runPropose(step.propose, index);
    } else if ('generator' in step) {
      const g = step.generator;
      ev.emit('generator', { index, ...g });
      const ctl = this.env.generator;
      if (!ctl) {
        this.record({ name: `generator step ${index + 1}`, passed: false, detail: 'no generator in this run' });
        return;
      }
      if (g.tps !== undefined) await ctl.setTps(g.tps);
      if (g.enabled === true) await ctl.start();
      if (g.enabled === false) await ctl.stop();
    } else if ('adversary' in step) {
      const a = step.adversary;
      ev.emit('adversary', { index, ...a });
      try {
        await setAdversary(this.dep.node(a.node).endpoints(), a.behaviour, a.enabled, a.params);
      } catch (e) {
        this.record({ name: `adversary ${a.behaviour} on ${a.node} (step ${index + 1})`, passed: false, detail: (e as Error).message });
      }
    } else if ('mark' in step) {
      ev.emit('mark', { index, label: step.mark });
      // what `grows … since: <mark>` compares against; a mark is cheap when nothing refers to it
      if (this.env.plan.scenario.steps.some((s) => 'assert' in s && s.assert.kind === 'grows' && s.assert.since === step.mark)) {
        this.marks.set(step.mark, await snapshot(this.dep));
      }
    }
  }

  /** When the run's duration is over: a time, or (for blocks) a wait. */
  private async untilDuration(d: Duration): Promise<void> {
    if ('blocks' in d) {
      await this.waitBlockNo(d.blocks, this.blocksTimeoutMs(d.blocks), `duration blocks=${d.blocks}`);
      return;
    }
    const endMs = this.env.systemStartMs + ('slots' in d ? d.slots * this.slotMs : d.seconds * 1000);
    await sleep(endMs - Date.now(), this.signal);
  }

  /** Run the whole timeline; resolves with the assertion results (also in events.jsonl). */
  async run(): Promise<AssertionResult[]> {
    const ev = this.env.events;
    const toStart = this.env.systemStartMs - Date.now();
    if (toStart > 0) {
      ev.emit('wait', { until: 'systemStart', ms: Math.round(toStart) });
      await sleep(toStart, this.signal);
    }
    const steps = this.env.plan.scenario.steps;
    try {
      for (let i = 0; i < steps.length; i++) {
        ev.emit('step', { index: i, step: steps[i] });
        await this.runStep(steps[i]!, i);
      }
      await this.untilDuration(this.env.plan.scenario.duration);
    } finally {
      if (!this.signal?.aborted) await this.undoPending();
      else for (const p of this.pending.values()) clearTimeout(p.timer);
      this.finished = true;
      // recoveries still being measured: the run ended first (a row in the report, not a silence)
      for (const m of this.measuring.values()) this.env.events.emit('recovered', { fault: m.fault, node: m.node, recoveryS: null, detail: 'run ended before the node recovered' });
      this.measuring.clear();
    }
    return this.results;
  }
}

export function runScenario(env: ScenarioEnv): Promise<AssertionResult[]> {
  return new ScenarioEngine(env).run();
}
