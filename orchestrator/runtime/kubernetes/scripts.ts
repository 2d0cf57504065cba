// Programs the kubernetes runtime runs inside its pods with `node -e` (the image holds node/ and
// tx-generator/ only, and no shell). Plain CommonJS, no dependencies.

import { CONTROL_DIR } from './names.ts';

/**
 * PID 1 of every node and generator container. It waits for the orchestrator to put the config in
 * force at CONTROL_DIR/config.json (the orchestrator writes it by exec once every pod has an IP:
 * peers are pod IPs, and there is no cluster DNS), then runs the child (LEIOSNET_CHILD, a JSON argv
 * for node) and records its pid in CONTROL_DIR/child.pid. Control files in CONTROL_DIR (an
 * emptyDir, so they survive container restarts):
 *   hold   present → do not start the child (stopped); the orchestrator's stop/kill create it
 * A child that exits while `hold` exists after a graceful stop (exit 0 / SIGTERM) leaves the
 * container running (stopped node). Any other exit (SIGKILL from `kill`, a crash) makes the
 * container exit with the child's status after creating `hold`: the kubelet restarts the
 * container, whose supervisor then waits for `start` (the orchestrator removes `hold`).
 */
export const SUPERVISOR_JS = `
const fs = require('fs'), { spawn } = require('child_process');
const D = ${JSON.stringify(CONTROL_DIR)}, CFG = D + '/config.json', HOLD = D + '/hold', PID = D + '/child.pid';
const argv = JSON.parse(process.env.LEIOSNET_CHILD || '[]');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (o) => process.stderr.write(JSON.stringify({ supervisor: true, time: new Date().toISOString(), ...o }) + '\\n');
let child = null, terminating = false;
for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => {
  terminating = true;
  if (child) child.kill('SIGTERM'); else process.exit(0);
});
(async () => {
  for (;;) {
    if (terminating) process.exit(0);
    if (!fs.existsSync(CFG) || fs.existsSync(HOLD)) { await sleep(200); continue; }
    child = spawn(process.execPath, argv, { stdio: 'inherit' });
    fs.writeFileSync(PID, String(child.pid));
    log({ started: child.pid, argv });
    const [code, signal] = await new Promise((r) => child.once('exit', (c, s) => r([c, s])));
    child = null;
    try { fs.unlinkSync(PID); } catch {}
    log({ exited: true, code, signal });
    if (terminating) process.exit(code == null ? 0 : code);
    const graceful = code === 0 || signal === 'SIGTERM';
    if (fs.existsSync(HOLD) && graceful) continue;
    fs.writeFileSync(HOLD, 'exited');
    process.exit(code == null ? 128 + (require('os').constants.signals[signal] || 9) : code || 1);
  }
})();
`;

/** A command run by exec in a container: node -e <js> [args]. */
export function nodeExec(js: string, ...args: string[]): string[] {
  return ['node', '-e', js, ...args];
}

/**
 * Write the first argv[1] bytes of stdin to argv[2] atomically (mode 0600), then exit. The content
 * (a node config with its admin token) never appears in an argv: not in `ps` inside the pod, not in
 * the exec request's URL, not in the container engine's exec records. The length is given because
 * Kubernetes before 1.29 (exec protocol v4) cannot signal the end of stdin.
 */
export const WRITE_STDIN_JS = `const fs=require('fs');const [,n,p]=process.argv;const want=Number(n);const parts=[];let got=0;
const done=()=>{const b=Buffer.concat(parts).subarray(0,want);fs.writeFileSync(p+'.tmp',b,{mode:0o600});fs.renameSync(p+'.tmp',p);process.exit(0)};
if(want===0)done();process.stdin.on('data',(c)=>{parts.push(c);got+=c.length;if(got>=want)done()});process.stdin.on('end',()=>process.exit(got>=want?0:5));`;
/** Print a file (argv[1]); exit 3 if it does not exist. */
export const CAT_FILE_JS = `const fs=require('fs');const p=process.argv[1];if(!fs.existsSync(p))process.exit(3);const s=fs.createReadStream(p);s.pipe(process.stdout);`;
/** List a directory (argv[1]) as JSON [{name, size}]. */
export const LIST_DIR_JS = `const fs=require('fs');const d=process.argv[1];let o=[];try{o=fs.readdirSync(d,{withFileTypes:true}).filter(e=>e.isFile()).map(e=>({name:e.name,size:fs.statSync(d+'/'+e.name).size}))}catch{}process.stdout.write(JSON.stringify(o));`;
/**
 * Signal the supervised child: argv[1] = signal, argv[2] = "hold" to create the hold file first,
 * "release" to remove it. Prints the child's pid (or nothing if none runs).
 */
