// The orchestrator's own /metrics: what it did to the testnet, as Prometheus series, so
// dashboards can draw faults and upgrades as annotations next to what the nodes did.
// Fed by the run's events (events.jsonl / EventLog), the same record `report` reads, so
// `leiosnet observe` of a testnet started earlier replays its history and follows the file.
//
//   leios_orchestrator_phase{phase}                       1 for the current phase, else 0
//   leios_orchestrator_events_total{type}                 every event by type
//   leios_orchestrator_faults_total{kind,node}            faults applied
//   leios_orchestrator_faults_undone_total{kind,node}     faults undone
//   leios_orchestrator_upgrades_total{node,release,phase} upgrade steps (start | done)
//   leios_orchestrator_assertions_total{result}           assertion results (passed | failed)
//   leios_orchestrator_assertion_passed{name}             1/0, the latest result per assertion
//   leios_orchestrator_marks_total{label}                 scenario marks
//   leios_orchestrator_generator_target_tps               the generator's target rate (0 when stopped)
//   leios_orchestrator_generator_running                  1 while the generator runs
//   leios_orchestrator_last_event_timestamp_seconds{type} when the latest event of a type happened

import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Registry } from 'prom-client';
import type { RunEvent } from '../pipeline/events.ts';

const FAULT_NODE = (f: Record<string, unknown>): string => {
  if (typeof f.node === 'string') return f.node;
  if (Array.isArray(f.groups)) return 'partition';
  return '';
};

