import { describe, expect, it } from 'vitest';
import { parsePrometheus, sumMetric, toRecord } from '../../orchestrator/collect/prometheus.ts';

const TEXT = `# HELP leios_slot Current slot
# TYPE leios_slot gauge
leios_slot 42
# TYPE leios_tx_rejected_total counter
leios_tx_rejected_total{reason="fee"} 3
leios_tx_rejected_total{reason="double \\"spend\\"",era="leios"} 2 1700000000000
# TYPE leios_rb_adoption_delay_seconds histogram
leios_rb_adoption_delay_seconds_bucket{le="0.5"} 4
leios_rb_adoption_delay_seconds_bucket{le="+Inf"} 9
leios_rb_adoption_delay_seconds_sum 3.25
process_resident_memory_bytes 1.2e+08
nodejs_gc_duration_seconds_sum{kind="minor"} NaN
`;

describe('Prometheus text parsing', () => {
  const samples = parsePrometheus(TEXT);

  it('reads names, labels (with escapes), values and ignores timestamps and comments', () => {
    expect(samples.find((s) => s.name === 'leios_slot')).toEqual({ name: 'leios_slot', labels: {}, value: 42 });
    expect(samples.filter((s) => s.name === 'leios_tx_rejected_total')).toEqual([
      { name: 'leios_tx_rejected_total', labels: { reason: 'fee' }, value: 3 },
      { name: 'leios_tx_rejected_total', labels: { reason: 'double "spend"', era: 'leios' }, value: 2 },
    ]);
    expect(samples.find((s) => s.labels.le === '+Inf')!.value).toBe(9);
    expect(samples.find((s) => s.name === 'process_resident_memory_bytes')!.value).toBe(1.2e8);
  });

  it('flattens to canonical keys and sums a metric over its label sets', () => {
    const rec = toRecord(samples, (n) => n.startsWith('leios_'));
    expect(rec['leios_tx_rejected_total{era="leios",reason="double \\"spend\\""}']).toBe(2);
    expect(rec['process_resident_memory_bytes']).toBeUndefined();
    expect(sumMetric(rec, 'leios_tx_rejected_total')).toBe(5);
    expect(sumMetric(rec, 'leios_missing')).toBeUndefined();
  });
});
