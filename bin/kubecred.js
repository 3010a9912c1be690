#!/usr/bin/env node
// Entry point for `kubecred` and `npx kubecred`. Runs the bundled build (dist/kubecred.mjs, made by
// `npm run build:server`, which `npm ci` and `npm test` run) when it is at least as new as every file and
// directory under src/ and the build's inputs below; otherwise, or with KUBECRED_FROM_SOURCE=1, it loads the
// TypeScript sources through tsx. A stale bundle never runs: edit a source file and the next start is from source.
import fs from 'node:fs';
import path from 'node:path';

// import.meta.dirname (here and in the sources) and the test runner's options need Node 20.11 or newer.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 11)) {
  process.stderr.write(`kubecred needs Node.js 20.11 or newer; this is ${process.version}. Install a newer Node.js (https://nodejs.org) and run it again.\n`);
  process.exit(1);
}

const root = path.resolve(import.meta.dirname, '..');
const bundle = path.join(root, 'dist', 'kubecred.mjs');

/** True when the bundle exists and nothing it was built from changed after its build started. */
function bundleIsFresh() {
  let built;
  try {
    built = fs.statSync(bundle).mtimeMs;
  } catch {
    return false;
  }
  // A file created, edited, renamed or deleted changes its own or its directory's mtime: both are compared.
  const newer = (p) => {
    try {
      return fs.statSync(p).mtimeMs >= built;
    } catch {
      return false; // not there: nothing it could have changed
    }
  };
  for (const f of ['package.json', 'package-lock.json', 'tsconfig.json', 'scripts/build-server.mjs']) {
    if (newer(path.join(root, f))) return false;
  }
  const walk = (dir) => {
    let entries;
    try {
      if (fs.statSync(dir).mtimeMs >= built) return true;
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return false; // no src/ (a published package without sources): the bundle is all there is
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      // Tests are never part of the bundle; a test file added or removed still changes its directory's mtime.
      if (e.isDirectory() ? walk(p) : !e.name.endsWith('.test.ts') && newer(p)) return true;
    }
    return false;
  };
  return !walk(path.join(root, 'src'));
}

if (process.env.KUBECRED_FROM_SOURCE !== '1' && bundleIsFresh()) {
  await import('../dist/kubecred.mjs');
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
