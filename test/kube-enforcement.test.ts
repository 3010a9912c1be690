// Revocation that takes effect at the API server: kubectl with kubecred kubeconfigs against a front
// that calls kubecred's SubjectAccessReview webhook exactly as the files `kube-config` writes say.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { cli, cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { startAuthorizingFront, type AuthorizingFront } from './support/authorizing-front.ts';
import { startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let front: AuthorizingFront;
let work: string;
let configDir: string;
let cluster: { id: string };
let aliceToken: string;
const TTL_MS = 1000;

const kubectl = (...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
  execFile('/usr/bin/kubectl', args, { encoding: 'utf8' }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
});

type Kubectl = (...args: string[]) => Promise<{ code: number; stderr: string }>;

/** Polls kubectl (or a kubectl with its own environment) until it is refused; returns the milliseconds that took. */
async function msUntilForbidden(kubeconfig: string, limitMs: number, run: Kubectl = kubectl): Promise<number> {
  const start = Date.now();
  for (;;) {
    const r = await run('--kubeconfig', kubeconfig, 'get', 'pods');
    if (r.code !== 0) {
      assert.match(r.stderr, /Forbidden|forbidden/);
      return Date.now() - start;
    }
    if (Date.now() - start > limitMs) assert.fail(`still allowed after ${limitMs} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

before(async () => {
  srv = await startServerProcess();
  front = await startAuthorizingFront();
  work = tempDir('kubecred-kube-');
  configDir = path.join(work, 'kube-config');
  fs.writeFileSync(path.join(work, 'front-ca.pem'), front.caPem);
  cluster = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'prod', '--public-endpoint', front.url, '--server-ca', path.join(work, 'front-ca.pem')]);
  const r = await cli(srv, srv.rootToken, ['cluster', 'kube-config', 'prod', '--out', configDir, '--unauthorized-ttl', `${TTL_MS}ms`]);
  assert.equal(r.code, 0, r.stderr);
  front.configure(configDir);
  await cliJson(srv, srv.rootToken, ['principal', 'create', 'alice', '--group', 'dev']);
  fs.writeFileSync(path.join(work, 'p.json'), JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:GetKubeconfig', 'kubecred:GetCluster'], Resource: '*' }] }));
  await cliJson(srv, srv.rootToken, ['policy', 'create', 'self', '--file', path.join(work, 'p.json')]);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'self', '--principal', 'alice']);
  aliceToken = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'alice'])).token;
});
after(async () => {
  await front?.close();
  await srv?.stop();
});

test('kube-config writes the AuthorizationConfiguration, webhook kubeconfig (0600), client CA, flags and notes', () => {
  const authz = YAML.parse(fs.readFileSync(path.join(configDir, 'authorization-config.yaml'), 'utf8'));
  assert.equal(authz.kind, 'AuthorizationConfiguration');
  const wh = authz.authorizers[0].webhook;
  assert.equal(wh.failurePolicy, 'Deny');
  assert.equal(wh.unauthorizedTTL, `${TTL_MS}ms`);
  assert.equal(wh.matchConditions.length, 3);
  assert.deepEqual(authz.authorizers.slice(1).map((a: { type: string }) => a.type), ['Node', 'RBAC']);
  assert.equal(fs.statSync(path.join(configDir, 'authz-webhook.kubeconfig')).mode & 0o777, 0o600);
  const kc = execFileSync('/usr/bin/kubectl', ['config', 'view', '--kubeconfig', path.join(configDir, 'authz-webhook.kubeconfig'), '-o', 'json'], { encoding: 'utf8' });
  assert.equal(JSON.parse(kc).clusters[0].cluster.server, `${srv.url}/kube/clusters/${cluster.id}/authorize`);
  assert.match(fs.readFileSync(path.join(configDir, 'README.md'), 'utf8'), /## kubeadm[\s\S]*## k3s[\s\S]*## RKE2/);
  // Fail closed bites kubeadm's own admin.conf (an X.509 user outside system:): the notes name the way back in.
  assert.match(fs.readFileSync(path.join(configDir, 'README.md'), 'utf8'), /admin\.conf \(kubernetes-admin, group kubeadm:cluster-admins\)[^\n]*super-admin\.conf \(system:masters\)/);
  assert.match(fs.readFileSync(path.join(configDir, 'kube-apiserver-flags.txt'), 'utf8'), /--authorization-config=/);
});

test('kube-config --kube-version: 1.30-1.31 get AuthorizationConfiguration v1beta1 matching kubecred users by name; older ones the legacy flags, fail open only if asked', async () => {
  const out = (v: string) => path.join(work, `kube-${v}`);
  const write = (v: string, ...extra: string[]) => cli(srv, srv.rootToken, ['cluster', 'kube-config', 'prod', '--out', out(v), '--kube-version', v, ...extra]);
  assert.equal((await write('1.31')).code, 0);
  const authz = YAML.parse(fs.readFileSync(path.join(out('1.31'), 'authorization-config.yaml'), 'utf8'));
  assert.equal(authz.apiVersion, 'apiserver.config.k8s.io/v1beta1');
  assert.deepEqual(authz.authorizers[0].webhook.matchConditions, [{ expression: "request.user.startsWith('usr_') || request.user.startsWith('rol_')" }]);
  const notes131 = fs.readFileSync(path.join(out('1.31'), 'README.md'), 'utf8');
  assert.match(notes131, /Written for Kubernetes 1\.31\./);
  assert.match(notes131, /cannot tell one certificate of a user from another/);

  const refused = await write('1.28');
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /fail open[\s\S]*--failure-policy NoOpinion/);
  assert.equal((await write('1.28', '--failure-policy', 'NoOpinion')).code, 0);
  assert.equal(fs.existsSync(path.join(out('1.28'), 'authorization-config.yaml')), false, 'no structured configuration before 1.30');
  const flags = fs.readFileSync(path.join(out('1.28'), 'kube-apiserver-flags.txt'), 'utf8');
  assert.match(flags, /--authorization-mode=Node,Webhook,RBAC\n--authorization-webhook-config-file=\/etc\/kubernetes\/kubecred\/authz-webhook\.kubeconfig\n--authorization-webhook-version=v1\n/);
  assert.match(flags, /--authorization-webhook-cache-unauthorized-ttl=10s/);
  assert.doesNotMatch(flags, /^--authorization-config/m);
  assert.match(fs.readFileSync(path.join(out('1.28'), 'README.md'), 'utf8'), /no failurePolicy[\s\S]*fail open/);
  for (const bad of ['1.18', 'banana', '2.0']) assert.equal((await write(bad)).code, 2, bad);
});

test('after kubecred revoke, the same kubeconfig gets Forbidden within the configured TTL', async () => {
  const file = path.join(work, 'alice.kubeconfig');
  assert.equal((await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '-o', file])).code, 0);
  const ok = await kubectl('--kubeconfig', file, 'get', 'pods', '-o', 'name');
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /pod\/pod-of-usr_/);
  assert.ok(front.webhookCalls > 0, 'the webhook was consulted');
  assert.equal((await cli(srv, srv.rootToken, ['revoke', '--cluster', 'prod', '--principal', 'alice'])).code, 0);
  const ms = await msUntilForbidden(file, TTL_MS + 3000);
  console.log(`# revocation to Forbidden through kubectl: ${ms} ms (unauthorizedTTL ${TTL_MS} ms)`);
  const again = path.join(work, 'alice2.kubeconfig');
  assert.equal((await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '-o', again])).code, 0);
  assert.equal((await kubectl('--kubeconfig', again, 'get', '--raw', '/whoami')).code, 0, 'a new kubeconfig works');
});

