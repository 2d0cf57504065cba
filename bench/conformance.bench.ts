// Conformance of the library: `leiosnet run <profile> --runtime <r>` for every library profile on
// each runtime asked for, then the CIP-164 trace verifier's verdict from each run's summary.json
// (`conformance: {checks, violations, byRule}`), as one table. Prints figures; asserts nothing.
//
//   npm run bench:conformance -- [--runtimes process,docker,kubernetes] [--profiles a,b]
//                                [--max-s 240] [--out DIR]
//
// --max-s shortens a profile's scenario to that many seconds (generator load with it) unless the
// profile has scenario steps (fault-campaign, upgrade-suite…), which run as written. A profile's
// own assertions (certified EBs, throughput) may then fail: the table shows exit code and
// conformance apart. Resumable: a point whose summary.json exists in --out is not run again.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadPlan } from '../orchestrator/profile/resolve.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(REPO, 'bin/leiosnet.js');
const { values } = parseArgs({
  options: {
    runtimes: { type: 'string', default: 'process' },
    profiles: { type: 'string' },
    'max-s': { type: 'string', default: '240' },
    out: { type: 'string' },
  },
});
const library = readdirSync(join(REPO, 'profiles'))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.replace(/\.yaml$/, ''));
const profiles = values.profiles ? values.profiles.split(',') : library;
const runtimes = values.runtimes.split(',');
const maxS = Number(values['max-s']);
const out = resolve(values.out ?? mkdtempSync(join(tmpdir(), 'leiosnet-conformance-')));
mkdirSync(out, { recursive: true });

interface Row {
  profile: string;
  runtime: string;
  code: number | null;
  seconds: number;
  slots: number;
  checks?: number;
  violations?: number;
  failing: string[];
  notCheckable: number;
}
const rows: Row[] = [];

for (const profile of profiles) {
  const plan = loadPlan(profile);
  const steps = plan.scenario.steps?.length ?? 0;
  const d = plan.scenario.duration;
  // a duration in blocks runs as written
  const fullSlots = 'slots' in d ? d.slots : 'seconds' in d ? Math.ceil(d.seconds / plan.genesis.slotLengthS) : Infinity;
  const slots = steps > 0 || !Number.isFinite(fullSlots) ? fullSlots : Math.min(fullSlots, Math.ceil(maxS / plan.genesis.slotLengthS));
  const sets = slots < fullSlots ? ['--set', `scenario.duration.slots=${slots}`, '--set', `generator.durationS=${Math.floor(slots * plan.genesis.slotLengthS * 0.75)}`] : [];
  for (const runtime of runtimes) {
    const dir = join(out, `${profile}-${runtime}`);
    const summaryFile = join(dir, 'summary.json');
    const t0 = Date.now();
    let code: number | null = null; // null: killed by a signal, or resumed (read below)
    const resumed = existsSync(summaryFile);
    if (!resumed) {
      console.error(`${new Date().toISOString().slice(11, 19)} ${profile} on ${runtime}: ${Number.isFinite(slots) ? slots : 'as written'} slots${sets.length ? ' (shortened)' : ''}, load ${loadavg()[0]!.toFixed(1)}`);
      const r = spawnSync(process.execPath, [BIN, 'run', profile, '--runtime', runtime, ...sets, '--out', dir], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
      code = r.status;
    }
    const row: Row = { profile, runtime, code, seconds: (Date.now() - t0) / 1000, slots, failing: [], notCheckable: 0 };
    if (existsSync(summaryFile)) {
      const s = JSON.parse(readFileSync(summaryFile, 'utf8')) as { passed?: boolean; conformance?: { checks: number; violations: number; byRule: Record<string, { status: string; violations: number }> } };
      // a resumed point's exit code is the one `run` derived from this summary (passed → 0, else 1)
      if (resumed) row.code = s.passed ? 0 : 1;
      const c = s.conformance;
      if (c) {
        row.checks = c.checks;
        row.violations = c.violations;
        row.failing = Object.entries(c.byRule).filter(([, v]) => v.violations > 0).map(([k, v]) => `${k}×${v.violations}`);
        row.notCheckable = Object.values(c.byRule).filter((v) => v.status === 'not-checkable').length;
      }
    }
    rows.push(row);
  }
}

console.log(`\nconformance of the library (${rows.length} runs, out ${out})`);
console.log('profile                      runtime     slots  exit  checks  violations  not-checkable  failing rules');
for (const r of rows) {
  console.log(
    `${r.profile.padEnd(28)} ${r.runtime.padEnd(10)} ${String(Number.isFinite(r.slots) ? r.slots : 'blocks').padStart(6)}  ${String(r.code ?? 'sig').padStart(4)}  ${String(r.checks ?? '-').padStart(6)}  ${String(r.violations ?? '-').padStart(10)}  ${String(r.notCheckable).padStart(13)}  ${r.failing.join(', ') || '-'}`,
  );
}
const bad = rows.filter((r) => (r.violations ?? 1) > 0);
console.log(`runs with a violation or no verdict: ${bad.length} of ${rows.length}`);
