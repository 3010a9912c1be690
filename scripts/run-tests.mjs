#!/usr/bin/env node
// Runs every *.test.ts under src/ and test/ with Node's test runner (Node 20 has no globbing in --test).
// Extra arguments are passed through, e.g. `npm test -- --test-name-pattern=revocation`.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
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
