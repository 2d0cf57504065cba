// Kill anywhere: `leiosnet run` is SIGKILLed at seeded random points (during genesis, up,
// mid-scenario, collect); then `leiosnet down <run-id>` must leave nothing of that run: no
// process (checked in /proc), no state record, and on Docker no container, network or volume
// labelled io.leiosnet.run=<id>. A second `run` with the same --out refuses clearly (exit 2, no
// stack trace) and starts nothing.
//
// Default suite: one point per phase on processes, and on Docker with LEIOSNET_E2E_DOCKER=1 (CI)
// — about 2 minutes per runtime here. The 20-point variant per runtime, with figures, is
// `npm run bench:kill` (bench/kill-anywhere.bench.ts); KILL_POINTS=N runs N points here.
// Every run uses a LEIOSNET_HOME private to this file; cleanup is `down <run-id>` only.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerAvailable, killAt, killPoints, processesMentioning, writeKillProfile } from './kill-anywhere-helpers.ts';

const base = fs.mkdtempSync(path.join(os.tmpdir(), 'leiosnet-kill-'));
const home = path.join(base, 'home');
fs.mkdirSync(home);
const profile = writeKillProfile(base);

const RUNTIMES = ['process', ...(process.env.LEIOSNET_E2E_DOCKER === '1' && dockerAvailable() ? ['docker'] : [])];
const points = killPoints(Number(process.env.KILL_POINTS ?? 4), ['genesis', 'up', 'scenario', 'collect']);

afterAll(() => {
  // belt and braces: nothing of ours may outlive the suite
  for (const p of processesMentioning(base)) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  fs.rmSync(base, { recursive: true, force: true });
});

describe.each(RUNTIMES)('kill anywhere (%s)', (runtime) => {
  it.each(points.map((p) => [p.index, p.phase, p.delayMs, p] as const))(
    'point %i: SIGKILL during %s (+%i ms), down <run-id> leaves nothing, same --out refused',
    async (i, phase, _delay, point) => {
      const o = await killAt({ runtime, point, profile, out: path.join(base, `${runtime}-${i}`), home, cwd: base });
      expect(o.endedEarly, `the run ended before ${phase}: ${o.runEndedEarlyStderr ?? ''}`).toBe(false);
      expect(o.runId, 'meta.json names the run').toBeDefined();
      expect(o.downStatus, o.downStderr).toBe(0);
      expect(o.downAgainStatus, 'down is idempotent').toBe(0);
      expect(o.leftDetail).toEqual([]);
      expect(o.left).toEqual({ processes: 0, containers: 0, networks: 0, volumes: 0, stateRecords: 0, k8sObjects: 0 });
      // the same --out again: refused clearly, nothing started
      expect(o.again.verdict, o.again.message).toBe('refused');
      expect(o.again.stackTrace).toBe(false);
      expect(o.again.processesAfter).toBe(0);
    },
    240_000,
  );
});
