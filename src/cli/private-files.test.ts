// Credential files are written through a temporary file that nobody can plant in advance: a symlink or a file
// under the name the old scheme used (`.<name>.<pid>.tmp`) receives nothing, and nothing is left beside the target.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { replacePrivateFile } from './private-files.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-private-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a symlink or a file planted where the temporary file would go receives nothing of the secret', () => {
  const elsewhere = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-elsewhere-'));
  try {
    const victim = path.join(elsewhere, 'readable-by-the-planter');
    fs.writeFileSync(victim, 'planted\n', { mode: 0o666 });
    const target = path.join(dir, 'kubeconfig');
    fs.symlinkSync(victim, path.join(dir, `.kubeconfig.${process.pid}.tmp`));
    const planted = path.join(dir, `.config.json.${process.pid}.tmp`);
    fs.writeFileSync(planted, 'planted\n', { mode: 0o666 });

    replacePrivateFile(target, 'client-key-data: SECRET\n');
    replacePrivateFile(path.join(dir, 'config.json'), '{"token":"SECRET"}\n');

    assert.equal(fs.readFileSync(victim, 'utf8'), 'planted\n', 'the symlink\'s target is untouched');
    assert.equal(fs.readFileSync(planted, 'utf8'), 'planted\n', 'the planted file is untouched');
    assert.equal(fs.readFileSync(target, 'utf8'), 'client-key-data: SECRET\n');
    assert.equal(fs.lstatSync(target).isFile(), true, 'the target is a file of its own, not the planted symlink');
    assert.equal(fs.statSync(target).mode & 0o777, 0o600);
    const left = fs.readdirSync(dir).sort();
    assert.deepEqual(left, [`.config.json.${process.pid}.tmp`, `.kubeconfig.${process.pid}.tmp`, 'config.json', 'kubeconfig'], 'no temporary file of ours is left');
  } finally {
    fs.rmSync(elsewhere, { recursive: true, force: true });
  }
});

test('a write that fails leaves no temporary file behind', () => {
  const target = path.join(dir, 'is-a-dir');
  fs.mkdirSync(target);
  assert.throws(() => replacePrivateFile(target, 'SECRET'), /EISDIR|EEXIST|ENOTEMPTY|EPERM/);
  assert.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.is-a-dir')), []);
});
