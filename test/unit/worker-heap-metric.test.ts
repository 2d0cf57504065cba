import { afterAll, describe, expect, it } from 'vitest';
import { createNodeMetrics } from '../../node/obs/metrics.ts';
import { parsePrometheus } from '../../orchestrator/collect/prometheus.ts';
import { WorkerPool } from '../../node/work/pool.ts';

// The worker threads' V8 heaps are RSS the process's nodejs_heap_* series do not show (they cover
// the main thread): leios_worker_heap_bytes reads them from the pool's live workers.

const workers = new WorkerPool({ pools: [], committee: { kind: 'truncation', sigmaC: 1 } }, { size: 1 });
afterAll(() => workers.close());

function series(text: string, kind: string): number {
  const s = parsePrometheus(text).find((x) => x.name === 'leios_worker_heap_bytes' && x.labels.kind === kind);
  if (!s) throw new Error(`no leios_worker_heap_bytes{kind="${kind}"} in /metrics`);
  return s.value;
}

describe('leios_worker_heap_bytes', () => {
  it('is 0 before a worker runs, then the live worker heap (used ≤ total)', async () => {
    const metrics = createNodeMetrics('n1', { defaultMetrics: false });
    metrics.workerHeapSource = () => workers.heapStatistics();
    let text = await metrics.registry.metrics();
    expect(series(text, 'total')).toBe(0);
    expect(await workers.run({ kind: 'witnesses', packed: new Uint8Array(128) })).toEqual([false]);
    const h = await workers.heapStatistics();
    expect(h.workers).toBe(1);
    text = await metrics.registry.metrics();
    const total = series(text, 'total');
    const used = series(text, 'used');
    // a worker isolate holds at least a few MB once it has loaded the crypto modules
    expect(total).toBeGreaterThan(1e6);
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThanOrEqual(total);
  });

  it('without a source both series read 0', async () => {
    const text = await createNodeMetrics('n2', { defaultMetrics: false }).registry.metrics();
    expect(series(text, 'used')).toBe(0);
    expect(series(text, 'total')).toBe(0);
  });
});
