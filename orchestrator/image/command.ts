// `leiosnet image build [--release R]... [--base auto|official|offline] [--force] [--json]`
// The CLI wires this (orchestrator/cli); it prints progress on stderr and the result on stdout,
// and returns the exit code (0 ok, 2 bad input, 3 no engine / build failed).

import { InfraError, UserError } from '../errors.ts';
import { RELEASE_NAMES } from '../profile/releases.ts';
import { buildImage, imageTag, type BaseKind, type BuildImageResult } from './build.ts';

export interface ImageBuildCommandOptions {
  /** Releases to build; default every release of the release table. */
  release?: string[];
  base?: string;
  force?: boolean;
  json?: boolean;
  /** Progress lines (default: stderr); `verbose` also shows the engine's build output. */
  verbose?: boolean;
  log?: (line: string) => void;
  print?: (line: string) => void;
}

/** Validate and run; throws UserError / InfraError (exit codes 2 / 3) for the CLI to map. */
export async function imageBuild(opts: ImageBuildCommandOptions = {}): Promise<BuildImageResult[]> {
  const releases = opts.release?.length ? opts.release : [...RELEASE_NAMES];
  let base = (opts.base ?? 'auto') as BaseKind | 'auto';
  if (!['auto', 'official', 'offline'].includes(base)) {
    throw new UserError(`--base: expected auto, official or offline, got ${JSON.stringify(opts.base)}`);
  }
  for (const r of releases) {
    try {
      imageTag(r);
    } catch (e) {
      throw new UserError(`--release: ${(e as Error).message}`);
    }
  }
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const out: BuildImageResult[] = [];
  for (const release of releases) {
    try {
      out.push(
        await buildImage({
          release,
          base,
          force: opts.force,
          onProgress: (l) => {
            // engine step output only when asked; our own summary lines always
            if (opts.verbose || !/^(Step \d|\s*--->|Removing intermediate|Successfully)/.test(l)) log(l);
          },
        }),
      );
      base = out.at(-1)!.base; // decided once: do not try to pull again for the next release
    } catch (e) {
      if (e instanceof UserError || e instanceof InfraError) throw e;
      throw new InfraError(`image build ${release}: ${(e as Error).message}`, { cause: e });
    }
  }
  return out;
}

/** The command: returns the exit code. */
export async function imageBuildCommand(opts: ImageBuildCommandOptions = {}): Promise<number> {
  const print = opts.print ?? ((l: string) => process.stdout.write(`${l}\n`));
  try {
    const results = await imageBuild(opts);
    if (opts.json) print(JSON.stringify(results, null, 2));
    else {
      for (const r of results) {
        print(`${r.tag}  ${r.base} base (${r.baseImage})  ${r.cached ? 'up to date' : `built in ${r.seconds} s`}  content ${r.contentHash.slice(0, 12)}`);
      }
    }
    return 0;
  } catch (e) {
    const code = (e as { exitCode?: number }).exitCode ?? 3;
    (opts.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(`leiosnet image build: ${(e as Error).message}`);
    return code;
  }
}
