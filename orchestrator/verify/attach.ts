// The hook `run` uses: verify the run dir, put `conformance` into the summary, and re-evaluate the
// profile's assertions now that it is known (analyseRun evaluated them before the verifier ran).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Analysis } from '../analysis/analyse.ts';
import { evaluateAssertions } from '../analysis/assertions.ts';
import type { Assertion } from '../profile/schema.ts';
import { toConformance, verifyRun, type Conformance } from './index.ts';

function planAssertions(runDir: string): Assertion[] {
  const file = join(runDir, 'profile.resolved.json');
  if (!existsSync(file)) return [];
  try {
    const plan = JSON.parse(readFileSync(file, 'utf8')) as { analysis?: { assertions?: Assertion[] } };
    return plan.analysis?.assertions ?? [];
  } catch {
    return [];
  }
}

/** Verify and attach; `undefined` (and nothing changed) when the run dir has no traces to verify. */
export async function attachConformance(runDir: string, analysis: Pick<Analysis, 'summary' | 'nodes'>): Promise<Conformance | undefined> {
  let conformance: Conformance;
  try {
    conformance = toConformance(await verifyRun(runDir));
  } catch {
    return undefined;
  }
  const s = analysis.summary;
  s.conformance = conformance;
  const planned = planAssertions(runDir);
  if (planned.some((a) => a.kind === 'conformance') && s.assertions.length >= planned.length) {
    // analyseRun put the plan's assertions last, after those decided during the scenario
    s.assertions = [...s.assertions.slice(0, s.assertions.length - planned.length), ...evaluateAssertions(planned, { summary: s, nodes: analysis.nodes })];
    s.passed = s.assertions.every((a) => a.passed);
  }
  return conformance;
}
