// The audit page's Action filter suggests every action core writes to the trail: the names written in the sources
// (audit records and failure records) are read here and each must be among the console's suggestions.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ACTION_SUGGESTIONS } from '../web/src/audit-actions.ts';
import { Actions } from '../src/core/actions.ts';
import { ROOT } from './support/server-process.ts';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && e.name !== 'test-kit.ts' ? [p] : [];
  });
}

test('every action the server writes to the audit trail is suggested by the console, and every permission refusals name', () => {
  const written = new Set<string>();
  for (const file of sources(path.join(ROOT, 'src'))) {
    const text = fs.readFileSync(file, 'utf8');
    // `action: 'X'` in an audit record, and the failure records' `recordFailure(actor, 'X', ...)`.
    for (const m of text.matchAll(/\baction: '([A-Za-z:]+)'/g)) written.add(m[1]);
    for (const m of text.matchAll(/recordFailure\(\w+, '([A-Za-z]+)'/g)) written.add(m[1]);
  }
  assert.ok(written.size >= 25, `found ${written.size}: the scan still finds the records`);
  for (const a of ['UpdatePolicy', 'DeletePolicy', 'RemoveProject', 'ConsoleSignIn']) assert.ok(written.has(a), a);
  const missing = [...written].filter((a) => !ACTION_SUGGESTIONS.includes(a));
  assert.deepEqual(missing, [], 'add them to AUDITED_ACTIONS in src/core/audit-actions.ts');
  const permissions = Object.values(Actions).map((a) => a.name).filter((n) => !ACTION_SUGGESTIONS.includes(n));
  assert.deepEqual(permissions, []);
});
