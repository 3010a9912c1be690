// The bench's tables: issuance (kubecred vs cfssl vs the in-process floor), webhook decisions (vs a
// bare Fastify route), revocation to denial. run.ts and smoke.ts call these with different sizes.

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { createClientCa } from '../../src/pki/ca.ts';
import { issueClientCertificate, loadCa } from '../../src/pki/client-cert.ts';
import { generateKeyPair } from '../../src/pki/keys.ts';
import { ensureCfssl, NEWCERT_BODY, startCfssl } from './cfssl.ts';
import { makeAgent, percentile, runLoad, send, type LoadResult, type Reply, type Target } from './load.ts';
import { BIN, spawnPinned, startKubecred, tempDir, waitFor, wrap, rssMb, type Kubecred } from './proc.ts';
import { fmt, ms, table, type Cell } from './table.ts';

export interface Plan {
  runMs: number;
  warmupMs: number;
  concurrencies: number[];
  csrConcurrency: number;
  csrCount: number;
  floorMs: number;
  fillMs: number;
  webhookConcurrencies: number[];
  revocations: number;
  tryCfssl: boolean;
}

export interface Env {
  kc: Kubecred;
  target: Target;
  clusterId: string;
  webhookToken: string;
  fingerprints: string[];
  log: (s: string) => void;
}

const json = (r: Reply) => JSON.parse(r.body);

function bad(what: string, r: LoadResult): string | null {
  if (r.requests === 0) return `${what}: no successful request (${r.firstError ?? 'no error recorded'})`;
  if (r.errors > 0) return `${what}: ${r.errors} errors, first: ${r.firstError}`;
  return null;
}

