// The kubernetes runtime's connection to a cluster (@kubernetes/client-node 2.x): kubeconfig from
// the usual places, exec into containers (collecting output or streaming it to a file), and
// port-forwarding through the API server for clusters whose pod IPs are not routable from here.

import { createWriteStream, renameSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';

export interface KubeOptions {
  /** kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or the in-cluster service account) */
  kubeconfig?: string;
  /** context in the kubeconfig (default: its current-context); env LEIOSNET_KUBE_CONTEXT */
  context?: string;
}

export function loadKubeConfig(opts: KubeOptions = {}): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
  else kc.loadFromDefault();
  const ctx = opts.context ?? process.env.LEIOSNET_KUBE_CONTEXT;
  if (ctx) {
    if (!kc.getContexts().some((c) => c.name === ctx)) throw new Error(`--kube-context: no context ${JSON.stringify(ctx)} in the kubeconfig (have: ${kc.getContexts().map((c) => c.name).join(', ') || 'none'})`);
    kc.setCurrentContext(ctx);
  }
  return kc;
}

/** HTTP status of a client-node error (ApiException.code), if any. */
export function statusOf(e: unknown): number | undefined {
  const c = (e as { code?: unknown; statusCode?: unknown } | undefined)?.code ?? (e as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof c === 'number' ? c : undefined;
}

/** Resolve to undefined on the given HTTP statuses (404 by default), rethrow anything else. */
export async function ignoring<T>(p: Promise<T>, statuses: number[] = [404]): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (statuses.includes(statusOf(e) ?? -1)) return undefined;
    throw e;
  }
}

/** A short message for an API error (the server's Status message when there is one). */
export function apiMessage(e: unknown): string {
  const body = (e as { body?: unknown }).body;
  if (typeof body === 'string') {
    try {
      const m = (JSON.parse(body) as { message?: string }).message;
      if (m) return m;
    } catch {
      /* not JSON */
    }
  }
  return (e as Error).message?.split('\n')[0] ?? String(e);
}

export const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
export const strategicMergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.StrategicMergePatch);

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

class Collect extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(Buffer.from(chunk));
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function exitCode(status: k8s.V1Status | undefined): number {
  if (!status) return -1;
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  return cause?.message !== undefined ? Number(cause.message) : 1;
}

/** Run a command in a container; resolves when it ended (its exit code, stdout, stderr). */
export async function execIn(
  kc: k8s.KubeConfig,
  namespace: string,
  pod: string,
  container: string,
  command: string[],
  opts: { stdout?: Writable; timeoutMs?: number; stdin?: Buffer } = {},
): Promise<ExecResult> {
  const out = new Collect();
  const err = new Collect();
  let status: k8s.V1Status | undefined;
  // stdin is written but never ended: on the v4 exec protocol (Kubernetes < 1.29) client-node
  // closes the whole connection when stdin ends, before the exit status arrives. The command knows
  // how much to read (WRITE_STDIN_JS takes the length).
  const input = opts.stdin !== undefined ? new PassThrough() : null;
  if (input && opts.stdin!.length > 0) input.write(opts.stdin);
  const ws = await new k8s.Exec(kc)
    .exec(namespace, pod, container, command, opts.stdout ?? out, err, input, false, (s) => (status = s))
    .catch((e: unknown) => {
      input?.destroy();
      throw e;
    });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`exec in ${namespace}/${pod}: no end within ${opts.timeoutMs} ms: ${command.slice(0, 2).join(' ')}`));
    }, opts.timeoutMs ?? 60_000);
    ws.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on('error', (e: Error) => {
      clearTimeout(timer);
      reject(e);
    });
  }).finally(() => input?.destroy());
  return { code: exitCode(status), stdout: out.text(), stderr: err.text() };
}

/** Stream a command's stdout into `file` (written next to it, renamed when complete). */
export async function execToFile(kc: k8s.KubeConfig, namespace: string, pod: string, container: string, command: string[], file: string, timeoutMs = 300_000): Promise<ExecResult> {
  const tmp = `${file}.partial`;
  const ws = createWriteStream(tmp);
  const r = await execIn(kc, namespace, pod, container, command, { stdout: ws, timeoutMs });
  await new Promise<void>((res) => ws.end(res));
  if (r.code === 0) renameSync(tmp, file);
  return r;
}

/** Local listeners that forward to pod ports through the API server (client-node PortForward). */
export class PortForwarder {
  private readonly kc: k8s.KubeConfig;
  private readonly servers = new Map<string, { server: Server; port: number }>();
  private readonly sockets = new Set<Socket>();

  constructor(kc: k8s.KubeConfig) {
    this.kc = kc;
  }

  /** 127.0.0.1:<local port> forwarding to namespace/pod:port (one listener per pod port). */
  async forward(namespace: string, pod: string, port: number): Promise<number> {
    const key = `${namespace}/${pod}:${port}`;
    const have = this.servers.get(key);
    if (have) return have.port;
    const pf = new k8s.PortForward(this.kc, true);
    const server = createServer((socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      pf.portForward(namespace, pod, [port], socket, null, socket).catch(() => socket.destroy());
    });
    const local = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
    });
    server.unref();
    this.servers.set(key, { server, port: local });
    return local;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    for (const { server } of this.servers.values()) server.close();
    this.servers.clear();
  }
}

/** True if host:port answers or refuses a TCP connection (routable), false on timeout/unreachable. */
export function routable(host: string, port: number, timeoutMs = 1_500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED'));
    s.connect(port, host);
  });
}