test('a superseded default kubeconfig (after a custom validity) is denied; the new one works', async () => {
  const old = path.join(work, 'alice-old.kubeconfig');
  assert.equal((await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '-o', old])).code, 0);
  assert.equal((await cli(srv, srv.rootToken, ['validity', 'set', '--cluster', 'prod', '--principal', 'alice', '--hours', '24'])).code, 0);
  await msUntilForbidden(old, TTL_MS + 3000);
  const fresh = path.join(work, 'alice-new.kubeconfig');
  assert.equal((await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '-o', fresh])).code, 0);
  assert.equal((await kubectl('--kubeconfig', fresh, 'get', '--raw', '/whoami')).code, 0);
});

test("revoking one credential by its ID denies that kubeconfig only; the holder's others keep working", async () => {
  const keep = path.join(work, 'alice-keep.kubeconfig');
  const leaked = path.join(work, 'alice-leaked.kubeconfig');
  assert.equal((await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '-o', keep])).code, 0);
  const got = await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '--temporary', '60', '-o', leaked, '--output', 'json']);
  assert.equal(got.code, 0, got.stderr);
  const id = JSON.parse(got.stdout).credential as string;
  assert.equal((await kubectl('--kubeconfig', leaked, 'get', '--raw', '/whoami')).code, 0);

  // Her own, but no policy lets her revoke: refused, nothing changed.
  const denied = await cli(srv, aliceToken, ['credential', 'revoke', id]);
  assert.equal(denied.code, 3, denied.stderr);
  assert.equal((await cliJson(srv, srv.rootToken, ['credential', 'show', id])).status, 'active');
  fs.writeFileSync(path.join(work, 'revoke-own.json'), JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:RevokeKubeconfig'], Resource: '*' }] }));
  await cliJson(srv, srv.rootToken, ['policy', 'create', 'revoke-own', '--file', path.join(work, 'revoke-own.json')]);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'revoke-own', '--principal', 'alice']);
  // The root's kubeconfigs are the root's alone, whatever the policy says.
  const rootsOwn = await cliJson(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '--temporary', '15', '-o', path.join(work, 'root.kubeconfig'), '--output', 'json']);
  const notHers = await cli(srv, aliceToken, ['credential', 'revoke', rootsOwn.credential, '-o', 'json']);
  assert.equal(notHers.code, 3, notHers.stderr);
  assert.match(notHers.stderr, /ROOT_ONLY|only the account's root/);

  const r = await cli(srv, aliceToken, ['credential', 'revoke', id, '--reason', 'pasted in a CI log', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.equal(res.revoked, true);
  assert.equal(res.credential.status, 'revoked');
  assert.equal(res.credential.revokeReason, 'pasted in a CI log');
  await msUntilForbidden(leaked, TTL_MS + 3000);
  assert.equal((await kubectl('--kubeconfig', keep, 'get', '--raw', '/whoami')).code, 0, 'her default kubeconfig still works');

  const again = await cli(srv, aliceToken, ['credential', 'revoke', id]);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /was already revoked; nothing changed/);
  const events = await cliJson(srv, srv.rootToken, ['audit', 'list', '--action', 'RevokeKubeconfig', '--resource', id]);
  assert.equal(events.length, 1, 'one event: the second call changed nothing');
  assert.equal(events[0].detail.reason, 'pasted in a CI log');
  // An unknown ID is refused to her as another's kubeconfig she may not revoke would be: she learns nothing of which
  // IDs exist. The root, who may revoke any, is told it is not found.
  assert.equal((await cli(srv, aliceToken, ['credential', 'revoke', 'crd_0000000000000000000000000'])).code, 3);
  assert.equal((await cli(srv, srv.rootToken, ['credential', 'revoke', 'crd_0000000000000000000000000'])).code, 4);
});

