// The tx-generator's acceptance run: `leiosnet run ci-bench --set generator.tps=100
// --set generator.txSizeBytes=1500` on processes — 10 pools under 150 kB/s of load, far above
// Praos capacity (≈ 4.5 kB/s), so certified EBs must carry it. Checks the accounting closes
// exactly, the open-loop rate holds its target, and what got on chain per second of load.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/tmp.ts';

const REPO = resolve(import.meta.dirname, '../..');
const tmp = tempDir('leiosnet-cibench-');

// A throughput bar on a shared 2-core machine: in the 2026-12-02 CI rehearsal the run included only
// 56 TxkB/s (2 certified EBs on chain, RB p50 1.45 s) where the previous CI reached 145.8; on
// 2026-12-03 bench:throughput's 150 TxkB/s point included 145.8 again (exact accounting, RB p95
// 678 ms). It takes ~8 minutes, too long for CI's budget, so it runs with the long variants
// (LEIOSNET_E2E_LONG=1); the figures belong to `npm run bench:throughput`.
describe.skipIf(process.env.LEIOSNET_E2E_LONG !== '1')('leiosnet run ci-bench at 100 tx/s of 1500 B', () => {
  it('sustains ≥ 135 TxkB/s on chain with exact accounting and the submission rate within 2 %', { timeout: 600_000 }, async () => {
    const out = join(tmp, 'run');
    const code = await new Promise<number | null>((res) => {
      const p = spawn(process.execPath, [join(REPO, 'bin/leiosnet.js'), 'run', 'ci-bench', '--set', 'generator.tps=100', '--set', 'generator.txSizeBytes=1500', '--out', out], {
        cwd: REPO,
        env: { ...process.env, LEIOSNET_HOME: join(tmp, 'home') },
        stdio: 'ignore',
      });
      p.on('exit', res);
    });
    expect(code).toBe(0);
    const s = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    const g = JSON.parse(readFileSync(join(out, 'generator', 'summary.json'), 'utf8'));
    const t = s.throughput;
    console.log(JSON.stringify({ throughput: t, latency: s.latency, leios: s.leios, rateErrorPct: g.rateErrorPct, rateCoV: g.rateCoV }));
    expect(t.txSubmitted).toBeGreaterThan(15_000);
    expect(t.txSubmitted).toBe(t.txIncluded + t.txRejected + t.txPending);
    expect(Math.abs(g.rateErrorPct)).toBeLessThanOrEqual(2);
    expect(s.leios.ebsCertified).toBeGreaterThanOrEqual(3);
    expect(t.txkbPerS).toBeGreaterThanOrEqual(135);
  });
});
