// Loopback addresses for the process runtime. Every node gets its own IP on 127/8 (Linux routes
// all of it to lo), so fixed ports per IP (n2n 3001, admin 12798) never collide between the nodes
// of a run. Other runs and foreign programs are avoided twice: addresses reserved by live runs in
// any state dir on this machine are skipped (under the state lock and a machine-wide lock, so two
// orchestrators never pick the same one, whatever their LEIOSNET_HOME), a reservation holds while
// a process of its run or the orchestrator that made it lives, and each port is bind-tested before
// it is handed out; a taken port moves to the next one.

import { createServer } from 'node:net';
import { resolve } from 'node:path';
import {
  knownHomes,
  leiosnetHome,
  listRunRecords,
  listRunRecordsIn,
  readRunRecord,
  withMachineLock,
  withStateLock,
  writeRunRecord,
  type AddressRecord,
  type RunRecord,
} from '../../state.ts';
import { readProcStat, recordedAlive } from './procfs.ts';

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

/** Is a run's reservation still held: a process of it lives, or the orchestrator that made it? */
export function reservationLive(rec: RunRecord): boolean {
  if (rec.pids.some((p) => recordedAlive(p, rec.runDir))) return true;
  if (rec.owner) {
    const st = readProcStat(rec.owner.pid);
    return st !== undefined && st.state !== 'Z' && st.state !== 'X' && st.startTicks === rec.owner.startTicks;
  }
  return rec.pids.length === 0; // a record from before owners were recorded, nothing started yet
}

/**
 * Addresses held by other live runs: those of our state dir and of every other state dir known on
 * this machine (state.ts knownHomes: a test's private LEIOSNET_HOME shares 127/8 with us).
 */
export function reservedByOthers(runId: string): Set<string> {
  const out = new Set<string>();
  const ours = resolve(leiosnetHome());
  for (const home of knownHomes()) {
    for (const rec of home === ours ? listRunRecords() : listRunRecordsIn(home)) {
      if ((home === ours && rec.runId === runId) || !rec.addresses) continue;
      if (!reservationLive(rec)) continue;
      for (const a of rec.addresses) {
        out.add(`${a.host}:${a.n2nPort}`);
        out.add(`${a.host}:${a.adminPort}`);
      }
    }
  }
  return out;
}

function owner(): { pid: number; startTicks: number } {
  return { pid: process.pid, startTicks: readProcStat(process.pid)?.startTicks ?? 0 };
}

/**
 * Before configs are rendered: every reserved port of `runId` not in `skip` (nodes whose configs
 * are written already keep theirs) must still be bindable and not held by another live run. A
 * port taken since allocation moves to the next free one on that IP, in the reservation itself,
 * so every config rendered afterwards names the new one. Under both locks, like allocation.
 */
export async function recheckAddresses(runId: string, skip: Set<string>): Promise<AddressRecord[] | undefined> {
  return withStateLock(() =>
    withMachineLock(async () => {
      const rec = readRunRecord(runId);
      if (!rec?.addresses) return undefined;
      const addrs = rec.addresses.map((a) => ({ ...a }));
      const reserved = reservedByOthers(runId);
      // a port of this run (p is above the one being moved, so never that one itself)
      const mine = (host: string, port: number) => addrs.some((b) => b.host === host && (b.n2nPort === port || b.adminPort === port));
      let changed = false;
      for (const a of addrs) {
        if (skip.has(a.name)) continue;
        for (const key of ['n2nPort', 'adminPort'] as const) {
          if (a[key] === 0) continue;
          if (!reserved.has(`${a.host}:${a[key]}`) && (await canBind(a.host, a[key]))) continue;
          let p = a[key] + 1;
          while (p < 65536 && (reserved.has(`${a.host}:${p}`) || mine(a.host, p) || !(await canBind(a.host, p)))) p++;
          if (p >= 65536) throw new Error(`no free port on ${a.host} above ${a[key]}`);
          a[key] = p;
          changed = true;
        }
      }
      if (changed) writeRunRecord({ ...rec, addresses: addrs, owner: rec.owner ?? owner() });
      return addrs;
    }),
  );
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
  return withStateLock(() => withMachineLock(async () => {
    const existing = readRunRecord(runId);
    const have = new Map((existing?.addresses ?? []).map((a) => [a.name, a]));
    if (names.every((n) => have.has(n))) {
      // this orchestrator holds the reservation from now on (another may have made it and died)
      if (existing && (existing.owner?.pid !== process.pid)) writeRunRecord({ ...existing, owner: owner() });
      return names.map((n) => have.get(n)!);
    }
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
      owner: owner(),
    });
    return out;
  }));
}

/** One free TCP port on host (for helpers such as the generator's metrics endpoint). */
export async function freePort(host: string, start: number): Promise<number> {
  return pickPort(host, start, new Set());
}