test('the webhook refuses unknown callers and malformed reviews, decides huge ones, and never allows', async () => {
  const url = `/kube/clusters/${cluster.id}/authorize`;
  const review = (spec: object, apiVersion = 'authorization.k8s.io/v1') => JSON.stringify({ apiVersion, kind: 'SubjectAccessReview', spec });
  const token = YAML.parse(fs.readFileSync(path.join(configDir, 'authz-webhook.kubeconfig'), 'utf8')).users[0].user.token;
  const noAuth = await rawRequest(srv, 'POST', url, { body: review({ user: 'x' }) });
  assert.equal(noAuth.status, 401);
  const wrong = await rawRequest(srv, 'POST', url, { body: review({ user: 'x' }), token: token.slice(0, -2) + 'zz' });
  assert.equal(wrong.status, 401);
  const otherCluster = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'other', '--public-endpoint', 'https://192.0.2.9:6443']);
  assert.equal((await rawRequest(srv, 'POST', `/kube/clusters/${otherCluster.id}/authorize`, { body: review({ user: 'x' }), token })).status, 401, 'a token is valid for its own cluster only');
  for (const body of ['{', '[]', JSON.stringify({ kind: 'TokenReview', apiVersion: 'authorization.k8s.io/v1', spec: {} }), review({ user: 5 }), review({ user: 'a', groups: 'dev' }), review({ user: 'a', extra: { k: 'v' } })]) {
    const r = await rawRequest(srv, 'POST', url, { body, token });
    assert.equal(r.status, 400, body);
    assert.ok(!r.body.includes('"allowed":true'));
  }
  // A revoked user's huge selector must not make a refusal kube-apiserver meets with its failurePolicy (NoOpinion
  // would let RBAC decide): a review far larger than the old 256 KiB cap is still decided.
  const revoked = await cliJson(srv, srv.rootToken, ['principal', 'create', 'selector-user']);
  await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '--principal', 'selector-user']);
  await cli(srv, srv.rootToken, ['revoke', '--cluster', 'prod', '--principal', 'selector-user']);
  const values = Array.from({ length: 60_000 }, (_, i) => `v${i}`);
  const bigBody = review({ user: revoked.id, groups: [], resourceAttributes: { verb: 'list', resource: 'secrets',
    labelSelector: { rawSelector: `app notin (${values.join(',')})`, requirements: [{ key: 'app', operator: 'NotIn', values }] } } });
  assert.ok(bigBody.length > 900_000, `${bigBody.length} bytes`);
  const big = await rawRequest(srv, 'POST', url, { token, body: bigBody });
  assert.equal(big.status, 200, big.body);
  assert.equal(big.json.status.denied, true);
  const v1beta1 = await rawRequest(srv, 'POST', url, { body: review({ user: 'someone', group: ['dev'] }, 'authorization.k8s.io/v1beta1'), token });
  assert.equal(v1beta1.status, 200);
  assert.deepEqual(v1beta1.json, { apiVersion: 'authorization.k8s.io/v1beta1', kind: 'SubjectAccessReview', status: { allowed: false } });
});

