// `kubecred restore` re-applies what was taken away after the backup, of what the backup holds: a revoked kubeconfig,
// token and access key stay revoked, a deleted principal stays deleted with everything it held. Through the real CLI,
// the real server, raw SubjectAccessReviews carrying the certificate's SHA-256, /v1 and the official Huawei Cloud SDK.

import assert from 'node:assert/strict';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { test } from 'node:test';
import { cli, cliJson } from './support/cli.ts';
import { cceClient, ListClustersRequest, PROJECT_ID, sdkError, setupCce } from './support/huaweicloud-sdk.ts';
import { api, webhookVerdict } from './support/replicas.ts';
import { rawRequest } from './support/http.ts';
import { startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';

async function restore(dataDir: string, backup: string, format: 'json' | 'table') {
  const r = await cli(null, null, ['restore', backup, '--data-dir', dataDir, ...(format === 'json' ? ['--output', 'json'] : [])]);
  assert.equal(r.code, 0, r.stderr);
  return { ...r, json: format === 'json' ? JSON.parse(r.stdout) : null };
}

test('kubecred restore re-applies the revocations and deletions made after the backup: revoked kubeconfigs, tokens and access keys stay refused, a deleted principal stays deleted', { timeout: 120_000 }, async () => {
  let srv: ServerProcess = await startServerProcess({ args: ['--log-level', 'warn'] });
  try {
    const { cluster: prod, alice, bob } = await setupCce(srv, { publicEndpoint: 'https://203.0.113.20:6443' });
    const hook = (await api(srv, 'POST', `/v1/clusters/${prod.id}/webhook-tokens`)).json.token;
    const kubeconfig = async (principalId: string) => (await api(srv, 'POST', `/v1/clusters/${prod.id}/kubeconfig`, { principalId })).json.credential;
    // bob's custom validity: his deletion resets it, and so must its re-application.
    assert.equal((await cli(srv, srv.rootToken, ['validity', 'set', '--cluster', prod.id, '--principal', 'bob', '--hours', '72'])).code, 0);
    const alicesKc = await kubeconfig(alice.id);
    const bobsKc = await kubeconfig(bob.id);
    const rootsKc = await kubeconfig(srv.rootPrincipalId);
    // alice's second token and key, revoked after the backup; her first ones stay usable.
    const alicesToken = await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'alice', '--name', 'laptop']);
    const alicesKey = await cliJson(srv, srv.rootToken, ['accesskey', 'create', '--principal', 'alice']);
    const backup = path.join(tempDir('kubecred-reapply-'), 'last-night.db');
    assert.equal((await cli(null, null, ['backup', backup, '--data-dir', srv.dataDir])).code, 0);

    // This morning: alice's kubeconfig, her laptop token and second key revoked; bob (kubeconfig, token, key) left.
    // A policy detached too: restore cannot re-apply that, so it still asks for it.
    assert.equal((await cli(srv, srv.rootToken, ['credential', 'revoke', alicesKc.id, '--reason', 'laptop stolen'])).code, 0);
    assert.equal((await cli(srv, srv.rootToken, ['token', 'revoke', alicesToken.id, '--principal', 'alice'])).code, 0);
    assert.equal((await cli(srv, srv.rootToken, ['accesskey', 'revoke', alicesKey.accessKeyId, '--principal', 'alice'])).code, 0);
    assert.equal((await cli(srv, srv.rootToken, ['principal', 'delete', 'bob'])).code, 0);
    assert.equal((await cli(srv, srv.rootToken, ['policy', 'detach', 'cce-self', '--principal', 'alice'])).code, 0);
    const revokedThen = await cliJson(srv, srv.rootToken, ['credential', 'list', '--state', 'revoked']);
    assert.deepEqual(revokedThen.map((c: any) => c.id).sort(), [alicesKc.id, bobsKc.id].sort());
    // Killed: the latest writes are in the write-ahead log only.
    await srv.stop('SIGKILL');

    const bobsToken = bob.token.split('.')[1]; // kc1.<id>.<secret>
    // The table names what was re-applied, and asks to redo only the detachment.
    const table = await restore(srv.dataDir, backup, 'table');
    assert.match(table.stdout, /re-applied from the replaced database/);
    for (const id of [alicesKc.id, bobsKc.id, alicesToken.id, bobsToken, alicesKey.accessKeyId, bob.ak, bob.id]) assert.match(table.stdout, new RegExp(id));
    assert.match(table.stdout, /undone by this restore: 1 change\(s\)[\s\S]*DetachPolicy/);
    assert.doesNotMatch(table.stdout, /RevokeToken|RevokeAccessKey|RevokeKubeconfig|DeletePrincipal/);
    assert.match(table.stderr, /7 revocation\(s\) and deletion\(s\) made after the backup were re-applied/);
    assert.match(table.stderr, /1 change\(s\) made after the backup are undone/);

    // Again from the same backup (over the database the first restore put in place): the same, re-applied again.
    const r = await restore(srv.dataDir, backup, 'json');
    const re = r.json.reapplied;
    assert.deepEqual(re.credentials.map((c: any) => [c.id, c.state, c.revokeReason]).sort(), [[alicesKc.id, 'revoked', 'laptop stolen'], [bobsKc.id, 'revoked', 'principal deleted']].sort());
    assert.deepEqual(re.tokens, [alicesToken.id, bobsToken].sort());
    assert.deepEqual(re.accessKeys, [alicesKey.accessKeyId, bob.ak].sort());
    assert.deepEqual(re.principals, [bob.id]);
    assert.deepEqual(re.clusters, []);
    assert.deepEqual(r.json.carried.credentials, [], 'nothing was issued after the backup');
    const file = new BetterSqlite3(path.join(srv.dataDir, 'kubecred.db'), { readonly: true });
    try {
      assert.equal(file.prepare('select count(*) from validity_overrides where principal_id = ?').pluck().get(bob.id), 0, "bob's custom validity went with him");
    } finally {
      file.close();
    }

    srv = await startServerProcess({ dataDir: srv.dataDir, previous: srv });
    for (const [kc, holder] of [[alicesKc, alice.id], [bobsKc, bob.id]]) {
      const v = await webhookVerdict(srv, prod.id, hook, kc.fingerprintSha256, holder);
      assert.equal(v.denied, true, `${kc.id}: ${JSON.stringify(v)}`);
      assert.match(v.reason ?? '', /was revoked/);
    }
    assert.equal((await webhookVerdict(srv, prod.id, hook, rootsKc.fingerprintSha256, srv.rootPrincipalId)).denied, false, 'a kubeconfig nobody revoked is as it was');

    const asCaller = (token: string) => rawRequest(srv, 'GET', `/v1/principals/${alice.id}`, { token });
    assert.equal((await asCaller(alicesToken.token)).status, 401, 'the revoked token');
    assert.equal((await asCaller(bob.token)).status, 401, 'the deleted principal\'s token');
    assert.equal((await asCaller(alice.token)).status, 200, 'alice\'s other token still works');
    // CCE serves no read: a signature it accepts gets 404 past authentication, a refused one 401.
    const listClusters = (ak: string, sk: string) => sdkError(cceClient(srv, ak, sk, PROJECT_ID).listClusters(new ListClustersRequest()));
    assert.equal((await listClusters(alicesKey.accessKeyId, alicesKey.accessKeySecret)).httpStatusCode, 401, 'the revoked access key');
    assert.equal((await listClusters(bob.ak, bob.sk)).httpStatusCode, 401, 'the deleted principal\'s access key');
    assert.equal((await listClusters(alice.ak, alice.sk)).httpStatusCode, 404, 'alice\'s other access key still authenticates');

    const bobNow = await rawRequest(srv, 'GET', `/v1/principals/${bob.id}`, { token: srv.rootToken });
    assert.equal(bobNow.status, 200, 'a deleted principal is still shown by its ID');
    assert.ok(Date.parse(bobNow.json.deletedAt) > 0, 'bob stays deleted');
    const revokedNow = await cliJson(srv, srv.rootToken, ['credential', 'list', '--state', 'revoked']);
    const columns = (cs: any[]) => cs.map((c) => [c.id, c.revokedAt, c.revokedBy, c.revokeReason]).sort();
    assert.deepEqual(columns(revokedNow), columns(revokedThen), 'their original times, revokers and reasons');
    const events = await cliJson(srv, srv.rootToken, ['audit', 'list', '--action', 'ReapplyRevocations']);
    assert.equal(events.length, 1);
    assert.equal(events[0].actorId, null);
    assert.deepEqual(events[0].detail.credentialIds, [alicesKc.id, bobsKc.id].sort());
    assert.deepEqual(events[0].detail.tokenIds, [alicesToken.id, bobsToken].sort());
    assert.deepEqual(events[0].detail.accessKeyIds, [alicesKey.accessKeyId, bob.ak].sort());
    assert.deepEqual(events[0].detail.principalsDeleted, [bob.id]);
  } finally {
    await srv.stop();
  }
});
