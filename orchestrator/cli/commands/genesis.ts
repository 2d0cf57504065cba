// `leiosnet genesis <profile> --out DIR`: the planner and genesis alone, into a directory, with
// peers addressed BY NAME — what a deployment that owns its own addressing starts from (the Helm
// chart's genesis Job runs it inside the cluster, so nothing is generated on the user's machine).
//
//   DIR/profile.resolved.json             the Plan
//   DIR/genesis/genesis.json              systemStart = now (or --now) + genesis.startDelayS
//   DIR/genesis/keys/<pool>.{cold,vrf,bls}.skey, generator.skey
//   DIR/nodes/<name>/template.json        the runtime-neutral node spec (peers by name)
//   DIR/nodes/<name>/config.json          listen 0.0.0.0:<n2n>, admin 0.0.0.0:<admin>, peers
//                                         {name, host: <peer name>, port: <n2n>}: the deployer
//                                         maps each peer name to an address it can dial
//   DIR/generator/config.json             targets {name, host: <node name>, port: <n2n>}
//   DIR/genesis-manifest.json             node names, roles, releases, pool ids, files (for tools)
//
// Deterministic for the same profile, --set and --now. Exit 0, 2 on a bad profile/flag.
// Also runnable on its own (`node orchestrator/cli/commands/genesis.ts <profile> --out DIR`), which
// loads only the planner and genesis, not every command's modules: the chart's Job does that.

import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { LeiosnetError, UserError } from '../../errors.ts';
import { generatorTemplate, GENERATOR_RUN_DIR_PATHS, renderGeneratorConfig, renderNodeConfig, RUN_DIR_PATHS, writeRunFiles } from '../../genesis/index.ts';
import { loadProfile } from '../../profile/load.ts';
import { resolvePlan } from '../../profile/resolve.ts';
import type { CliIO } from '../program.ts';

export const DEFAULT_N2N_PORT = 3001;
export const DEFAULT_ADMIN_PORT = 12798;
/** Where nodes bind inside a container or pod. */
export const BIND_ALL = '0.0.0.0';

export interface GenesisOptions {
  profile: string;
  out: string;
  sets?: string[];
  /** systemStart base; default the current time */
  now?: Date;
  n2nPort?: number;
  adminPort?: number;
  cwd?: string;
}

export interface GenesisManifest {
  manifestVersion: 1;
  profile: string;
  seed: number;
  systemStart: string;
  networkMagic: number;
  n2nPort: number;
  adminPort: number;
  nodes: { name: string; role: 'pool' | 'relay'; release: string; config: string; keys: string[] }[];
  generator: { config: string; key: string; targets: string[] };
}

/** Plan + genesis + configs (peers by name) into `opts.out`; returns the manifest it also writes. */
export function writeGenesisDir(opts: GenesisOptions): GenesisManifest {
  const out = resolve(opts.cwd ?? process.cwd(), opts.out);
  if (existsSync(out) && readdirSync(out).length > 0) throw new UserError(`--out: ${out} exists and is not empty`);
  const n2nPort = opts.n2nPort ?? DEFAULT_N2N_PORT;
  const adminPort = opts.adminPort ?? DEFAULT_ADMIN_PORT;
  for (const [flag, p] of [['--n2n-port', n2nPort], ['--admin-port', adminPort]] as const) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new UserError(`${flag}: expected a port 1..65535, got ${p}`);
  }
  const plan = resolvePlan(loadProfile(opts.profile, { sets: opts.sets ?? [], cwd: opts.cwd }));
  const now = opts.now ?? new Date();
  mkdirSync(out, { recursive: true });
  const specs = writeRunFiles(plan, out, { now });
  // Every node binds all interfaces of its container/pod and dials its peers by name; the ports
  // are the same everywhere. The runtime-neutral template is kept next to the rendered config.
  const bind = { host: BIND_ALL, port: n2nPort, adminHost: BIND_ALL, adminPort };
  const byName = (name: string) => ({ host: name, port: n2nPort });
  for (const s of specs) {
    const cfg = renderNodeConfig(s.template, { bind, peer: byName, paths: RUN_DIR_PATHS });
    writeJson(join(s.dir, 'config.json'), cfg);
    writeJson(join(s.dir, 'template.json'), s.template);
  }
  const gdir = join(out, 'generator');
  mkdirSync(gdir, { recursive: true });
  writeJson(join(gdir, 'config.json'), renderGeneratorConfig(generatorTemplate(plan), { target: byName, paths: GENERATOR_RUN_DIR_PATHS }));
  const manifest: GenesisManifest = {
    manifestVersion: 1,
    profile: plan.profile.name,
    seed: plan.seed,
    systemStart: new Date(now.getTime() + Math.round(plan.genesis.startDelayS * 1000)).toISOString(),
    networkMagic: plan.genesis.networkMagic,
    n2nPort,
    adminPort,
    nodes: plan.nodes.map((n) => ({
      name: n.name,
      role: n.role,
      release: n.release,
      config: `nodes/${n.name}/config.json`,
      keys: n.role === 'pool' ? ['cold', 'vrf', 'bls'].map((k) => `genesis/keys/${n.name}.${k}.skey`) : [],
    })),
    generator: { config: 'generator/config.json', key: 'genesis/keys/generator.skey', targets: [...plan.generator.targets] },
  };
  writeJson(join(out, 'genesis-manifest.json'), manifest);
  return manifest;
}