test('before 1.32 (no credential ID), a kubecred principal with no active credential is denied', async () => {
  const token = YAML.parse(fs.readFileSync(path.join(configDir, 'authz-webhook.kubeconfig'), 'utf8')).users[0].user.token;
  const bob = await cliJson(srv, srv.rootToken, ['principal', 'create', 'bob']);
  await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '--principal', 'bob']);
  const ask = () => rawRequest(srv, 'POST', `/kube/clusters/${cluster.id}/authorize`, { token, body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: bob.id, groups: [] } }) });
  assert.deepEqual((await ask()).json.status, { allowed: false });
  await cli(srv, srv.rootToken, ['revoke', '--cluster', 'prod', '--principal', 'bob']);
  const denied = (await ask()).json.status;
  assert.equal(denied.denied, true);
  assert.match(denied.reason, /no active kubecred credential/);
});

test("a cluster's webhook tokens are listed without secrets and revoked one by one; a revoked one is refused at once", async () => {
  const c = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'rotating', '--public-endpoint', 'https://192.0.2.78:6443']);
  const tokenIn = (dir: string) => YAML.parse(fs.readFileSync(path.join(dir, 'authz-webhook.kubeconfig'), 'utf8')).users[0].user.token as string;
  const [oldDir, newDir] = [path.join(work, 'rotating-1'), path.join(work, 'rotating-2')];
  for (const dir of [oldDir, newDir]) assert.equal((await cli(srv, srv.rootToken, ['cluster', 'kube-config', 'rotating', '--out', dir])).code, 0);
  const review = (token: string) => rawRequest(srv, 'POST', `/kube/clusters/${c.id}/authorize`, { token, body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'someone', groups: [] } }) });
  assert.equal((await review(tokenIn(oldDir))).status, 200, 'verified, and remembered for a moment');
  // Made through the API, a token comes with its ID, the one it is listed and revoked by.
  const made = await rawRequest(srv, 'POST', `/v1/clusters/${c.id}/webhook-tokens`, { token: srv.rootToken });
  assert.equal(made.status, 201, made.body);
  assert.equal(made.json.id, made.json.token.split('.')[1]);
  assert.equal((await rawRequest(srv, 'DELETE', `/v1/clusters/${c.id}/webhook-tokens/${made.json.id}`, { token: srv.rootToken })).status, 200);
  const listed = (await cliJson(srv, srv.rootToken, ['cluster', 'webhook-tokens', 'rotating'])).filter((t: any) => t.id !== made.json.id);
  assert.deepEqual(listed.map((t: any) => t.status), ['active', 'active']);
  assert.ok(!JSON.stringify(listed).includes(tokenIn(oldDir).split('.')[2]!), 'no secret in the listing');
  const oldId = tokenIn(oldDir).split('.')[1]!;
  // Verified, revoked and asked again within a few milliseconds, well inside the 1 s the server remembers a verified caller.
  assert.equal((await review(tokenIn(oldDir))).status, 200);
  const revoked = await rawRequest(srv, 'DELETE', `/v1/clusters/${c.id}/webhook-tokens/${oldId}`, { token: srv.rootToken });
  assert.deepEqual(revoked.json, { revoked: true });
  assert.equal((await review(tokenIn(oldDir))).status, 401, 'refused at once, though it was verified a moment ago');
  assert.deepEqual(await cliJson(srv, srv.rootToken, ['cluster', 'revoke-webhook-token', 'rotating', oldId]), { revoked: false }, 'again: nothing to do');
  assert.equal((await review(tokenIn(newDir))).status, 200, 'the other token works');
  assert.equal((await cli(srv, srv.rootToken, ['cluster', 'revoke-webhook-token', 'prod', oldId])).code, 4, "another cluster's token is not found there");
  const events = (await rawRequest(srv, 'GET', `/v1/audit?action=RevokeWebhookToken`, { token: srv.rootToken })).json.items;
  assert.deepEqual(events.map((e: any) => e.detail.tokenId), [oldId, made.json.id]);
  // A deleted cluster keeps its tokens in use, so they stay listed and revocable, by the cluster's ID.
  assert.equal((await cli(srv, srv.rootToken, ['cluster', 'delete', 'rotating'])).code, 0);
  assert.equal((await review(tokenIn(newDir))).status, 200, "the deleted cluster's kube-apiserver is still answered");
  assert.equal((await cliJson(srv, srv.rootToken, ['cluster', 'webhook-tokens', c.id])).length, 3);
  const newId = tokenIn(newDir).split('.')[1]!;
  assert.deepEqual(await cliJson(srv, srv.rootToken, ['cluster', 'revoke-webhook-token', c.id, newId]), { revoked: true });
  assert.equal((await review(tokenIn(newDir))).status, 401);
});

