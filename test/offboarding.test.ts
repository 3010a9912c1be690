// Someone leaves: `kubecred principal delete`, then what the operator can still check of what they held, through
// the real CLI and the official Alibaba Cloud SDK. A deleted principal is found by its ID only, never by its name.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import CsModule, * as Cs from '@alicloud/cs20151215';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import { cli, cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

const CsClient = ((CsModule as any).default ?? CsModule) as unknown as typeof CsModule.default;

let srv: ServerProcess;
let prod: { id: string };
let edge: { id: string };

const ack = () => new CsClient(new $OpenApiUtil.Config({
  accessKeyId: srv.accessKeyId, accessKeySecret: srv.accessKeySecret, endpoint: new URL(srv.url).host, protocol: 'https', ca: fs.readFileSync(srv.caFile, 'utf8'),
}));

const api = async (token: string, method: string, path: string, body?: unknown) => {
  const r = await rawRequest(srv, method, path, { token, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  assert.ok(r.status < 300, `${method} ${path}: ${r.status} ${r.body}`);
  return r.json;
};

before(async () => {
  srv = await startServerProcess();
  prod = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'prod', '--public-endpoint', 'https://203.0.113.10:6443']);
  edge = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'edge', '--public-endpoint', 'https://203.0.113.20:6443']);
  await api(srv.rootToken, 'POST', '/v1/policies', { name: 'self-service', document: { Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:GetKubeconfig'], Resource: '*' }] } });
});

after(async () => {
  await srv?.stop();
});

test('after principal delete, the leaver is shown by ID, with its revoked tokens, access keys and policies; the deletion audit names what it ended; by name, a new hire', async () => {
  const alice = await cliJson(srv, srv.rootToken, ['principal', 'create', 'alice', '--group', 'dev']);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'self-service', '--principal', 'alice']);
  const t1 = await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'alice', '--name', 'laptop']);
  const t2 = await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'alice', '--name', 'ci']);
  const key = await cliJson(srv, srv.rootToken, ['accesskey', 'create', '--principal', 'alice']);
  await api(t1.token, 'POST', `/v1/clusters/${prod.id}/kubeconfig`, {});
  for (const c of ['prod', 'edge']) await cliJson(srv, srv.rootToken, ['validity', 'set', '--cluster', c, '--principal', 'alice', '--hours', '48']);

  const del = await cliJson(srv, srv.rootToken, ['principal', 'delete', 'alice']);
  assert.deepEqual(del, { revoked: 1, tokensRevoked: 2, accessKeysRevoked: 1 });

  const shown = await cliJson(srv, srv.rootToken, ['principal', 'show', alice.id]);
  assert.equal(shown.name, 'alice');
  assert.ok(Date.parse(shown.deletedAt) > 0, 'marked deleted');
  assert.equal((await cli(srv, srv.rootToken, ['principal', 'show', 'alice'])).code, 4, 'never by its name');

  const tokens = await cli(srv, srv.rootToken, ['token', 'list', '--principal', alice.id, '--output', 'json']);
  assert.equal(tokens.code, 0, tokens.stderr);
  assert.deepEqual(JSON.parse(tokens.stdout).map((t: any) => [t.id, t.status]).sort(), [[t1.id, 'revoked'], [t2.id, 'revoked']].sort());
  assert.match(tokens.stderr, new RegExp(`principal ${alice.id} was deleted at ${shown.deletedAt}`));
  const keys = await cli(srv, srv.rootToken, ['accesskey', 'list', '--principal', alice.id]);
  assert.equal(keys.code, 0, keys.stderr);
  assert.match(keys.stdout, new RegExp(`${key.accessKeyId}\\s+revoked`));
  assert.match(keys.stderr, /was deleted at/);
  const policies = await cli(srv, srv.rootToken, ['policy', 'list', '--principal', alice.id]);
  assert.equal(policies.code, 0, policies.stderr);
  assert.match(policies.stdout, /self-service/);
  assert.match(policies.stderr, /was deleted at .*nothing of it works now/);

  const [event] = await cliJson(srv, srv.rootToken, ['audit', 'list', '--action', 'DeletePrincipal', '--resource', alice.id]);
  assert.equal(event.detail.revoked, 1);
  assert.deepEqual(event.detail.tokens, { count: 2, ids: [t1.id, t2.id].sort() });
  assert.deepEqual(event.detail.accessKeys, { count: 1, ids: [key.accessKeyId] });
  assert.equal(event.detail.customValiditiesReset, 2, 'her custom validities went with her, as a revocation resets one');

  // ACK's ListUserKubeConfigStates answers what the deleted user held, not ErrorUserNotFound.
  const states = (await ack().listUserKubeConfigStates(alice.id, new Cs.ListUserKubeConfigStatesRequest({}))).body!.states!;
  assert.deepEqual(states.map((s) => [s.clusterName, s.certState]).sort(), [['edge', 'Unissued'], ['prod', 'Removed']]);

  // The name goes to whoever has it now.
  const rehired = await cliJson(srv, srv.rootToken, ['principal', 'create', 'alice']);
  const byName = await cliJson(srv, srv.rootToken, ['principal', 'show', 'alice']);
  assert.deepEqual([byName.id, byName.deletedAt], [rehired.id, null]);
  const theirs = await cli(srv, srv.rootToken, ['token', 'list', '--principal', 'alice', '--output', 'json']);
  assert.deepEqual([JSON.parse(theirs.stdout), theirs.stderr], [[], '']);
  // Nothing but reading: the deleted principal cannot be given anything.
  assert.equal((await cli(srv, srv.rootToken, ['token', 'create', '--principal', alice.id])).code, 4);
  assert.equal((await cli(srv, srv.rootToken, ['policy', 'attach', 'self-service', '--principal', alice.id])).code, 4);
});

