// `leiosnet rotate-kes <run-id> <pool> [--kes-period N] [--json]`: the hot-key rotation an SPO
// does. A fresh Sum6KES key, an operational certificate for it with the next counter (signed
// here with the pool's cold key from the run's genesis/keys), delivered to the pool's node through
// its admin API (POST /kes/rotate); the node signs its next headers with it, and every node
// then refuses headers under the older certificate (counter too small). Exit 2 for an unknown
// pool, 3 when the node cannot be reached.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { fromHex } from '../../../node/crypto/hash.ts';
import { kesKeygen, kesVerificationKey } from '../../../node/crypto/kes.ts';
import { issueOpCert, opCertToJson, type OpCert } from '../../../node/crypto/opcert.ts';
import { adminJson } from '../../collect/admin.ts';
import { InfraError, UserError } from '../../errors.ts';
import { EventLog } from '../../pipeline/events.ts';
import { attachRun } from '../runs.ts';
import type { Endpoints } from '../../runtime/runtime.ts';

interface IO {
  out: (s: string) => void;
  err: (s: string) => void;
}

/** GET /kes on a pool node. */
export interface KesStatus {
  pool: string;
  counter: number;
  opcertKesPeriod: number;
  kesPeriod: number;
  remainingEvolutions: number;
  slot: number;
}

/** The new credential for a rotation: fresh KES seed, opcert with counter + 1 from `kesPeriod`. */
export function newRotation(coldSeed: Uint8Array, counter: number, kesPeriod: number, kesSeed: Uint8Array = randomBytes(32)): { kesSeed: Uint8Array; opcert: OpCert } {
  const hot = kesVerificationKey(kesKeygen(kesSeed));
  return { kesSeed, opcert: issueOpCert(coldSeed, hot, counter, kesPeriod) };
}

/** Rotate the KES key of the pool whose node answers at `ep`; returns the new opcert. */
export async function rotateKes(ep: Endpoints, coldSeed: Uint8Array, opts: { kesPeriod?: number; counter?: number } = {}): Promise<{ before: KesStatus; opcert: OpCert }> {
  const before = await adminJson<KesStatus>(ep, '/kes');
  const r = newRotation(coldSeed, opts.counter ?? before.counter + 1, opts.kesPeriod ?? before.kesPeriod);
  await adminJson(ep, '/kes/rotate', { method: 'POST', body: { kesSeed: Buffer.from(r.kesSeed).toString('hex'), opcert: opCertToJson(r.opcert) } });
  return { before, opcert: r.opcert };
}

export function readColdSeed(runDir: string, pool: string): Uint8Array {
  const file = join(runDir, 'genesis', 'keys', `${pool}.cold.skey`);
  if (!existsSync(file)) throw new UserError(`pool: no cold key for ${JSON.stringify(pool)} in ${runDir}/genesis/keys`);
  const k = JSON.parse(readFileSync(file, 'utf8')) as { type?: string; hex?: string };
  if (k.type !== 'ColdSigningKey' || typeof k.hex !== 'string' || !/^[0-9a-f]{64}$/.test(k.hex)) throw new UserError(`${file}: not a ColdSigningKey file`);
  return fromHex(k.hex);
}

export function registerRotateKes(program: Command, io: IO, exit: (code: number) => void): void {
  program
    .command('rotate-kes')
    .description("issue a new operational certificate (next counter, fresh KES key) for a pool of a running testnet and hand it to the pool's node")
    .argument('<run-id>')
    .argument('<pool>')
    .option('--kes-period <n>', 'first KES period of the new certificate (default: the current one)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new UserError(`--kes-period: expected an integer ≥ 0, got ${JSON.stringify(v)}`);
      return n;
    })
    .option('--json', 'print the result as JSON')
    .action(async (runId: string, pool: string, o: { kesPeriod?: number; json?: boolean }) => {
      const { dep } = await attachRun(runId);
      const known = dep.nodes().map((n) => n.name);
      if (!known.includes(pool)) throw new UserError(`pool: unknown node ${JSON.stringify(pool)} in ${runId} (nodes: ${known.join(', ')})`);
      const cold = readColdSeed(dep.runDir, pool);
      let r;
      try {
        r = await rotateKes(dep.node(pool).endpoints(), cold, { kesPeriod: o.kesPeriod });
      } catch (e) {
        const status = (e as { status?: number }).status;
        if (status === 400 || status === 404 || status === 409) throw new UserError(`${pool}: ${(e as Error).message}`);
        throw new InfraError(`${pool}: ${(e as Error).message}`);
      }
      new EventLog(join(dep.runDir, 'events.jsonl')).emit('kes-rotation', { node: pool, counter: r.opcert.counter, kesPeriod: r.opcert.kesPeriod, previousCounter: r.before.counter, source: 'cli' });
      io.err(`${pool}: KES key rotated, opcert counter ${r.before.counter} → ${r.opcert.counter} from KES period ${r.opcert.kesPeriod}\n`);
      if (o.json) io.out(JSON.stringify({ runId, pool, counter: r.opcert.counter, kesPeriod: r.opcert.kesPeriod, previousCounter: r.before.counter }, null, 2) + '\n');
      exit(0);
    });
}
