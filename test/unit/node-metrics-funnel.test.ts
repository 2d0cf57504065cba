// The node metrics issue 9 added: net bytes by mini-protocol *and peer* (bounded label
// cardinality), and the Leios funnel's per-stage latency histogram.
import { afterEach, describe, expect, it } from 'vitest';
import { createNodeMetrics, PeerLabels } from '../../node/obs/metrics.ts';
import { FUNNEL_STAGES, LeiosFunnel } from '../../node/obs/funnel.ts';
import { PeerManager } from '../../node/network/index.ts';

const managers: PeerManager[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()));
});

async function until(cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** value of one series in prom-client's JSON */
async function value(m: ReturnType<typeof createNodeMetrics>, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const v = (metric?.values as { value: number; labels: Record<string, string | number> }[] | undefined)?.find((s) => Object.entries(labels).every(([k, val]) => String(s.labels[k]) === val));
  return v?.value;
}

describe('net bytes by peer', () => {
  it('two real peer managers: each side counts the other by name, per mini-protocol, handshake included', async () => {
    const ma = createNodeMetrics('a', { defaultMetrics: false });
    const mb = createNodeMetrics('b', { defaultMetrics: false });
    const opts = (name: string, m: typeof ma) =>
      new PeerManager({ name, networkMagic: 7, versions: [1, 2], listen: { host: '127.0.0.1', port: 0 }, backoff: { minMs: 30, maxMs: 200 }, onBytes: (p, d, n, peer) => m.countBytes(p, d, n, peer) });
    const a = opts('a', ma);
    const b = opts('b', mb);
    managers.push(a, b);
    await Promise.all([a.start(), b.start()]);
    const addr = b.address()!;
    a.addPeer({ name: 'b', host: addr.host, port: addr.port }); // a dials b: b learns a's name at the handshake
    await until(() => a.connectedPeers().length === 1 && b.connectedPeers().length === 1);
    const text = await ma.registry.metrics();
    expect(text).toMatch(/leios_net_bytes_sent_total\{protocol="handshake",peer="b",node="a"\} \d+/);
    expect(await value(ma, 'leios_net_bytes_received_total', { protocol: 'handshake', peer: 'b' })).toBeGreaterThan(0);
    // the responder named the dialer from its handshake; its bytes before that are "unknown"
    const rb = (await mb.registry.getMetricsAsJSON()).find((x) => x.name === 'leios_net_bytes_sent_total')!;
    const peersAtB = new Set(rb.values.map((v) => v.labels.peer));
    expect(peersAtB.has('a')).toBe(true);
    for (const p of peersAtB) expect(['a', 'unknown']).toContain(p);
    // bytes by peer add up to the mux's own totals
    const sentByA = (await ma.registry.getMetricsAsJSON()).find((x) => x.name === 'leios_net_bytes_sent_total')!.values.reduce((s, v) => s + v.value, 0);
    expect(sentByA).toBe(a.peer('b')!.info().bytesSent);
  });

  it('the peer label is bounded: first N names, then "other"; odd or long names are "other"; no name is "unknown"', () => {
    const l = new PeerLabels(3);
    expect(['p1', 'p2', 'p1', 'p3', 'p4', 'p5', 'p2'].map((p) => l.of(p))).toEqual(['p1', 'p2', 'p1', 'p3', 'other', 'other', 'p2']);
    expect(l.size).toBe(3);
    const m = new PeerLabels();
    expect(m.of(undefined)).toBe('unknown');
    expect(m.of('')).toBe('unknown');
    expect(m.of('x'.repeat(65))).toBe('other');
    expect(m.of('bad"name\n')).toBe('other');
    expect(m.of('txgen-generator')).toBe('txgen-generator');
    const metrics = createNodeMetrics('n', { defaultMetrics: false, maxPeerLabels: 2 });
    for (let i = 0; i < 50; i++) metrics.countBytes('chainsync', 'sent', 10, `peer-${i}`);
    return metrics.registry.getMetricsAsJSON().then((all) => {
      const series = all.find((x) => x.name === 'leios_net_bytes_sent_total')!.values;
      expect(series.map((s) => s.labels.peer).sort()).toEqual(['other', 'peer-0', 'peer-1']);
      expect(series.reduce((s, v) => s + v.value, 0)).toBe(500);
    });
  });
});

describe('Leios funnel latency per stage', () => {
  const countOf = async (m: ReturnType<typeof createNodeMetrics>, stage: string) => {
    const h = (await m.registry.getMetricsAsJSON()).find((x) => x.name === 'leios_tx_stage_latency_seconds')! as unknown as {
      values: { value: number; labels: Record<string, string | number>; metricName?: string }[];
    };
    return {
      count: h.values.find((v) => v.metricName === 'leios_tx_stage_latency_seconds_count' && v.labels.stage === stage)!.value,
      sum: h.values.find((v) => v.metricName === 'leios_tx_stage_latency_seconds_sum' && v.labels.stage === stage)!.value,
    };
  };

  it('every stage has its series from the start (a dashboard query returns data before the first EB)', async () => {
    const m = createNodeMetrics('n', { defaultMetrics: false });
    const text = await m.registry.metrics();
    for (const s of FUNNEL_STAGES) expect(text).toMatch(new RegExp(`^leios_tx_stage_latency_seconds_count\\{(node="n",)?stage="${s}"(,node="n")?\\} 0$`, 'm'));
  });

  it('mempool → EB → certified → ledger, per tx and per EB, each observed once', async () => {
    const m = createNodeMetrics('n', { defaultMetrics: false });
    const f = m.funnel;
    f.txArrived('t1', 1_000);
    f.txArrived('t2', 2_000);
    f.txArrived('t1', 5_000); // seen again (relayed back, or returned by a rollback): the first arrival counts
    f.txArrived('t3', 2_500); // goes into an RB body, never an EB
    f.ebSeen('eb1', ['t1', 't2', 'tX'], 4_000); // tX: not from our mempool (fetched with the EB)
    f.ebSeen('eb1', ['t1', 't2'], 4_500); // the same EB again: nothing
    f.ebSeen('eb2', ['t1'], 4_600); // t1 already counted as "in an EB"
    f.ebCertified('eb1', 10_000);
    f.ebCertified('eb1', 11_000); // formed here, then seen in an RB: once
    f.txsApplied(['t3'], undefined, 6_500);
    f.txsApplied(['t1', 't2', 'tX'], 'eb1', 12_000);
    f.txsApplied(['t1'], 'eb1', 13_000); // replay after a switch back: nothing new
    expect(await countOf(m, 'mempool_to_eb')).toEqual({ count: 2, sum: 3 + 2 });
    expect(await countOf(m, 'eb_to_certified')).toEqual({ count: 1, sum: 6 });
    expect(await countOf(m, 'certified_to_ledger')).toEqual({ count: 1, sum: 2 });
    expect(await countOf(m, 'mempool_to_ledger')).toEqual({ count: 3, sum: 4 + 11 + 10 });
    expect(f.tracked.txs).toBe(0);
  });

  it('a certificate first seen in the adopted RB counts as certified then (certified → ledger = 0)', async () => {
    const m = createNodeMetrics('n', { defaultMetrics: false });
    m.funnel.ebSeen('eb', [], 1_000);
    m.funnel.txsApplied([], 'eb', 3_000);
    expect(await countOf(m, 'eb_to_certified')).toEqual({ count: 1, sum: 2 });
    expect(await countOf(m, 'certified_to_ledger')).toEqual({ count: 1, sum: 0 });
  });

  it('memory stays bounded: oldest txs and EBs are forgotten', () => {
    const m = createNodeMetrics('n', { defaultMetrics: false });
    const f = new LeiosFunnel(m.txStageLatency, { maxTxs: 100, maxEbs: 4 });
    for (let i = 0; i < 1000; i++) f.txArrived(`t${i}`, i);
    for (let i = 0; i < 20; i++) f.ebSeen(`eb${i}`, [], i);
    expect(f.tracked).toEqual({ txs: 100, ebs: 4 });
  });
});
