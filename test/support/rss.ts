// RSS of a run's processes, sampled from /proc, and what a soak reads from the series: the
// least-squares slope and the growth from the first to the last tenth after the warm-up.
// Shared by bench/soak.bench.ts (soak-1h, the < 10 % bar) and test/e2e/soak-ci.test.ts.

import fs from 'node:fs';
import path from 'node:path';

export interface RssSample {
  tS: number;
  rssMb: number;
}

export interface RssGrowth {
  samples: number;
  firstMb: number;
  lastMb: number;
  maxMb: number;
  slopeMbPerH: number;
  growthPct: number;
}

export function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Processes of the run in `outDir` (command lines mentioning it), named by what they run; the
 *  orchestrator is the pid that started it. */
export function runProcesses(outDir: string, orchestrator: number): Map<number, string> {
  const found = new Map<number, string>([[orchestrator, 'orchestrator']]);
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === orchestrator) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      const line = cmd.join(' ');
      if (!line.includes(outDir)) continue;
      const config = cmd.find((a) => a.endsWith('config.json')) ?? '';
      const name = /nodes\/([^/]+)\//.exec(config)?.[1] ?? (line.includes('tx-generator') || config.includes('generator') ? 'generator' : `pid-${d}`);
      found.set(Number(d), name);
    } catch {
      /* gone */
    }
  }
  return found;
}

/** Samples every process of a run each `intervalMs`; a restarted node (new pid, same name) goes
 *  on in the same series. `onTick` runs before each round (heap snapshots use it). */
export class RssSampler {
  readonly series = new Map<string, RssSample[]>();
  private readonly timer: NodeJS.Timeout;
  private readonly t0 = Date.now();

  constructor(outDir: string, orchestrator: number, intervalMs: number, onTick?: (tS: number, procs: Map<number, string>) => void) {
    this.timer = setInterval(() => {
      const tS = this.elapsedS();
      const procs = runProcesses(outDir, orchestrator);
      onTick?.(tS, procs);
      for (const [pid, name] of procs) {
        const r = rssMb(pid);
        if (r === undefined) continue;
        const s = this.series.get(name) ?? [];
        s.push({ tS, rssMb: r });
        this.series.set(name, s);
      }
    }, intervalMs);
  }

  elapsedS(): number {
    return (Date.now() - this.t0) / 1000;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** RSS at each tenth of the series (0 %, 10 %, …, 100 % of its samples): whether it is still
 *  climbing at the end or has levelled off, which one growth figure does not say. */
export function rssCurve(series: readonly RssSample[]): RssSample[] {
  if (series.length === 0) return [];
  return Array.from({ length: 11 }, (_, q) => series[Math.round((q * (series.length - 1)) / 10)]!);
}

/** Least-squares slope of y over x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** Growth after the warm-up: mean of the last tenth against the first tenth of the samples
 *  taken at or after `warmupS` (undefined with fewer than 4 such samples). */
export function rssGrowth(series: readonly RssSample[], warmupS: number): RssGrowth | undefined {
  const w = series.filter((x) => x.tS >= warmupS);
  if (w.length < 4) return undefined;
  const k = Math.max(1, Math.floor(w.length / 10));
  const first = w.slice(0, k).reduce((a, b) => a + b.rssMb, 0) / k;
  const last = w.slice(-k).reduce((a, b) => a + b.rssMb, 0) / k;
  return {
    samples: w.length,
    firstMb: first,
    lastMb: last,
    maxMb: Math.max(...w.map((x) => x.rssMb)),
    slopeMbPerH: slope(
      w.map((x) => x.tS / 3600),
      w.map((x) => x.rssMb),
    ),
    growthPct: ((last - first) / first) * 100,
  };
}

/** Trace, log and metrics files of a run dir (not the chain DBs), largest first. */
export function runFileSizes(outDir: string): { file: string; bytes: number }[] {
  const rows: { file: string; bytes: number }[] = [];
  const walk = (d: string) => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'db') walk(p);
      } else if (/\.(jsonl|log)$/.test(e.name)) rows.push({ file: path.relative(outDir, p), bytes: fs.statSync(p).size });
    }
  };
  walk(outDir);
  return rows.sort((a, b) => b.bytes - a.bytes);
}
