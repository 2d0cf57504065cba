// Image build step (RUN in node/Dockerfile's deps stage, exec form, so no shell is needed).
// Production node_modules end up in /app/.prebuilt/node_modules, which the final stage copies.
// `leiosnet image build` stages them from the host (works with the offline base, which has no npm
// and no registry); a plain `docker build` has no .prebuilt/ and installs them with npm.
'use strict';
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');

if (fs.existsSync('.prebuilt/node_modules')) {
  console.log('install-deps: using staged production node_modules');
} else {
  console.log('install-deps: npm ci --omit=dev');
  execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  fs.mkdirSync('.prebuilt', { recursive: true });
  fs.renameSync('node_modules', '.prebuilt/node_modules'); // same (upper) layer: no EXDEV
}
