#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with Node's test runner (Node 20 has no globbing in --test).
// Extra arguments are passed through, e.g. `npm test -- --test-name-pattern=revocation`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

// One test runs a server whose clock is a day behind through libfaketime (an expired temporary
// kubeconfig). The test command brings it where it can (root with apt); otherwise that test says it skipped.
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
if (!fs.existsSync(LIBFAKETIME) && process.getuid?.() === 0 && spawnSync('sh', ['-c', 'command -v apt-get']).status === 0) {
  process.stdout.write('installing faketime for the expired-certificate test (apt-get)...\n');
  const r = spawnSync('sh', ['-c', 'timeout 90 apt-get update -qq && timeout 90 apt-get install -y -qq faketime'], { stdio: 'ignore' });
  if (r.status !== 0) process.stdout.write('could not install faketime; that test will be skipped\n');
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
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...args, ...found], { cwd: root, stdio: 'inherit' });
process.exit(r.status ?? 1);
