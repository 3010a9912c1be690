// The vendor SDK examples in docs/aliyun.md and docs/huaweicloud.md, run as written against a server: each code
// block is taken from the page, only its placeholders (the example host, the cluster ID) replaced, saved as an ES
// module beside the repository's node_modules, and run by Node. A page whose example stops working fails here.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { cliJson } from './support/cli.ts';
import { ROOT, startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let work: string;
let prod: { id: string };

/** The fenced blocks of a docs page in a language, in order. */
function blocks(page: string, lang: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, 'docs', page), 'utf8');
  return [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]);
}

/** Runs a docs block as a module in its own directory, under the repository (so its imports resolve). */
function run(name: string, code: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = path.join(work, name);
  fs.writeFileSync(file, code);
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', file], {
      cwd: work, env: { ...process.env, KUBECRED_AK: srv.accessKeyId, KUBECRED_SK: srv.accessKeySecret, ...env }, timeout: 60_000,
    }, (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }));
  });
}

const here = () => new URL(srv.url).host;

before(async () => {
  srv = await startServerProcess();
  // Inside the repository, so that the examples' imports find its node_modules; removed after.
  work = fs.mkdtempSync(path.join(ROOT, '.docs-examples-'));
  fs.copyFileSync(srv.caFile, path.join(work, 'server.crt'));
  prod = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'prod', '--public-endpoint', 'https://203.0.113.10:6443', '--region', 'cn-north-4']);
  await cliJson(srv, srv.rootToken, ['cluster', 'create', 'mesh', '--kind', 'service-mesh', '--public-endpoint', 'https://203.0.113.20:6443']);
});

after(async () => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
  await srv?.stop();
});

test("docs/aliyun.md: the ACK script writes prod.kubeconfig and prints its end; the ASM one answers the mesh's kubeconfig", async () => {
  const [ack, asm] = blocks('aliyun.md', 'ts');
  assert.match(ack, /describeClusterUserKubeconfig/);
  const r = await run('ack.mts', ack.replaceAll('kubecred.example.internal:7443', here()));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^valid until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m);
  const kubeconfig = YAML.parse(fs.readFileSync(path.join(work, 'prod.kubeconfig'), 'utf8'));
  assert.equal(kubeconfig.clusters[0].cluster.server, 'https://203.0.113.10:6443');
  assert.equal(fs.statSync(path.join(work, 'prod.kubeconfig')).mode & 0o777, 0o600);

  assert.match(asm, /DescribeServiceMeshKubeconfig/);
  const m = await run('asm.mts', `${asm.replaceAll('kubecred.example.internal:7443', here())}\nconsole.log(JSON.stringify({ kubeconfig: body.Kubeconfig, expire: body.ExpireTime }));\n`);
  assert.equal(m.code, 0, m.stderr);
  const out = JSON.parse(m.stdout.trim().split('\n').at(-1)!);
  assert.equal(YAML.parse(out.kubeconfig).clusters[0].cluster.server, 'https://203.0.113.20:6443');
  assert.match(out.expire, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
});

test('docs/huaweicloud.md: the CCE script gets a certificate for the cluster through the mapped project', async () => {
  const project = blocks('huaweicloud.md', 'js').find((b) => b.includes('createKubernetesClusterCert'))!;
  const projectId = /withProjectId\('([0-9a-f]+)'\)/.exec(project)![1];
  await cliJson(srv, srv.rootToken, ['project', 'add', projectId, '--region', 'cn-north-4']);
  // The SDK core writes under $HOME.
  const r = await run('cce.mjs', project.replaceAll('kubecred.example.com:7443', here()).replace("'cls_...'", `'${prod.id}'`), { HOME: tempDir('kubecred-docs-home-') });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const kubeconfig = JSON.parse(fs.readFileSync(path.join(work, 'prod.kubeconfig'), 'utf8'));
  const cert = new crypto.X509Certificate(Buffer.from(kubeconfig.users[0].user['client-certificate-data'], 'base64'));
  const days = (Date.parse(cert.validTo) - Date.now()) / 864e5;
  assert.ok(days > 29 && days <= 30.01, `CertDuration(30): ${days} days`);
});
