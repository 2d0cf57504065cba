// The chart's in-pod glue, run by the node image's own Node.js (no dependencies, no shell, no
// Kubernetes API access: it works on clusters without cluster DNS, kube-proxy or a reachable API
// server). Everything goes through the release's shared volume, mounted at $SHARED:
//
//   $SHARED/staging-<job uid>/   the genesis Job's `leiosnet genesis` output, moved to run/ when complete
//   $SHARED/run/                 genesis/, nodes/<name>/config.json (peers by name), generator/,
//                                genesis-manifest.json, READY (the Job's uid: genesis complete)
//   $SHARED/run/addresses/<name>.json   {"ip": <pod IP>, "pod": ...}: each node pod registers itself
//
// Modes (argv[2]):
//   prepare    genesis Job, init, as root: create $SHARED owned by the node user, clear this Job's staging
//   finalize   genesis Job: check the plan's nodes against the chart's, publish staging → run/ (once per Job)
//   node       node pod: wait for genesis, register the pod IP, wait for the peers', render the
//              config, run node/main.ts; re-render and restart the node when a peer's address changes
//   generator  generator pod: the same for tx-generator/main.ts and its targets
//   safeguard  the safeguard Deployment's pod (the one mode that talks to the Kubernetes API, with
//              its own ServiceAccount and Role): once the release's time to live has run out, delete
//              every object of the release by its labels, then clean the release's shared directory
import { spawn } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const env = process.env;
const SHARED = env.LEIOSNET_SHARED || '/shared';
const RUN = join(SHARED, 'run');
const ADDR = join(RUN, 'addresses');
const APP = env.LEIOSNET_APP || '/app';
const CHART_DIR = env.LEIOSNET_CHART_DIR || '/chart';
const CONFIG_DIR = env.LEIOSNET_CONFIG_DIR || '/config';
const CONFIG = join(CONFIG_DIR, 'config.json');
const WAIT_S = Number(env.LEIOSNET_WAIT_S || 600);
const WATCH_S = Number(env.LEIOSNET_WATCH_S || 5);
const UID = Number(env.LEIOSNET_UID || 1000);
const GID = Number(env.LEIOSNET_GID || 1000);

