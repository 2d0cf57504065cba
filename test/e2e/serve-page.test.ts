// The web page of `leiosnet serve` in a real browser (Debian's chromium, driven by
// playwright-core) on a live testnet (ci-praos on processes): it shows every node, a tip
// changes on the page within 2 s of the block reaching the node, a fault button is refused
// without the token and takes effect with it. Screenshots go to test-output/serve-page/.
// Without chromium: one SKIPPED line (with CI=true a missing chromium fails; .ci/chromium-setup.sh
// installs it; .ci/run sets LEIOSNET_E2E_CHROMIUM=1, which does the same). Set LEIOSNET_DOCS_SCREENSHOT=1 to refresh docs/serve-page.png as well.

import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { getTip } from '../../orchestrator/collect/admin.ts';
import { runPipeline } from '../../orchestrator/pipeline/run.ts';
import { getRuntime } from '../../orchestrator/runtime/registry.ts';
import type { Deployment } from '../../orchestrator/runtime/runtime.ts';
import { startServe, type ServeHandle } from '../../orchestrator/serve/server.ts';

const ROOT = join(import.meta.dirname, '../..');
const CHROMIUM = process.env.LEIOSNET_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const CI = process.env.CI === 'true' || process.env.LEIOSNET_E2E_CHROMIUM === '1';
const OUT = join(ROOT, 'test-output', 'serve-page');
const HAVE_GENERATOR = existsSync(join(ROOT, 'tx-generator/main.ts'));

if (!HAVE_CHROMIUM && !CI) console.log(`SKIPPED serve-page e2e: no chromium at ${CHROMIUM} (bash .ci/chromium-setup.sh installs it)`);

describe.runIf(!HAVE_CHROMIUM && CI)('serve page (CI)', () => {
  it('has chromium', () => {
    expect(HAVE_CHROMIUM, `CI=true but ${CHROMIUM} is missing: run .ci/chromium-setup.sh`).toBe(true);
  });
});