test('a deleted cluster keeps denying the credentials its deletion revoked, and keeps its CRL', async () => {
  const doomed = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'doomed', '--public-endpoint', 'https://192.0.2.77:6443']);
  const dir = path.join(work, 'doomed-kube-config');
  assert.equal((await cli(srv, srv.rootToken, ['cluster', 'kube-config', 'doomed', '--out', dir])).code, 0);
  const token = YAML.parse(fs.readFileSync(path.join(dir, 'authz-webhook.kubeconfig'), 'utf8')).users[0].user.token;
  const issued = (await rawRequest(srv, 'POST', `/v1/clusters/${doomed.id}/kubeconfig`, { token: aliceToken, body: '{}' })).json.credential;
  const review = () => rawRequest(srv, 'POST', `/kube/clusters/${doomed.id}/authorize`, {
    token, body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: issued.principalId, groups: ['dev'], extra: { 'authentication.kubernetes.io/credential-id': [`X509SHA256=${issued.fingerprintSha256}`] }, resourceAttributes: { verb: 'get', resource: 'pods' } } }),
  });
  assert.deepEqual((await review()).json.status, { allowed: false }, 'active: no opinion');
  assert.deepEqual(await cliJson(srv, srv.rootToken, ['cluster', 'delete', 'doomed']), { revoked: 1 });
  // Until its API server stops trusting the client CA, the revoked certificate must stay refused, not fall back
  // to the failure policy (a 401 would leave NoOpinion clusters to RBAC alone).
  const after = await review();
  assert.equal(after.status, 200, after.body);
  assert.equal(after.json.status.denied, true);
  assert.match(after.json.status.reason, /revoked/);
  const crl = await rawRequest(srv, 'GET', `/clusters/${doomed.id}/crl`);
  assert.equal(crl.status, 200);
  const crlFile = path.join(work, 'doomed.crl');
  fs.writeFileSync(crlFile, crl.raw);
  const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-CAfile', path.join(dir, 'client-ca.crt'), '-verify', '-noout', '-text'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.match(text.toUpperCase(), new RegExp(`SERIAL NUMBER: ${issued.serial.toUpperCase()}`));
  assert.doesNotMatch(text, /Unspecified/, 'RFC 5280: no reason code rather than unspecified');
  // Its name is free again, and it is gone from the account's listings.
  assert.ok(!(await cliJson(srv, srv.rootToken, ['cluster', 'list'])).some((c: any) => c.id === doomed.id));
});

test('a cluster deleted and registered again with the same imported client CA keeps denying what the deletion revoked (kubectl)', async () => {
  const dir = tempDir('kubecred-reborn-');
  const [key, crt] = [path.join(dir, 'ca.key'), path.join(dir, 'ca.crt')];
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], { stdio: 'ignore' });
  execFileSync('openssl', ['req', '-x509', '-new', '-key', key, '-out', crt, '-days', '365', '-subj', '/CN=reborn client CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const reborn = await startAuthorizingFront();
  try {
    fs.writeFileSync(path.join(dir, 'front-ca.pem'), reborn.caPem);
    const register = async (out: string) => {
      const c = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'reborn', '--public-endpoint', reborn.url, '--server-ca', path.join(dir, 'front-ca.pem'), '--ca-cert', crt, '--ca-key', key]);
      assert.equal((await cli(srv, srv.rootToken, ['cluster', 'kube-config', 'reborn', '--out', out, '--unauthorized-ttl', '1ms'])).code, 0);
      reborn.configure(out);
      return c;
    };
    const first = await register(path.join(dir, 'first'));
    const file = path.join(dir, 'alice.kubeconfig');
    assert.equal((await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'reborn', '-o', file])).code, 0);
    assert.equal((await kubectl('--kubeconfig', file, 'get', 'pods')).code, 0);
    assert.deepEqual(await cliJson(srv, srv.rootToken, ['cluster', 'delete', first.id]), { revoked: 1 });
    // The same API server, the same CA in its --client-ca-file, a new kubecred cluster and webhook.
    const second = await register(path.join(dir, 'second'));
    assert.notEqual(second.id, first.id);
    const r = await kubectl('--kubeconfig', file, 'get', 'pods');
    assert.equal(r.code, 1, 'the revoked kubeconfig came back to life');
    assert.match(r.stderr, /issued for another cluster was revoked/);
    // A new kubeconfig of the new cluster works; one of the old cluster still active would be RBAC's (no opinion).
    const fresh = path.join(dir, 'alice-fresh.kubeconfig');
    assert.equal((await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'reborn', '-o', fresh])).code, 0);
    assert.equal((await kubectl('--kubeconfig', fresh, 'get', 'pods')).code, 0);
  } finally {
    await reborn.close();
  }
});

