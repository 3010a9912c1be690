// The real `kubecred serve` the HTTP targets fuzz: plain HTTP on a free loopback port, a fresh data directory,
// fixtures made through its own API, and a watch on its log lines (no stack, SQL or secret) and on its exit.

import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Finding } from './engine.ts';
import { RawClient, type Res } from './http-client.ts';
import type { Ids } from './requests.ts';
import type { Key } from './signers.ts';

const BIN = path.resolve(import.meta.dirname, '..', '..', 'bin', 'kubecred.js');

export interface FuzzServer {
  host: string;
  port: number;
  client: RawClient;
  ids: Ids & { tokenClusterId: string };
  rootToken: string;
  userToken: string;
  rootKey: Key;
  userKey: Key;
  webhookTokens: { cluster: string; tokenCluster: string };
  /** A token kubeconfig's token (TokenReview) and an x509 kubeconfig's certificate fingerprint (SubjectAccessReview). */
  kubeToken: string;
  fingerprint: string;
  /** Every secret that must never appear in a log line or an error answer. */
  secrets: string[];
  /** Throws the crash, or the first log line that broke a rule since the last call. */
  checkProcess(): void;
  stop(): Promise<void>;
}

let current: Promise<FuzzServer> | undefined;

/** One server per fuzzing process, shared by the HTTP targets. */
export const fuzzServer = () => (current ??= start());

export async function stopFuzzServer(): Promise<void> {
  const s = current;
  current = undefined;
  if (s) await (await s).stop();
}

const LOG_RULES: [RegExp, string][] = [
  [/\n\s+at |\bat [\w.<>]+ \(\S+:\d+:\d+\)|\.ts:\d+:\d+/, 'a stack trace'],
  [/\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|SQLITE_\w+)\b/, 'SQL'],
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----|MII[A-Za-z0-9+/]{60}/, 'key material'],
];

async function start(): Promise<FuzzServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-fuzz-server-'));
  const child: ChildProcess = spawn(process.execPath, [BIN, 'serve', '--data-dir', dataDir, '--port', '0', '--no-tls', '--log-level', 'info'], {
    env: { ...process.env, KUBECRED_MASTER_KEY: undefined }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let exited: string | null = null;
  const secrets: string[] = [];
  const logProblems: string[] = [];
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    const lines = (partial + d.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      for (const [re, what] of LOG_RULES) if (re.test(line)) logProblems.push(`a log line holds ${what}: ${line.slice(0, 300)}`);
      for (const s of secrets) if (line.includes(s)) logProblems.push(`a log line holds a secret: ${line.slice(0, 120)}...`);
    }
  });
  child.stderr!.on('data', (d: Buffer) => { err += d.toString('utf8'); });
  child.on('exit', (code, signal) => { exited = signal ?? `exit code ${code}`; });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kubecred serve did not start in 60 s:\n${err}`)), 60_000);
    const poll = setInterval(() => {
      const m = /serving on (\S+)/.exec(err);
      if (m) { clearInterval(poll); clearTimeout(timer); resolve(m[1]!); }
      if (exited) { clearInterval(poll); clearTimeout(timer); reject(new Error(`kubecred serve exited (${exited}):\n${err}`)); }
    }, 20);
  });
  // stderr is a pipe, not a terminal: a first start writes the secrets to a 0600 file in the data directory.
  const secretsFile = path.join(dataDir, 'first-start-secrets.txt');
  const bootstrap = fs.existsSync(secretsFile) ? fs.readFileSync(secretsFile, 'utf8') : err;
  const field = (label: string) => new RegExp(`${label}:\\s+(\\S+)`).exec(bootstrap)?.[1] ?? '';
  const rootToken = field('root token');
  const rootKey = { id: field('access key id'), secret: field('access key secret') };
  const { hostname, port } = new URL(url);
  const client = new RawClient(hostname, Number(port));
  const api = async (method: string, p: string, body?: unknown, token = rootToken): Promise<any> => {
    const r: Res = await client.send({ method, url: p, headers: [['host', `${hostname}:${port}`], ['authorization', `Bearer ${token}`], ...(body !== undefined ? [['content-type', 'application/json']] as [string, string][] : [])], body: Buffer.from(body === undefined ? '' : JSON.stringify(body)) });
    if (r.status >= 300) throw new Error(`fixture ${method} ${p}: ${r.status} ${r.body.toString('utf8')}`);
    return JSON.parse(r.body.toString('utf8') || '{}');
  };
  // In the project's region: a CCE project finds only its own region's clusters.
  const ep = { publicEndpoint: 'https://192.0.2.10:6443', privateEndpoint: 'https://10.0.0.10:6443', region: 'cn-north-4' };
  const clusterId = (await api('POST', '/v1/clusters', { name: 'fz-k8s', ...ep })).id as string;
  const meshId = (await api('POST', '/v1/clusters', { name: 'fz-mesh', kind: 'service-mesh', ...ep })).id as string;
  const tokenClusterId = (await api('POST', '/v1/clusters', { name: 'fz-tok', credentialType: 'token', ...ep })).id as string;
  const principalId = (await api('POST', '/v1/principals', { name: 'fz-user', groups: ['dev'] })).id as string;
  const roleId = (await api('POST', '/v1/principals', { name: 'fz-role', kind: 'role' })).id as string;
  await api('POST', '/v1/policies', { name: 'fz-all', document: { Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:*', 'cs:*', 'servicemesh:*', 'cce:*'], Resource: ['*'] }] } });
  await api('POST', `/v1/principals/${principalId}/policies`, { policy: 'fz-all' });
  const userToken = (await api('POST', `/v1/principals/${principalId}/tokens`, {})).token as string;
  const ak = await api('POST', `/v1/principals/${principalId}/access-keys`);
  const webhookTokens = {
    cluster: (await api('POST', `/v1/clusters/${clusterId}/webhook-tokens`)).token as string,
    tokenCluster: (await api('POST', `/v1/clusters/${tokenClusterId}/webhook-tokens`)).token as string,
  };
  await api('POST', '/v1/projects', { projectId: 'fzproj', region: 'cn-north-4' });
  const kubeToken = /token: (\S+)/.exec((await api('POST', `/v1/clusters/${tokenClusterId}/kubeconfig`, {})).kubeconfig)?.[1] ?? '';
  const fingerprint = (await api('POST', `/v1/clusters/${clusterId}/kubeconfig`, { temporaryMinutes: 60 })).credential.fingerprintSha256 as string;
  const userKey = { id: ak.accessKeyId as string, secret: ak.accessKeySecret as string };
  secrets.push(rootToken, userToken, rootKey.secret, userKey.secret, webhookTokens.cluster, webhookTokens.tokenCluster, kubeToken);
  return {
    host: hostname, port: Number(port), client, rootToken, userToken, rootKey, userKey, webhookTokens, kubeToken, fingerprint, secrets,
    ids: { clusterId, meshId, tokenClusterId, principalId, roleId, projectId: 'fzproj' },
    checkProcess() {
      if (exited) throw new Finding('crash', `kubecred serve died (${exited}); its last stderr: ${err.slice(-500)}`, true);
      const problem = logProblems.shift();
      if (problem) throw new Finding('log-leak', problem);
    },
    async stop() {
      client.close();
      if (!exited) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => { clearTimeout(t); resolve(); });
          child.kill('SIGTERM');
        });
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
