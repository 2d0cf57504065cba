// Node and generator configs as the containers see them.
//
// Mounts (same for every container of a run):
//   <runDir>            → <runDir>             read-only   genesis, keys, every path as written
//   <nodeDir>           → <nodeDir>            read-write  node.log / trace.jsonl land where the
//                                                          process runtime puts them
//   <nodeDir>/config.docker.json → /config/config.json  read-only   this rewritten config
//   volume leiosnet-<run>-<node>-db → /data    chain DB (survives container replacement)
// So only addresses and the DB path change: listen 0.0.0.0:3001, admin 0.0.0.0:12798, peers by
// container name on the run network (Docker's embedded DNS), dbPath /data/db; relative paths are
// made absolute against the original config's directory.

import { isAbsolute, resolve } from 'node:path';
import type { NodeConfig } from '../../../node/config/schema.ts';
import type { NodeSpec } from '../runtime.ts';
import { ADMIN_PORT, containerName, DATA_DIR, N2N_PORT } from './names.ts';

export const CONTAINER_CONFIG_FILE = 'config.docker.json';

/** Address forms of one node: as written for the host (process runtime) and in the container. */
interface AddressMap {
  byName: Map<string, string>; // node name → container name
  byHostPort: Map<string, string>; // "host:port" (listen or admin, host form) → "container:port"
}

export function addressMap(runId: string, specs: Pick<NodeSpec, 'name' | 'config'>[]): AddressMap {
  const byName = new Map<string, string>();
  const byHostPort = new Map<string, string>();
  for (const s of specs) {
    const c = containerName(runId, s.name);
    byName.set(s.name, c);
    byHostPort.set(`${s.config.listen.host}:${s.config.listen.port}`, `${c}:${N2N_PORT}`);
    byHostPort.set(`${s.config.admin.host}:${s.config.admin.port}`, `${c}:${ADMIN_PORT}`);
  }
  return { byName, byHostPort };
}

/** The node config for the container (pure; `configDir` is the original config's directory). */
export function containerNodeConfig(cfg: NodeConfig, configDir: string, addrs: AddressMap): NodeConfig {
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(configDir, p));
  const peers = cfg.peers.map((p) => {
    const byName = addrs.byName.get(p.name);
    if (byName) return { ...p, host: byName, port: N2N_PORT };
    const hp = addrs.byHostPort.get(`${p.host}:${p.port}`);
    if (hp) {
      const i = hp.lastIndexOf(':');
      return { ...p, host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
    }
    return { ...p }; // not a node of this run: leave it
  });
  const out: NodeConfig = {
    ...cfg,
    genesisFile: abs(cfg.genesisFile),
    listen: { host: '0.0.0.0', port: N2N_PORT },
    admin: { ...cfg.admin, host: '0.0.0.0', port: ADMIN_PORT },
    peers,
    dbPath: `${DATA_DIR}/db`,
  };
  if (cfg.traceFile) out.traceFile = abs(cfg.traceFile);
  if (cfg.logFile) out.logFile = abs(cfg.logFile);
  if (cfg.pool) {
    out.pool = {
      ...cfg.pool,
      coldSkeyFile: abs(cfg.pool.coldSkeyFile),
      vrfSkeyFile: abs(cfg.pool.vrfSkeyFile),
      blsSkeyFile: abs(cfg.pool.blsSkeyFile),
    };
  }
  return out;
}

/**
 * A generator config (schema owned by the tx-generator) for the container: every node address in
 * host form — `{host, port}` objects, "host:port" and "http://host:port" strings — becomes the
 * container form. Everything else is kept.
 */
export function containerGeneratorConfig(value: unknown, addrs: AddressMap): unknown {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const swaps = [...addrs.byHostPort].map(([from, to]) => [new RegExp(`(?<![\\w.-])${esc(from)}(?!\\d)`, 'g'), to] as const);
  const swapString = (s: string) => swaps.reduce((acc, [re, to]) => acc.replace(re, to), s);
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return swapString(v);
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(o)) out[k] = walk(x);
      if (typeof o.host === 'string' && typeof o.port === 'number') {
        const hp = addrs.byHostPort.get(`${o.host}:${o.port}`);
        if (hp) {
          const i = hp.lastIndexOf(':');
          out.host = hp.slice(0, i);
          out.port = Number(hp.slice(i + 1));
        }
      }
      return out;
    }
    return v;
  };
  const out = walk(value) as Record<string, unknown>;
  // its own /metrics must listen on the container's interface to be reachable
  const m = out?.metrics as { host?: unknown } | undefined;
  if (m && typeof m === 'object' && typeof m.host === 'string') m.host = '0.0.0.0';
  return out;
}
