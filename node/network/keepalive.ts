// KeepAlive, mini-protocol 8. Both ends run a client and a server on every connection.
//   client → [0, cookie]   server → [1, cookie]
// The client pings every `intervalMs` (default 10 s) with at most one ping outstanding and
// closes the connection when a ping stays unanswered for `timeoutMs` (default 30 s).

import type { Mux } from './mux.ts';
import { expectUint, messageTag, PROTOCOL, ProtocolError } from './types.ts';

export interface KeepAliveOptions {
  intervalMs?: number;
  timeoutMs?: number;
}

export interface KeepAlive {
  /** Round-trip time of the last answered ping, in ms. */
  readonly rttMs: number | undefined;
  stop(): void;
}

export function startKeepAlive(mux: Mux, opts: KeepAliveOptions = {}): KeepAlive {
  const intervalMs = opts.intervalMs ?? 10_000;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  let cookie = 0;
  let outstanding: { cookie: number; sentAt: number; timer: NodeJS.Timeout } | undefined;
  let rttMs: number | undefined;

  mux.handle(PROTOCOL.keepAlive, 'responder', (msg) => {
    const [tag, a] = messageTag(msg, 'keepalive');
    if (tag !== 0 || a.length !== 2) throw new ProtocolError(`keepalive: unexpected request tag ${tag}`);
    mux.send(PROTOCOL.keepAlive, 'responder', [1, expectUint(a[1], 'keepalive cookie', 0xffff)]);
  });
  mux.handle(PROTOCOL.keepAlive, 'initiator', (msg) => {
    const [tag, a] = messageTag(msg, 'keepalive');
    if (tag !== 1 || a.length !== 2) throw new ProtocolError(`keepalive: unexpected response tag ${tag}`);
    const c = expectUint(a[1], 'keepalive cookie', 0xffff);
    if (!outstanding) throw new ProtocolError('keepalive: response without a request');
    if (c !== outstanding.cookie) throw new ProtocolError('keepalive: cookie mismatch');
    clearTimeout(outstanding.timer);
    rttMs = performance.now() - outstanding.sentAt;
    outstanding = undefined;
  });

  const ping = () => {
    if (outstanding || mux.closed) return;
    cookie = (cookie + 1) & 0xffff;
    const c = cookie;
    outstanding = {
      cookie: c,
      sentAt: performance.now(),
      timer: setTimeout(() => mux.close(`keepalive: no response within ${timeoutMs} ms`), timeoutMs),
    };
    mux.send(PROTOCOL.keepAlive, 'initiator', [0, c]);
  };
  const interval = setInterval(ping, intervalMs);
  const stop = () => {
    clearInterval(interval);
    if (outstanding) clearTimeout(outstanding.timer);
    outstanding = undefined;
  };
  mux.onClose(stop);
  return {
    get rttMs() {
      return rttMs;
    },
    stop,
  };
}
