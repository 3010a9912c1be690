// The bundled build (dist/kubecred.mjs, scripts/build-server.mjs) and the choice bin/kubecred.js makes:
// the bundle serves the API, /openapi.json and the console like the sources do, and a bundle older than any
// source file is never run (the sources are, through tsx), nor one when KUBECRED_FROM_SOURCE=1.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { rawRequest } from './support/http.ts';
import { ROOT, tempDir } from './support/server-process.ts';

const BUNDLE = path.join(ROOT, 'dist', 'kubecred.mjs');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };

before(() => {
  // `npm test` builds it first (scripts/run-tests.mjs); a lone run of this file builds it when missing.
  if (!fs.existsSync(BUNDLE)) execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-server.mjs'), '--quiet'], { cwd: ROOT, stdio: 'inherit' });
});

const run = (file: string, args: string[], env: NodeJS.ProcessEnv = {}) =>
  execFileSync(process.execPath, [file, ...args], { encoding: 'utf8', env: { ...process.env, KUBECRED_FROM_SOURCE: undefined, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });

test('the bundle answers --version and --help, and initializes a data directory', () => {
  assert.equal(run(BUNDLE, ['--version']).trim(), PKG.version);
  assert.match(run(BUNDLE, ['--help']), /Usage: kubecred/);
  const dir = tempDir('kubecred-bundle-');
  try {
    const out = run(BUNDLE, ['init', '--data-dir', dir, '--output', 'json']);
    assert.match(JSON.parse(out).rootToken, /^kc1\./);
    assert.ok(fs.existsSync(path.join(dir, 'kubecred.db')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the bundle serves the API, /openapi.json and the console', async () => {
  const dir = tempDir('kubecred-bundle-');
  const child = spawn(process.execPath, [BUNDLE, 'serve', '--data-dir', dir, '--port', '0'], {
    env: { ...process.env, KUBECRED_MASTER_KEY: undefined }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  child.stdout.resume();
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "serving on" in 30 s:\n${err}`)), 30_000);
      child.stderr.on('data', () => {
        const m = /serving on (\S+)/.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${err}`)));
    });
    const server = { url, caFile: path.join(dir, 'tls', 'server.crt') };
    assert.doesNotMatch(err, /root token:/, 'a log (stderr not a terminal) never holds the secrets');
    const token = /root token:\s+(\S+)/.exec(fs.readFileSync(path.join(dir, 'first-start-secrets.txt'), 'utf8'))![1]!;

    const openapi = await rawRequest(server, 'GET', '/openapi.json');
    assert.equal(openapi.status, 200);
    assert.equal(openapi.json.info.version, PKG.version, 'the version read from package.json by the bundle');
    assert.ok(Object.keys(openapi.json.paths).some((p) => p.startsWith('/v1/clusters')));

    const created = await rawRequest(server, 'POST', '/v1/principals', { token, body: JSON.stringify({ name: 'bundled' }) });
    assert.equal(created.status, 201, created.body);
    assert.equal((await rawRequest(server, 'GET', '/readyz')).status, 200);

    // The console's files are found from dist/ as from src/api/console/: web/dist of the package.
    const page = await rawRequest(server, 'GET', '/console/');
    if (fs.existsSync(path.join(ROOT, 'web', 'dist', 'index.html'))) {
      assert.equal(page.status, 200);
      assert.equal(page.body, fs.readFileSync(path.join(ROOT, 'web', 'dist', 'index.html'), 'utf8'));
    } else {
      assert.equal(page.status, 503);
    }
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// bin/kubecred.js in a package of its own: a stand-in bundle and stand-in sources that say which ran.
let pkg: string;
before(() => {
  pkg = tempDir('kubecred-bin-');
  fs.mkdirSync(path.join(pkg, 'bin'));
  fs.copyFileSync(path.join(ROOT, 'bin', 'kubecred.js'), path.join(pkg, 'bin', 'kubecred.js'));
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'kubecred', type: 'module' }));
  fs.mkdirSync(path.join(pkg, 'src', 'cli'), { recursive: true });
  fs.mkdirSync(path.join(pkg, 'src', 'core'));
  fs.writeFileSync(path.join(pkg, 'src', 'cli', 'main.ts'), "const from: string = 'source';\nconsole.log(from);\n");
  fs.writeFileSync(path.join(pkg, 'src', 'core', 'model.ts'), 'export const x = 1;\n');
  fs.writeFileSync(path.join(pkg, 'src', 'core', 'model.test.ts'), 'export {};\n');
  fs.mkdirSync(path.join(pkg, 'dist'));
  fs.writeFileSync(path.join(pkg, 'dist', 'kubecred.mjs'), "console.log('bundle');\n");
});
after(() => fs.rmSync(pkg, { recursive: true, force: true }));

