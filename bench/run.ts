// `npm run bench`: pins itself and the servers, then prints issue 9's tables (issuance, webhook,
// revocation) with their references measured in the same run. See docs/performance.md.

import os from 'node:os';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { pinSelf, CLK_TCK } from './lib/proc.ts';
import { runAll, type Plan } from './lib/suites.ts';

const plan: Plan = {
  runMs: 3000, warmupMs: 500, concurrencies: [1, 2, 16], csrConcurrency: 16, csrCount: 300, floorMs: 2000,
  fillMs: 60_000, webhookConcurrencies: [1, 16], revocations: 20, tryCfssl: true,
};

const log = (s: string) => process.stderr.write(`# ${s}\n`);
const cpuModel = /model name\s*:\s*(.+)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
const started = Date.now();
const pinning = pinSelf();
console.log(`machine: nproc ${nproc}, ${cpuModel}, node ${process.version}, CLK_TCK ${CLK_TCK}; ${pinning}`);
console.log(`each measured run: ${plan.runMs / 1000} s after ${plan.warmupMs} ms warm-up; server CPU = utime+stime from /proc/<pid>/stat\n`);
const report = await runAll(plan, log);
console.log(report.text);
console.log(`bench took ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (report.failures.length) {
  console.log(`FAILURES:\n${report.failures.map((f) => `  - ${f}`).join('\n')}`);
  process.exitCode = 1;
}