test('the CRL lists revoked serials, carries a CRL number and nextUpdate, and openssl crl -verify accepts it', async () => {
  const crlFile = path.join(work, 'prod.crl');
  const unknown = await rawRequest(srv, 'GET', '/clusters/cls_nosuchcluster/crl');
  assert.equal(unknown.status, 404);
  assert.doesNotMatch(unknown.json.message, /your account/, 'nobody is asking as an account here');
  const r = await rawRequest(srv, 'GET', `/clusters/${cluster.id}/crl`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/pkix-crl');
  fs.writeFileSync(crlFile, r.raw);
  const caFile = path.join(configDir, 'client-ca.crt');
  const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', crlFile, '-CAfile', caFile, '-verify', '-noout', '-text'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  assert.match(text, /CRL Number/);
  assert.match(text, /Next Update/);
  const revoked = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod', '--state', 'revoked']);
  assert.ok(revoked.length > 0);
  for (const c of revoked) assert.match(text.toUpperCase(), new RegExp(`SERIAL NUMBER: ${c.serial.toUpperCase()}`));
  const superseded = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod', '--state', 'superseded']);
  for (const c of superseded) assert.match(text.toUpperCase(), new RegExp(`SERIAL NUMBER: ${c.serial.toUpperCase()}`));
});

test('a CRL is built once and served again until a revocation on its cluster (public endpoint: a GET must not cost a build)', async () => {
  const get = async () => (await rawRequest(srv, 'GET', `/clusters/${cluster.id}/crl`)).raw;
  const first = await get();
  const again = await Promise.all([get(), get(), get()]);
  for (const r of again) assert.ok(r.equals(first), 'the same CRL, CRL number and all');
  const k = await rawRequest(srv, 'POST', `/v1/clusters/${cluster.id}/kubeconfig`, { token: srv.rootToken, body: JSON.stringify({ temporaryMinutes: 15 }) });
  assert.equal(k.status, 200, k.body);
  assert.ok((await get()).equals(first), 'an issuance changes no CRL');
  assert.equal((await rawRequest(srv, 'POST', `/v1/credentials/${k.json.credential.id}/revoke`, { token: srv.rootToken, body: '{}' })).status, 200);
  const after = await get();
  assert.ok(!after.equals(first), 'rebuilt after the revocation');
  const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], { input: after, encoding: 'utf8' });
  assert.match(text.toUpperCase(), new RegExp(`SERIAL NUMBER: ${k.json.credential.serial.toUpperCase()}`));
});

test('the exec-plugin kubeconfig works, reuses its cached certificate across kubectl runs, and fails once revoked and refreshed', async () => {
  const home = tempDir('kubecred-home-');
  const env = { ...process.env, HOME: home, KUBECRED_TOKEN: aliceToken, KUBECRED_CONFIG: '/nonexistent' };
  const run = (...args: string[]) => new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile('/usr/bin/kubectl', args, { encoding: 'utf8', env }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }));
  });
  const file = path.join(work, 'alice-exec.kubeconfig');
  const w = await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'prod', '--exec', '-o', file]);
  assert.equal(w.code, 0, w.stderr);
  const kc = YAML.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(kc.users[0].user.exec.apiVersion, 'client.authentication.k8s.io/v1');
  assert.ok(!fs.readFileSync(file, 'utf8').includes(aliceToken), 'the token is not written into the kubeconfig');

  const count = async () => (await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod', '--principal', 'alice', '--kind', 'temporary'])).length;
  const before = await count();
  const first = await run('--kubeconfig', file, 'get', '--raw', '/whoami');
  assert.equal(first.code, 0, first.stderr);
  const second = await run('--kubeconfig', file, 'get', '--raw', '/whoami');
  assert.equal(second.code, 0, second.stderr);
  assert.equal(await count(), before + 1, 'two kubectl runs, one certificate: the second came from the cache');
  const cacheDir = path.join(home, '.cache', 'kubecred', 'exec');
  const [cached] = fs.readdirSync(cacheDir);
  assert.equal(fs.statSync(path.join(cacheDir, cached)).mode & 0o777, 0o600);

  assert.equal((await cli(srv, srv.rootToken, ['revoke', '--cluster', 'prod', '--principal', 'alice', '--reason', 'offboarded'])).code, 0);
  await msUntilForbidden(file, TTL_MS + 3000, run);
  // Make the cached certificate due for refresh, as time would.
  const entry = JSON.parse(fs.readFileSync(path.join(cacheDir, cached), 'utf8'));
  fs.writeFileSync(path.join(cacheDir, cached), JSON.stringify({ ...entry, expiresAt: new Date(Date.now() - 1000).toISOString() }), { mode: 0o600 });
  const refused = await run('--kubeconfig', file, 'get', '--raw', '/whoami');
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /was revoked \(offboarded\)/);
  assert.equal(await count(), before + 1, 'no new certificate was minted after the revocation');

  // Another kubecred user on the same machine account (same HOME), or after logging in as someone else: never the
  // first one's cached certificate.
  const bob = await cliJson(srv, srv.rootToken, ['principal', 'create', 'exec-bob']);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'self', '--principal', 'exec-bob']);
  const bobToken = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'exec-bob'])).token;
  const execAs = (tok: string) => cli(srv, tok, ['credential', 'exec', '--cluster', 'prod', '--cache-dir', path.join(home, 'shared-cache')]);
  const cnOf = (out: string) => /CN=([^\n,]+)/.exec(new crypto.X509Certificate(JSON.parse(out).status.clientCertificateData).subject)?.[1];
  const fromAlice = await execAs(aliceToken);
  assert.equal(fromAlice.code, 0, fromAlice.stderr);
  assert.equal(cnOf(fromAlice.stdout), (await rawRequest(srv, 'GET', '/v1/whoami', { token: aliceToken })).json.principal.id);
  const fromBob = await execAs(bobToken);
  assert.equal(fromBob.code, 0, fromBob.stderr);
  assert.equal(cnOf(fromBob.stdout), bob.id, "bob got his own certificate, not alice's cached one");
});

