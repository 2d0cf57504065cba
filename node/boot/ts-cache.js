// A cache of type-stripped sources, preloaded with `node --import <this file> entry.ts`.
//
// Node strips the types of every .ts module at each start (its bundled swc, as wasm). That was
// ~0.45 s of a node process's ~1.2 s of import CPU: paid by every node, generator, worker thread
// and CLI call, 52 times at once when pt-cluster-52 comes up on 2 cores. Node's compile cache
// (NODE_COMPILE_CACHE) does not cover stripped sources in Node 22. This hook keeps each stripped
// module under the hash of its source, so a start whose sources did not change loads plain
// JavaScript and never loads the stripper.
//
// Plain JavaScript on purpose: a .ts hook would itself need the stripper.
//
// LEIOSNET_TS_CACHE: the cache directory (default node_modules/.cache/leiosnet-ts of this
// checkout), or `off`. An unwritable directory only costs the saving: the module is stripped in
// memory as Node would have.

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as mod from 'node:module';

/** Entries before the directory is emptied (each source version adds one; ~10 kB each). */
const MAX_ENTRIES = 5000;

const setting = process.env.LEIOSNET_TS_CACHE;
const dir = setting && setting !== 'off' ? setting : fileURLToPath(new URL('../../node_modules/.cache/leiosnet-ts/', import.meta.url));
const salt = `${process.version}\0strip\0`;

/** Strip types as Node would, without its one-time "experimental" warning on stderr. */
function strip(src) {
  const emit = process.emitWarning;
  process.emitWarning = (w, ...rest) => {
    if (String(rest[0] ?? '') === 'ExperimentalWarning' || String(w).includes('stripTypeScriptTypes')) return;
    emit.call(process, w, ...rest);
  };
  try {
    return mod.stripTypeScriptTypes(src, { mode: 'strip' });
  } finally {
    process.emitWarning = emit;
  }
}

function store(file, out) {
  try {
    fs.mkdirSync(dir, { recursive: true });
    if (fs.readdirSync(dir).length >= MAX_ENTRIES) for (const f of fs.readdirSync(dir)) fs.rmSync(`${dir}/${f}`, { force: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    fs.writeFileSync(tmp, out);
    fs.renameSync(tmp, file); // atomic: a concurrent start reads the old or the new file, never half
  } catch {
    /* read-only or full: this start still runs, uncached */
  }
}

/** The stripped JavaScript of a .ts source, from the cache or freshly stripped (and stored). */
export function strippedSource(src) {
  const key = createHash('sha256').update(salt).update(src).digest('hex').slice(0, 40);
  const file = `${dir}/${key}.js`;
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    const out = strip(src);
    store(file, out);
    return out;
  }
}

// registerHooks is Node ≥ 22.15 (stripTypeScriptTypes ≥ 22.13); older runs strip as before.
if (setting !== 'off' && typeof mod.registerHooks === 'function' && typeof mod.stripTypeScriptTypes === 'function') {
  mod.registerHooks({
    load(url, context, nextLoad) {
      // Only ES-module TypeScript (the project's, "type": "module"); anything else, and
      // node_modules (where Node refuses to strip), is Node's own business.
      if (context.format !== 'module-typescript' || !url.startsWith('file:') || url.includes('/node_modules/')) return nextLoad(url, context);
      const src = fs.readFileSync(fileURLToPath(url), 'utf8');
      return { format: 'module', source: strippedSource(src), shortCircuit: true };
    },
  });
}

// `node node/boot/ts-cache.js --warm DIR...` fills the cache with every .ts under DIRs (the
// image build does, so containers start warm even on a read-only root filesystem).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === '--warm') {
  let n = 0;
  for (const root of process.argv.slice(3)) {
    for (const f of fs.readdirSync(root, { recursive: true })) {
      const p = `${root}/${f}`;
      if (!p.endsWith('.ts') || p.endsWith('.d.ts') || p.includes('/node_modules/')) continue;
      try {
        strippedSource(fs.readFileSync(p, 'utf8'));
        n++;
      } catch {
        /* not strippable: Node reports it when (if ever) that module is loaded */
      }
    }
  }
  process.stdout.write(`ts-cache: ${n} sources in ${dir}\n`);
}
