// Peer manager: listener, diallers with back-off, one connection per peer pair, link shapes.
//
// Every connection: TCP → Mux (handshake only) → handshake → register the mini-protocols of
// the negotiated version (built-ins + the core's extra protocols whose minVersion ≤ version)
// → KeepAlive → 'peer-up'. Duplicates (simultaneous dial) are resolved by one rule both ends
// apply identically: keep the connection dialled by the lexicographically smaller node name;
// if both were dialled by the same side, keep the newer one (the older is probably dead).

import { EventEmitter } from 'node:events';
import net from 'node:net';
import type { PeerConfig } from '../config/schema.ts';
import { HandshakeError, handshakeInitiator, handshakeResponder, HANDSHAKE_SPEC, type HandshakeResult } from './handshake.ts';
import { startKeepAlive, type KeepAlive, type KeepAliveOptions } from './keepalive.ts';
import { Mux, type MuxOptions, type OnBytes } from './mux.ts';
import { normaliseShape, type LinkShape } from './shaper.ts';
import { BUILTIN_PROTOCOLS, PROTOCOL, type ProtocolSpec } from './types.ts';

export type Direction = 'inbound' | 'outbound';
export type NetLogLevel = 'debug' | 'info' | 'warn';
export type NetLogger = (level: NetLogLevel, msg: string, fields?: Record<string, unknown>) => void;

export interface PeerInfo {
  name: string;
  connected: boolean;
  /** Remote `host:port` of the connection (configured address when not connected). */
  address: string | null;
  direction: Direction | null;
  version: number | null;
  shape: LinkShape;
  configured: boolean;
  connectedSince: string | null;
  bytesSent: number;
  bytesReceived: number;
  rttMs: number | null;
}

/** Options shared by the peer manager and `connectPeer`. */
export interface ConnectionOptions {
  /** Our node name (or client name such as "txgen-1"); must be unique in the network. */
  name: string;
  networkMagic: number;
  /** Node-to-node versions we support, e.g. [1] (Praos release) or [1, 2] (Leios release). */
  versions: number[];
  /** Mini-protocols beyond the built-ins (Leios: ids ≥ 16, with minVersion 2). */
  extraProtocols?: ProtocolSpec[];
  /** Override max message sizes by protocol name, e.g. { blockfetch: 4 << 20 }. */
  maxMessageBytes?: Record<string, number>;
  /** Partial-message receive timeout (default 30 s). */
  partialTimeoutMs?: number;
  /** Whole handshake, and the TCP connect, must finish within this (default 5 s). */
  handshakeTimeoutMs?: number;
  keepAlive?: KeepAliveOptions | false;
  onBytes?: OnBytes;
  log?: NetLogger;
}

export interface PeerManagerOptions extends ConnectionOptions {
  /** Listen address; absent = outbound only. Port 0 = any free port (see `address()`). */
  listen?: { host: string; port: number };
  peers?: PeerConfig[];
  /** Shape for peers without one in config (e.g. inbound tx-generators). */
  defaultShape?: Partial<LinkShape>;
  /** Reconnect back-off (default 250 ms doubling to 5 s). */
  backoff?: { minMs?: number; maxMs?: number };
  /** Refuse inbound connections beyond this many (default 256). */
  maxInbound?: number;
}

/** The protocol specs a connection of `version` carries. */
export function protocolsForVersion(version: number, extra: ProtocolSpec[] = [], overrides: Record<string, number> = {}): ProtocolSpec[] {
  const out: ProtocolSpec[] = [];
  for (const p of [...BUILTIN_PROTOCOLS, ...extra]) {
    if ((p.minVersion ?? 1) > version) continue;
    out.push({ ...p, maxMessageBytes: overrides[p.name] ?? p.maxMessageBytes });
  }
  return out;
}

/** A connected, handshaken peer. Mini-protocol clients/servers are attached to `peer.mux`. */
export class Peer {
  readonly name: string;
  readonly version: number;
  readonly direction: Direction;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly mux: Mux;
  readonly connectedAt: Date;
  /** True if the peer is in our configured peer list. */
  readonly configured: boolean;
  private readonly keepAlive: KeepAlive | undefined;
  private readonly shapeSetter: (shape: Partial<LinkShape>) => void;

