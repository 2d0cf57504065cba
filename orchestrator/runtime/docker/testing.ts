// The docker test suites' skip rule, in one place:
// - no engine → the suite is skipped with ONE visible line saying why;
// - LEIOSNET_E2E_DOCKER=1 → a missing engine is a failure, never a skip.

import { engineStatus, type EngineStatus } from './engine.ts';

export interface DockerGate {
  /** Pass to describe.skipIf. */
  skip: boolean;
  status: EngineStatus;
  /** Call in beforeAll: throws (fails the suite) when the engine is required but missing. */
  assert(): void;
}

export async function dockerGate(suite: string): Promise<DockerGate> {
  const status = await engineStatus();
  const required = process.env.LEIOSNET_E2E_DOCKER === '1';
  const skip = !status.ok && !required;
  if (skip) console.warn(`[${suite}] SKIPPED: ${status.detail} (set LEIOSNET_E2E_DOCKER=1 to make this a failure)`);
  return {
    skip,
    status,
    assert() {
      if (!status.ok) throw new Error(`[${suite}] LEIOSNET_E2E_DOCKER=1 but ${status.detail}`);
    },
  };
}
