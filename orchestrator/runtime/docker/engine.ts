// Connection to the Docker engine, shared by the image builder, the docker runtime and tests.
// dockerode honours DOCKER_HOST (unix://, tcp://, ssh://) and defaults to /var/run/docker.sock.

import Docker from 'dockerode';

export type { Docker };

export function connectDocker(): Docker {
  return new Docker();
}

export interface EngineStatus {
  ok: boolean;
  /** Engine version (e.g. "20.10.24+dfsg1") when ok, otherwise why it is not usable. */
  detail: string;
  apiVersion?: string;
  arch?: string;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

function where(): string {
  return process.env.DOCKER_HOST || 'unix:///var/run/docker.sock';
}

/** Does an engine answer? Never throws; `detail` says why not (for skip lines and errors). */
export async function engineStatus(docker: Docker = connectDocker(), timeoutMs = 3000): Promise<EngineStatus> {
  try {
    await withTimeout(docker.ping(), timeoutMs, `Docker engine at ${where()}`);
    const v = await withTimeout(docker.version(), timeoutMs, `Docker engine at ${where()}`);
    return { ok: true, detail: v.Version, apiVersion: v.ApiVersion, arch: v.Arch };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' || err.code === 'ECONNREFUSED' ? `no Docker engine at ${where()} (${err.code})` : err.message;
    return { ok: false, detail: `${why}; run .ci/docker-setup.sh to install/start one` };
  }
}

/** Throw an Error naming the engine problem (infrastructure failure) unless an engine answers. */
export async function requireEngine(docker: Docker = connectDocker()): Promise<EngineStatus> {
  const s = await engineStatus(docker);
  if (!s.ok) throw new Error(s.detail);
  return s;
}

/** Engine error with an HTTP status (dockerode attaches `statusCode`). */
export function statusOf(e: unknown): number | undefined {
  return (e as { statusCode?: number } | undefined)?.statusCode;
}

/** Run an engine call, treating 404 (already gone) and 304 (already in that state) as success. */
export async function idempotent<T>(p: Promise<T>, ok: number[] = [404, 304]): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (ok.includes(statusOf(e) ?? -1)) return undefined;
    throw e;
  }
}

/** Follow a JSON progress stream (build, import, pull); rejects on an `error` message. */
export function followStream(
  docker: Docker,
  stream: NodeJS.ReadableStream,
  onEvent?: (ev: { stream?: string; status?: string; error?: string; aux?: { ID?: string } }) => void,
): Promise<Array<Record<string, unknown>>> {
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, out: Array<Record<string, unknown>>) => {
        if (err) return reject(err);
        const bad = out.find((o) => o.error || o.errorDetail);
        if (bad) return reject(new Error(String(bad.error ?? JSON.stringify(bad.errorDetail))));
        resolve(out);
      },
      (ev: { stream?: string; status?: string; error?: string; aux?: { ID?: string } }) => onEvent?.(ev),
    );
  });
}

/**
 * Split a non-TTY container log buffer (8-byte frame headers: stream, 0, 0, 0, size u32 BE) into
 * stdout and stderr text.
 */
export function demuxLogs(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i];
    const size = buf.readUInt32BE(i + 4);
    if (kind > 2 || buf[i + 1] !== 0 || buf[i + 2] !== 0 || buf[i + 3] !== 0) {
      // not multiplexed (TTY container): all of it is one stream
      return { stdout: buf.toString('utf8'), stderr: '' };
    }
    const frame = buf.subarray(i + 8, i + 8 + size);
    (kind === 2 ? err : out).push(frame);
    i += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}

/** A container's output so far (stdout and stderr, demultiplexed); undefined if it is gone. */
export async function containerOutput(c: Docker.Container): Promise<{ stdout: string; stderr: string } | undefined> {
  const buf = await idempotent(c.logs({ stdout: true, stderr: true, follow: false }) as unknown as Promise<Buffer>, [404]);
  return buf === undefined ? undefined : demuxLogs(buf);
}

/** Run a one-off container to completion (removed afterwards); returns exit code and output. */
export async function runOnce(
  docker: Docker,
  image: string,
  cmd: string[],
  opts: { entrypoint?: string[]; user?: string; labels?: Record<string, string> } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const c = await docker.createContainer({
    Image: image,
    Cmd: cmd,
    Entrypoint: opts.entrypoint,
    User: opts.user,
    Labels: opts.labels,
    HostConfig: { NetworkMode: 'none' },
  });
  try {
    await c.start();
    const res = (await c.wait()) as { StatusCode: number };
    return { code: res.StatusCode, ...((await containerOutput(c)) ?? { stdout: '', stderr: '' }) };
  } finally {
    await idempotent(c.remove({ force: true }));
  }
}
