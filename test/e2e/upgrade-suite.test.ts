// `leiosnet run upgrade-suite --junit` on the process runtime: the 8-step upgrade suite of the
// Leios design (Praos release → functional checks → partial upgrade → checks → cooperation →
// upgrade the rest → hard fork → post-fork checks, one node left on the old release falls off)
// passes; every step is in the report's timeline; checks carry evidence in events.jsonl; the
// JUnit file is valid against the junit-10 rules.
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { expectUpgradeSuite, leiosnet, runUpgradeSuite, started } from './upgrade-suite-helpers.ts';
import { tempDir } from '../support/tmp.ts';

const tmp = tempDir('leiosnet-upgrade-');
const env = { ...process.env, LEIOSNET_HOME: join(tmp, 'home') };

afterAll(async () => {
  for (const id of started) await leiosnet(['down', id], env);
});

describe('leiosnet run upgrade-suite', () => {
  it('passes on the process runtime: 8 steps in the timeline, checks with evidence, valid JUnit', { timeout: 180_000 }, async () => {
    expectUpgradeSuite(await runUpgradeSuite('process', tmp, env));
  });
});