const log = (msg) => process.stderr.write(`leiosnet-pod: ${msg}\n`);
const die = (msg) => {
  log(`error: ${msg}`);
  process.exit(1);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const readJson = (f) => JSON.parse(readFileSync(f, 'utf8'));
const tryJson = (f) => {
  try {
    return readJson(f);
  } catch {
    return undefined;
  }
};
function writeAtomic(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** The chart's view of the nodes: name → {group, pod, dns, release}. */
function chartNodes() {
  return readJson(join(CHART_DIR, 'nodes.json'));
}

async function waitFor(what, check, timeoutS = WAIT_S) {
  const t0 = Date.now();
  let said = 0;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    const waited = (Date.now() - t0) / 1000;
    if (waited > timeoutS) die(`gave up after ${timeoutS} s waiting for ${what}`);
    if (waited - said >= 15) {
      log(`still waiting for ${what} (${Math.round(waited)} s)`);
      said = waited;
    }
    await sleep(500);
  }
}

const readyUid = () => {
  try {
    return readFileSync(join(RUN, 'READY'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
};

// ------------------------------------------------------------------------------- genesis Job

function prepare() {
  const uid = env.LEIOSNET_JOB_UID || 'unknown';
  mkdirSync(SHARED, { recursive: true });
  chownSync(SHARED, UID, GID);
  rmSync(join(SHARED, `staging-${uid}`), { recursive: true, force: true });
  log(`shared volume ${SHARED} ready for uid ${UID}; genesis ${readyUid() ? `present (Job ${readyUid()})` : 'not yet written'}`);
}

function finalize() {
  const uid = env.LEIOSNET_JOB_UID || 'unknown';
  const staging = join(SHARED, `staging-${uid}`);
  if (readyUid() === uid) {
    log(`genesis of this Job (${uid}) already published; nothing to do`);
    rmSync(staging, { recursive: true, force: true });
    return;
  }
  const m = tryJson(join(staging, 'genesis-manifest.json'));
  if (!m) die(`no genesis in ${staging} (the genesis step did not complete)`);
  const planned = m.nodes.map((n) => n.name).sort();
  const charted = Object.keys(chartNodes()).sort();
  const missing = planned.filter((n) => !charted.includes(n));
  const extra = charted.filter((n) => !planned.includes(n));
  if (missing.length || extra.length) {
    die(
      `the profile's nodes and the chart's groups differ: profile ${planned.join(', ')}; values groups ${charted.join(', ')}` +
        `${missing.length ? `; not in any group: ${missing.join(', ')}` : ''}${extra.length ? `; not in the profile: ${extra.join(', ')}` : ''}`,
    );
  }
  // a genesis from an earlier install of the same release/namespace is replaced as a whole
  rmSync(RUN, { recursive: true, force: true });
  renameSync(staging, RUN);
  mkdirSync(ADDR, { recursive: true });
  writeAtomic(join(RUN, 'READY'), `${uid}\n`);
  log(`published genesis for ${m.profile}: ${planned.length} nodes, systemStart ${m.systemStart}, seed ${m.seed}`);
}

// ------------------------------------------------------------------------------ node / generator

/** How a node is dialled: its registered pod IP (mode podIP) or its pod DNS name (mode dns). */
function addressOf(name) {
  if ((env.LEIOSNET_ADDRESSING || 'podIP') === 'dns') {
    const n = chartNodes()[name];
    return n ? n.dns : undefined;
  }
  return tryJson(join(ADDR, `${name}.json`))?.ip;
}

function register(name) {
  const ip = env.LEIOSNET_POD_IP;
  if (!ip) die('LEIOSNET_POD_IP is not set (downward API status.podIP)');
  mkdirSync(ADDR, { recursive: true });
  writeAtomic(join(ADDR, `${name}.json`), `${JSON.stringify({ ip, pod: env.LEIOSNET_POD_NAME, at: new Date().toISOString() })}\n`);
  log(`registered ${name} at ${ip}`);
}

const abs = (dir, p) => (p && !p.startsWith('/') ? join(dir, p) : p);

function renderNode(name, addrs) {
  const dir = join(RUN, 'nodes', name);
  const cfg = readJson(join(dir, 'config.json'));
  const out = {
    ...cfg,
    genesisFile: abs(dir, cfg.genesisFile),
    peers: cfg.peers.map((p) => ({ ...p, host: addrs[p.name] })),
    dbPath: '/data/db',
    traceFile: '/data/trace.jsonl',
  };
  delete out.logFile; // stdout: `kubectl logs`
  if (cfg.pool) {
    out.pool = { ...cfg.pool, coldSkeyFile: abs(dir, cfg.pool.coldSkeyFile), vrfSkeyFile: abs(dir, cfg.pool.vrfSkeyFile), blsSkeyFile: abs(dir, cfg.pool.blsSkeyFile) };
  }
  return out;
}

function renderGenerator(addrs) {
  const dir = join(RUN, 'generator');
  const cfg = readJson(join(dir, 'config.json'));
  const out = {
    ...cfg,
    genesisFile: abs(dir, cfg.genesisFile),
    paymentSkeyFile: abs(dir, cfg.paymentSkeyFile),
    targets: cfg.targets.map((t) => ({ ...t, host: addrs[t.name] })),
    metrics: { host: '0.0.0.0', port: Number(env.LEIOSNET_METRICS_PORT || 12799) },
    outDir: '/data',
    summaryFile: '/data/summary.json',
  };
  delete out.logFile;
  return out;
}

/** Run `args` under this process; re-render and restart it when the dialled addresses change. */
async function supervise(label, names, render, args) {
  mkdirSync(CONFIG_DIR, { recursive: true });
  const addrs = await waitFor(`the addresses of ${names.join(', ') || '(none)'}`, () => {
    const a = {};
    for (const n of names) {
      const ip = addressOf(n);
      if (!ip) return undefined;
      a[n] = ip;
    }
    return a;
  });
  let current = addrs;
  let child;
  let stopping = false;
  const start = () => {
    writeFileSync(CONFIG, `${JSON.stringify(render(current), null, 2)}\n`);
    log(`starting ${label} (${names.map((n) => `${n}=${current[n]}`).join(' ') || 'no peers'})`);
    const c = spawn(process.execPath, args, { stdio: 'inherit', cwd: APP });
    child = c;
    c.on('exit', (code, signal) => {
      if (c.restarting) return; // replaced on purpose (a peer moved)
      log(`${label} exited (${signal ?? code})`);
      process.exit(code ?? 1);
    });
  };
  for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, () => {
      stopping = true;
      if (child) child.kill(sig);
      else process.exit(0);
    });
  }
  start();
  for (;;) {
    await sleep(WATCH_S * 1000);
    if (stopping) continue;
    const next = {};
    for (const n of names) next[n] = addressOf(n) ?? current[n];
    const moved = names.filter((n) => next[n] !== current[n]);
    if (moved.length === 0) continue;
    log(`${moved.map((n) => `${n} ${current[n]} → ${next[n]}`).join(', ')}: restarting ${label} with the new addresses`);
    current = next;
    const old = child;
    old.restarting = true;
    const gone = new Promise((r) => old.once('exit', r));
    old.kill('SIGTERM');
    const t = setTimeout(() => old.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(t);
    start();
  }
}

async function node() {
  const name = env.LEIOSNET_NODE;
  if (!name) die('LEIOSNET_NODE is not set');
  await waitFor('the genesis Job (run/READY on the shared volume)', () => readyUid());
  const cfgFile = join(RUN, 'nodes', name, 'config.json');
  if (!existsSync(cfgFile)) {
    const known = existsSync(join(RUN, 'nodes')) ? readdirSync(join(RUN, 'nodes')).join(', ') : 'none';
    die(`the genesis has no node ${name} (its nodes: ${known})`);
  }
  register(name);
  const peers = readJson(cfgFile).peers.map((p) => p.name);
  await supervise(`node ${name}`, peers, (a) => renderNode(name, a), ['node/main.ts', '--config', CONFIG]);
}

async function generator() {
  await waitFor('the genesis Job (run/READY on the shared volume)', () => readyUid());
  const targets = readJson(join(RUN, 'generator', 'config.json')).targets.map((t) => t.name);
  await supervise('tx-generator', targets, renderGenerator, ['tx-generator/main.ts', '--config', CONFIG]);
}

// ----------------------------------------------------------------------------------- safeguard

/**
 * The release's time to live. Every LEIOSNET_CHECK_S it reads the ConfigMap LEIOSNET_SAFEGUARD_CM:
 * data.ttlSeconds (0 = never) counted from the later of the ConfigMap's creation (the install) and
 * the last change of its `leiosnet.io/heartbeat` annotation (a CI job renews it with
 * `kubectl annotate --overwrite`), both on the API server's clock (its Date header), so the pod's
 * clock does not matter. When the time is up it deletes, by LEIOSNET_SELECTOR, the release's
 * StatefulSets, Jobs, pods, Services, ConfigMaps, Secrets and claims (and monitors, if any), waits
 * for the pods to go, empties the release's shared directory and deletes its own Deployment last.
 * Left behind (no pods, no storage): its ServiceAccount, Role and RoleBinding — removing the
 * permissions it works with is the one thing it cannot do for itself — and Helm's release record;
 * `helm uninstall` removes those.
 */
async function safeguard() {
  const https = await import('node:https');
  const SA = env.LEIOSNET_SA_DIR || '/var/run/secrets/kubernetes.io/serviceaccount';
  const api = new URL(env.LEIOSNET_API_SERVER || `https://${env.KUBERNETES_SERVICE_HOST}:${env.KUBERNETES_SERVICE_PORT || 443}`);
  const ns = readFileSync(join(SA, 'namespace'), 'utf8').trim();
  const ca = existsSync(join(SA, 'ca.crt')) ? readFileSync(join(SA, 'ca.crt')) : undefined;
  const sel = env.LEIOSNET_SELECTOR;
  const cmName = env.LEIOSNET_SAFEGUARD_CM;
  const self = env.LEIOSNET_SAFEGUARD_DEPLOYMENT;
  const checkMs = 1000 * Number(env.LEIOSNET_CHECK_S || 30);
  if (!sel || !cmName) die('safeguard: LEIOSNET_SELECTOR and LEIOSNET_SAFEGUARD_CM are required');
  const req = (method, path, body) =>
    new Promise((res, rej) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const r = https.request(
        {
          host: api.hostname.replace(/^\[|\]$/g, ''),
          port: Number(api.port || 443),
          method,
          path,
          ca,
          rejectUnauthorized: ca !== undefined,
          timeout: 15_000,
          headers: {
            Authorization: `Bearer ${readFileSync(join(SA, 'token'), 'utf8').trim()}`,
            Accept: 'application/json',
            ...(data ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) } : {}),
          },
        },
        (m) => {
          let d = '';
          m.on('data', (c) => (d += c));
          m.on('end', () => res({ status: m.statusCode, body: d, date: Date.parse(m.headers.date || '') || Date.now() }));
        },
      );
      r.on('error', rej);
      r.on('timeout', () => r.destroy(new Error('timeout')));
      r.end(data);
    });
  const q = `labelSelector=${encodeURIComponent(sel)}`;
  // what a release has (rbac last: see above); [api prefix, resource]
  const KINDS = [
    ['/apis/apps/v1', 'statefulsets'],
    ['/apis/apps/v1', 'deployments'],
    ['/apis/batch/v1', 'jobs'],
    ['/api/v1', 'pods'],
    ['/api/v1', 'services'],
    ['/api/v1', 'configmaps'],
    ['/api/v1', 'secrets'],
    ['/api/v1', 'persistentvolumeclaims'],
    ['/apis/monitoring.coreos.com/v1', 'podmonitors'],
    ['/apis/monitoring.coreos.com/v1', 'servicemonitors'],
  ];
  async function deleteAll() {
    for (const [prefix, kind] of KINDS) {
      const r = await req('GET', `${prefix}/namespaces/${ns}/${kind}?${q}`).catch((e) => ({ status: 0, body: String(e) }));
      if (r.status === 404) continue; // e.g. no Prometheus Operator CRDs
      if (r.status !== 200) {
        log(`safeguard: listing ${kind}: ${r.status} ${r.body.slice(0, 200)}`);
        continue;
      }
      for (const item of JSON.parse(r.body).items || []) {
        const name = item.metadata.name;
        if (kind === 'deployments' && name === self) continue; // last
        if (kind === 'pods' && item.metadata.labels?.['leiosnet.io/component'] === 'safeguard') continue; // this pod: goes with its Deployment
        const d = await req('DELETE', `${prefix}/namespaces/${ns}/${kind}/${name}`, { propagationPolicy: 'Background' }).catch((e) => ({ status: 0, body: String(e) }));
        log(`safeguard: delete ${kind}/${name}: ${d.status}`);
      }
    }
  }
  let beat;
  let beatAt = 0;
  log(`safeguard: watching configmap ${ns}/${cmName} (ttl and heartbeat), release objects ${sel}, every ${checkMs / 1000} s, API ${api.host}`);
  for (;;) {
    try {
      const r = await req('GET', `/api/v1/namespaces/${ns}/configmaps/${cmName}`);
      if (r.status === 200) {
        const cm = JSON.parse(r.body);
        const hb = cm.metadata.annotations?.['leiosnet.io/heartbeat'];
        if (hb !== beat) {
          beat = hb;
          if (hb !== undefined) beatAt = r.date;
        }
        const ttlS = Number(cm.data?.ttlSeconds ?? 0);
        const origin = Math.max(Date.parse(cm.metadata.creationTimestamp), beatAt);
        const ageS = (r.date - origin) / 1000;
        if (ttlS > 0 && ageS > ttlS) {
          log(`safeguard: ttl ${ttlS} s ran out (${Math.round(ageS)} s since ${beatAt > Date.parse(cm.metadata.creationTimestamp) ? 'the last heartbeat' : 'the install'}): deleting the release`);
          break;
        }
      } else if (r.status === 404) {
        // Helm creates ConfigMaps before Deployments: gone means the release is being removed
        // (helm uninstall, or this safeguard restarted half-way through its deletion)
        log(`safeguard: configmap ${cmName} is gone: removing what is left of the release`);
        break;
      } else log(`safeguard: reading configmap ${cmName}: ${r.status} ${r.body.slice(0, 200)}`);
    } catch (e) {
      log(`safeguard: ${e.message}`);
    }
    await sleep(checkMs);
  }
  await deleteAll();
  // the pods stop (grace period), then nothing writes to the shared directory any more
  for (let i = 0; i < 60; i++) {
    const r = await req('GET', `/api/v1/namespaces/${ns}/pods?${q}`).catch(() => undefined);
    const others = r?.status === 200 ? JSON.parse(r.body).items.filter((p) => p.metadata.labels?.['leiosnet.io/component'] !== 'safeguard') : [];
    if (others.length === 0) break;
    await sleep(2_000);
  }
  await deleteAll(); // anything a controller re-created meanwhile
  if (existsSync(SHARED)) {
    for (const f of readdirSync(SHARED)) rmSync(join(SHARED, f), { recursive: true, force: true });
    log(`safeguard: emptied the shared directory`);
  }
  if (self) {
    const d = await req('DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/${self}`, { propagationPolicy: 'Background' }).catch((e) => ({ status: String(e) }));
    log(`safeguard: delete deployments/${self}: ${d.status}`);
  }
  // wait here for the Deployment's deletion to stop this pod (a restart would find nothing to do)
  for (;;) await sleep(60_000);
}

const mode = process.argv[2];
if (mode === 'prepare') prepare();
else if (mode === 'finalize') finalize();
else if (mode === 'node') await node();
else if (mode === 'generator') await generator();
else if (mode === 'safeguard') await safeguard();
else die(`usage: leiosnet-pod.mjs prepare|finalize|node|generator|safeguard (got ${mode})`);
