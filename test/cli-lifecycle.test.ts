// The whole lifecycle through the real server process and the real CLI: cluster, principal, policy,
// kubeconfig (default, temporary, CSR), kubectl against an x509 front, openssl, revoke, validity, audit.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { cli, cliJson } from './support/cli.ts';
import { startFakeApiserver, type FakeApiserver } from './support/fake-apiserver.ts';
import { BIN, startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let api: FakeApiserver;
let work: string;
let cluster: { id: string; clientCaPem: string };
let alice: { id: string };
let aliceToken: string;

before(async () => {
  srv = await startServerProcess();
  api = await startFakeApiserver();
  work = tempDir('kubecred-cli-');
  fs.writeFileSync(path.join(work, 'apiserver-ca.pem'), api.caPem);
  cluster = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'prod', '--public-endpoint', api.url, '--private-endpoint', 'https://10.0.0.10:6443', '--server-ca', path.join(work, 'apiserver-ca.pem'), '--region', 'on-prem-1']);
  api.setClientCa(cluster.clientCaPem);
  alice = await cliJson(srv, srv.rootToken, ['principal', 'create', 'alice', '--group', 'dev', '--group', 'oncall']);
  fs.writeFileSync(path.join(work, 'self-service.json'), JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:GetKubeconfig', 'kubecred:ListClusters', 'kubecred:RevokeKubeconfig'], Resource: '*' }] }));
  await cliJson(srv, srv.rootToken, ['policy', 'create', 'self-service', '--file', path.join(work, 'self-service.json')]);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'self-service', '--principal', 'alice']);
  aliceToken = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'alice'])).token;
});

after(async () => {
  await api?.close();
  await srv?.stop();
});

// Asynchronous on purpose: the fake API server lives in this process and must keep answering.
const kubectl = (...args: string[]) => new Promise<string>((resolve, reject) => {
  execFile('/usr/bin/kubectl', args, { encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
});

test('kubeconfig get writes a 0600 kubeconfig that kubectl parses and uses against the cluster', async () => {
  const file = path.join(work, 'alice.kubeconfig');
  const r = await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '-o', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  const view = JSON.parse(await kubectl('config', 'view', '--kubeconfig', file, '--raw', '-o', 'json'));
  assert.equal(view.clusters[0].cluster.server, api.url);
  assert.ok(view.users[0].user['client-certificate-data']);
  const who = JSON.parse(await kubectl('--kubeconfig', file, 'get', '--raw', '/whoami'));
  assert.deepEqual(who.user, { name: alice.id, groups: ['dev', 'oncall'] });
});

test('openssl verify -purpose sslclient accepts the certificate against the cluster client CA', async () => {
  const caFile = path.join(work, 'client-ca.pem');
  const ca = await cli(srv, srv.rootToken, ['cluster', 'ca', 'prod']);
  assert.equal(ca.code, 0, ca.stderr);
  fs.writeFileSync(caFile, ca.stdout);
  const k = YAML.parse((await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod'])).stdout);
  const certFile = path.join(work, 'alice.crt');
  fs.writeFileSync(certFile, Buffer.from(k.users[0].user['client-certificate-data'], 'base64'));
  assert.match(execFileSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', caFile, certFile], { encoding: 'utf8' }), /OK/);
  const text = execFileSync('openssl', ['x509', '-in', certFile, '-noout', '-text'], { encoding: 'utf8' });
  assert.match(text, /TLS Web Client Authentication/);
  assert.doesNotMatch(text, /TLS Web Server Authentication/);
});

test('temporary and private-endpoint kubeconfigs through the CLI', async () => {
  const t = YAML.parse((await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '--temporary', '30'])).stdout);
  const p = YAML.parse((await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '--private'])).stdout);
  assert.equal(p.clusters[0].cluster.server, 'https://10.0.0.10:6443');
  assert.notEqual(t.users[0].user['client-certificate-data'], p.users[0].user['client-certificate-data']);
  // Out of range: refused by the CLI, naming the flag, before the server is asked.
  const bad = await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '--temporary', '5']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--temporary must be a whole number of minutes from 15 to 4320 \(got 5\)/);
});

