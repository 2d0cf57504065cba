import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Collector } from '../../orchestrator/collect/collector.ts';
import { SAMPLES_FILE, type MetricsSample } from '../../orchestrator/collect/files.ts';
import type { Deployment } from '../../orchestrator/runtime/runtime.ts';

// metrics/samples.jsonl stays under its stated bound however long the run: the collector halves
// the file's round rate each time it reaches the bound, keeps the whole run at an even stride,
// and always writes the last round.

let server: http.Server;
let url = '';
let scrapes = 0;

beforeAll(async () => {
  server = http.createServer((_req, res) => {
    scrapes++;
    // a /metrics page of ~2 kB, a counter that grows with every scrape
    const lines = [`leios_block_height ${scrapes}`, `leios_ledger_tx_applied_total ${scrapes * 10}`];
    for (let i = 0; i < 60; i++) lines.push(`leios_filler_series_${i}{kind="x"} ${i}`);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(lines.join('\n') + '\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

function readSamples(dir: string): MetricsSample[] {
  return readFileSync(path.join(dir, SAMPLES_FILE), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as MetricsSample);
}

describe('collector samples bound', () => {
  it('keeps samples.jsonl under maxSamplesBytes with an even stride, first and last rounds kept', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'collector-bound-'));
    try {
      const dep = { runId: 'r-test', nodes: () => [] } as unknown as Deployment;
      const max = 40_000;
      const c = new Collector(dep, dir, { extra: { generator: url }, maxSamplesBytes: max });
      let lineBytes = 0;
      const rounds = 200;
      for (let i = 0; i < rounds; i++) {
        await c.scrapeOnce();
        if (i === 0) lineBytes = statSync(path.join(dir, SAMPLES_FILE)).size;
        expect(statSync(path.join(dir, SAMPLES_FILE)).size).toBeLessThanOrEqual(max);
      }
      await c.stop();
      // 200 rounds of ~2 kB would be ~400 kB unbounded
      expect(lineBytes * rounds).toBeGreaterThan(5 * max);
      const size = statSync(path.join(dir, SAMPLES_FILE)).size;
      expect(size).toBeLessThanOrEqual(max + lineBytes);
      expect(c.samplesStride).toBeGreaterThan(1);
      const s = readSamples(dir);
      const rs = s.map((x) => x.round);
      expect(rs[0]).toBe(0);
      expect(rs[rs.length - 1]).toBe(rounds - 1); // the last round, written at stop()
      // every kept round but the last is a multiple of the stride, in order, none missing
      const body = rs.slice(0, -1);
      for (let i = 0; i < body.length; i++) expect(body[i]).toBe(i * c.samplesStride);
      // the samples are whole and current: the last one carries the last scrape's counter
      expect(s[s.length - 1]!.values.leios_block_height).toBe(scrapes);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes every round while under the bound', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'collector-bound-'));
    try {
      const dep = { runId: 'r-test', nodes: () => [] } as unknown as Deployment;
      const c = new Collector(dep, dir, { extra: { generator: url } });
      for (let i = 0; i < 10; i++) await c.scrapeOnce();
      await c.stop();
      expect(readSamples(dir).map((x) => x.round)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      expect(c.samplesStride).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the default scrape interval', () => {
  it('is 2 s up to 20 nodes and grows by 100 ms a node beyond (52 nodes: 5.2 s)', async () => {
    const { defaultScrapeIntervalMs } = await import('../../orchestrator/collect/collector.ts');
    expect([1, 10, 20, 21, 52, 100].map(defaultScrapeIntervalMs)).toEqual([2_000, 2_000, 2_000, 2_100, 5_200, 10_000]);
  });
});
