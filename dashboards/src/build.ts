// `npm run dashboards`: write dashboards/<name>.json from the TypeScript sources.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DASHBOARDS, render } from './index.ts';

const dir = join(import.meta.dirname, '..');
for (const d of DASHBOARDS) {
  writeFileSync(join(dir, d.file), render(d));
  process.stdout.write(`wrote dashboards/${d.file}\n`);
}