  constructor(args: {
    name: string;
    version: number;
    direction: Direction;
    mux: Mux;
    configured: boolean;
    keepAlive: KeepAlive | undefined;
    shapeSetter?: (shape: Partial<LinkShape>) => void;
  }) {
    this.name = args.name;
    this.version = args.version;
    this.direction = args.direction;
    this.mux = args.mux;
    this.configured = args.configured;
    this.keepAlive = args.keepAlive;
    this.remoteAddress = args.mux.socket.remoteAddress ?? '';
    this.remotePort = args.mux.socket.remotePort ?? 0;
    this.connectedAt = new Date();
    this.shapeSetter =
      args.shapeSetter ??
      ((s) => {
        const n = normaliseShape(s);
        if (n.down) this.mux.close('link down');
        else this.mux.setShape(n);
      });
  }

  get shape(): LinkShape {
    return this.mux.shape;
  }

  /** Change the shape of the link to this peer (down closes it; see PeerManager.setShape). */
  setShape(shape: Partial<LinkShape>): void {
    this.shapeSetter(shape);
  }

  /** Whether the negotiated version carries this mini-protocol. */
  hasProtocol(protocolId: number): boolean {
    return this.mux.isRegistered(protocolId);
  }

  get closed(): boolean {
    return this.mux.closed;
  }

  close(reason = 'closed locally'): void {
    this.mux.close(reason);
  }

  /** Called once with the reason when the connection ends. */
  onClose(cb: (reason: string) => void): void {
    this.mux.onClose(cb);
  }

  get rttMs(): number | undefined {
    return this.keepAlive?.rttMs;
  }

  info(configured = this.configured): PeerInfo {
    const st = this.mux.getStats();
    return {
      name: this.name,
      connected: !this.mux.closed,
      address: `${this.remoteAddress}:${this.remotePort}`,
      direction: this.direction,
      version: this.version,
      shape: this.shape,
      configured,
      connectedSince: this.connectedAt.toISOString(),
      bytesSent: st.bytesSent,
      bytesReceived: st.bytesReceived,
      rttMs: this.keepAlive?.rttMs ?? null,
    };
  }
}

function muxOptions(o: ConnectionOptions, shape: Partial<LinkShape>): MuxOptions {
  return { partialTimeoutMs: o.partialTimeoutMs, onBytes: o.onBytes, shape };
}

function registerVersion(mux: Mux, o: ConnectionOptions, version: number): void {
  for (const p of protocolsForVersion(version, o.extraProtocols, o.maxMessageBytes)) if (p.id !== PROTOCOL.handshake) mux.register(p);
}

/**
 * Dial one node as a client (e.g. the tx-generator): TCP connect, handshake, KeepAlive.
 * Rejects with HandshakeError (refused, timeout) or a socket error.
 */
export function connectPeer(
  target: { host: string; port: number },
  o: ConnectionOptions & { shape?: Partial<LinkShape> },
): Promise<Peer> {
  return new Promise<Peer>((resolve, reject) => {
    const timeoutMs = o.handshakeTimeoutMs ?? 5000;
    const socket = net.connect({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new HandshakeError(`connect timeout to ${target.host}:${target.port}`));
    }, timeoutMs);
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      const mux = new Mux(socket, muxOptions(o, o.shape ?? {}));
      mux.register(HANDSHAKE_SPEC);
      let peer: Peer | undefined;
      handshakeInitiator(mux, { networkMagic: o.networkMagic, versions: o.versions, nodeName: o.name, timeoutMs }, (r) => {
        registerVersion(mux, o, r.version);
        mux.peer = r.peerName;
        const ka = o.keepAlive === false ? undefined : startKeepAlive(mux, o.keepAlive);
        peer = new Peer({ name: r.peerName, version: r.version, direction: 'outbound', mux, configured: false, keepAlive: ka });
      }).then(
        () => resolve(peer!),
        (e) => reject(e),
      );
    });
  });
}

interface Pending {
  mux: Mux;
  direction: Direction;
  /** Known up front for outbound connections. */
  peerName: string | undefined;
}

interface DialState {
  config: PeerConfig;
  backoffMs: number;
  timer: NodeJS.Timeout | undefined;
  attempt: Pending | 'connecting' | undefined;
}

export interface PeerManagerEvents {
  'peer-up': [peer: Peer];
  'peer-down': [peer: Peer, reason: string];
}

