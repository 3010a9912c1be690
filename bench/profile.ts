// Profiles one kubecred workload: starts `kubecred serve` under `node --cpu-prof`, drives it, stops it,
// and prints where the server's CPU went (self and inclusive time, per request). Not part of the tests.
//   node --import tsx bench/profile.ts [temporary|csr|webhook] [concurrency] [seconds] [--log-level info]

import fs from 'node:fs';
import path from 'node:path';
import { render, summarize } from './lib/cpuprofile.ts';
import { runLoad } from './lib/load.ts';
import { pinSelf, tempDir } from './lib/proc.ts';
import { makeCsrs, setup } from './lib/suites.ts';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const logLevel = flag('--log-level');
const [scenario = 'temporary', concText = '1', secondsText = '5'] = args;
const concurrency = Number(concText);
const seconds = Number(secondsText);
const log = (s: string) => process.stderr.write(`# ${s}\n`);
log(pinSelf());

const profDir = tempDir('kubecred-prof-');
const env = await setup(log, { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profDir}`], serveArgs: logLevel ? ['--log-level', logLevel] : [] });
const auth = { authorization: `Bearer ${env.kc.rootToken}` };
const issue = (body: string) => ({ method: 'POST', path: `/v1/clusters/${env.clusterId}/kubeconfig`, headers: auth, body });
let call: (i: number) => { method: string; path: string; headers?: Record<string, string>; body?: string };
if (scenario === 'csr') {
  const csrs = (await makeCsrs(64)).map((csr) => JSON.stringify({ csr }));
  call = (i) => issue(csrs[i % csrs.length]!);
} else if (scenario === 'webhook') {
  const fps: string[] = [];
  await runLoad({ target: env.target, concurrency: 4, durationMs: 2000, call: () => issue('{"temporaryMinutes":15}'), check: (r) => void fps.push(JSON.parse(r.body).credential.fingerprintSha256) });
  const bodies = fps.map((fp) => JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: env.kc.rootPrincipalId, groups: ['dev'], extra: { 'authentication.kubernetes.io/credential-id': [`X509SHA256=${fp}`] }, resourceAttributes: { verb: 'get', resource: 'pods' } } }));
  call = (i) => ({ method: 'POST', path: `/kube/clusters/${env.clusterId}/authorize`, headers: { authorization: `Bearer ${env.webhookToken}` }, body: bodies[i % bodies.length] });
} else {
  call = () => issue('{"temporaryMinutes":15}');
}
await runLoad({ target: env.target, concurrency, durationMs: 500, call });
const fromUs = Number(process.hrtime.bigint() / 1000n);
const r = await runLoad({ target: env.target, pid: env.kc.pid, concurrency, durationMs: seconds * 1000, call });
const toUs = Number(process.hrtime.bigint() / 1000n);
await env.kc.stop();
const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
console.log(`${scenario} c=${concurrency}: ${r.requests} requests, ${r.rps.toFixed(0)} req/s, server CPU ${r.cpuPerReqUs.toFixed(0)} µs/req, p50 ${(r.p50us / 1000).toFixed(2)} ms, p99 ${(r.p99us / 1000).toFixed(2)} ms, errors ${r.errors} ${r.firstError ?? ''}`);
if (!file) throw new Error(`no profile written in ${profDir}`);
// Only the samples of the measured run (both processes read the same CLOCK_MONOTONIC).
console.log(render(summarize(path.join(profDir, file), Number(process.env.PROF_TOP ?? 30), { fromUs, toUs }), r.requests));
console.log(`profile: ${path.join(profDir, file)}`);
fs.rmSync(env.kc.dataDir, { recursive: true, force: true });
