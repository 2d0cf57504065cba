// Optional CPU profile of a node process (LEIOSNET_NODE_CPU_PROF=<dir>): the V8 profiler is
// started through node:inspector, since `--cpu-prof` is not allowed in NODE_OPTIONS and the
// orchestrator starts nodes with a fixed command line on every runtime. The profile is written
// as <dir>/<node>.cpuprofile on a graceful shutdown (open it in Chrome DevTools or speedscope).

import fs from 'node:fs';
import path from 'node:path';
import { Session } from 'node:inspector/promises';

export async function startCpuProfile(name: string, dir = process.env.LEIOSNET_NODE_CPU_PROF): Promise<(() => Promise<void>) | undefined> {
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${name}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}