export class PeerManager extends EventEmitter<PeerManagerEvents> {
  private readonly o: PeerManagerOptions;
  private readonly minBackoff: number;
  private readonly maxBackoff: number;
  private readonly defaultShape: LinkShape;
  private readonly shapes = new Map<string, LinkShape>();
  private readonly dials = new Map<string, DialState>();
  private readonly established = new Map<string, Peer>();
  private readonly pending = new Set<Pending>();
  private readonly connecting = new Set<net.Socket>();
  private server: net.Server | undefined;
  private closing = false;
  private started = false;

  constructor(opts: PeerManagerOptions) {
    super();
    this.o = opts;
    this.minBackoff = opts.backoff?.minMs ?? 250;
    this.maxBackoff = opts.backoff?.maxMs ?? 5000;
    this.defaultShape = normaliseShape(opts.defaultShape);
    for (const p of opts.peers ?? []) {
      if (p.name === opts.name) continue;
      this.dials.set(p.name, { config: p, backoffMs: this.minBackoff, timer: undefined, attempt: undefined });
      if (p.link) this.shapes.set(p.name, normaliseShape(p.link));
    }
  }

  private log(level: 'debug' | 'info' | 'warn', msg: string, fields?: Record<string, unknown>): void {
    try {
      this.o.log?.(level, msg, fields);
    } catch {
      // logging must not break networking
    }
  }