test('the exec plugin counts a certificate\'s lifetime by the server\'s clock from when it fetched it: a local clock minutes off neither serves an expired one nor mints on every run', async () => {
  const { NativeClient } = await import('../src/client/native-client.ts');
  const { runExecPlugin } = await import('../src/cli/exec-plugin.ts');
  const client = new NativeClient({ server: srv.url, token: aliceToken, caPem: fs.readFileSync(srv.caFile, 'utf8') });
  const count = async () => (await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod', '--principal', 'alice', '--kind', 'temporary'])).length;
  for (const offMin of [-3, +16]) {
    const cacheDir = tempDir('kubecred-skew-');
    const now = new Date(Date.now() + offMin * 60_000);
    const before = await count();
    const first = JSON.parse(await runExecPlugin(client, { server: srv.url, cluster: 'prod', minutes: 15, cacheDir, now }));
    const second = JSON.parse(await runExecPlugin(client, { server: srv.url, cluster: 'prod', minutes: 15, cacheDir, now: new Date(now.getTime() + 60_000) }));
    assert.equal(await count(), before + 1, `clock ${offMin} min off: one certificate for two runs`);
    assert.equal(second.status.clientCertificateData, first.status.clientCertificateData);
    // client-go compares expirationTimestamp with the same local clock: about 15 minutes ahead of it.
    const left = Date.parse(first.status.expirationTimestamp) - now.getTime();
    assert.ok(left > 14 * 60_000 && left <= 15 * 60_000 + 1000, `${left} ms left by the local clock`);
    // Past that local end, it fetches a new one, though by the server's clock the old one may still be valid.
    await runExecPlugin(client, { server: srv.url, cluster: 'prod', minutes: 15, cacheDir, now: new Date(now.getTime() + 15 * 60_000) });
    assert.equal(await count(), before + 2);
  }
});

test('a token kubeconfig works through the TokenReview webhook and gets 401 after revocation', async () => {
  const dir = path.join(work, 'token-kube-config');
  const tokFront = await startAuthorizingFront();
  try {
    fs.writeFileSync(path.join(work, 'tok-front-ca.pem'), tokFront.caPem);
    await cliJson(srv, srv.rootToken, ['cluster', 'create', 'tokens', '--token-kubeconfigs', '--public-endpoint', tokFront.url, '--server-ca', path.join(work, 'tok-front-ca.pem')]);
    const w = await cli(srv, srv.rootToken, ['cluster', 'kube-config', 'tokens', '--out', dir, '--token-cache-ttl', '1s']);
    assert.equal(w.code, 0, w.stderr);
    assert.equal(fs.statSync(path.join(dir, 'authn-webhook.kubeconfig')).mode & 0o777, 0o600);
    assert.match(fs.readFileSync(path.join(dir, 'kube-apiserver-flags.txt'), 'utf8'), /--authentication-token-webhook-config-file=.*\n--authentication-token-webhook-version=v1\n--authentication-token-webhook-cache-ttl=1s/);
    // k3s and RKE2 get every flag too, the TokenReview ones included.
    assert.match(fs.readFileSync(path.join(dir, 'README.md'), 'utf8'), /## k3s[\s\S]*- authentication-token-webhook-config-file=[\s\S]*## RKE2[\s\S]*- authentication-token-webhook-cache-ttl=1s/);
    tokFront.configure(dir);

    const file = path.join(work, 'alice-token.kubeconfig');
    assert.equal((await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'tokens', '-o', file])).code, 0);
    const kc = YAML.parse(fs.readFileSync(file, 'utf8'));
    assert.match(kc.users[0].user.token, /^kct1\.crd_/);
    assert.equal(kc.users[0].user['client-certificate-data'], undefined);
    const again = YAML.parse((await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'tokens'])).stdout);
    assert.equal(again.users[0].user.token, kc.users[0].user.token, 'the default token kubeconfig is handed out again');

    const ok = await kubectl('--kubeconfig', file, 'get', '--raw', '/whoami');
    assert.equal(ok.code, 0, ok.stderr);
    const who = JSON.parse(ok.stdout).user;
    assert.deepEqual(who.groups, ['dev']);
    assert.match(who.extra['authentication.kubernetes.io/credential-id'][0], /^KUBECRED=crd_/);
    const listed = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'tokens']);
    assert.equal(listed[0].type, 'token');
    // Asked for another audience (a service using the TokenReview API): no audiences in the answer, so kube-apiserver
    // assumes its own, which the service's do not meet: the token is kube-apiserver's only.
    const authnKc = YAML.parse(fs.readFileSync(path.join(dir, 'authn-webhook.kubeconfig'), 'utf8'));
    const tr = await rawRequest(srv, 'POST', new URL(authnKc.clusters[0].cluster.server).pathname, {
      token: authnKc.users[0].user.token,
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: kc.users[0].user.token, audiences: ['https://vault.example'] } }),
    });
    assert.equal(tr.status, 200, tr.body);
    assert.equal(tr.json.status.authenticated, true);
    assert.equal(tr.json.status.audiences, undefined, 'never the requested audiences echoed');

    assert.equal((await cli(srv, srv.rootToken, ['revoke', '--cluster', 'tokens', '--principal', 'alice'])).code, 0);
    const start = Date.now();
    for (;;) {
      const r = await kubectl('--kubeconfig', file, 'get', '--raw', '/whoami');
      if (r.code !== 0) {
        assert.match(r.stderr, /Unauthorized/);
        break;
      }
      if (Date.now() - start > 4000) assert.fail('token still accepted 4 s after revocation');
      await new Promise((res) => setTimeout(res, 100));
    }
    const csr = await cli(srv, aliceToken, ['kubeconfig', 'get', '--cluster', 'tokens', '--csr', '/dev/null']);
    assert.notEqual(csr.code, 0);
    // The revoked token kubeconfigs have serials but no certificates: the cluster's CRL lists none of them.
    const tokensId = (await cliJson(srv, srv.rootToken, ['cluster', 'show', 'tokens'])).id;
    const crl = await rawRequest(srv, 'GET', `/clusters/${tokensId}/crl`);
    assert.equal(crl.status, 200);
    const crlText = execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], { input: crl.raw, encoding: 'utf8' });
    assert.match(crlText, /No Revoked Certificates/);
  } finally {
    await tokFront.close();
  }
});

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

