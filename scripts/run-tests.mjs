#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with Node's test runner (Node 20 has no globbing in --test).
// Extra arguments are passed through, e.g. `npm test -- --test-name-pattern=revocation`.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { buildServer } from './build-server.mjs';

const root = path.resolve(import.meta.dirname, '..');

// Tools some tests need from the system, brought where the test command can (root with apt);
// without them those tests say they skipped, and why.
// - faketime: one test runs a server whose clock is a day behind (an expired temporary kubeconfig).
// - chromium: the web console's end-to-end tests drive Debian's Chromium through playwright-core.
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const CHROMIUM = process.env.KUBECRED_TEST_CHROMIUM || '/usr/bin/chromium';
const wanted = [
  !fs.existsSync(LIBFAKETIME) && { why: 'the expired-certificate test', install: 'timeout 90 apt-get install -y -qq faketime' },
  !fs.existsSync(CHROMIUM) && { why: 'the web console browser tests', install: 'DEBIAN_FRONTEND=noninteractive timeout 360 apt-get install -y -qq --no-install-recommends chromium fonts-liberation' },
].filter(Boolean);
if (wanted.length && process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) {
  const updated = spawnSync('sh', ['-c', 'timeout 120 apt-get update -qq'], { stdio: 'ignore' }).status === 0;
  for (const w of wanted) {
    process.stdout.write(`installing what ${w.why} need (apt-get)...\n`);
    const r = updated ? spawnSync('sh', ['-c', w.install], { stdio: 'ignore' }) : { status: 1 };
    if (r.status !== 0) process.stdout.write(`could not install it; ${w.why} will be skipped\n`);
  }
}
// npm ci builds the console (the prepare script); build it here too if it is missing or older than its sources
// (a pull or a merge since), once, before the tests: the browser tests would drive yesterday's console.
const newest = (dir) => fs.readdirSync(dir, { withFileTypes: true, recursive: true })
  .filter((e) => e.isFile()).reduce((t, e) => Math.max(t, fs.statSync(path.join(e.parentPath ?? e.path, e.name)).mtimeMs), 0);
const consoleBuilt = path.join(root, 'web', 'dist', 'index.html');
if (!fs.existsSync(consoleBuilt) || fs.statSync(consoleBuilt).mtimeMs < Math.max(newest(path.join(root, 'web', 'src')), fs.statSync(path.join(root, 'web', 'index.html')).mtimeMs)) {
  process.stdout.write('building the web console (vite)...\n');
  spawnSync(process.execPath, [path.join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'web', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
}
// The tests run kubecred as it ships: bin/kubecred.js runs dist/kubecred.mjs while it is newer than src/,
// so the bundle is rebuilt from the sources here, every time (a second or so), before any test starts.
process.stdout.write('building the server bundle (esbuild)...\n');
try {
  await buildServer({ quiet: true });
} catch (e) {
  process.stderr.write(`could not build dist/kubecred.mjs: ${e?.message ?? e}\n`);
  process.exit(1);
}
const found = [];
const walk = (dir) => {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules') walk(p);
    else if (e.isFile() && e.name.endsWith('.test.ts')) found.push(path.relative(root, p));
  }
};
for (const d of ['src', 'test']) walk(path.join(root, d));
found.sort();
const args = process.argv.slice(2);
// Node's runner reports a test file as one passing entry named by its path when the file reported no tests
// of its own: it defined none, or its process ended before running them (a crash in a before() hook outside
// any test can end it with status 0). Either way its tests did not run, so that is a failure here.
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...args, ...found], { cwd: root, stdio: ['inherit', 'pipe', 'inherit'] });
const silent = [];
let pending = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  const lines = (pending + chunk.toString('utf8')).split('\n');
  pending = lines.pop();
  for (const line of lines) {
    const m = /^ok \d+ - (\S+\.test\.ts)$/.exec(line);
    if (m && path.isAbsolute(m[1])) silent.push(path.relative(root, m[1]));
  }
});
const status = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
if (silent.length) {
  process.stdout.write(`\n${silent.length} test file(s) ran no tests (they crashed before their tests, or define none): ${silent.join(', ')}\n`);
  process.exit(1);
}
process.exit(status);