describe.runIf(HAVE_CHROMIUM)('leiosnet serve: the live page in chromium', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'leiosnet-serve-e2e-'));
  const savedHome = process.env.LEIOSNET_HOME;
  let runId: string | undefined;
  let dep: Deployment | undefined;
  let srv: ServeHandle | undefined;
  let browser: Browser | undefined;
  let page: Page;
  const shots: string[] = [];
  // browser-side conditions as strings (this project's TypeScript has no DOM lib)
  const until = (expr: string, timeout: number) => page.waitForFunction(expr, undefined, { timeout, polling: 50 });
  const shot = async (name: string) => {
    mkdirSync(OUT, { recursive: true });
    const file = join(OUT, `${name}.png`);
    await page.screenshot({ path: file, fullPage: true });
    shots.push(file);
    return file;
  };

  beforeAll(async () => {
    process.env.LEIOSNET_HOME = join(tmp, 'home');
    const r = await runPipeline({
      profile: 'ci-praos',
      keepUp: true,
      out: join(tmp, 'runs', 'ci-praos'),
      cwd: tmp,
      handleSignals: false,
      sets: HAVE_GENERATOR ? [] : ['generator.enabled=false'],
    });
    runId = r.runId;
    expect(r.status, r.error).toBe('up');
    dep = await (await getRuntime('process')).attach(r.runId);
    srv = await startServe({ port: 0, cwd: tmp, watcher: { metricsIntervalMs: 1_000 } });
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.goto(`${srv.url}/?run=${encodeURIComponent(r.runId)}`);
  }, 150_000);

  afterAll(async () => {
    await browser?.close().catch(() => {});
    await srv?.close().catch(() => {});
    if (runId) await (await getRuntime('process')).down(runId).catch(() => {});
    if (savedHome === undefined) delete process.env.LEIOSNET_HOME;
    else process.env.LEIOSNET_HOME = savedHome;
    rmSync(tmp, { recursive: true, force: true });
    if (shots.length) console.log(`serve-page screenshots:\n  ${shots.join('\n  ')}`);
  }, 60_000);

  it('shows every node of the live testnet, in the table and the graph', async () => {
    const names = dep!.nodes().map((h) => h.name);
    expect(names.length).toBe(3);
    await until(`document.querySelectorAll('#nodes tbody tr').length === ${names.length} && document.querySelectorAll('#graph g.node').length === ${names.length}`, 15_000);
    for (const n of names) {
      expect(await page.locator(`#nodes tr[data-node="${n}"]`).count()).toBe(1);
      expect(await page.locator(`#graph g.node[data-node="${n}"]`).count()).toBe(1);
    }
    await until(`document.querySelector('#conn').textContent === 'connected'`, 10_000);
    await until(`[...document.querySelectorAll('#nodes tbody tr')].every((tr) => tr.dataset.state === 'up')`, 15_000);
    expect(await page.locator('#run-state').textContent()).toBe('live');
  });

  it('updates a tip within 2 s of a block', { timeout: 90_000 }, async () => {
    const handles = dep!.nodes();
    const heights = async () => Object.fromEntries(await Promise.all(handles.map(async (h) => [h.name, (await getTip(h.endpoints()))?.blockNo ?? -1] as const)));
    let before = await heights();
    const deadline = Date.now() + 75_000;
    let measured: { node: string; blockNo: number; ms: number } | undefined;
    while (!measured && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      const now = await heights();
      const moved = Object.keys(now).find((n) => now[n]! > before[n]!);
      if (!moved) continue;
      // the node has a new block (seen here within ~100 ms of adopting it): the page must follow
      const t0 = Date.now();
      await until(`Number(document.querySelector('#nodes tr[data-node="${moved}"] .blockNo')?.textContent) >= ${now[moved]!}`, 2_000);
      measured = { node: moved, blockNo: now[moved]!, ms: Date.now() - t0 };
      before = now;
    }
    expect(measured, 'no block within 75 s').toBeDefined();
    console.log(`serve-page: ${measured!.node} block #${measured!.blockNo} shown ${measured!.ms} ms after the node had it`);
    expect(measured!.ms).toBeLessThan(2_000);
    await shot('live');
  });

  it('a fault button is refused without the token and takes effect with it', { timeout: 60_000 }, async () => {
    const target = 'pool-3';
    const h = dep!.node(target);
    expect(await h.running()).toBe(true);
    const stop = page.locator(`#nodes tr[data-node="${target}"] button[data-fault="stop"]`);

    // no token: the server refuses, the page says so, the node keeps running
    await stop.click();
    await until(`/refused/.test(document.querySelector('#toast').textContent)`, 5_000);
    expect(await page.locator('#toast').textContent()).toContain('token required');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await h.running()).toBe(true);

    // a wrong token: refused as well
    await page.fill('#token', 'not-the-token');
    await page.click('#token-save');
    await until(`document.querySelector('#token-state').textContent === 'wrong token'`, 5_000);
    await page.evaluate(`document.querySelector('#toast').textContent = ''`);
    await stop.click();
    await until(`/refused/.test(document.querySelector('#toast').textContent)`, 5_000);
    expect(await h.running()).toBe(true);

    // the right token: applied, the node stops, the page shows it down
    await page.fill('#token', srv!.token);
    await page.click('#token-save');
    await until(`document.querySelector('#token-state').textContent === 'token ok'`, 5_000);
    await stop.click();
    await until(`/applied stop/.test(document.querySelector('#toast').textContent)`, 20_000);
    expect(await h.running()).toBe(false);
    await until(`document.querySelector('#nodes tr[data-node="${target}"]')?.dataset.state === 'down'`, 10_000);
    await until(`[...document.querySelectorAll('#timeline li.fault')].some((li) => li.textContent.includes('stop node=${target}'))`, 5_000);
    await until(`document.querySelector('#graph g.node[data-node="${target}"]')?.classList.contains('stopped')`, 5_000);
    const file = await shot('after-fault');
    if (process.env.LEIOSNET_DOCS_SCREENSHOT === '1') copyFileSync(file, join(ROOT, 'docs', 'serve-page.png'));
  });

  it('stop through the API (with the token) removes the testnet; the page says it is over', { timeout: 60_000 }, async () => {
    const url = `${srv!.url}/api/runs/${encodeURIComponent(runId!)}/stop`;
    expect((await fetch(url, { method: 'POST' })).status).toBe(401);
    const r = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${srv!.token}` } });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ removed: true, via: 'down' });
    expect(await (await getRuntime('process')).list()).toEqual([]);
    await until(`document.querySelector('#run-state').textContent === 'finished'`, 10_000);
    runId = undefined; // nothing left for afterAll to remove
  });
});
