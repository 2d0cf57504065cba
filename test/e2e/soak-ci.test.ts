// The soak's short variant (soak-ci: soak-1h's ci-bench load on 4 pools) on processes, with every
// process's RSS sampled from /proc as bench:soak does. Three minutes cannot show the hour-scale
// bar (< 10 % after warm-up: `npm run bench:soak`): start-up growth (V8's young generation sizing
// up, mempool and caches filling under the ramp) and GC dips of ±15 % dominate such a window. What
// it does show is a process that keeps setting new highs: after 60 % of the run no process may
// pass its earlier peak by more than 20 % (a node leaking ~2 GB/h or more would). The leak classes
// found by the hour-long soak have their own tests (txgen-outbox, txgen-settle, recent-map,
// memory-ownership).
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RssSampler, rssGrowth, runFileSizes } from '../support/rss.ts';
import { tempDir } from '../support/tmp.ts';

const REPO = resolve(import.meta.dirname, '../..');
const tmp = tempDir('leiosnet-soakci-');
/** Most a process's RSS after the warm-up may pass its peak before it. */
const MAX_NEW_HIGH = 1.2;

describe('soak-ci: RSS late in the run, and file sizes', () => {
  it('no process passes its earlier RSS peak by 20 % late in the run; files stay small', { timeout: 420_000 }, async () => {
    const out = join(tmp, 'run');
    const child = spawn(process.execPath, [join(REPO, 'bin/leiosnet.js'), 'run', 'soak-ci', '--set', 'generator.durationS=150', '--set', 'scenario.duration.slots=180', '--out', out], {
      cwd: REPO,
      env: { ...process.env, LEIOSNET_HOME: join(tmp, 'home') },
      stdio: 'ignore',
    });
    const sampler = new RssSampler(out, child.pid!, 2000);
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    sampler.stop();
    expect(code).toBe(0);
    const totalS = sampler.elapsedS();
    const warmupS = totalS * 0.6;
    const rows = Object.fromEntries([...sampler.series].map(([name, s]) => [name, rssGrowth(s, warmupS)]));
    const curve = Object.fromEntries([...sampler.series].map(([name, s]) => [name, s.filter((_, i) => i % 5 === 0).map((x) => `${Math.round(x.tS)}:${Math.round(x.rssMb)}`).join(' ')]));
    console.log(JSON.stringify({ totalS: Math.round(totalS), warmupS: Math.round(warmupS), rows, curve }));
    expect(Object.keys(rows).sort()).toEqual(['generator', 'orchestrator', 'pool-1', 'pool-2', 'pool-3', 'pool-4']);
    for (const [name, series] of sampler.series) {
      expect(rows[name], `${name}: samples after warm-up`).toBeDefined();
      const peakBefore = Math.max(...series.filter((x) => x.tS < warmupS).map((x) => x.rssMb));
      const peakAfter = rows[name]!.maxMb;
      expect(peakAfter / peakBefore, `${name}: RSS peak after warm-up against before (${peakAfter.toFixed(0)} / ${peakBefore.toFixed(0)} MB)`).toBeLessThan(MAX_NEW_HIGH);
    }
    const files = runFileSizes(out);
    // the stated caps are 1 GiB per trace, 256 MiB per log, 64 MiB of metrics samples; a few
    // minutes at this load write ~1 % of the smallest
    for (const f of files) expect(f.bytes, f.file).toBeLessThan(16 << 20);
  });
});
