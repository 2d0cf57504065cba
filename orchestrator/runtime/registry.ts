// Runtime name → Runtime. The process runtime is built in; docker and kubernetes are loaded on
// demand from orchestrator/runtime/{docker,kubernetes}.ts (exporting `createRuntime()`,
// `create<Name>Runtime()` or a `<Name>Runtime` class), so their heavy clients load only when used.

import { UserError } from '../errors.ts';
import type { Runtime } from './runtime.ts';
import { ProcessRuntime } from './process.ts';

export const RUNTIME_NAMES = ['process', 'docker', 'kubernetes'] as const;
export type RuntimeName = (typeof RUNTIME_NAMES)[number];

const cache = new Map<string, Runtime>();

export async function getRuntime(name: string): Promise<Runtime> {
  const hit = cache.get(name);
  if (hit) return hit;
  let rt: Runtime;
  if (name === 'process') {
    rt = new ProcessRuntime();
  } else if (name === 'docker' || name === 'kubernetes') {
    const cap = name[0]!.toUpperCase() + name.slice(1);
    let mod: Record<string, unknown>;
    try {
      const spec = `./${name}.ts`;
      mod = (await import(spec)) as Record<string, unknown>;
    } catch (e) {
      const missing = (e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && (e as Error).message.includes(`runtime/${name}.ts`);
      throw new UserError(
        missing
          ? `runtime: ${name} is not implemented yet (use --runtime process or --runtime docker)`
          : `runtime: ${name} failed to load: ${(e as Error).message.split('\n')[0]}`,
      );
    }
    const factory = (mod.createRuntime ?? mod[`create${cap}Runtime`]) as (() => Runtime) | undefined;
    const Ctor = mod[`${cap}Runtime`] as (new () => Runtime) | undefined;
    if (typeof factory === 'function') rt = await factory();
    else if (typeof Ctor === 'function') rt = new Ctor();
    else throw new UserError(`runtime: orchestrator/runtime/${name}.ts exports no runtime factory`);
  } else {
    throw new UserError(`runtime: unknown runtime ${JSON.stringify(name)} (one of ${RUNTIME_NAMES.join(', ')})`);
  }
  cache.set(name, rt);
  return rt;
}

/** Every runtime that loads here (for `ls`/`down --all`); unavailable ones are skipped. */
export async function availableRuntimes(): Promise<Runtime[]> {
  const out: Runtime[] = [];
  for (const n of RUNTIME_NAMES) {
    try {
      out.push(await getRuntime(n));
    } catch {
      /* not in this build */
    }
  }
  return out;
}
