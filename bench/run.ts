// `npm run bench`: pins itself and the servers, then prints issue 9's tables (issuance beside cfssl and
// the crypto floor; webhook beside a bare route; scale and revocation on a million credentials) and a
// summary against the targets. See docs/performance.md. Flags:
//   --credentials N     size of the scale store (default 1,000,000)
//   --scale-dir DIR     load the scale store into DIR and keep it, or reuse the one a previous run left there
//   --skip-scale        Table 1 only

import os from 'node:os';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { runBench } from './lib/bench.ts';
import { CLK_TCK, pinSelf } from './lib/proc.ts';
import type { Plan } from './lib/suites.ts';
import { fmt } from './lib/table.ts';

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const credentials = Number(opt('--credentials') ?? 1_000_000);

const fullPlan: Plan = {
  runMs: 4000, warmupMs: 2000, concurrencies: [1, 2, 16], csrConcurrencies: [1, 16], csrCount: 300, floorMs: 2000, tryCfssl: true,
  credentials, principals: Math.max(100, Math.round(credentials / 100)), clusters: 10,
  webhookConcurrencies: [1, 16], inventoryRequests: 2000, revocations: 20,
};

const log = (s: string) => process.stderr.write(`# ${s}\n`);
const cpuModel = /model name\s*:\s*(.+)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? os.cpus()[0]?.model ?? 'unknown';
const nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
const started = Date.now();
const pinning = pinSelf();
const load = () => fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`machine: nproc ${nproc}, ${cpuModel}, node ${process.version}, CLK_TCK ${CLK_TCK}; ${pinning}; load average at start ${load()}`);
console.log(`each measured run: ${fullPlan.runMs / 1000} s after ${fullPlan.warmupMs / 1000} s warm-up; server CPU = utime+stime of all its threads from /proc/<pid>/stat\n`);

const { summary, failures } = await runBench(fullPlan, {
  scaleDir: opt('--scale-dir') ?? null, skipScale: args.includes('--skip-scale'), startupRounds: 3, log, print: (s) => console.log(s),
});
console.log(summary);
console.log(`load average at the end ${load()}; bench took ${fmt((Date.now() - started) / 1000)} s`);
if (failures.length) {
  console.log(`FAILURES:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
  process.exitCode = 1;
}