test('an expired temporary kubeconfig is refused by the API server', async (t) => {
  if (!fs.existsSync(LIBFAKETIME)) return t.skip('libfaketime is not installed (apt-get install faketime); .ci/run installs it');
  // A kubecred whose clock runs a day behind issues a 15-minute kubeconfig that, in real time, expired
  // long ago: exactly what a user holds once a temporary kubeconfig has run out.
  const past = await startServerProcess({ env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: '-1d', FAKETIME_DONT_FAKE_MONOTONIC: '1' } });
  const pastFront = await startAuthorizingFront();
  try {
    const dir = path.join(work, 'expired-kube-config');
    fs.writeFileSync(path.join(work, 'past-front-ca.pem'), pastFront.caPem);
    await cliJson(past, past.rootToken, ['cluster', 'create', 'past', '--public-endpoint', pastFront.url, '--server-ca', path.join(work, 'past-front-ca.pem')]);
    assert.equal((await cli(past, past.rootToken, ['cluster', 'kube-config', 'past', '--out', dir])).code, 0);
    pastFront.configure(dir);
    const file = path.join(work, 'expired.kubeconfig');
    assert.equal((await cli(past, past.rootToken, ['kubeconfig', 'get', '--cluster', 'past', '--temporary', '15', '-o', file])).code, 0);
    const cert = new (await import('node:crypto')).X509Certificate(Buffer.from(YAML.parse(fs.readFileSync(file, 'utf8')).users[0].user['client-certificate-data'], 'base64'));
    assert.ok(new Date(cert.validTo).getTime() < Date.now(), 'the certificate has expired in real time');
    const r = await kubectl('--kubeconfig', file, 'get', 'pods');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /must be logged in|Unauthorized/, 'kube-apiserver answers 401 to an expired client certificate');
  } finally {
    await pastFront.close();
    await past.stop();
  }
});

test('an exec kubeconfig for a cluster named like a YAML 1.1 boolean or number (on, 1_000) loads in kubectl', async () => {
  for (const name of ['on', '1_000']) {
    await cliJson(srv, srv.rootToken, ['cluster', 'create', name, '--public-endpoint', 'https://192.0.2.90:6443']);
    const file = path.join(work, `exec-${name}.kubeconfig`);
    assert.equal((await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', name, '--exec', '-o', file])).code, 0);
    const view = await kubectl('config', 'view', '--kubeconfig', file, '-o', 'json');
    assert.equal(view.code, 0, view.stderr);
    assert.equal(JSON.parse(view.stdout).clusters[0].name, name);
  }
});
