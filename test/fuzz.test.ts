// A short, seeded run of every `npm run fuzz` target (docs/fuzzing.md): the same inputs every time, and any
// finding (crash, hang, 5xx, wrong error shape, untyped error, leak, missing 413) fails the target's test.
// Time per input is recorded but not judged here: shared machines are too noisy; the fuzz script's table is for that.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, tempDir } from './support/server-process.ts';

interface Result { target: string; inputs: number; findings: { kind: string; message: string; count: number; reproducer: string }[] }

const SEED = 20240601;
// Inputs per target, by how fast each target is: a few seconds each on a shared 2-core machine.
const RUNS: { targets: string[]; count: number }[] = [
  { targets: ['pem', 'der', 'csr', 'aliyun-auth', 'huawei-auth', 'tokens'], count: 3000 },
  { targets: ['ca-import'], count: 500 },
  { targets: ['http-native', 'http-kube', 'http-aliyun', 'http-huawei'], count: 700 },
];

const results = new Map<string, Result>();

function fuzz(targets: string[], count: number): Promise<void> {
  const out = path.join(tempDir('kubecred-fuzz-test-'), 'results.json');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'fuzz', 'run.ts'), '--target', targets.join(','),
    '--count', String(count), '--seed', String(SEED), '--no-timing', '--one-process', '--json', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      if (!fs.existsSync(out)) return reject(new Error(`npm run fuzz wrote no results (exit ${code}):\n${log.slice(-4000)}`));
      for (const r of (JSON.parse(fs.readFileSync(out, 'utf8')) as { results: Result[] }).results) results.set(r.target, r);
      fs.rmSync(path.dirname(out), { recursive: true, force: true });
      resolve();
    });
  });
}

before(async () => {
  for (const run of RUNS) await fuzz(run.targets, run.count);
});

for (const run of RUNS) {
  for (const target of run.targets) {
    test(`fuzz ${target}: ${run.count} seeded inputs, no finding`, () => {
      const r = results.get(target);
      assert.ok(r, `no result for ${target}`);
      const findings = r.findings.map((f) => `${f.kind} (x${f.count}): ${f.message}\n  replay: npm run fuzz -- --target ${target} --replay ${f.reproducer.length > 2000 ? `${f.reproducer.slice(0, 2000)}...(truncated)` : f.reproducer}`);
      assert.deepEqual(findings, [], findings.join('\n'));
      // A crash would have cut the run short (and been a finding); every input ran.
      assert.equal(r.inputs, run.count);
    });
  }
}