const T = Date.now() / 1000;
/** Everything in the stand-in package an hour old, the bundle built (its mtime set) at `bundleAt`. */
function settle(bundleAt = T - 1800) {
  const walk = (p: string) => {
    if (fs.lstatSync(p).isSymbolicLink()) return;
    if (fs.statSync(p).isDirectory()) for (const e of fs.readdirSync(p)) walk(path.join(p, e));
    fs.utimesSync(p, T - 3600, T - 3600);
  };
  walk(pkg);
  fs.utimesSync(path.join(pkg, 'dist', 'kubecred.mjs'), bundleAt, bundleAt);
}
const which = (env: NodeJS.ProcessEnv = {}) => run(path.join(pkg, 'bin', 'kubecred.js'), [], env).trim();

test('bin/kubecred.js runs the bundle only while nothing it was built from is newer', () => {
  settle();
  assert.equal(which(), 'bundle');
  assert.equal(which({ KUBECRED_FROM_SOURCE: '1' }), 'source', 'the escape hatch');

  const model = path.join(pkg, 'src', 'core', 'model.ts');
  fs.utimesSync(model, T - 1800, T - 1800);
  assert.equal(which(), 'source', 'a source file edited in the same instant the build started: the bundle may lack the edit');
  fs.utimesSync(model, T - 60, T - 60);
  assert.equal(which(), 'source', 'a source file edited after the build');

  settle();
  fs.writeFileSync(path.join(pkg, 'src', 'core', 'added.ts'), 'export const y = 2;\n');
  fs.utimesSync(path.join(pkg, 'src', 'core', 'added.ts'), T - 3600, T - 3600);
  assert.equal(which(), 'source', 'a file added (its directory changed)');

  settle();
  fs.rmSync(path.join(pkg, 'src', 'core', 'added.ts'));
  assert.equal(which(), 'source', 'a file removed');

  settle();
  fs.utimesSync(path.join(pkg, 'package.json'), T - 60, T - 60);
  assert.equal(which(), 'source', 'package.json changed');

  settle();
  fs.utimesSync(path.join(pkg, 'src', 'core', 'model.test.ts'), T - 60, T - 60);
  assert.equal(which(), 'bundle', 'a test file is never part of the bundle');

  settle();
  fs.rmSync(path.join(pkg, 'dist', 'kubecred.mjs'));
  assert.equal(which(), 'source', 'no bundle');
  fs.writeFileSync(path.join(pkg, 'dist', 'kubecred.mjs'), "console.log('bundle');\n");
  settle();
  assert.equal(which(), 'bundle');
});

test('the build stamps the bundle with its start, so an edit made while it builds is never hidden', () => {
  // scripts/build-server.mjs sets the bundle's mtime to when the build started; a source saved during the
  // build is then newer than the bundle. Checked on the real bundle: its mtime is not later than its map's.
  const bundle = fs.statSync(BUNDLE).mtimeMs;
  const map = fs.statSync(`${BUNDLE}.map`).mtimeMs;
  assert.ok(bundle <= map, `bundle ${bundle} vs map ${map}`);
});

test('the bundle\'s keepNames helper skips renaming a function that already has the name (no dictionary-mode Map per request)', () => {
  const dist = path.join(ROOT, 'dist');
  const files = [path.join(dist, 'kubecred.mjs'), ...fs.readdirSync(path.join(dist, 'chunks')).filter((f) => f.endsWith('.mjs')).map((f) => path.join(dist, 'chunks', f))];
  const withHelper = files.filter((f) => fs.readFileSync(f, 'utf8').includes('var __name=(target,value)=>'));
  assert.equal(withHelper.length, 1, 'one file defines esbuild\'s __name');
  const text = fs.readFileSync(withHelper[0]!, 'utf8');
  const guard = text.lastIndexOf(';__name=(target,value)=>target.name===value?target:');
  assert.ok(guard > text.indexOf('var __name='), 'the guarded helper replaces it after the file\'s own code');
  // And it behaves: same name, same function untouched; another name, renamed as before.
  const __defProp = Object.defineProperty;
  const guarded = new Function('__defProp', `let __name; ${text.slice(guard + 1).split('\n')[0]} return __name;`)(__defProp) as (f: object, n: string) => { name: string };
  function onData() {}
  const before = Object.getOwnPropertyDescriptor(onData, 'name');
  assert.equal(guarded(onData, 'onData'), onData);
  assert.deepEqual(Object.getOwnPropertyDescriptor(onData, 'name'), before);
  assert.equal(guarded(() => 0, 'onEnd').name, 'onEnd');
});
