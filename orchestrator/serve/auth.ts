// The serve token: one random secret per state directory, printed at start and kept in
// $LEIOSNET_HOME/serve.token (mode 0600). Every mutating request must carry it
// (`Authorization: Bearer <token>` or `X-Leiosnet-Token: <token>`); comparison is constant-time
// over fixed-length digests, so neither the content nor the length leaks through timing.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { leiosnetHome } from '../state.ts';

export function tokenFile(): string {
  return join(leiosnetHome(), 'serve.token');
}

/** 32 random bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The token to use: `given` if set, else a fresh one. Either way it is written to `file`
 * with mode 0600 (a new token per `serve` start: an old, leaked one stops working).
 */
export function issueToken(given?: string, file = tokenFile()): { token: string; file: string } {
  const token = given ?? newToken();
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeFileSync(file, token + '\n', { mode: 0o600 });
  chmodSync(file, 0o600); // an existing file keeps its mode on write: force it
  return { token, file };
}

export function readToken(file = tokenFile()): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Constant-time equality of a presented token with the expected one. */
export function tokenMatches(presented: string | undefined, expected: string): boolean {
  if (typeof presented !== 'string' || presented.length === 0 || expected.length === 0) return false;
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The token a request carries, from `Authorization: Bearer` or `X-Leiosnet-Token`. */
export function presentedToken(headers: Record<string, string | string[] | undefined>): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const x = headers['x-leiosnet-token'];
  return typeof x === 'string' ? x.trim() : undefined;
}
