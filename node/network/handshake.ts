// Handshake, mini-protocol 0. The dialler (initiator) proposes
//   [0, networkMagic, [versions...], nodeName]
// and the responder replies
//   [1, version, nodeName]   accept: the highest version both support
//   [2, reason]              refuse: magic mismatch, no common version, peer down, duplicate...
// The whole exchange must finish within `timeoutMs` (default 5 s). `onAccepted` runs
// synchronously inside the message handler, so the caller can register the negotiated
// mini-protocols before any frame that follows the handshake is dispatched.

import type { Mux } from './mux.ts';
import {
  BUILTIN_PROTOCOLS,
  expectArray,
  expectString,
  expectUint,
  messageTag,
  PROTOCOL,
  ProtocolError,
} from './types.ts';

export const HANDSHAKE_SPEC = BUILTIN_PROTOCOLS.find((p) => p.id === PROTOCOL.handshake)!;
export const MAX_NAME_LENGTH = 64;
const MAX_VERSIONS = 32;

export interface HandshakeParams {
  networkMagic: number;
  /** Versions we support (initiator: offered; responder: acceptable). */
  versions: number[];
  nodeName: string;
  timeoutMs?: number;
}

export interface HandshakeResult {
  version: number;
  peerName: string;
}

/** The handshake failed: refused by either side, timed out, or the connection dropped. */
export class HandshakeError extends Error {
  override name = 'HandshakeError';
}

type Proposal = { networkMagic: number; versions: number[]; nodeName: string };

function decodeProposal(a: unknown[]): Proposal {
  if (a.length !== 4) throw new ProtocolError('handshake: malformed proposal');
  const versions = expectArray(a[2], 'handshake versions', 1, MAX_VERSIONS).map((v) => expectUint(v, 'handshake version', 0xffff));
  return {
    networkMagic: expectUint(a[1], 'handshake magic', 0xffffffff),
    versions,
    nodeName: expectString(a[3], 'handshake nodeName', MAX_NAME_LENGTH),
  };
}

export function highestCommonVersion(ours: number[], theirs: number[]): number | undefined {
  let best: number | undefined;
  for (const v of theirs) if (ours.includes(v) && (best === undefined || v > best)) best = v;
  return best;
}

function withTimeout<T>(mux: Mux, timeoutMs: number, run: (resolve: (v: T) => void, reject: (e: Error) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    const finish = (f: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      f();
    };
    const timer = setTimeout(() => {
      finish(() => reject(new HandshakeError('handshake timeout')));
      mux.close('handshake timeout');
    }, timeoutMs);
    mux.onClose((reason) => finish(() => reject(new HandshakeError(reason))));
    run(
      (v) => finish(() => resolve(v)),
      (e) => finish(() => reject(e)),
    );
  });
}

/** Dialler side. Resolves with the negotiated version and the peer's name. */
export function handshakeInitiator(mux: Mux, p: HandshakeParams, onAccepted?: (r: HandshakeResult) => void): Promise<HandshakeResult> {
  return withTimeout<HandshakeResult>(mux, p.timeoutMs ?? 5000, (resolve, reject) => {
    let state: 'propose' | 'done' = 'propose';
    mux.handle(PROTOCOL.handshake, 'initiator', (msg) => {
      if (state !== 'propose') throw new ProtocolError('handshake: unexpected message after the handshake');
      state = 'done';
      const [tag, a] = messageTag(msg, 'handshake');
      if (tag === 1) {
        if (a.length !== 3) throw new ProtocolError('handshake: malformed accept');
        const version = expectUint(a[1], 'handshake version', 0xffff);
        const peerName = expectString(a[2], 'handshake nodeName', MAX_NAME_LENGTH);
        if (!p.versions.includes(version)) throw new ProtocolError(`handshake: peer accepted version ${version} that we did not offer`);
        const r = { version, peerName };
        onAccepted?.(r);
        if (!mux.closed) resolve(r);
      } else if (tag === 2) {
        const reason = `refused by peer: ${expectString(a[1], 'handshake reason')}`;
        reject(new HandshakeError(reason));
        mux.close(reason);
      } else throw new ProtocolError(`handshake: unexpected message tag ${tag}`);
    });
    mux.send(PROTOCOL.handshake, 'initiator', [0, p.networkMagic, p.versions, p.nodeName]);
  });
}

export interface ResponderParams extends HandshakeParams {
  /** Extra admission check by peer name; return a refusal reason to refuse. */
  admit?: (peerName: string, version: number) => string | undefined;
}

/** Listener side. Accepts the highest common version or refuses with a reason. */
export function handshakeResponder(mux: Mux, p: ResponderParams, onAccepted?: (r: HandshakeResult) => void): Promise<HandshakeResult> {
  return withTimeout<HandshakeResult>(mux, p.timeoutMs ?? 5000, (resolve, reject) => {
    let state: 'wait' | 'done' = 'wait';
    mux.handle(PROTOCOL.handshake, 'responder', (msg) => {
      if (state !== 'wait') throw new ProtocolError('handshake: unexpected message after the handshake');
      state = 'done';
      const [tag, a] = messageTag(msg, 'handshake');
      if (tag !== 0) throw new ProtocolError(`handshake: expected a proposal, got tag ${tag}`);
      const prop = decodeProposal(a);
      let reason: string | undefined;
      const version = highestCommonVersion(p.versions, prop.versions);
      if (prop.networkMagic !== p.networkMagic) reason = `network magic mismatch (ours ${p.networkMagic}, theirs ${prop.networkMagic})`;
      else if (version === undefined) reason = `no common version (ours [${p.versions.join(',')}], theirs [${prop.versions.join(',')}])`;
      else if (prop.nodeName === '') reason = 'empty node name';
      else reason = p.admit?.(prop.nodeName, version);
      if (reason !== undefined || version === undefined) {
        const why = reason ?? 'refused';
        mux.send(PROTOCOL.handshake, 'responder', [2, why]);
        reject(new HandshakeError(`refused ${prop.nodeName}: ${why}`));
        void mux.end(`handshake refused: ${why}`);
        return;
      }
      const r = { version, peerName: prop.nodeName };
      mux.send(PROTOCOL.handshake, 'responder', [1, version, p.nodeName]);
      onAccepted?.(r);
      if (!mux.closed) resolve(r);
    });
  });
}
