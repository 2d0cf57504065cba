import http from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

// The generator's Prometheus metrics (names from DESIGN.md), in its own registry so several
// generators can live in one process. Counters count verdict messages per target; the
// per-tx classification is in summary.json.

export const LATENCY_BUCKETS_S = [0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300];

export interface GeneratorMetrics {
  readonly registry: Registry;
  /** txs emitted, per target offered to */
  readonly submitted: Counter<'target'>;
  readonly accepted: Counter<'target'>;
  readonly rejected: Counter<'target' | 'reason'>;
  readonly targetTps: Gauge;
  /** txs emitted in the last whole second */
  readonly rateTps: Gauge;
  readonly included: Gauge;
  readonly pending: Gauge;
  /** emitted, not yet offered (per target) */
  readonly backlog: Gauge<'target'>;
  readonly inclusionLatency: Histogram;
  readonly phase: Gauge<'phase'>;
}

export function makeMetrics(defaultMetrics = false): GeneratorMetrics {
  const registry = new Registry();
  if (defaultMetrics) collectDefaultMetrics({ register: registry });
  const r = { registers: [registry] };
  return {
    registry,
    submitted: new Counter({ name: 'leios_txgen_submitted_total', help: 'transactions submitted (per target offered to)', labelNames: ['target'], ...r }),
    accepted: new Counter({ name: 'leios_txgen_accepted_total', help: 'accepted verdicts from the nodes (TxResults)', labelNames: ['target'], ...r }),
    rejected: new Counter({ name: 'leios_txgen_rejected_total', help: 'rejected verdicts from the nodes, by reason', labelNames: ['target', 'reason'], ...r }),
    targetTps: new Gauge({ name: 'leios_txgen_target_tps', help: 'target submission rate (tx/s) now', ...r }),
    rateTps: new Gauge({ name: 'leios_txgen_rate_tps', help: 'achieved submission rate over the last whole second (tx/s)', ...r }),
    included: new Gauge({ name: 'leios_txgen_included', help: 'submitted transactions on the followed chain', ...r }),
    pending: new Gauge({ name: 'leios_txgen_pending', help: 'submitted transactions neither included nor rejected', ...r }),
    backlog: new Gauge({ name: 'leios_txgen_backlog', help: 'transactions queued and not yet pulled by the node', labelNames: ['target'], ...r }),
    inclusionLatency: new Histogram({
      name: 'leios_txgen_inclusion_latency_seconds',
      help: 'submission to inclusion on the followed chain',
      buckets: LATENCY_BUCKETS_S,
      ...r,
    }),
    phase: new Gauge({ name: 'leios_txgen_phase', help: '1 for the current phase', labelNames: ['phase'], ...r }),
  };
}

/** Serve GET /metrics. Resolves with the bound address. */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        (e: Error) => {
          res.writeHead(500);
          res.end(e.message);
        },
      );
      return;
    }
    if (req.method === 'GET' && req.url === '/health') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  const bound = a && typeof a === 'object' ? a.port : port;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
