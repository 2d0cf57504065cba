// The scenario engine: runs a plan's timeline from systemStart until its duration — waits by
// slots, blocks or seconds; faults via NodeHandle and the node admin API (undone after `forS`);
// adversary toggles; upgrades via NodeHandle.restartWith; generator changes; marks; and
// assertions that poll until `withinS` and report the last value seen. Every step and result
// goes to events.jsonl.

import { assertionName, evaluateAssertion, type AssertionView, type Evaluation } from '../analysis/assertions.ts';
import type { AssertionResult } from '../analysis/summary.ts';
import { setAdversary } from '../collect/admin.ts';
import type { EventLog } from '../pipeline/events.ts';
import type { Plan } from '../profile/plan.ts';
import type { Assertion, Duration, Step } from '../profile/schema.ts';
import type { Deployment } from '../runtime/runtime.ts';
import { applyFault, describeFault, type Undo } from './faults.ts';
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

export class ScenarioEngine {
  private readonly env: ScenarioEnv;
  private readonly dep: Deployment;
  private readonly slotMs: number;
  private readonly pollMs: number;
  private readonly pending = new Map<number, { timer: NodeJS.Timeout; undo: Undo; label: string }>();
  private undoSeq = 0;
  /** set when the timeline is over: background work (recovery timing) stops */
  private finished = false;
  readonly results: AssertionResult[] = [];

  constructor(env: ScenarioEnv) {
    this.env = env;
    this.dep = env.deployment;
    this.slotMs = env.plan.genesis.slotLengthS * 1000;
    this.pollMs = env.pollMs ?? Math.max(250, this.slotMs / 2);
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

  private record(r: AssertionResult & { elapsedS?: number }): void {
    this.results.push({ name: r.name, passed: r.passed, detail: r.detail });
    this.env.events.emit('assertion', { ...r });
  }

  private scheduleUndo(undo: Undo, forS: number, label: string): void {
    const id = this.undoSeq++;
    const timer = setTimeout(() => {
      this.pending.delete(id);
      void undo().then(
        () => {
          this.env.events.emit('fault-undone', { fault: label });
          void this.measureRecovery(label);
        },
        (e: Error) => this.env.events.emit('fault-undo-failed', { fault: label, error: e.message }),
      );
    }, forS * 1000);
    this.pending.set(id, { timer, undo, label });
  }

  /**
   * After a fault is undone: time until every running node is back within one block of the best
   * tip (attacknet's per-fault recovery time), as a `recovered` event; gives up after two minutes.
   */
  private async measureRecovery(label: string): Promise<void> {
    const start = Date.now();
    while (Date.now() - start < 120_000 && !this.finished) {
      const states = Object.values(await nodeStates(this.dep).catch(() => ({}))).filter((s) => s.running);
      const nos = states.map((s) => s.blockNo ?? 0);
      if (states.length > 0 && states.every((s) => s.blockNo !== undefined) && Math.max(...nos) - Math.min(...nos) <= 1) {
        this.env.events.emit('recovered', { fault: label, recoveryS: Math.round((Date.now() - start) / 100) / 10 });
        return;
      }
      await new Promise((r) => setTimeout(r, this.pollMs));
    }
    if (!this.finished) this.env.events.emit('recovered', { fault: label, recoveryS: null, detail: 'not within 120 s' });
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

  async checkAssertion(a: Assertion & { withinS?: number }): Promise<AssertionResult> {
    const view = this.env.view ?? ((x: Assertion) => liveView(this.dep, this.env.runDir, needsTraces(x)));
    const name = assertionName(a);
    const { withinS, ...assertion } = a;
    const r = await pollAssertion(async () => evaluateAssertion(assertion as Assertion, await view(assertion as Assertion)), withinS ?? 0, this.pollMs, this.signal);
    const result = { name, passed: r.passed, detail: r.detail };
    this.record({ ...result, elapsedS: r.elapsedS });
    return result;
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
        const undo = await applyFault(this.dep, f);
        if ('forS' in f && f.forS !== undefined) this.scheduleUndo(undo, f.forS, label);
      } catch (e) {
        this.record({ name: `fault ${label} (step ${index + 1})`, passed: false, detail: (e as Error).message });
      }
    } else if ('upgrade' in step) {
      const u = step.upgrade;
      const names = u.nodes === 'all' ? this.dep.nodes().map((h) => h.name) : u.nodes;
      // one node at a time: the rest of the network keeps the chain going
      for (const n of names) {
        ev.emit('upgrade', { index, node: n, release: u.release, phase: 'start' });
        try {
          await this.dep.node(n).restartWith(u.release);
          ev.emit('upgrade', { index, node: n, release: u.release, phase: 'done' });
        } catch (e) {
          this.record({ name: `upgrade ${n} to ${u.release} (step ${index + 1})`, passed: false, detail: (e as Error).message });
        }
      }
    } else if ('assert' in step) {
      await this.checkAssertion(step.assert);
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
    }
    return this.results;
  }
}

export function runScenario(env: ScenarioEnv): Promise<AssertionResult[]> {
  return new ScenarioEngine(env).run();
}
