// Node resources: CPU, RSS, heap, event-loop lag, GC, missed leadership checks.
import { base, q, row, SEL, ts } from './common.ts';

export const uid = 'leiosnet-node-resources';

export function build() {
  return base(uid, 'leiosnet / Node resources', 'CPU, memory, event loop, GC and missed leadership checks per node')
    .withRow(row('Process'))
    .withPanel(ts('CPU', 'percent', [q(`100 * rate(process_cpu_seconds_total{${SEL}}[$__rate_interval])`)], 'Share of one core (100 = one core busy)'))
    .withPanel(ts('Resident memory', 'bytes', [q(`process_resident_memory_bytes{${SEL}}`)]))
    .withPanel(ts('JS heap used', 'bytes', [q(`nodejs_heap_size_used_bytes{${SEL}}`)]))
    .withPanel(ts('Open file descriptors', 'none', [q(`process_open_fds{${SEL}}`)]))
    .withRow(row('Event loop and GC'))
    .withPanel(ts('Event-loop lag p99', 's', [q(`nodejs_eventloop_lag_p99_seconds{${SEL}}`)], 'A stalled event loop delays RB header relay and leadership checks'))
    .withPanel(ts('Event-loop lag mean', 's', [q(`nodejs_eventloop_lag_mean_seconds{${SEL}}`)]))
    .withPanel(ts('GC time per second', 's', [q(`sum by (node, kind) (rate(nodejs_gc_duration_seconds_sum{${SEL}}[$__rate_interval]))`, '{{node}} {{kind}}')]))
    .withPanel(ts('GC runs per second', 'none', [q(`sum by (node) (rate(nodejs_gc_duration_seconds_count{${SEL}}[$__rate_interval]))`)]))
    .withRow(row('Slot clock'))
    .withPanel(
      ts('Missed leadership checks', 'none', [q(`increase(leios_leadership_checks_missed_total{${SEL}}[$__rate_interval])`)], 'Slots whose leadership check came too late (event loop past the slot)'),
    )
    .withPanel(
      ts('Missed share of leadership checks', 'percentunit', [
        q(`increase(leios_leadership_checks_missed_total{${SEL}}[$__rate_interval]) / clamp_min(increase(leios_leadership_checks_total{${SEL}}[$__rate_interval]), 1)`),
      ]),
    );
}
