// Loopback addresses for the process runtime. Every node gets its own IP on 127/8 (Linux routes
// all of it to lo), so fixed ports per IP (n2n 3001, admin 12798) never collide between the nodes
// of a run. Other runs and foreign programs are avoided twice: addresses reserved by live runs in
// the state dir are skipped (under the state lock, so two orchestrators never pick the same one),
// and each port is bind-tested before it is handed out; a taken port moves to the next one.

import { createServer } from 'node:net';
import { listRunRecords, withStateLock, writeRunRecord, readRunRecord, type AddressRecord } from '../../state.ts';
import { isOurs } from './procfs.ts';

export const N2N_PORT = 3001;
export const ADMIN_PORT = 12798;
/** Where generators and other helpers bind: 127.0.0.1 stays free for the user. */
const FIRST_HOST = 2;

/** 127.0.0.2, 127.0.0.3, ... 127.0.0.254, 127.0.1.2, ... */
export function loopbackHost(index: number): string {
  const perBlock = 253; // .2 .. .254
  const block = Math.floor(index / perBlock);
  const host = FIRST_HOST + (index % perBlock);
  const b2 = Math.floor(block / 256);
  const b1 = block % 256;
  if (b2 > 255) throw new Error(`too many nodes for 127/8: ${index}`);
  return `127.${b2}.${b1}.${host}`;
}

/** True if host:port can be bound right now (and is released again). */
export function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function pickPort(host: string, start: number, reserved: Set<string>, tries = 50): Promise<number> {
  for (let port = start; port < start + tries && port < 65536; port++) {
    if (reserved.has(`${host}:${port}`)) continue;
    if (await canBind(host, port)) {
      reserved.add(`${host}:${port}`);
      return port;
    }
  }
  throw new Error(`no free port on ${host} in ${start}..${start + tries - 1}`);
}

/** Addresses held by other runs whose processes are alive (or that have not started yet). */
function reservedByOthers(runId: string): Set<string> {
  const out = new Set<string>();
  for (const rec of listRunRecords()) {
    if (rec.runId === runId || !rec.addresses) continue;
    const live = rec.pids.length === 0 || rec.pids.some((p) => isOurs(p, rec.runDir));
    if (!live) continue;
    for (const a of rec.addresses) {
      out.add(`${a.host}:${a.n2nPort}`);
      out.add(`${a.host}:${a.adminPort}`);
    }
  }
  return out;
}

/**
 * Reserve one loopback address per node name for `runId` and record the reservation in the state
 * dir (creating the run record if needed). Idempotent: a run that already holds addresses for
 * these names gets the same ones back.
 */
export async function allocateAddresses(
  runId: string,
  runDir: string,
  names: string[],
  profile?: string,
  /** index of the first node's IP (0 = 127.0.0.2) */
  firstIndex = 0,
): Promise<AddressRecord[]> {
  return withStateLock(async () => {
    const existing = readRunRecord(runId);
    const have = new Map((existing?.addresses ?? []).map((a) => [a.name, a]));
    if (names.every((n) => have.has(n))) return names.map((n) => have.get(n)!);
    const reserved = reservedByOthers(runId);
    const out: AddressRecord[] = [];
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const prev = have.get(name);
      if (prev) {
        out.push(prev);
        continue;
      }
      const host = loopbackHost(firstIndex + i);
      const n2nPort = await pickPort(host, N2N_PORT, reserved);
      const adminPort = await pickPort(host, ADMIN_PORT, reserved);
      out.push({ name, host, n2nPort, adminPort });
    }
    writeRunRecord({
      runId,
      runtime: 'process',
      runDir,
      profile: profile ?? existing?.profile,
      createdAt: existing?.createdAt ?? new Date().toISOString(),
      pids: existing?.pids ?? [],
      addresses: out,
    });
    return out;
  });
}

/** One free TCP port on host (for helpers such as the generator's metrics endpoint). */
export async function freePort(host: string, start: number): Promise<number> {
  return pickPort(host, start, new Set());
}
