// `leiosnet attack <run-id> <behaviour> --node <n>|--stake <share> [--params json|--set k=v]
// [--for S] [--off]`: turn an adversary behaviour (node/adversary/) on or off on nodes of a
// running testnet, through each node's admin API (PUT /adversary/:behaviour), beside
// `leiosnet fault`. Exit 2 for an unknown behaviour, node or bad params (the field named),
// 3 when a node cannot be reached.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { BEHAVIOURS, BEHAVIOUR_NAMES, behaviour, poolsUpToShare, smallestPoolShare } from '../../../node/adversary/index.ts';
import { InfraError, ProfileError, UserError } from '../../errors.ts';
import { validate } from '../../profile/validate.ts';
import { setAdversary } from '../../collect/admin.ts';
import { EventLog } from '../../pipeline/events.ts';
import { sleep } from '../../scenario/engine.ts';
import { attachRun } from '../runs.ts';

interface IO {
  out: (s: string) => void;
  err: (s: string) => void;
}

interface AttackOptions {
  node: string[];
  stake?: number;
  params?: string;
  set: string[];
  for?: number;
  off?: boolean;
  json?: boolean;
}

/** The params of `--params` and `--set k=v` (values read as YAML scalars: 3000, true, bad-witness). */
export function attackParams(o: { params?: string; set: string[] }): Record<string, unknown> {
  let params: Record<string, unknown> = {};
  if (o.params !== undefined) {
    let v: unknown;
    try {
      v = JSON.parse(o.params);
    } catch (e) {
      throw new UserError(`--params: not JSON (${(e as Error).message}); e.g. --params '{"delayMs": 4000}'`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UserError('--params: expected a JSON object, e.g. {"delayMs": 4000}');
    params = v as Record<string, unknown>;
  }
  for (const kv of o.set) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new UserError(`--set: expected key=value, got ${JSON.stringify(kv)}`);
    const key = kv.slice(0, i);
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw new UserError(`--set: key ${JSON.stringify(key)} is not allowed`);
    params[key] = parseYaml(kv.slice(i + 1));
  }
  return params;
}

/** Check a behaviour name and its params; exit-2 errors name the field. */
export function checkAttack(name: string, params: Record<string, unknown>): void {
  const b = behaviour(name);
  if (!b) throw new UserError(`behaviour: unknown adversary behaviour ${JSON.stringify(name)} (known: ${BEHAVIOUR_NAMES.join(', ')})`);
  const issues = validate(b.params, params, () => undefined);
  if (issues.length) throw new ProfileError(issues.map((i) => ({ ...i, path: `params${i.path ? '.' + i.path : ''}` })));
}

/** The pools `--stake <share>` turns adversarial: node/adversary poolsUpToShare over the run's genesis (as node.adversaryStake does). */
export function poolsByStake(runDir: string, share: number): string[] {
  const file = join(runDir, 'genesis', 'genesis.json');
  if (!existsSync(file)) throw new UserError(`--stake: no genesis in ${runDir}`);
  const pools = (JSON.parse(readFileSync(file, 'utf8')) as { pools: { id: string; stake: number }[] }).pools;
  const out = poolsUpToShare(pools, share);
  if (out.length === 0) {
    const smallest = smallestPoolShare(pools);
    throw new UserError(smallest === undefined ? `--stake: no pool of the run holds stake` : `--stake: ${share} is less than the smallest pool's share (${smallest.toFixed(3)})`);
  }
  return out;
}

const HELP = `
Behaviours (node/adversary/<behaviour>.ts; params as --params JSON or --set k=v):
${BEHAVIOURS.map((b) => {
  const props = Object.entries((b.params as { properties: Record<string, { description?: string }> }).properties);
  return `  ${b.name.padEnd(16)} ${b.summary}${props.map(([k, s]) => `\n  ${''.padEnd(16)}   ${k}: ${s.description ?? ''}`).join('')}`;
}).join('\n')}

Examples:
  leiosnet attack <run-id> eb-withholding --node pool-2
  leiosnet attack <run-id> late-eb --node pool-2 --set delayMs=4000 --for 60
  leiosnet attack <run-id> invalid-votes --stake 0.2
  leiosnet attack <run-id> eb-withholding --node pool-2 --off
`;

export function registerAttack(program: Command, io: IO, exit: (code: number) => void): void {
  program
    .command('attack')
    .description('turn an adversary behaviour on (or off) on nodes of a running testnet')
    .argument('<run-id>')
    .argument('<behaviour>', BEHAVIOUR_NAMES.join(' | '))
    .option('--node <name>', 'a node to turn adversarial (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--stake <share>', 'instead of --node: pools holding at most this share of the stake, smallest first', (v: string) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 1) throw new UserError(`--stake: expected a share in (0, 1], got ${JSON.stringify(v)}`);
      return n;
    })
    .option('--params <json>', 'the behaviour\'s params as a JSON object')
    .option('--set <k=v>', 'one param (repeatable; after --params)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--for <s>', 'turn it off again after this many seconds (this command waits)', (v: string) => {
      const n = Number(v);
      if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 2_000_000) throw new UserError(`--for: expected seconds > 0, got ${JSON.stringify(v)}`);
      return n;
    })
    .option('--off', 'turn the behaviour off')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', HELP)
    .action(async (runId: string, name: string, o: AttackOptions) => {
      const params = attackParams(o);
      checkAttack(name, params);
      if (o.off && (o.params !== undefined || o.set.length || o.for !== undefined)) throw new UserError('--off: takes no --params, --set or --for');
      if (o.node.length === 0 && o.stake === undefined) throw new UserError('--node: name the adversarial node(s), or size them with --stake <share>');
      if (o.node.length > 0 && o.stake !== undefined) throw new UserError('--stake: give either --node or --stake');
      const { dep } = await attachRun(runId);
      const known = dep.nodes().map((n) => n.name);
      const nodes = o.stake !== undefined ? poolsByStake(dep.runDir, o.stake) : o.node;
      for (const n of nodes) if (!known.includes(n)) throw new UserError(`--node: unknown node ${JSON.stringify(n)} in ${runId} (nodes: ${known.join(', ')})`);
      const events = new EventLog(join(dep.runDir, 'events.jsonl'));
      const apply = async (enabled: boolean) => {
        for (const n of nodes) {
          try {
            await setAdversary(dep.node(n).endpoints(), name, enabled, enabled ? params : undefined);
          } catch (e) {
            const status = (e as { status?: number }).status;
            if (status === 400 || status === 404) throw new UserError(`${n}: ${(e as Error).message}`);
            throw new InfraError(`${n}: ${(e as Error).message}`);
          }
          events.emit('adversary', { node: n, behaviour: name, enabled, ...(enabled ? { params } : {}), source: 'cli' });
        }
      };
      const on = !o.off;
      await apply(on);
      io.err(`${name} ${on ? 'on' : 'off'} at ${nodes.join(', ')} in ${runId}\n`);
      if (on && o.for !== undefined) {
        await sleep(o.for * 1000);
        await apply(false);
        io.err(`${name} off again after ${o.for} s\n`);
      }
      if (o.json) io.out(JSON.stringify({ runId, behaviour: name, nodes, enabled: on && o.for === undefined, params }, null, 2) + '\n');
      exit(0);
    });
}
