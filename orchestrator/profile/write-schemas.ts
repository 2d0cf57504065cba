// `npm run schemas`: regenerate the published JSON Schemas and the node's compiled validators
// from their TypeBox sources.
// `--check` writes nothing and exits 1 if a committed file is out of date.
import { readFileSync, writeFileSync } from 'node:fs';
import { schemaFiles } from './json-schema.ts';
import { validatorFiles } from './standalone-validators.ts';

const check = process.argv.includes('--check');
let stale = 0;
for (const f of [...schemaFiles(), ...validatorFiles()]) {
  let current: string | undefined;
  try {
    current = readFileSync(f.absolute, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === f.text) continue;
  if (check) {
    console.error(`${f.path} is out of date: run npm run schemas`);
    stale++;
  } else {
    writeFileSync(f.absolute, f.text);
    console.log(`wrote ${f.path}`);
  }
}
process.exitCode = stale > 0 ? 1 : 0;