test('a CSR gets a signed certificate and a kubeconfig without client-key-data that works with the local key', async () => {
  const key = path.join(work, 'own.key');
  const csr = path.join(work, 'own.csr');
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=whatever']);
  const file = path.join(work, 'own.kubeconfig');
  const crt = path.join(work, 'own.crt');
  const r = await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '--csr', csr, '-o', file, '--cert-out', crt]);
  assert.equal(r.code, 0, r.stderr);
  const k = YAML.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(k.users[0].user['client-key-data'], undefined);
  await kubectl('config', 'set-credentials', k.users[0].name, '--kubeconfig', file, '--client-key', key, '--embed-certs=true');
  const who = JSON.parse(await kubectl('--kubeconfig', file, 'get', '--raw', '/whoami'));
  assert.equal(who.user.name, alice.id);
});

test('kubeconfig get --csr --key writes a kubeconfig kubectl uses as written; a key that is not the CSR\'s is refused before anything is issued', async () => {
  const key = path.join(work, 'keyed.key');
  const csr = path.join(work, 'keyed.csr');
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=whatever']);
  const other = path.join(work, 'other.key');
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', other]);
  const count = async () => (await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod', '--principal', 'alice'])).length;
  const before = await count();
  const wrong = await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '--csr', csr, '--key', other, '-o', path.join(work, 'wrong.kubeconfig')]);
  assert.equal(wrong.code, 2, wrong.stderr);
  assert.match(wrong.stderr, /--key .*other\.key is not the private key of the CSR in --csr/);
  assert.equal(await count(), before, 'nothing issued');
  assert.equal((await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '--key', key])).code, 2, '--key without --csr');

  // Without --key the command says how to add the key.
  const bare = await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '--csr', csr, '-o', path.join(work, 'bare.kubeconfig')]);
  assert.equal(bare.code, 0, bare.stderr);
  assert.match(bare.stderr, /holds no private key .* add --key .*kubectl config set-credentials \S+ --client-key=/);

  const file = path.join(work, 'keyed.kubeconfig');
  const r = await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '--csr', csr, '--key', 'keyed.key', '-o', file], {}, work);
  assert.equal(r.code, 0, r.stderr);
  const k = YAML.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(k.users[0].user['client-key'], key, 'by absolute path');
  assert.equal(k.users[0].user['client-key-data'], undefined, 'the key itself is not copied');
  const who = JSON.parse(await kubectl('--kubeconfig', file, 'get', '--raw', '/whoami'));
  assert.equal(who.user.name, alice.id);
});

