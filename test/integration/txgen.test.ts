// The tx-generator against a real 3-node testnet (child processes on 127.0.0.10-12).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestnet, getJson, NODE22, startNode, waitFor } from '../support/testnet.ts';
import { toHex } from '../../node/crypto/hash.ts';
import { runGenerator, type GeneratorSummary, type TxLine } from '../../tx-generator/index.ts';

const BASE_PORT = 4700;

describe('tx-generator on a 3-node testnet', () => {
  let dir: string;
  const procs: ChildProcess[] = [];
  let names: string[];
  let paymentFile: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'txgen-it-'));
    const net = buildTestnet({ dir, pools: 3, basePort: BASE_PORT, startInS: 2 });
    names = net.names;
    paymentFile = path.join(dir, 'payment.skey');
    fs.writeFileSync(paymentFile, JSON.stringify({ type: 'PaymentSigningKey', hex: toHex(net.payment) }));
    for (const c of net.configs) procs.push(startNode(c));
    for (let i = 0; i < 3; i++) await waitFor(`node ${i + 1} up`, () => getJson(`http://127.0.0.${10 + i}:${BASE_PORT + 1}/health`), 20_000);
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode !== null ? undefined : new Promise((r) => p.once('exit', r)))));
    if (!process.env.TXGEN_KEEP) fs.rmSync(dir, { recursive: true, force: true });
    else console.log(dir);
  });

  it('submits ~20 TPS for 15 s; every tx is included, rejected or pending; no double spends', async () => {
    const outDir = path.join(dir, 'generator');
    const progress: string[] = [];
    const summary: GeneratorSummary = await runGenerator(
      {
        genesisFile: path.join(dir, 'genesis.json'),
        paymentSkeyFile: paymentFile,
        targets: names.map((n, i) => ({ name: n, host: `127.0.0.${10 + i}`, port: BASE_PORT })),
        tps: 20,
        durationS: 15,
        txSizeBytes: 400,
        inputs: 1,
        outputs: 2,
        workload: { kind: 'value' },
        fanoutOutputs: 50,
        confirmations: 1,
        drainS: 6,
        metrics: { host: '127.0.0.10', port: BASE_PORT + 2 },
        outDir,
      },
      { onProgress: (p) => progress.push(p.phase), log: process.env.TXGEN_DEBUG ? (l, m, f) => console.log(l, m, JSON.stringify(f ?? {})) : undefined },
    );
    const { submitted, included, rejected, pending, rejectedByReason, effectiveTps, rateErrorPct, rateCoV, latency, fanout, phases } = summary;
    console.log(JSON.stringify({ submitted, included, rejected, pending, rejectedByReason, effectiveTps, rateErrorPct, rateCoV, latency, fanout, phases }));
    expect(summary.final).toBe(true);
    expect(summary.submitted).toBeGreaterThan(250);
    expect(summary.submitted).toBe(summary.included + summary.rejected + summary.pending);
    expect(summary.included).toBeGreaterThan(0);
    expect(summary.fanout.rounds).toBeGreaterThanOrEqual(1);
    expect(summary.latency.inclusionP50S).not.toBeNull();
    expect(progress).toContain('benchmark');

    const lines = fs.readFileSync(path.join(outDir, 'txs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TxLine);
    expect(lines.length).toBe(summary.submitted);
    const states = { included: 0, rejected: 0, pending: 0 };
    for (const l of lines) states[l.state]++;
    expect(states).toEqual({ included: summary.included, rejected: summary.rejected, pending: summary.pending });
    // value workload: no input is spent by two of our txs
    const spent = new Set<string>();
    for (const l of lines) for (const k of l.inputs) {
      expect(spent.has(k)).toBe(false);
      spent.add(k);
    }
    for (const r of ['conflict', 'double-spend', 'conflict-lost', 'missing-input']) expect(summary.rejectedByReason[r] ?? 0).toBe(0);
    // the analysis reads submissions.jsonl
    expect(fs.readFileSync(path.join(outDir, 'submissions.jsonl'), 'utf8').trim().split('\n').length).toBe(summary.submitted);
    expect(JSON.parse(fs.readFileSync(path.join(outDir, 'summary.json'), 'utf8')).submitted).toBe(summary.submitted);
  });

  it('a stop during the drain is not an abort: the load window ran in full (stoppedIn: drain)', async () => {
    const stop = new AbortController();
    const summary = await runGenerator(
      {
        genesisFile: path.join(dir, 'genesis.json'),
        paymentSkeyFile: paymentFile,
        targets: names.map((n, i) => ({ name: n, host: `127.0.0.${10 + i}`, port: BASE_PORT })),
        tps: 10,
        durationS: 3,
        txSizeBytes: 400,
        inputs: 1,
        outputs: 1,
        workload: { kind: 'value' },
        fanoutOutputs: 20,
        confirmations: 1,
        drainS: 120,
        outDir: path.join(dir, 'generator-drain-stop'),
      },
      // the stop comes the moment the drain starts (setPhase logs it synchronously)
      { signal: stop.signal, log: (_l, m) => m === 'phase drain' && stop.abort() },
    );
    expect(summary).toMatchObject({ final: true, aborted: false, stoppedIn: 'drain' });
    expect(summary.durationS).toBeGreaterThanOrEqual(2.9);
    expect(summary.submitted).toBe(summary.included + summary.rejected + summary.pending);
  });

  it('main.ts runs from the config the orchestrator writes, and writes the summary on SIGTERM', async () => {
    const gdir = path.join(dir, 'run', 'generator');
    fs.mkdirSync(gdir, { recursive: true });
    fs.copyFileSync(paymentFile, path.join(dir, 'run', 'generator.skey'));
    const cfgFile = path.join(gdir, 'config.json');
    // the shape of orchestrator/genesis/generator-config.ts (paths relative to the file)
    fs.writeFileSync(
      cfgFile,
      JSON.stringify({
        name: 'generator',
        genesisFile: '../../genesis.json',
        paymentSkeyFile: '../generator.skey',
        networkMagic: 42,
        targets: names.map((n, i) => ({ name: n, host: `127.0.0.${10 + i}`, port: BASE_PORT })),
        enabled: true,
        tps: 20,
        txSizeBytes: 300,
        inputs: 1,
        outputs: 2,
        workload: 'value',
        durationS: 60, // stopped long before: by SIGTERM
        seed: 5,
        metrics: { host: '127.0.0.10', port: BASE_PORT + 3 },
        logFile: 'generator.log',
        summaryFile: 'summary.json',
      }),
    );
    const out = fs.openSync(path.join(gdir, 'generator.log'), 'a');
    const gen = spawn(NODE22, ['tx-generator/main.ts', '--config', cfgFile], { stdio: ['ignore', out, out] });
    const exited = new Promise<number | null>((r) => gen.once('exit', (code) => r(code)));
    const submitted = async () => {
      const text = await fetch(`http://127.0.0.10:${BASE_PORT + 3}/metrics`).then((r) => r.text(), () => '');
      const m = [...text.matchAll(/^leios_txgen_submitted_total\{[^}]*\} (\d+)/gm)].reduce((s, x) => s + Number(x[1]), 0);
      return m >= 40 ? m : undefined;
    };
    await waitFor('40 txs submitted', submitted, 30_000);
    gen.kill('SIGTERM');
    expect(await exited).toBe(0);
    const s = JSON.parse(fs.readFileSync(path.join(gdir, 'summary.json'), 'utf8')) as GeneratorSummary;
    expect(s).toMatchObject({ final: true, aborted: true, stoppedIn: 'benchmark', name: 'generator', workload: 'value' });
    expect(s.submitted).toBeGreaterThanOrEqual(40);
    expect(s.submitted).toBe(s.included + s.rejected + s.pending);
    expect(fs.readFileSync(path.join(gdir, 'txs.jsonl'), 'utf8').trim().split('\n').length).toBe(s.submitted);
    expect(JSON.parse(fs.readFileSync(path.join(gdir, 'pending-inputs.json'), 'utf8')).inputs.length).toBeGreaterThanOrEqual(s.pending);
    expect(fs.readFileSync(path.join(gdir, 'generator.log'), 'utf8')).toMatch(/"msg":"summary written"/);

    // a bad config is exit code 2, naming the field
    fs.writeFileSync(cfgFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(cfgFile, 'utf8')), tps: -5 }));
    const bad = spawn(NODE22, ['tx-generator/main.ts', '--config', cfgFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    bad.stderr.on('data', (d) => (err += d));
    expect(await new Promise((r) => bad.once('exit', r))).toBe(2);
    expect(err).toMatch(/field tps/);
  });
});