  /** Start listening (if configured) and dialling. Resolves with the bound listen address. */
  async start(): Promise<{ host: string; port: number } | undefined> {
    if (this.started) throw new Error('PeerManager already started');
    this.started = true;
    if (this.o.listen) {
      const server = net.createServer((s) => this.onInbound(s));
      this.server = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.o.listen!.port, this.o.listen!.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (e) => this.log('warn', 'listener error', { error: e.message }));
    }
    for (const name of this.dials.keys()) this.scheduleDial(name, 0);
    return this.address();
  }

  /** The bound listen address (useful with port 0). */
  address(): { host: string; port: number } | undefined {
    const a = this.server?.address();
    if (!a || typeof a === 'string') return undefined;
    return { host: a.address, port: a.port };
  }

  shapeFor(name: string): LinkShape {
    return { ...(this.shapes.get(name) ?? this.defaultShape) };
  }

  /**
   * Change the link to `name` at run time (admin API). `down: true` closes the connection and
   * refuses inbound and outbound connections with that peer until the link is up again.
   */
  setShape(name: string, shape: Partial<LinkShape>): LinkShape {
    const s = normaliseShape(shape);
    const wasDown = this.shapeFor(name).down;
    this.shapes.set(name, s);
    const peer = this.established.get(name);
    if (s.down) {
      peer?.mux.close('link down');
      for (const p of [...this.pending]) if (p.peerName === name) p.mux.close('link down');
      const d = this.dials.get(name);
      if (d?.timer) {
        clearTimeout(d.timer);
        d.timer = undefined;
      }
    } else {
      peer?.mux.setShape(s);
      for (const p of this.pending) if (p.peerName === name) p.mux.setShape(s);
      const d = this.dials.get(name);
      if (wasDown && d) {
        d.backoffMs = this.minBackoff;
        this.scheduleDial(name, 0);
      }
    }
    this.log('info', 'link shape changed', { peer: name, shape: s });
    return { ...s };
  }

  /** Add a configured peer at run time and dial it (replaces an earlier config of that name). */
  addPeer(config: PeerConfig): void {
    if (config.name === this.o.name) return;
    const d = this.dials.get(config.name);
    if (d) d.config = config;
    else this.dials.set(config.name, { config, backoffMs: this.minBackoff, timer: undefined, attempt: undefined });
    if (config.link) this.shapes.set(config.name, normaliseShape(config.link));
    if (this.started) this.scheduleDial(config.name, 0);
  }

  /** Stop dialling a configured peer and close its connection. */
  removePeer(name: string): void {
    const d = this.dials.get(name);
    if (d?.timer) clearTimeout(d.timer);
    this.dials.delete(name);
    this.established.get(name)?.mux.close('peer removed');
  }

  /** The connected peer of that name, if any. */
  peer(name: string): Peer | undefined {
    return this.established.get(name);
  }

  /** Connected peers, then configured peers that are not connected. */
  peers(): PeerInfo[] {
    const out: PeerInfo[] = [];
    for (const p of this.established.values()) out.push(p.info(this.dials.has(p.name)));
    for (const [name, d] of this.dials) {
      if (this.established.has(name)) continue;
      out.push({
        name,
        connected: false,
        address: `${d.config.host}:${d.config.port}`,
        direction: null,
        version: null,
        shape: this.shapeFor(name),
        configured: true,
        connectedSince: null,
        bytesSent: 0,
        bytesReceived: 0,
        rttMs: null,
      });
    }
    return out;
  }

  connectedPeers(): Peer[] {
    return [...this.established.values()];
  }

  /** Close every connection and the listener. peer-down is emitted for connected peers. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    for (const d of this.dials.values()) if (d.timer) clearTimeout(d.timer);
    for (const s of this.connecting) s.destroy();
    this.connecting.clear();
    for (const p of [...this.pending]) p.mux.close('shutting down');
    for (const p of [...this.established.values()]) p.mux.close('shutting down');
    const server = this.server;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  // ------------------------------------------------------------------ dialling

  private scheduleDial(name: string, delayMs: number): void {
    const d = this.dials.get(name);
    if (!d || this.closing || d.timer) return;
    d.timer = setTimeout(() => {
      d.timer = undefined;
      this.dial(name);
    }, delayMs);
  }

  private retryLater(name: string): void {
    const d = this.dials.get(name);
    if (!d || this.closing) return;
    const delay = d.backoffMs;
    d.backoffMs = Math.min(this.maxBackoff, d.backoffMs * 2);
    this.scheduleDial(name, delay);
  }

  private dial(name: string): void {
    const d = this.dials.get(name);
    if (!d || this.closing || d.attempt || this.established.has(name) || this.shapeFor(name).down) return;
    const timeoutMs = this.o.handshakeTimeoutMs ?? 5000;
    const socket = net.connect({ host: d.config.host, port: d.config.port });
    d.attempt = 'connecting';
    this.connecting.add(socket);
    const timer = setTimeout(() => socket.destroy(new Error('connect timeout')), timeoutMs);
    const fail = (why: string) => {
      clearTimeout(timer);
      this.connecting.delete(socket);
      d.attempt = undefined;
      this.log('debug', 'dial failed', { peer: name, reason: why });
      this.retryLater(name);
    };
    socket.once('error', (e) => fail(e.message));
    socket.once('connect', () => {
      clearTimeout(timer);
      this.connecting.delete(socket);
      socket.removeAllListeners('error');
      if (this.closing || this.shapeFor(name).down) {
        socket.destroy();
        d.attempt = undefined;
        return;
      }
      const mux = new Mux(socket, muxOptions(this.o, this.shapeFor(name)));
      mux.register(HANDSHAKE_SPEC);
      mux.peer = name;
      const pend: Pending = { mux, direction: 'outbound', peerName: name };
      this.pending.add(pend);
      d.attempt = pend;
      mux.onClose(() => this.pending.delete(pend));
      handshakeInitiator(mux, this.hsParams(), (r) => this.adopt(pend, r)).then(
        () => {
          d.attempt = undefined;
          if (!mux.closed) d.backoffMs = this.minBackoff;
        },
        (e: Error) => {
          this.pending.delete(pend);
          fail(e.message);
        },
      );
    });
  }

  private hsParams() {
    return { networkMagic: this.o.networkMagic, versions: this.o.versions, nodeName: this.o.name, timeoutMs: this.o.handshakeTimeoutMs ?? 5000 };
  }

  // ------------------------------------------------------------------ inbound

  private onInbound(socket: net.Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    let inbound = 0;
    for (const p of this.established.values()) if (p.direction === 'inbound') inbound++;
    for (const p of this.pending) if (p.direction === 'inbound') inbound++;
    if (inbound >= (this.o.maxInbound ?? 256)) {
      this.log('warn', 'inbound connection refused: too many', { remote: socket.remoteAddress });
      socket.destroy();
      return;
    }
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    const mux = new Mux(socket, muxOptions(this.o, this.defaultShape));
    mux.register(HANDSHAKE_SPEC);
    const pend: Pending = { mux, direction: 'inbound', peerName: undefined };
    this.pending.add(pend);
    mux.onClose(() => this.pending.delete(pend));
    handshakeResponder(
      mux,
      { ...this.hsParams(), admit: (peerName) => this.admit(pend, peerName) },
      (r) => this.adopt(pend, r),
    ).then(
      () => undefined,
      (e: Error) => {
        this.pending.delete(pend);
        this.log('debug', 'inbound handshake failed', { remote, reason: e.message });
      },
    );
  }

  /** Responder-side admission: refusal reason or undefined. */
  private admit(pend: Pending, peerName: string): string | undefined {
    if (this.closing) return 'shutting down';
    if (peerName === this.o.name) return 'connected to self';
    if (this.shapeFor(peerName).down) return 'peer is down';
    pend.peerName = peerName;
    pend.mux.peer = peerName;
    for (const other of this.rivals(pend, peerName)) {
      if (!this.wins(pend, other)) return 'duplicate connection';
    }
    return undefined;
  }

  /** Existing connections with the same peer (established or mid-handshake outbound). */
  private rivals(pend: Pending, peerName: string): { mux: Mux; direction: Direction; newer: boolean }[] {
    const out: { mux: Mux; direction: Direction; newer: boolean }[] = [];
    const e = this.established.get(peerName);
    if (e && e.mux !== pend.mux) out.push({ mux: e.mux, direction: e.direction, newer: false });
    for (const p of this.pending) {
      if (p !== pend && p.peerName === peerName && p.direction === 'outbound' && !p.mux.closed) out.push({ mux: p.mux, direction: p.direction, newer: false });
    }
    return out;
  }

  /** Does the new connection `a` beat the existing `b`? */
  private wins(a: { direction: Direction; peerName?: string }, b: { direction: Direction }): boolean {
    if (a.direction === b.direction) return true; // same dialler: the newer one
    const peer = a.peerName!;
    const preferredDialler = this.o.name < peer ? this.o.name : peer;
    const aDialler = a.direction === 'outbound' ? this.o.name : peer;
    return aDialler === preferredDialler;
  }

  /** Handshake accepted (both sides): resolve duplicates, register protocols, emit peer-up. */
  private adopt(pend: Pending, r: HandshakeResult): void {
    const name = r.peerName;
    if (pend.direction === 'outbound' && pend.peerName !== name) {
      pend.mux.close(`dialled ${pend.peerName} but the node is called ${name}`);
      return;
    }
    pend.peerName = name;
    if (this.closing) {
      pend.mux.close('shutting down');
      return;
    }
    if (pend.direction === 'outbound' && (name === this.o.name || this.shapeFor(name).down)) {
      pend.mux.close(name === this.o.name ? 'connected to self' : 'link down');
      return;
    }
    for (const other of this.rivals(pend, name)) {
      if (this.wins(pend, other)) other.mux.close('replaced by a simultaneous connection');
      else {
        pend.mux.close('duplicate connection');
        return;
      }
    }
    this.pending.delete(pend);
    const d = this.dials.get(name);
    if (d) d.backoffMs = this.minBackoff;
    const mux = pend.mux;
    registerVersion(mux, this.o, r.version);
    mux.setShape(this.shapeFor(name));
    const ka = this.o.keepAlive === false ? undefined : startKeepAlive(mux, this.o.keepAlive);
    const peer = new Peer({
      name,
      version: r.version,
      direction: pend.direction,
      mux,
      configured: this.dials.has(name),
      keepAlive: ka,
      shapeSetter: (s) => this.setShape(name, s),
    });
    this.established.set(name, peer);
    mux.onClose((reason) => this.onPeerClosed(peer, reason));
    this.log('info', 'peer up', { peer: name, direction: pend.direction, version: r.version, remote: `${peer.remoteAddress}:${peer.remotePort}` });
    this.emitSafe('peer-up', peer);
  }

  private onPeerClosed(peer: Peer, reason: string): void {
    if (this.established.get(peer.name) === peer) this.established.delete(peer.name);
    this.log('info', 'peer down', { peer: peer.name, reason });
    this.emitSafe('peer-down', peer, reason);
    if (!this.closing && this.dials.has(peer.name) && !this.established.has(peer.name)) {
      const d = this.dials.get(peer.name)!;
      this.scheduleDial(peer.name, d.backoffMs);
    }
  }

  private emitSafe(event: 'peer-up', peer: Peer): void;
  private emitSafe(event: 'peer-down', peer: Peer, reason: string): void;
  private emitSafe(event: 'peer-up' | 'peer-down', peer: Peer, reason?: string): void {
    try {
      if (event === 'peer-up') this.emit('peer-up', peer);
      else this.emit('peer-down', peer, reason!);
    } catch (e) {
      // a listener of the core threw: drop that peer rather than crash the process
      this.log('warn', `${event} listener threw`, { peer: peer.name, error: (e as Error).message });
      if (event === 'peer-up') peer.mux.close(`internal error in peer-up handler: ${(e as Error).message}`);
    }
  }
}
