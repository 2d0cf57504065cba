// Shared network types, the protocol registry and CBOR helpers used by every mini-protocol.

import { Encoder, Decoder } from 'cbor-x';

/** Thrown by a mini-protocol (or a provider/callback of the core) when the peer broke the
 *  protocol. The mux closes that one connection with the message as the reason. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** Which side of a mini-protocol the local end plays. Both sides of a connection run an
 *  initiator and a responder instance of each protocol (Cardano's duplex mux). */
export type Role = 'initiator' | 'responder';

/** Scheduling classes, highest first. Leios classes order by freshness (slot, younger first). */
export type PriorityClass = 'praos' | 'txsub' | 'leios-fresh' | 'leios-stale';
export const PRIORITY_RANK: Record<PriorityClass, number> = { praos: 0, txsub: 1, 'leios-fresh': 2, 'leios-stale': 3 };

export interface ProtocolSpec {
  /** 0..32767 (the high bit of the wire id is the direction bit). */
  id: number;
  /** Label used for byte counters and error reasons. */
  name: string;
  priority: PriorityClass;
  /** Largest reassembled message accepted from the peer; larger closes the connection. */
  maxMessageBytes: number;
  /** Lowest negotiated node-to-node version that carries this protocol (default 1). */
  minVersion?: number;
}

export const PROTOCOL = {
  handshake: 0,
  chainSync: 2,
  blockFetch: 3,
  txSubmission: 4,
  keepAlive: 8,
  /** First id for Leios mini-protocols (registered by the core). */
  leiosBase: 16,
} as const;

/** Node-to-node versions: 1 = Praos mini-protocols, 2 = Praos + Leios mini-protocols. */
export const VERSION_PRAOS = 1;
export const VERSION_LEIOS = 2;

export const BUILTIN_PROTOCOLS: readonly ProtocolSpec[] = [
  { id: PROTOCOL.handshake, name: 'handshake', priority: 'praos', maxMessageBytes: 5760 },
  { id: PROTOCOL.chainSync, name: 'chainsync', priority: 'praos', maxMessageBytes: 64 * 1024 },
  { id: PROTOCOL.blockFetch, name: 'blockfetch', priority: 'praos', maxMessageBytes: 2 * 1024 * 1024 },
  { id: PROTOCOL.txSubmission, name: 'txsubmission', priority: 'txsub', maxMessageBytes: 2 * 1024 * 1024 },
  { id: PROTOCOL.keepAlive, name: 'keepalive', priority: 'praos', maxMessageBytes: 64 },
];

/** A point on a chain; null is the origin. */
export type Point = { slot: number; hash: Uint8Array } | null;
export interface Tip {
  point: Point;
  blockNo: number;
}

// ---------------------------------------------------------------- CBOR

const encoder = new Encoder({ useRecords: false, tagUint8Array: false, variableMapSize: true });
const decoder = new Decoder({ useRecords: false, copyBuffers: true, mapsAsObjects: true });

export function encodeCbor(value: unknown): Uint8Array {
  return encoder.encode(value);
}

/** Decodes exactly one CBOR item; throws ProtocolError on malformed input or trailing bytes. */
export function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return decoder.decode(bytes);
  } catch (e) {
    throw new ProtocolError(`CBOR decode error: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------- validation helpers
// Messages are CBOR arrays `[tag, ...fields]`; these check shapes and throw ProtocolError.

export function expectArray(v: unknown, what: string, min = 0, max = Infinity): unknown[] {
  if (!Array.isArray(v)) throw new ProtocolError(`${what}: expected an array`);
  if (v.length < min || v.length > max) throw new ProtocolError(`${what}: array length ${v.length} out of range`);
  return v;
}

export function expectUint(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw new ProtocolError(`${what}: expected an unsigned integer ≤ ${max}`);
  return v;
}

export function expectBytes(v: unknown, what: string, maxLen = Infinity): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new ProtocolError(`${what}: expected a byte string`);
  if (v.length > maxLen) throw new ProtocolError(`${what}: byte string of ${v.length} bytes exceeds ${maxLen}`);
  // cbor-x yields Buffers; hand out plain Uint8Array views (no copy) so callers get one type
  return Buffer.isBuffer(v) ? new Uint8Array(v.buffer, v.byteOffset, v.byteLength) : v;
}

export function expectBool(v: unknown, what: string): boolean {
  if (typeof v !== 'boolean') throw new ProtocolError(`${what}: expected a boolean`);
  return v;
}

export function expectString(v: unknown, what: string, maxLen = 1024): string {
  if (typeof v !== 'string' || v.length > maxLen) throw new ProtocolError(`${what}: expected a string of ≤ ${maxLen} chars`);
  return v;
}

/** A message `[tag, ...]`: returns the tag and the array. */
export function messageTag(v: unknown, protocol: string): [number, unknown[]] {
  const a = expectArray(v, protocol, 1);
  return [expectUint(a[0], `${protocol} message tag`, 255), a];
}

export const MAX_HASH_BYTES = 64;

export function encodePoint(p: Point): unknown {
  return p === null ? [] : [p.slot, p.hash];
}

export function decodePoint(v: unknown, what = 'point'): Point {
  const a = expectArray(v, what, 0, 2);
  if (a.length === 0) return null;
  if (a.length !== 2) throw new ProtocolError(`${what}: expected [] or [slot, hash]`);
  return { slot: expectUint(a[0], `${what}.slot`), hash: expectBytes(a[1], `${what}.hash`, MAX_HASH_BYTES) };
}

export function encodeTip(t: Tip): unknown {
  return [encodePoint(t.point), t.blockNo];
}

export function decodeTip(v: unknown, what = 'tip'): Tip {
  const a = expectArray(v, what, 2, 2);
  return { point: decodePoint(a[0], `${what}.point`), blockNo: expectUint(a[1], `${what}.blockNo`) };
}

export function pointEqual(a: Point, b: Point): boolean {
  if (a === null || b === null) return a === b;
  if (a.slot !== b.slot || a.hash.length !== b.hash.length) return false;
  for (let i = 0; i < a.hash.length; i++) if (a.hash[i] !== b.hash[i]) return false;
  return true;
}

export function errorMessage(e: unknown): string {
  if (e instanceof ProtocolError) return e.message;
  if (e instanceof Error) return `internal error: ${e.message}`;
  return `internal error: ${String(e)}`;
}