test('credential list shows states; revoke marks them revoked; a new one can be fetched', async () => {
  const before = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod', '--principal', 'alice', '--state', 'active']);
  assert.ok(before.length >= 3);
  const table = await cli(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod']);
  assert.match(table.stdout, /^ID\s+CLUSTER_ID\s+PRINCIPAL_ID\s+KIND\s+STATUS/);
  const rev = await cliJson(srv, srv.rootToken, ['revoke', '--cluster', 'prod', '--principal', 'alice', '--reason', 'rotation']);
  assert.equal(rev.revoked.length, before.length);
  const active = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod', '--principal', 'alice', '--state', 'active']);
  assert.equal(active.length, 0);
  const revoked = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod', '--principal', 'alice', '--state', 'revoked']);
  assert.ok(revoked.every((c: any) => c.revokeReason === 'rotation'));
  const again = await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod']);
  assert.equal(again.code, 0);
});

test('validity set is root-only: a non-root principal is refused with exit code 3', async () => {
  const denied = await cli(srv, aliceToken, ['validity', 'set', '--cluster', 'prod', '--principal', 'alice', '--hours', '24']);
  assert.equal(denied.code, 3);
  assert.match(denied.stderr, /ROOT_ONLY/);
  const ok = await cli(srv, srv.rootToken, ['validity', 'set', '--cluster', 'prod', '--principal', 'alice', '--hours', '24']);
  assert.equal(ok.code, 0, ok.stderr);
  const shown = await cliJson(srv, srv.rootToken, ['validity', 'show', '--cluster', 'prod', '--principal', 'alice']);
  assert.equal(shown.hours, 24);
});

test('audit list shows issuance, revocation and the denial, with filters', async () => {
  const denied = await cliJson(srv, srv.rootToken, ['audit', 'list', '--outcome', 'denied']);
  assert.ok(denied.some((e: any) => e.action === 'kubecred:SetKubeconfigValidity' && e.actorId === alice.id && e.requestId?.startsWith('req_')));
  const revokes = await cliJson(srv, srv.rootToken, ['audit', 'list', '--action', 'RevokeKubeconfig']);
  assert.equal(revokes[0].detail.reason, 'rotation');
  const yaml = await cli(srv, srv.rootToken, ['audit', 'list', '--action', 'IssueKubeconfig', '--output', 'yaml', '--limit', '2']);
  assert.equal(YAML.parse(yaml.stdout).length, 2);
  // --actor takes a name as well as an ID; an unknown name is an error, not an empty list.
  const byId = await cliJson(srv, srv.rootToken, ['audit', 'list', '--actor', alice.id]);
  assert.ok(byId.length > 0 && byId.every((e: any) => e.actorId === alice.id));
  assert.deepEqual(await cliJson(srv, srv.rootToken, ['audit', 'list', '--actor', 'alice']), byId);
  const unknown = await cli(srv, srv.rootToken, ['audit', 'list', '--actor', 'nobody-by-that-name']);
  assert.equal(unknown.code, 4, unknown.stderr);
  assert.match(unknown.stderr, /principal/);
});

test('tokens are listed without secrets and revoked one by one; the root keeps its last usable token', async () => {
  const ci = await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'alice', '--name', 'ci']);
  const laptop = await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'alice', '--name', 'laptop', '--expires-in-days', '30']);
  assert.equal((await cli(srv, ci.token, ['whoami'])).code, 0);
  const listed = await cliJson(srv, srv.rootToken, ['token', 'list', '--principal', 'alice']);
  const byId = new Map<string, any>(listed.map((t: any) => [t.id, t]));
  assert.deepEqual(Object.keys(byId.get(ci.id)).sort(), ['createdAt', 'createdBy', 'expiresAt', 'id', 'name', 'principalId', 'revokedAt', 'status']);
  assert.equal(byId.get(ci.id).createdBy, srv.rootPrincipalId);
  assert.equal(byId.get(ci.id).status, 'active');
  assert.equal(byId.get(laptop.id).expiresAt, laptop.expiresAt);
  assert.ok(!JSON.stringify(listed).includes(ci.token.split('.').pop()), 'no secret in the listing');
  // Alice lists her own and revokes one herself; the other keeps working.
  assert.deepEqual((await cliJson(srv, ci.token, ['token', 'list'])).map((t: any) => t.id).sort(), listed.map((t: any) => t.id).sort());
  assert.deepEqual(await cliJson(srv, laptop.token, ['token', 'revoke', ci.id]), { revoked: true });
  const refused = await cli(srv, ci.token, ['whoami']);
  assert.equal(refused.code, 3, refused.stderr);
  assert.equal((await cli(srv, laptop.token, ['whoami'])).code, 0);
  assert.deepEqual(await cliJson(srv, srv.rootToken, ['token', 'revoke', ci.id, '--principal', 'alice']), { revoked: false }, 'again: nothing to do');
  assert.equal((await cliJson(srv, srv.rootToken, ['token', 'list', '--principal', 'alice'])).find((t: any) => t.id === ci.id).status, 'revoked');
  const table = await cli(srv, srv.rootToken, ['token', 'list', '--principal', 'alice']);
  assert.match(table.stdout, /^ID\s+NAME\s+STATUS/m);
  // Someone else's token, or one that does not exist, is not found under this principal.
  const rootTokens = await cliJson(srv, srv.rootToken, ['token', 'list']);
  assert.equal((await cli(srv, srv.rootToken, ['token', 'revoke', rootTokens[0].id, '--principal', 'alice'])).code, 4);
  assert.equal((await cli(srv, srv.rootToken, ['token', 'revoke', 'tok_nope'])).code, 4);
  // Alice may not revoke the root's tokens (no policy lets her).
  assert.equal((await cli(srv, laptop.token, ['token', 'revoke', rootTokens[0].id, '--principal', 'root'])).code, 3);
  // The root's last usable token stays; once it has another, the old one can go.
  const last = await cli(srv, srv.rootToken, ['token', 'revoke', rootTokens[0].id]);
  assert.equal(last.code, 5, last.stderr);
  assert.match(last.stderr, /last usable token.*token create/);
  const spare = await cliJson(srv, srv.rootToken, ['token', 'create', '--name', 'spare']);
  assert.deepEqual(await cliJson(srv, srv.rootToken, ['token', 'revoke', spare.id]), { revoked: true });
  // The action filter also finds refusals of kubecred:RevokeToken (Alice's above): only the revocations are counted.
  const actions = (await cliJson(srv, srv.rootToken, ['audit', 'list', '--action', 'RevokeToken', '--outcome', 'success'])).map((e: any) => e.detail.tokenId);
  assert.deepEqual(actions.sort(), [ci.id, spare.id].sort(), 'each revocation audited once');
});