/** The phase's first word: "up (5 nodes, process)" → "up". */
export function phaseName(p: string): string {
  return p.split(/[\s(]/)[0] ?? p;
}

export class OrchestratorMetrics {
  readonly registry = new Registry();
  private readonly phase: Gauge<'phase'>;
  private readonly events: Counter<'type'>;
  private readonly faults: Counter<'kind' | 'node'>;
  private readonly faultsUndone: Counter<'kind' | 'node'>;
  private readonly upgrades: Counter<'node' | 'release' | 'phase'>;
  private readonly assertions: Counter<'result'>;
  private readonly assertionPassed: Gauge<'name'>;
  private readonly marks: Counter<'label'>;
  private readonly targetTps: Gauge;
  private readonly genRunning: Gauge;
  private readonly lastEvent: Gauge<'type'>;
  private readonly phases = new Set<string>();
  private readonly faultKinds = new Map<string, { kind: string; node: string }>();
  /** release per node after upgrades (for targets' `release` label) */
  readonly releaseNow = new Map<string, string>();
  private tps = 0;
  private running = false;

  constructor(opts: { generatorTps?: number } = {}) {
    const registers = [this.registry];
    this.phase = new Gauge({ name: 'leios_orchestrator_phase', help: '1 for the phase the orchestrator is in', labelNames: ['phase'], registers });
    this.events = new Counter({ name: 'leios_orchestrator_events_total', help: 'orchestrator events (events.jsonl) by type', labelNames: ['type'], registers });
    this.faults = new Counter({ name: 'leios_orchestrator_faults_total', help: 'faults applied, by kind and node', labelNames: ['kind', 'node'], registers });
    this.faultsUndone = new Counter({ name: 'leios_orchestrator_faults_undone_total', help: 'faults undone, by kind and node', labelNames: ['kind', 'node'], registers });
    this.upgrades = new Counter({ name: 'leios_orchestrator_upgrades_total', help: 'node upgrade steps (phase start | done)', labelNames: ['node', 'release', 'phase'], registers });
    this.assertions = new Counter({ name: 'leios_orchestrator_assertions_total', help: 'assertion results', labelNames: ['result'], registers });
    this.assertionPassed = new Gauge({ name: 'leios_orchestrator_assertion_passed', help: '1 if the latest check of the assertion passed, else 0', labelNames: ['name'], registers });
    this.marks = new Counter({ name: 'leios_orchestrator_marks_total', help: 'scenario marks', labelNames: ['label'], registers });
    this.targetTps = new Gauge({ name: 'leios_orchestrator_generator_target_tps', help: "the generator's target rate (tx/s); 0 while it is stopped", registers });
    this.genRunning = new Gauge({ name: 'leios_orchestrator_generator_running', help: '1 while the generator runs', registers });
    this.lastEvent = new Gauge({ name: 'leios_orchestrator_last_event_timestamp_seconds', help: 'Unix time of the latest event of each type', labelNames: ['type'], registers });
    this.assertions.inc({ result: 'passed' }, 0);
    this.assertions.inc({ result: 'failed' }, 0);
    this.tps = opts.generatorTps ?? 0;
    this.targetTps.set(0);
    this.genRunning.set(0);
  }

  /** Account one event (from EventLog.on or a line of events.jsonl). */
  ingest(e: RunEvent | Record<string, unknown>): void {
    const type = String(e.type ?? 'unknown');
    this.events.inc({ type });
    const t = typeof e.t === 'string' ? Date.parse(e.t) / 1000 : Date.now() / 1000;
    if (Number.isFinite(t)) this.lastEvent.set({ type }, t);
    switch (type) {
      case 'phase': {
        const p = phaseName(String(e.phase ?? ''));
        for (const q of this.phases) this.phase.set({ phase: q }, 0);
        this.phases.add(p);
        this.phase.set({ phase: p }, 1);
        break;
      }
      case 'fault': {
        const f = (e.fault ?? {}) as Record<string, unknown>;
        const labels = { kind: String(f.kind ?? 'unknown'), node: FAULT_NODE(f) };
        if (typeof e.description === 'string') this.faultKinds.set(e.description, labels);
        this.faults.inc(labels);
        break;
      }
      case 'fault-undone': {
        const labels = this.faultKinds.get(String(e.fault ?? '')) ?? { kind: 'unknown', node: '' };
        this.faultsUndone.inc(labels);
        break;
      }
      case 'upgrade': {
        const node = String(e.node ?? '');
        const release = String(e.release ?? '');
        this.upgrades.inc({ node, release, phase: String(e.phase ?? '') });
        if (e.phase === 'done') this.releaseNow.set(node, release);
        break;
      }
      case 'assertion':
        this.assertions.inc({ result: e.passed === true ? 'passed' : 'failed' });
        this.assertionPassed.set({ name: String(e.name ?? '') }, e.passed === true ? 1 : 0);
        break;
      case 'mark':
        this.marks.inc({ label: String(e.label ?? '') });
        break;
      case 'generator':
        if (typeof e.tps === 'number') this.tps = e.tps;
        if (e.phase === 'started' || e.enabled === true) this.running = true;
        if (e.phase === 'stopped' || e.enabled === false) this.running = false;
        this.genRunning.set(this.running ? 1 : 0);
        this.targetTps.set(this.running ? this.tps : 0);
        break;
    }
  }

  /** Serve GET /metrics on host:port (port 0: the system picks a free one). */
  async serve(host = '127.0.0.1', port = 0): Promise<{ url: string; close(): Promise<void> }> {
    const server = http.createServer((req, res) => {
      if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
        this.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': this.registry.contentType });
            res.end(text);
          },
          (err: Error) => {
            res.writeHead(500);
            res.end(err.message);
          },
        );
        return;
      }
      res.writeHead(req.url === '/health' ? 200 : 404);
      res.end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    server.unref();
    const a = server.address() as AddressInfo;
    return {
      url: `http://${host}:${a.port}`,
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  }
}

/**
 * Follow a JSONL file from its start: every complete line goes to `onLine` (parsed), now and as
 * the file grows. Returns a stop function. A file that does not exist yet is waited for.
 */
export function tailJsonl(file: string, onLine: (o: Record<string, unknown>) => void, intervalMs = 1_000): { stop(): void; poll(): void } {
  let pos = 0;
  let rest = '';
  const poll = () => {
    if (!existsSync(file)) return;
    const size = statSync(file).size;
    if (size < pos) {
      pos = 0; // truncated or replaced
      rest = '';
    }
    if (size === pos) return;
    const fd = openSync(file, 'r');
    try {
      const buf = Buffer.alloc(size - pos);
      readSync(fd, buf, 0, buf.length, pos);
      pos = size;
      const text = rest + buf.toString('utf8');
      const lines = text.split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) {
        if (!l.trim()) continue;
        try {
          onLine(JSON.parse(l) as Record<string, unknown>);
        } catch {
          /* a torn line: skip */
        }
      }
    } finally {
      closeSync(fd);
    }
  };
  poll();
  const timer = setInterval(poll, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer), poll };
}
