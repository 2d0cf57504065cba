// Image build step (RUN in node/Dockerfile's deps stage, exec form, so no shell is needed).
// Production node_modules end up in /app/.prebuilt/node_modules, which the final stage copies.
// `leiosnet image build` stages them from the host (works with the offline base, which has no npm
// and no registry); a plain `docker build` has no .prebuilt/ and installs them with npm.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

if (fs.existsSync('.prebuilt/node_modules')) {
  console.log('install-deps: using staged production node_modules');
} else {
  // npm next to this node (the official images' layout), run by this node: no shebang, no shell
  const cli = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  const [cmd, pre] = fs.existsSync(cli) ? [process.execPath, [cli]] : ['npm', []];
  console.log(`install-deps: npm ci --omit=dev (${cmd === 'npm' ? 'npm from PATH' : cli})`);
  try {
    execFileSync(cmd, [...pre, 'ci', '--omit=dev', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  } catch (e) {
    console.error(
      e.code === 'ENOENT'
        ? 'install-deps: this base image has no npm; build with `leiosnet image build` (stages node_modules) or use the official node:22 base'
        : `install-deps: npm ci failed (${e.message})`,
    );
    process.exit(1);
  }
  fs.mkdirSync('.prebuilt', { recursive: true });
  fs.renameSync('node_modules', '.prebuilt/node_modules'); // same (upper) layer: no EXDEV
}