test('exit codes: unknown cluster 4, bad token 3, unreachable server 7, usage 2; --help works on every command', async () => {
  assert.equal((await cli(srv, srv.rootToken, ['cluster', 'show', 'nope'])).code, 4);
  assert.equal((await cli(srv, 'kc1.tok_00000000000000000000000000.' + 'x'.repeat(43), ['cluster', 'list'])).code, 3);
  assert.equal((await cli({ url: 'https://127.0.0.1:1', caFile: srv.caFile }, srv.rootToken, ['cluster', 'list'])).code, 7);
  assert.equal((await cli(srv, srv.rootToken, ['kubeconfig', 'get'])).code, 2);
  assert.equal((await cli(srv, srv.rootToken, ['cluster', 'list', '--output', 'xml'])).code, 2);
  for (const cmd of [[], ['serve'], ['init'], ['cluster'], ['cluster', 'create'], ['principal', 'create'], ['kubeconfig', 'get'], ['credential', 'list'], ['revoke'], ['validity', 'set'], ['audit', 'list'], ['policy', 'attach'], ['token', 'create'], ['token', 'list'], ['token', 'revoke'], ['accesskey', 'create'], ['accesskey', 'list'], ['accesskey', 'revoke']]) {
    const r = await cli(null, null, [...cmd, '--help']);
    assert.equal(r.code, 0, `${cmd.join(' ')} --help`);
    assert.match(r.stdout, /Usage: kubecred/);
  }
});

test('output piped into a reader that has gone (| head -1 and the like) ends quietly with exit 0', async () => {
  const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    // The reader closes its end at once and lingers, so kubecred's first write meets a closed pipe (EPIPE).
    execFile('bash', ['-c', 'set -o pipefail; "$0" "$1" --help | { exec 0<&-; sleep 1; echo reader-done; }', process.execPath, BIN], (err, stdout, stderr) => {
      resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stdout, stderr });
    });
  });
  assert.equal(r.stdout, 'reader-done\n');
  assert.equal(r.stderr, '', 'no EPIPE stack trace');
  assert.equal(r.code, 0);
});

