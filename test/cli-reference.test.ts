// docs/cli.md is every command's --help, generated from the program: it must match what the program says now.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { cliReference } from '../scripts/cli-reference.ts';
import { ROOT } from './support/server-process.ts';

test('docs/cli.md is up to date with the commands (regenerate: node --import tsx scripts/cli-reference.ts)', () => {
  const page = fs.readFileSync(path.join(ROOT, 'docs', 'cli.md'), 'utf8');
  const now = cliReference();
  assert.ok(page === now, 'docs/cli.md differs from the commands\' help: run node --import tsx scripts/cli-reference.ts and commit docs/cli.md');
  // Every command has its section, the nested ones included.
  for (const cmd of ['serve', 'cluster kube-config', 'validity set', 'master-key rotate', 'kubeconfig get']) assert.match(page, new RegExp(`^## kubecred ${cmd}$`, 'm'));
  assert.match(page, /--max-connections-per-address/);
});