test("what a leaver made for a role outlives it, and says who made it: tokens and access keys by createdBy, kubeconfigs by credential list --issued-by", async () => {
  const bot = await cliJson(srv, srv.rootToken, ['principal', 'create', 'ci-bot', '--kind', 'role', '--group', 'deployers']);
  const botDefault = await api(srv.rootToken, 'POST', `/v1/clusters/${prod.id}/kubeconfig`, { principalId: bot.id });
  const carol = await cliJson(srv, srv.rootToken, ['principal', 'create', 'carol']);
  await api(srv.rootToken, 'POST', '/v1/policies', { name: 'platform', document: { Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:GetKubeconfig', 'kubecred:GetUserKubeconfig', 'kubecred:CreateToken', 'kubecred:CreateAccessKey'], Resource: '*' }] } });
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'platform', '--principal', 'carol']);
  const carolToken = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'carol'])).token;

  const own = await api(carolToken, 'POST', `/v1/clusters/${prod.id}/kubeconfig`, {});
  const reused = await api(carolToken, 'POST', `/v1/clusters/${prod.id}/kubeconfig`, { principalId: bot.id });
  assert.equal(reused.credential.id, botDefault.credential.id, "the role's default, which the root issued");
  const botTemporary = await api(carolToken, 'POST', `/v1/clusters/${edge.id}/kubeconfig`, { principalId: bot.id, temporaryMinutes: 4320 });
  const botToken = await cliJson(srv, carolToken, ['token', 'create', '--principal', 'ci-bot', '--name', 'deploys']);
  const botKey = await cliJson(srv, carolToken, ['accesskey', 'create', '--principal', 'ci-bot']);
  await cliJson(srv, srv.rootToken, ['principal', 'delete', 'carol']);

  // They belong to the bot: they keep working.
  assert.equal((await rawRequest(srv, 'GET', '/v1/whoami', { token: botToken.token })).status, 200);
  const tokens = await cliJson(srv, srv.rootToken, ['token', 'list', '--principal', 'ci-bot']);
  assert.deepEqual(tokens.map((t: any) => [t.id, t.status, t.createdBy]), [[botToken.id, 'active', carol.id]]);
  const table = await cli(srv, srv.rootToken, ['token', 'list', '--principal', 'ci-bot']);
  assert.match(table.stdout, /CREATED_BY/);
  assert.match(table.stdout, new RegExp(`${botToken.id}.*${carol.id}`));
  const keys = await cliJson(srv, srv.rootToken, ['accesskey', 'list', '--principal', 'ci-bot']);
  assert.deepEqual(keys.map((k: any) => [k.accessKeyId, k.status, k.createdBy]), [[botKey.accessKeyId, 'active', carol.id]]);
  const rootsOwn = await cliJson(srv, srv.rootToken, ['token', 'list']);
  assert.ok(rootsOwn.every((t: any) => t.createdBy === null), 'the first start made the root token on the server, not through a request');

  // What carol issued, for herself and for the bot, newest first; not the bot's default, which the root issued.
  const issued = await cliJson(srv, srv.rootToken, ['credential', 'list', '--issued-by', carol.id]);
  assert.deepEqual(issued.map((c: any) => [c.id, c.principalId, c.status]), [[botTemporary.credential.id, bot.id, 'active'], [own.credential.id, carol.id, 'revoked']]);
  const first = await rawRequest(srv, 'GET', `/v1/credentials?issuedBy=${carol.id}&limit=1`, { token: srv.rootToken });
  assert.equal(first.status, 200, first.body);
  assert.deepEqual(first.json.items.map((c: any) => c.id), [botTemporary.credential.id]);
  const second = await rawRequest(srv, 'GET', `/v1/credentials?issuedBy=${carol.id}&limit=1&cursor=${first.json.next}`, { token: srv.rootToken });
  assert.deepEqual([second.json.items.map((c: any) => c.id), second.json.next], [[own.credential.id], null]);
  const forBot = await cliJson(srv, srv.rootToken, ['credential', 'list', '--issued-by', carol.id, '--principal', 'ci-bot']);
  assert.deepEqual(forBot.map((c: any) => c.id), [botTemporary.credential.id]);
  assert.equal((await cli(srv, srv.rootToken, ['credential', 'list', '--issued-by', 'carol'])).code, 4, 'a deleted issuer by its ID only');
});