test('policy show, update and delete: an update applies to carol on her next command; an attached policy is refused (exit 5) until detached', async () => {
  await cliJson(srv, srv.rootToken, ['principal', 'create', 'carol']);
  const carolToken = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'carol'])).token;
  fs.writeFileSync(path.join(work, 'lister.json'), JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'kubecred:ListClusters', Resource: '*' }] }));
  await cliJson(srv, srv.rootToken, ['policy', 'create', 'lister', '--file', path.join(work, 'lister.json')]);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'lister', '--principal', 'carol']);
  assert.deepEqual((await cliJson(srv, carolToken, ['cluster', 'list'])).map((c: { name: string }) => c.name), ['prod']);
  const shown = await cliJson(srv, srv.rootToken, ['policy', 'show', 'lister']);
  assert.equal(shown.name, 'lister');
  assert.equal(shown.attachedTo.length, 1);
  // Replaced by a document without ListClusters: carol's next command is refused.
  const updated = await cliJson(srv, srv.rootToken, ['policy', 'update', 'lister', '--description', 'nothing now', '--document', JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'kubecred:GetCluster', Resource: '*' }] })]);
  assert.equal(updated.description, 'nothing now');
  assert.deepEqual(await cliJson(srv, carolToken, ['cluster', 'list']), [], 'a list shows only what the policies let one list');
  assert.equal((await cli(srv, srv.rootToken, ['policy', 'update', 'lister', '--document', '{nope'])).code, 2, 'not JSON: a usage error');
  assert.equal((await cli(srv, carolToken, ['policy', 'delete', 'lister'])).code, 3, 'carol may not delete it');
  const refused = await cli(srv, srv.rootToken, ['policy', 'delete', 'lister']);
  assert.equal(refused.code, 5, refused.stderr);
  assert.match(refused.stderr, /attached to usr_\w+.*kubecred policy detach lister --principal/);
  await cliJson(srv, srv.rootToken, ['policy', 'detach', 'lister', '--principal', 'carol']);
  assert.deepEqual(await cliJson(srv, srv.rootToken, ['policy', 'delete', 'lister']), { deleted: true });
  assert.equal((await cli(srv, srv.rootToken, ['policy', 'show', 'lister'])).code, 4);
  const trail = await cliJson(srv, srv.rootToken, ['audit', 'list', '--action', 'DeletePolicy']);
  assert.deepEqual(trail.map((e: any) => [e.action, e.outcome, e.actorId === alice.id]), [['DeletePolicy', 'success', false], ['kubecred:DeletePolicy', 'denied', false]]);
  assert.equal(trail[0].detail.name, 'lister');
  for (const cmd of [['policy', 'show'], ['policy', 'update'], ['policy', 'delete'], ['project', 'remove']]) assert.equal((await cli(null, null, [...cmd, '--help'])).code, 0);
});

test('the inventory is filtered by a deleted cluster by its ID (not its name), for the root and whoever may list credentials there', async () => {
  const gone = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'gone', '--public-endpoint', 'https://192.0.2.40:6443']);
  assert.equal((await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'gone', '--principal', 'alice', '-o', path.join(work, 'gone.kubeconfig')])).code, 0);
  for (const [name, resource] of [['gone-auditor', `krn:kubecred:*:*:cluster/${gone.id}`], ['gone-outsider', 'krn:kubecred:*:*:cluster/cls_elsewhere']]) {
    await cliJson(srv, srv.rootToken, ['principal', 'create', name]);
    fs.writeFileSync(path.join(work, `${name}.json`), JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'kubecred:ListCredentials', Resource: resource }] }));
    await cliJson(srv, srv.rootToken, ['policy', 'create', name, '--file', path.join(work, `${name}.json`)]);
    await cliJson(srv, srv.rootToken, ['policy', 'attach', name, '--principal', name]);
  }
  const auditor = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'gone-auditor'])).token;
  const outsider = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'gone-outsider'])).token;
  await cliJson(srv, srv.rootToken, ['cluster', 'delete', 'gone']);

  const held = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', gone.id]);
  assert.deepEqual(held.map((c: any) => [c.clusterId, c.principalId, c.status, c.revokeReason]), [[gone.id, alice.id, 'revoked', 'cluster deleted']]);
  assert.deepEqual((await cliJson(srv, auditor, ['credential', 'list', '--cluster', gone.id])).map((c: any) => c.id), [held[0].id]);
  assert.equal((await cli(srv, outsider, ['credential', 'list', '--cluster', gone.id])).code, 3, 'refused as on a live cluster');
  // One of them by its ID, alike: shown to whoever may list it there (it was the root's alone), refused to the others.
  assert.equal((await cliJson(srv, auditor, ['credential', 'show', held[0].id])).id, held[0].id);
  assert.equal((await cli(srv, outsider, ['credential', 'show', held[0].id])).code, 3);
  const byName = await cli(srv, srv.rootToken, ['credential', 'list', '--cluster', 'gone']);
  assert.equal(byName.code, 4, 'a deleted cluster goes by its ID only: its name may be taken again');
});
