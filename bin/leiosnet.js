#!/usr/bin/env node
// leiosnet: runs orchestrator/cli/main.ts with Node ≥ 22.12 (type stripping). Started by an older
// Node (the system one), it re-executes itself with the project's Node 22 from node_modules.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [major, minor] = process.versions.node.split('.').map(Number);

if (major > 22 || (major === 22 && minor >= 12)) {
  // stripped-source cache first: the CLI's own modules then load without re-stripping (~0.5 s)
  await import(pathToFileURL(join(root, 'node', 'boot', 'ts-cache.js')).href);
  await import(pathToFileURL(join(root, 'orchestrator', 'cli', 'main.ts')).href);
} else {
  const node22 = join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(node22)) {
    process.stderr.write(`leiosnet: needs Node >= 22.12 (this is ${process.version}); run \`npm ci\` to install the project's Node 22\n`);
    process.exit(3);
  }
  const child = spawn(node22, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  // Ctrl-C reaches the child from the terminal itself; other signals are passed on
  process.on('SIGINT', () => {});
  for (const sig of ['SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 3);
  });
}