// 0600: node configs and templates carry admin tokens (the rest is private by the same rule)
function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
}

function port(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || n < 1 || n > 65535) throw new UserError(`${name}: expected a port 1..65535, got ${JSON.stringify(v)}`);
    return n;
  };
}

export function registerGenesis(program: Command, io: CliIO, exit: (code: number) => void): void {
  program
    .command('genesis')
    .description('plan and genesis only: genesis, keys and node configs (peers by name) into a directory, for deployers with their own addressing (the Helm chart)')
    .argument('<profile>', 'profile name (profiles/<name>.yaml) or path')
    .requiredOption('--out <dir>', 'directory to write (must be empty or absent)')
    .option('--set <path=value>', 'override a profile field (repeatable)', (v: string, prev: string[]) => [...prev, v], [])
    .option('--now <iso-time>', 'systemStart base instead of the current time (deterministic output)')
    .option('--n2n-port <port>', 'node-to-node port of every node', port('--n2n-port'), DEFAULT_N2N_PORT)
    .option('--admin-port <port>', 'admin/metrics port of every node', port('--admin-port'), DEFAULT_ADMIN_PORT)
    .option('--json', 'print the manifest as JSON')
    .action((profile: string, o: { out: string; set: string[]; now?: string; n2nPort: number; adminPort: number; json?: boolean }) => {
      let now: Date | undefined;
      if (o.now !== undefined) {
        now = new Date(o.now);
        if (Number.isNaN(now.getTime())) throw new UserError(`--now: expected an ISO time, got ${JSON.stringify(o.now)}`);
      }
      const m = writeGenesisDir({ profile, out: o.out, sets: o.set, now, n2nPort: o.n2nPort, adminPort: o.adminPort, cwd: io.cwd });
      if (o.json) io.out(`${JSON.stringify(m, null, 2)}\n`);
      else {
        io.err(`genesis for ${m.profile} (${m.nodes.length} nodes, systemStart ${m.systemStart}) in ${resolve(io.cwd, o.out)}\n`);
        io.out(`${resolve(io.cwd, o.out)}\n`);
      }
      exit(0);
    });
}

/** `node orchestrator/cli/commands/genesis.ts <profile> --out DIR ...`: this command alone. */
export async function genesisMain(argv: string[]): Promise<number> {
  let code = 0;
  const io: CliIO = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), cwd: process.cwd(), tty: false };
  const program = new Command('leiosnet').exitOverride().configureOutput({ writeOut: io.out, writeErr: io.err });
  registerGenesis(program, io, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(['genesis', ...argv], { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof LeiosnetError) {
      io.err(`leiosnet: ${e.message}\n`);
      return e.exitCode;
    }
    io.err(`leiosnet: ${(e as Error).stack ?? String(e)}\n`);
    return 3;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  process.exitCode = await genesisMain(process.argv.slice(2));
}
