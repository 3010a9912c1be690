// Counts the system calls and server CPU one issuance costs: starts `kubecred serve`, warms it up, then runs
// closed-loop issuance at the given concurrency with `strace -f -c` attached to the server. Not part of the tests.
// Syscall counts do not move with the machine's noise, so they measure a storage change where CPU time cannot.
//   node --import tsx bench/syscalls.ts [concurrency] [seconds]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { runLoad } from './lib/load.ts';
import { pinSelf } from './lib/proc.ts';
import { issueCall, setup, TEMPORARY } from './lib/suites.ts';

const [concText = '1', secondsText = '3'] = process.argv.slice(2);
const concurrency = Number(concText);
const log = (s: string) => process.stderr.write(`# ${s}\n`);
log(pinSelf());
const env = await setup(log);
const call = () => issueCall(env, TEMPORARY);
await runLoad({ target: env.target, concurrency, durationMs: 1500, call });
const plain = await runLoad({ target: env.target, pid: env.kc.pid, concurrency, durationMs: Number(secondsText) * 1000, call });
const out = `/tmp/kubecred-strace-${process.pid}.txt`;
const strace = spawn('strace', ['-f', '-c', '-o', out, '-p', String(env.kc.pid)], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));
const traced = await runLoad({ target: env.target, concurrency, durationMs: Number(secondsText) * 1000, call });
strace.kill('SIGINT');
await new Promise((r) => strace.on('exit', r));
await env.kc.stop();
const n = traced.requests;
console.log(`c=${concurrency}: untraced ${plain.requests} requests, ${plain.rps.toFixed(0)} req/s, server CPU ${plain.cpuPerReqUs.toFixed(0)} µs/req, p50 ${(plain.p50us / 1000).toFixed(2)} ms, p99 ${(plain.p99us / 1000).toFixed(2)} ms`);
console.log(`traced ${n} requests; system calls per issuance:`);
for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
  const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)$/.exec(line);
  if (m && Number(m[1]) / n >= 0.05) console.log(`  ${m[2]!.padEnd(16)} ${(Number(m[1]) / n).toFixed(2)}`);
}
fs.rmSync(out, { force: true });
fs.rmSync(env.kc.dataDir, { recursive: true, force: true });