export const SIGNAL_CHILD_JS = `const fs=require('fs');const D=${JSON.stringify(CONTROL_DIR)};const [,sig,mode]=process.argv;
if(mode==='hold')fs.writeFileSync(D+'/hold','orchestrator');
if(mode==='release'){try{fs.unlinkSync(D+'/hold')}catch{}}
let pid;try{pid=Number(fs.readFileSync(D+'/child.pid','utf8'))}catch{}
if(pid&&sig!=='none'){try{process.kill(pid,sig)}catch{}}
process.stdout.write(pid?String(pid):'');`;
/** Wait until the child is gone (argv[1] ms at most); exit 0 when gone, 4 on timeout. */
export const WAIT_CHILD_GONE_JS = `const fs=require('fs');const D=${JSON.stringify(CONTROL_DIR)};const end=Date.now()+Number(process.argv[1]);
(function t(){if(!fs.existsSync(D+'/child.pid'))process.exit(0);if(Date.now()>end)process.exit(4);setTimeout(t,100)})();`;

/**
 * The dead-orchestrator safeguard, one Pod per run namespace. Every CHECK_S seconds it reads its
 * namespace: when the heartbeat annotation has not CHANGED for heartbeat-ttl-s seconds (measured
 * on its own clock, so clock skew between the orchestrator and the cluster does not matter), it
 * deletes the namespace (and with it everything of the run; the run's cluster-scoped RBAC is
 * owned by the namespace and garbage-collected). API access: its ServiceAccount token, the API
 * server at API_HOST:API_PORT (in-cluster service, or the host's loopback API server on clusters
 * like ours whose API server listens on 127.0.0.1: then the pod uses the host network).
 */
export const SAFEGUARD_JS = `
const fs = require('fs'), https = require('https');
const SA = '/var/run/secrets/kubernetes.io/serviceaccount';
const ns = process.env.NAMESPACE, host = process.env.API_HOST || process.env.KUBERNETES_SERVICE_HOST;
const port = Number(process.env.API_PORT || process.env.KUBERNETES_SERVICE_PORT || 443);
const caFile = fs.existsSync('/safeguard-ca/ca.crt') ? '/safeguard-ca/ca.crt' : SA + '/ca.crt';
const ca = fs.existsSync(caFile) && fs.statSync(caFile).size > 0 ? fs.readFileSync(caFile) : undefined;
const checkMs = 1000 * Number(process.env.CHECK_S || 5);
const log = (o) => console.log(JSON.stringify({ time: new Date().toISOString(), ...o }));
function req(method, path) {
  return new Promise((res, rej) => {
    const r = https.request({ host, port, method, path, ca, rejectUnauthorized: ca !== undefined, timeout: 10000,
      headers: { Authorization: 'Bearer ' + fs.readFileSync(SA + '/token', 'utf8').trim(), Accept: 'application/json' } }, (m) => {
      let d = ''; m.on('data', (c) => (d += c)); m.on('end', () => res({ status: m.statusCode, body: d }));
    });
    r.on('error', rej); r.on('timeout', () => r.destroy(new Error('timeout'))); r.end();
  });
}
let last, lastChange = Date.now();
async function tick() {
  const r = await req('GET', '/api/v1/namespaces/' + ns);
  if (r.status === 404) { log({ gone: ns }); process.exit(0); }
  if (r.status !== 200) { log({ status: r.status, body: r.body.slice(0, 200) }); return; }
  const n = JSON.parse(r.body), a = (n.metadata && n.metadata.annotations) || {};
  if (n.status && n.status.phase === 'Terminating') return;
  const hb = a[${JSON.stringify('leiosnet.io/heartbeat')}], ttl = Number(a[${JSON.stringify('leiosnet.io/heartbeat-ttl-s')}] || 90);
  if (hb !== last) { last = hb; lastChange = Date.now(); return; }
  const stale = (Date.now() - lastChange) / 1000;
  if (stale > ttl) {
    log({ deleting: ns, heartbeat: hb, staleS: Math.round(stale), ttlS: ttl });
    const d = await req('DELETE', '/api/v1/namespaces/' + ns);
    log({ deleted: d.status });
  }
}
log({ watching: ns, api: host + ':' + port, checkS: checkMs / 1000 });
(function loop() { tick().catch((e) => log({ error: String(e && e.message) })).finally(() => setTimeout(loop, checkMs)); })();
`;
