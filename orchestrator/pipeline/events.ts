// events.jsonl: the orchestrator's timeline of a run (phases, steps, faults, upgrades, assertion
// results), one JSON object per line, appended synchronously so a killed orchestrator leaves
// everything up to its last moment.

import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface RunEvent {
  /** ISO time */
  t: string;
  type: string;
  [k: string]: unknown;
}

export type EventListener = (e: RunEvent) => void;

export class EventLog {
  readonly file: string;
  private readonly listeners: EventListener[] = [];

  constructor(file: string) {
    this.file = file;
    mkdirSync(dirname(file), { recursive: true });
  }

  /** Write failures (run dir removed, disk full): the run goes on, the timeline has a hole. */
  writeErrors = 0;

  emit(type: string, fields: Record<string, unknown> = {}): RunEvent {
    const e: RunEvent = { t: new Date().toISOString(), type, ...fields };
    try {
      appendFileSync(this.file, JSON.stringify(e) + '\n');
    } catch (err) {
      if (this.writeErrors++ === 0) process.stderr.write(`leiosnet: cannot write ${this.file}: ${(err as Error).message}\n`);
    }
    for (const l of this.listeners) l(e);
    return e;
  }

  on(l: EventListener): void {
    this.listeners.push(l);
  }
}