export async function setup(log: (s: string) => void): Promise<Env> {
  const kc = await startKubecred();
  const target: Target = { url: kc.url, ca: kc.caPem };
  const agent = makeAgent(target, 1);
  const auth = { authorization: `Bearer ${kc.rootToken}` };
  try {
    const c = await send(target, agent, { method: 'POST', path: '/v1/clusters', headers: auth, body: JSON.stringify({ name: 'bench', publicEndpoint: 'https://192.0.2.10:6443' }) });
    if (c.status !== 201) throw new Error(`cluster create: HTTP ${c.status} ${c.body}`);
    const clusterId = json(c).id as string;
    const out = path.join(tempDir('kubecred-bench-kube-'), 'kube-config');
    execFileSync(process.execPath, [BIN, 'cluster', 'kube-config', 'bench', '--out', out], {
      env: { ...process.env, KUBECRED_SERVER: kc.url, KUBECRED_CA_FILE: path.join(kc.dataDir, 'tls', 'server.crt'), KUBECRED_TOKEN: kc.rootToken, KUBECRED_CONFIG: '/nonexistent/kubecred-config.json' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const webhookToken = YAML.parse(fs.readFileSync(path.join(out, 'authz-webhook.kubeconfig'), 'utf8')).users[0].user.token as string;
    log(`kubecred ${kc.url} (pid ${kc.pid}, started in ${fmt(kc.startMs)} ms), cluster ${clusterId}`);
    return { kc, target, clusterId, webhookToken, fingerprints: [], log };
  } finally {
    agent.destroy();
  }
}

const issueCall = (env: Env, body: string) => ({
  method: 'POST', path: `/v1/clusters/${env.clusterId}/kubeconfig`, headers: { authorization: `Bearer ${env.kc.rootToken}` }, body,
});

function issueCheck(env: Env, withKey: boolean) {
  return (r: Reply) => {
    const b = json(r);
    if (typeof b.kubeconfig !== 'string' || !b.credential?.fingerprintSha256) throw new Error(`unexpected issuance answer: ${r.body.slice(0, 200)}`);
    if (withKey !== b.kubeconfig.includes('client-key-data')) throw new Error('client-key-data presence is wrong');
    env.fingerprints.push(b.credential.fingerprintSha256);
  };
}

const TEMPORARY = JSON.stringify({ temporaryMinutes: 15 });

export async function makeCsrs(n: number): Promise<string[]> {
  const one = () => new Promise<string>((resolve, reject) => {
    execFile('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=bench-csr'],
      { encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
  });
  const out: string[] = [];
  for (let i = 0; i < n; i += 8) out.push(...await Promise.all(Array.from({ length: Math.min(8, n - i) }, one)));
  return out;
}

/** keygen + sign only, in this process: µs of CPU per certificate. */
export async function floor(runMs: number): Promise<{ certs: number; keygenUs: number; signUs: number; totalCpuUs: number; wallUs: number }> {
  const now = new Date();
  const ca = loadCa(await createClientCa({ commonName: 'bench floor CA', algorithm: 'ec-p256', notBefore: now, notAfter: new Date(now.getTime() + 86400e3) }));
  const notAfter = new Date(now.getTime() + 15 * 60e3);
  let keygen = 0n;
  let sign = 0n;
  let certs = 0;
  for (let i = 0; i < 200; i++) issueClientCertificate({ ca, publicKeyDer: generateKeyPair('ec-p256').publicKeyDer, commonName: 'u', organizations: ['dev'], notBefore: now, notAfter });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(runMs) * 1_000_000n;
  while (process.hrtime.bigint() < end) {
    const a = process.hrtime.bigint();
    const pair = generateKeyPair('ec-p256');
    const b = process.hrtime.bigint();
    issueClientCertificate({ ca, publicKeyDer: pair.publicKeyDer, commonName: 'bench-user', organizations: ['dev'], notBefore: now, notAfter });
    sign += process.hrtime.bigint() - b;
    keygen += b - a;
    certs++;
  }
  const wall = Number(process.hrtime.bigint() - t0) / 1e3;
  const cpu = process.cpuUsage(cpu0);
  return { certs, keygenUs: Number(keygen) / 1e3 / certs, signUs: Number(sign) / 1e3 / certs, totalCpuUs: (cpu.user + cpu.system) / certs, wallUs: wall / certs };
}

const HEAD = ['row', 'conc', 'requests', 'req/s', 'server CPU µs/req', 'server CPU %', 'p50 ms', 'p99 ms', 'gen CPU %'];
const row = (label: string, conc: Cell, r: LoadResult): Cell[] => [
  label, conc, r.requests, fmt(r.rps), fmt(r.cpuPerReqUs), fmt((r.cpuPerReqUs * r.rps) / 1e4), ms(r.p50us), ms(r.p99us), fmt(r.genCpuPct),
];

export async function issuanceTable(env: Env, plan: Plan, failures: string[]): Promise<string> {
  const rows: Cell[][] = [];
  const notes: string[] = [];
  const compare: Cell[][] = [];
  let cfsslWhy: string | null = plan.tryCfssl ? await ensureCfssl(env.log) : 'cfssl skipped (not requested)';
  const tlsDir = path.join(env.kc.dataDir, 'tls');
  let cfssl: Awaited<ReturnType<typeof startCfssl>> | null = null;
  if (!cfsslWhy) {
    try {
      cfssl = await startCfssl({ certFile: path.join(tlsDir, 'server.crt'), keyFile: path.join(tlsDir, 'server.key'), caPem: env.kc.caPem });
      const v = execFileSync('cfssl', ['version'], { encoding: 'utf8' }).split('\n')[0];
      notes.push(`cfssl: ${v}; \`cfssl serve\` over TLS (same certificate as kubecred), EC P-256 CA from gencert -initca, profile "client" (digital signature, client auth, 15m)`);
    } catch (e) {
      cfsslWhy = `cfssl unavailable: ${(e as Error).message.split('\n')[0]}`;
    }
  }
  if (cfsslWhy) {
    env.log(cfsslWhy);
    notes.push(cfsslWhy);
  }
  try {
    for (const c of plan.concurrencies) {
      env.log(`issuance: temporary kubeconfig, concurrency ${c}`);
      const k = await runLoad({ target: env.target, pid: env.kc.pid, concurrency: c, durationMs: plan.runMs, warmupMs: plan.warmupMs, call: () => issueCall(env, TEMPORARY), check: issueCheck(env, true) });
      rows.push(row('kubecred temporary kubeconfig', c, k));
      const e = bad(`kubecred temporary c=${c}`, k);
      if (e) failures.push(e);
      if (cfssl) {
        env.log(`issuance: cfssl newcert, concurrency ${c}`);
        const f = await runLoad({
          target: cfssl.target, pid: cfssl.pid, concurrency: c, durationMs: plan.runMs, warmupMs: plan.warmupMs,
          call: () => ({ method: 'POST', path: '/api/v1/cfssl/newcert', body: NEWCERT_BODY }),
          check: (r) => { if (!json(r).success) throw new Error(`cfssl: ${r.body.slice(0, 200)}`); },
        });
        rows.push(row('cfssl newcert (reference)', c, f));
        const e2 = bad(`cfssl c=${c}`, f);
        if (e2) failures.push(e2);
        compare.push([`concurrency ${c}`, fmt(k.cpuPerReqUs / f.cpuPerReqUs, 2), '<= 0.33', fmt(k.rps / f.rps, 2), '>= 1.5']);
      }
    }
    env.log(`issuance: generating ${plan.csrCount} CSRs with openssl`);
    const csrs = await makeCsrs(plan.csrCount);
    const bodies = csrs.map((csr) => JSON.stringify({ csr }));
    env.log(`issuance: CSR-based, concurrency ${plan.csrConcurrency}`);
    const k = await runLoad({ target: env.target, pid: env.kc.pid, concurrency: plan.csrConcurrency, durationMs: plan.runMs, warmupMs: plan.warmupMs, call: (i) => issueCall(env, bodies[i % bodies.length]!), check: issueCheck(env, false) });
    rows.push(row(`kubecred CSR (${csrs.length} CSRs cycled)`, plan.csrConcurrency, k));
    const e = bad('kubecred CSR', k);
    if (e) failures.push(e);
  } finally {
    await cfssl?.stop();
  }
  env.log('issuance: in-process floor');
  const f = await floor(plan.floorMs);
  if (f.certs === 0) failures.push('floor: no certificate');
  rows.push(['in-process floor (keygen + sign, 1 thread)', 1, f.certs, fmt(1e6 / f.wallUs), fmt(f.totalCpuUs), '-', ms(f.wallUs), '-', '-']);
  notes.push(`floor split: generateKeyPair ${fmt(f.keygenUs, 1)} µs + issueClientCertificate ${fmt(f.signUs, 1)} µs per cert (wall); its "server CPU" is this process's CPU per cert`);
  notes.push('kubecred runs with its default log level (info); every kubecred row includes TLS, auth, policy, SQLite insert + audit, YAML');
  let out = table('Table 1. Issuance over HTTPS (EC P-256)', HEAD, rows, notes);
  if (compare.length) out += '\n' + table('Table 1b. kubecred vs cfssl, same run (issue 9 targets)', ['', 'CPU ratio', 'target', 'req/s ratio', 'target'], compare);
  return out;
}

export async function fill(env: Env, plan: Plan): Promise<LoadResult> {
  env.log(`filling the store with temporary kubeconfigs for ${plan.fillMs / 1000} s`);
  return runLoad({ target: env.target, concurrency: 16, durationMs: plan.fillMs, call: () => issueCall(env, TEMPORARY), check: issueCheck(env, true) });
}

const sar = (user: string, fp: string) => JSON.stringify({
  apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
  spec: {
    user, groups: ['dev', 'system:authenticated'], extra: { 'authentication.kubernetes.io/credential-id': [`X509SHA256=${fp}`] },
    resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods' },
  },
});

export async function webhookTable(env: Env, plan: Plan, failures: string[]): Promise<string> {
  const rows: Cell[][] = [];
  const fps = env.fingerprints;
  const bodies = Array.from({ length: Math.min(fps.length, 4096) }, (_, i) => sar(env.kc.rootPrincipalId, fps[Math.floor((i * fps.length) / Math.min(fps.length, 4096))]!));
  const tls = path.join(env.kc.dataDir, 'tls');
  const bare = wrap(spawnPinned(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'bare-fastify.ts'), path.join(tls, 'server.crt'), path.join(tls, 'server.key')]));
  try {
    const bareUrl = (await waitFor(bare, /serving on (\S+)/))[1]!;
    const bareTarget: Target = { url: bareUrl, ca: env.kc.caPem };
    for (const c of plan.webhookConcurrencies) {
      env.log(`webhook: concurrency ${c}`);
      const k = await runLoad({
        target: env.target, pid: env.kc.pid, concurrency: c, durationMs: plan.runMs, warmupMs: plan.warmupMs,
        call: (i) => ({ method: 'POST', path: `/kube/clusters/${env.clusterId}/authorize`, headers: { authorization: `Bearer ${env.webhookToken}` }, body: bodies[i % bodies.length] }),
        check: (r) => { const s = json(r).status; if (!s || s.allowed !== false || s.denied) throw new Error(`unexpected verdict ${r.body}`); },
      });
      rows.push(row('kubecred SubjectAccessReview', c, k));
      const e = bad(`webhook c=${c}`, k);
      if (e) failures.push(e);
      env.log(`bare Fastify: concurrency ${c}`);
      const b = await runLoad({ target: bareTarget, pid: bare.pid, concurrency: c, durationMs: plan.runMs, warmupMs: plan.warmupMs, call: (i) => ({ method: 'POST', path: '/authorize', body: bodies[i % bodies.length] }) });
      rows.push(row('bare Fastify constant (reference)', c, b));
      const e2 = bad(`bare c=${c}`, b);
      if (e2) failures.push(e2);
      rows.push([`  kubecred / bare req/s`, c, '', fmt(k.rps / b.rps, 2), '', '', '', '', '']);
    }
  } finally {
    await bare.stop();
  }
  const rss = rssMb(env.kc.pid);
  return table(`Table 2. Webhook decisions over HTTPS, ${fmt(fps.length)} credentials in the store`, HEAD, rows, [
    `active credentials: ${fmt(fps.length)} (issue 9 asks for 1,000,000: that needs a bulk loader, not built yet); kubecred RSS now ${fmt(rss)} MB`,
    'each review carries the X509SHA256 credential ID of an issued, active credential (up to 4,096 distinct ones cycled); the answer must be "no opinion"',
    'bare Fastify: same TLS certificate, logger off, parses the same JSON body and returns a constant',
    'server CPU % is of one core; gen CPU % near 100 means the load generator (one core, TLS) limits req/s, not the server',
  ]);
}

export async function revocationTable(env: Env, plan: Plan, failures: string[]): Promise<string> {
  const agent = makeAgent(env.target, 2);
  const root = { authorization: `Bearer ${env.kc.rootToken}` };
  const times: number[] = [];
  let polls = 0;
  try {
    const p = await send(env.target, agent, { method: 'POST', path: '/v1/principals', headers: root, body: JSON.stringify({ name: 'bench-leaver', groups: ['dev'] }) });
    if (p.status !== 201 && p.status !== 200) throw new Error(`principal create: HTTP ${p.status} ${p.body}`);
    const principalId = json(p).id as string;
    const ask = async (fp: string) => {
      const r = await send(env.target, agent, { method: 'POST', path: `/kube/clusters/${env.clusterId}/authorize`, headers: { authorization: `Bearer ${env.webhookToken}` }, body: sar(principalId, fp) });
      if (r.status !== 200) throw new Error(`webhook: HTTP ${r.status} ${r.body}`);
      return json(r).status.denied === true;
    };
    for (let i = 0; i < plan.revocations; i++) {
      const k = await send(env.target, agent, issueCall(env, JSON.stringify({ temporaryMinutes: 15, principalId })));
      if (k.status !== 200) throw new Error(`issue: HTTP ${k.status} ${k.body}`);
      const fp = json(k).credential.fingerprintSha256 as string;
      if (await ask(fp)) throw new Error('a fresh credential was denied');
      const r = await send(env.target, agent, { method: 'POST', path: `/v1/clusters/${env.clusterId}/revocations`, headers: root, body: JSON.stringify({ principalId, reason: 'bench' }) });
      const t0 = process.hrtime.bigint();
      if (r.status !== 200 || json(r).revoked.length < 1) throw new Error(`revoke: HTTP ${r.status} ${r.body}`);
      for (;;) {
        polls++;
        if (await ask(fp)) break;
        if (Number(process.hrtime.bigint() - t0) > 10e9) throw new Error('still not denied 10 s after the revoke answer');
      }
      times.push(Number(process.hrtime.bigint() - t0) / 1e3);
    }
  } catch (e) {
    failures.push(`revocation: ${(e as Error).message}`);
  } finally {
    agent.destroy();
  }
  const sorted = Float64Array.from(times).sort();
  return table('Table 3. Revocation to denial (revoke answer -> first webhook deny for that fingerprint)', ['', 'revocations', 'polls', 'p50 ms', 'max ms'],
    [['kubecred', times.length, polls, ms(percentile(sorted, 50)), ms(sorted[sorted.length - 1] ?? NaN)]],
    ['polls: webhook calls made after the revoke answered (1 per revocation means the very first call already denied);',
      'the time includes that webhook round trip. kube-apiserver adds its own webhook cache TTL (unauthorizedTTL) on top.']);
}

export interface Report { text: string; failures: string[] }

export async function runAll(plan: Plan, log: (s: string) => void): Promise<Report> {
  const failures: string[] = [];
  const parts: string[] = [];
  const env = await setup(log);
  try {
    parts.push(await issuanceTable(env, plan, failures));
    const f = await fill(env, plan);
    log(`filled: ${f.requests} issued in ${fmt(f.seconds, 1)} s (${fmt(f.rps)}/s), ${env.fingerprints.length} credentials in total`);
    if (f.errors) failures.push(`fill: ${f.errors} errors, first: ${f.firstError}`);
    parts.push(await webhookTable(env, plan, failures));
    parts.push(await revocationTable(env, plan, failures));
    parts.push(`kubecred start-up (fresh data dir, process spawn to "serving on"): ${fmt(env.kc.startMs)} ms; RSS at the end ${fmt(rssMb(env.kc.pid))} MB with ${fmt(env.fingerprints.length)} credentials\n`);
  } finally {
    await env.kc.stop();
    fs.rmSync(env.kc.dataDir, { recursive: true, force: true });
  }
  return { text: parts.join('\n'), failures };
}
