// The kubeconfig lifecycle rules of PRODUCT.md, each test named after its rule, on a real SQLite
// store with a clock moved by hand (no sleeps).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import YAML from 'yaml';
import { DAY, HOUR, isCode, makeKit, type Kit } from './test-kit.ts';
import type { Actor } from './actor.ts';
import { KubecredError } from './errors.ts';

let kit: Kit;
let clusterId: string;
let alice: Actor;

before(async () => {
  kit = await makeKit();
  const c = await kit.authority.clusters.create(kit.root, { name: 'prod', region: 'on-prem-1', publicEndpoint: 'https://203.0.113.10:6443', privateEndpoint: 'https://10.0.0.10:6443' });
  clusterId = c.id;
  alice = await user(['dev', 'oncall']);
});
after(() => kit.close());

const parse = (kubeconfig: string) => YAML.parse(kubeconfig);
const certOf = (pem: string) => new crypto.X509Certificate(pem);
const code = isCode;
const get = (a: Actor, extra: Record<string, unknown> = {}) => kit.authority.credentials.getKubeconfig(a, { clusterId, endpoint: 'public', ...extra });

const user = (groups: string[] = [], statements?: unknown[]) => kit.user(groups, statements);

test('kubeconfig credential: CN is the principal ID, O each group, clientAuth only, random positive serial, fingerprint stored', async () => {
  const k = await get(alice);
  const x = certOf(k.certificatePem);
  assert.match(x.subject, new RegExp(`CN=${alice.principal.id}`));
  assert.match(x.subject, /O=dev/);
  assert.match(x.subject, /O=oncall/);
  assert.deepEqual(x.keyUsage, ['1.3.6.1.5.5.7.3.2']);
  assert.equal(k.credential.fingerprintSha256, x.fingerprint256.replaceAll(':', '').toLowerCase());
  const serial = BigInt(`0x${x.serialNumber}`);
  assert.ok(serial > 0n);
  const other = await get(alice, { temporaryMinutes: 15 });
  assert.notEqual(certOf(other.certificatePem).serialNumber, x.serialNumber);
});

test('default kubeconfig: asking again returns the same kubeconfig (same certificate, key from storage), audited as GetKubeconfig', async () => {
  const u = await user();
  const a = await get(u);
  const b = await get(u);
  const events = (await kit.authority.audit.list(kit.root, { action: 'GetKubeconfig', resourceId: a.credential.id }, { limit: 10 })).items;
  assert.equal(events.length, 1, 'the key handed out again is on the record');
  assert.equal(events[0]!.actorId, u.principal.id);
  assert.equal((events[0]!.detail as { reused: boolean }).reused, true);
  assert.equal(a.reused, false);
  assert.equal(b.reused, true);
  assert.equal(a.credential.id, b.credential.id);
  assert.equal(a.kubeconfig, b.kubeconfig);
  const key = Buffer.from(parse(b.kubeconfig).users[0].user['client-key-data'], 'base64').toString();
  assert.ok(certOf(b.certificatePem).checkPrivateKey(crypto.createPrivateKey(key)));
});

test('default kubeconfig: valid 3 years unless a custom validity is set', async () => {
  const u = await user();
  const k = await get(u);
  const expect = kit.clock.now();
  expect.setUTCFullYear(expect.getUTCFullYear() + 3);
  assert.ok(Math.abs(new Date(k.credential.notAfter).getTime() - expect.getTime()) <= 1000);
  assert.ok(Math.abs(new Date(certOf(k.certificatePem).validTo).getTime() - expect.getTime()) <= 1000);
});

test('default kubeconfig: renewed from 60 days before expiry with full validity; the previous stays valid until it expires', async () => {
  const u = await user();
  const first = await get(u);
  const expiry = new Date(first.credential.notAfter).getTime();
  kit.clock.set(new Date(expiry - 61 * DAY));
  assert.equal((await get(u)).credential.id, first.credential.id, '61 days before expiry: still the same');
  kit.clock.set(new Date(expiry - 59 * DAY));
  const renewed = await get(u);
  assert.notEqual(renewed.credential.id, first.credential.id);
  const expect = kit.clock.now();
  expect.setUTCFullYear(expect.getUTCFullYear() + 3);
  assert.ok(Math.abs(new Date(renewed.credential.notAfter).getTime() - expect.getTime()) <= 1000, 'full validity');
  const old = await kit.authority.credentials.get(kit.root, first.credential.id);
  assert.equal(old.status, 'active');
  assert.equal(old.current, false);
  assert.equal((await get(u)).credential.id, renewed.credential.id, 'the renewed one is now returned');
  kit.clock.set(new Date(expiry + 1000));
  assert.equal((await kit.authority.credentials.get(kit.root, first.credential.id)).status, 'expired');
  kit.clock.set(new Date('2026-01-01T00:00:00Z'));
});

test('default kubeconfig: the renewal window is never more than half the validity', async () => {
  const u = await user();
  await kit.authority.credentials.setValidity(kit.root, { clusterId, principalId: u.principal.id, hours: 100 });
  const first = await get(u);
  kit.clock.advance(49 * HOUR);
  assert.equal((await get(u)).credential.id, first.credential.id, 'before half of 100 h: same');
  kit.clock.advance(2 * HOUR);
  assert.notEqual((await get(u)).credential.id, first.credential.id, 'after half of 100 h: renewed');
  kit.clock.set(new Date('2026-01-01T00:00:00Z'));
});

test('default kubeconfig: fifty concurrent first requests yield exactly one default', async () => {
  const u = await user();
  const results = await Promise.all(Array.from({ length: 50 }, () => get(u)));
  assert.equal(new Set(results.map((r) => r.credential.id)).size, 1);
  const inv = await kit.authority.credentials.list(kit.root, { clusterId, principalId: u.principal.id }, { limit: 100 });
  assert.equal(inv.items.length, 1);
  assert.equal(results.filter((r) => !r.reused).length, 1);
});

test('temporary kubeconfig: 15 to 4320 minutes, a fresh key pair every time, key never stored, still in the inventory', async () => {
  const u = await user();
  await assert.rejects(get(u, { temporaryMinutes: 14 }), code('VALIDATION_FAILED'));
  await assert.rejects(get(u, { temporaryMinutes: 4321 }), code('VALIDATION_FAILED'));
  await assert.rejects(get(u, { temporaryMinutes: 60.5 }), code('VALIDATION_FAILED'));
  const a = await get(u, { temporaryMinutes: 15 });
  const b = await get(u, { temporaryMinutes: 4320 });
  assert.equal(new Date(a.credential.notAfter).getTime(), Math.floor((kit.clock.now().getTime() + 15 * 60_000) / 1000) * 1000);
  assert.equal(new Date(b.credential.notAfter).getTime(), Math.floor((kit.clock.now().getTime() + 4320 * 60_000) / 1000) * 1000);
  assert.notEqual(certOf(a.certificatePem).publicKey.export({ type: 'spki', format: 'der' }).toString('hex'), certOf(b.certificatePem).publicKey.export({ type: 'spki', format: 'der' }).toString('hex'));
  assert.equal(a.credential.kind, 'temporary');
  const inv = await kit.authority.credentials.list(kit.root, { principalId: u.principal.id, kind: 'temporary' }, { limit: 10 });
  assert.equal(inv.items.length, 2);
  const rows = await kit.store.credentials.list({ accountId: kit.root.accountId, principalId: u.principal.id, now: kit.clock.now() }, { limit: 10 });
  assert.ok(rows.items.every((r) => r.keySealed === null), 'no temporary key is stored');
});

test('client-supplied key: a CSR is signed with our subject, and the kubeconfig has no client-key-data', async () => {
  const u = await user(['dev']);
  const csr = execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', '/dev/null', '-subj', '/CN=attacker/O=system:masters'], { encoding: 'utf8' });
  const k = await get(u, { csrPem: csr });
  const x = certOf(k.certificatePem);
  assert.match(x.subject, new RegExp(`CN=${u.principal.id}`));
  assert.doesNotMatch(x.subject, /system:masters|attacker/);
  assert.equal(parse(k.kubeconfig).users[0].user['client-key-data'], undefined);
  assert.equal(k.credential.keySource, 'client');
  const t = await get(u, { csrPem: csr, temporaryMinutes: 30 });
  assert.equal(t.credential.kind, 'temporary');
  await assert.rejects(get(u, { csrPem: 'garbage' }), code('CSR_INVALID'));
});

test('endpoint choice: same credential, different server; an endpoint the cluster lacks is a clear error', async () => {
  const u = await user();
  const pub = await get(u, { endpoint: 'public' });
  const priv = await get(u, { endpoint: 'private' });
  assert.equal(pub.credential.id, priv.credential.id);
  assert.equal(parse(pub.kubeconfig).clusters[0].cluster.server, 'https://203.0.113.10:6443');
  assert.equal(parse(priv.kubeconfig).clusters[0].cluster.server, 'https://10.0.0.10:6443');
  const only = await kit.authority.clusters.create(kit.root, { name: 'edge', privateEndpoint: 'https://10.1.0.1:6443' });
  await assert.rejects(kit.authority.credentials.getKubeconfig(u, { clusterId: only.id, endpoint: 'public' }), (e: unknown) => code('ENDPOINT_UNAVAILABLE')(e) && /no public API endpoint/.test((e as Error).message));
});

test('custom validity: 1 to 876000 hours, root only; it supersedes the active default and the next one has the new validity', async () => {
  const u = await user();
  const before = await get(u);
  await assert.rejects(kit.authority.credentials.setValidity(u, { clusterId, principalId: u.principal.id, hours: 10 }), code('ROOT_ONLY'));
  await assert.rejects(kit.authority.credentials.setValidity(kit.root, { clusterId, principalId: u.principal.id, hours: 0 }), code('VALIDATION_FAILED'));
  await assert.rejects(kit.authority.credentials.setValidity(kit.root, { clusterId, principalId: u.principal.id, hours: 876001 }), code('VALIDATION_FAILED'));
  const res = await kit.authority.credentials.setValidity(kit.root, { clusterId, principalId: u.principal.id, hours: 720 });
  assert.deepEqual(res.superseded.map((c) => c.id), [before.credential.id]);
  assert.equal((await kit.authority.credentials.get(kit.root, before.credential.id)).status, 'superseded');
  const after = await get(u);
  assert.notEqual(after.credential.id, before.credential.id);
  assert.equal(new Date(after.credential.notAfter).getTime(), Math.floor((kit.clock.now().getTime() + 720 * HOUR) / 1000) * 1000);
  await kit.authority.credentials.setValidity(kit.root, { clusterId, principalId: u.principal.id, hours: 876000 });
  assert.ok(new Date((await get(u)).credential.notAfter).getTime() > Date.parse('2125-01-01'));
});

test('revocation: revokes every active credential of (cluster, principal), records who and why, resets the custom validity; a new one can be fetched', async () => {
  const u = await user();
  await kit.authority.credentials.setValidity(kit.root, { clusterId, principalId: u.principal.id, hours: 48 });
  const def = await get(u);
  const tmp = await get(u, { temporaryMinutes: 60 });
  const revoked = await kit.authority.credentials.revoke(kit.root, { clusterId, principalId: u.principal.id, reason: 'left the company' });
  assert.deepEqual(revoked.map((c) => c.id).sort(), [def.credential.id, tmp.credential.id].sort());
  const row = await kit.authority.credentials.get(kit.root, def.credential.id);
  assert.equal(row.status, 'revoked');
  assert.equal(row.revokedBy, kit.root.principal.id);
  assert.equal(row.revokeReason, 'left the company');
  assert.equal((await kit.authority.credentials.getValidity(kit.root, { clusterId, principalId: u.principal.id })).hours, null);
  const fresh = await get(u);
  assert.notEqual(fresh.credential.id, def.credential.id);
  const expect = kit.clock.now();
  expect.setUTCFullYear(expect.getUTCFullYear() + 3);
  assert.ok(Math.abs(new Date(fresh.credential.notAfter).getTime() - expect.getTime()) <= 1000, 'back to the 3-year default');
  const audit = await kit.authority.audit.list(kit.root, { action: 'RevokeKubeconfig', resourceId: clusterId }, { limit: 5 });
  assert.equal(audit.items[0].detail.reason, 'left the company');
});

test("revoking one credential: only that one, the current default's slot freed, the custom validity kept unless the default is revoked (004); others' need RevokeUserKubeconfig", async () => {
  const u = await user();
  await kit.authority.credentials.setValidity(kit.root, { clusterId, principalId: u.principal.id, hours: 48 });
  const def = await get(u);
  const tmp = await get(u, { temporaryMinutes: 60 });
  const one = await kit.authority.credentials.revokeOne(u, { credentialId: tmp.credential.id, reason: 'leaked' });
  assert.equal(one.revoked, true);
  assert.equal(one.credential.status, 'revoked');
  assert.equal((await kit.authority.credentials.get(kit.root, def.credential.id)).status, 'active');
  assert.equal((await get(u)).credential.id, def.credential.id, 'the default is handed out again');
  assert.deepEqual(await kit.authority.credentials.revokeOne(u, { credentialId: tmp.credential.id }), { revoked: false, credential: one.credential });
  // Revoking a temporary one kept the custom validity; revoking the default kubeconfig resets it, as the vendor's
  // "if the kubeconfig file used by your cluster is revoked, the custom validity period is reset" (004).
  assert.equal((await kit.authority.credentials.getValidity(kit.root, { clusterId, principalId: u.principal.id })).hours, 48);
  await kit.authority.credentials.revokeOne(u, { credentialId: def.credential.id });
  assert.equal((await kit.authority.credentials.getValidity(kit.root, { clusterId, principalId: u.principal.id })).hours, null);
  const next = await get(u);
  assert.notEqual(next.credential.id, def.credential.id);
  assert.ok(new Date(next.credential.notAfter).getTime() - kit.clock.now().getTime() > 1000 * DAY, 'the standard validity again');
  const events = await kit.authority.audit.list(kit.root, { action: 'RevokeKubeconfig', resourceId: def.credential.id }, { limit: 5 });
  assert.equal(events.items[0]!.detail.customValidityReset, true);
  // A default the validity itself superseded is not the one in use: revoking it leaves the validity.
  await kit.authority.credentials.setValidity(kit.root, { clusterId, principalId: u.principal.id, hours: 24 });
  const newest = await get(u);
  assert.equal((await kit.authority.credentials.revokeOne(u, { credentialId: next.credential.id })).revoked, true);
  assert.equal((await kit.authority.credentials.getValidity(kit.root, { clusterId, principalId: u.principal.id })).hours, 24);

  const other = await user();
  await assert.rejects(kit.authority.credentials.revokeOne(other, { credentialId: newest.credential.id }), code('ACCESS_DENIED'));
  const rootOwn = await get(kit.root, { temporaryMinutes: 15 });
  const admin = await user([], [{ Effect: 'Allow', Action: ['kubecred:RevokeUserKubeconfig'], Resource: '*' }]);
  await assert.rejects(kit.authority.credentials.revokeOne(admin, { credentialId: rootOwn.credential.id }), code('ROOT_ONLY'));
  assert.equal((await kit.authority.credentials.revokeOne(admin, { credentialId: newest.credential.id })).revoked, true);
  // An unknown ID is not found only for whoever may revoke others' kubeconfigs anywhere; the rest are refused as for
  // another's they may not revoke, so that they learn nothing of which IDs exist.
  await assert.rejects(kit.authority.credentials.revokeOne(admin, { credentialId: 'crd_missing' }), code('NOT_FOUND'));
  await assert.rejects(kit.authority.credentials.revokeOne(u, { credentialId: 'crd_missing' }), code('ACCESS_DENIED'));
  await assert.rejects(kit.authority.credentials.revokeOne(u, { credentialId: newest.credential.id, reason: 'x'.repeat(501) }), code('VALIDATION_FAILED'));
});

test('revoke-and-reissue: one transaction revokes and answers with the new kubeconfig', async () => {
  const u = await user();
  const old = await get(u);
  const res = await kit.authority.credentials.revokeAndReissue(u, { clusterId, endpoint: 'private' });
  assert.deepEqual(res.revoked.map((c) => c.id), [old.credential.id]);
  assert.notEqual(res.credential.id, old.credential.id);
  assert.equal(res.credential.status, 'active');
  assert.equal(parse(res.kubeconfig).clusters[0].cluster.server, 'https://10.0.0.10:6443');
  assert.equal((await get(u)).credential.id, res.credential.id);
});

test('revoke-and-reissue of one\'s own mesh kubeconfig needs only the revoke permission (ASM\'s RevokeKubeconfig); elsewhere, and for another\'s, the get permission too', async () => {
  const mesh = (await kit.authority.clusters.create(kit.root, { name: 'reissue-mesh', kind: 'service-mesh', publicEndpoint: 'https://203.0.113.30:6443' })).id;
  const revokeOnly = await user([], [{ Effect: 'Allow', Action: ['servicemesh:RevokeKubeconfig'], Resource: '*' }]);
  const res = await kit.authority.credentials.revokeAndReissue(revokeOnly, { clusterId: mesh, endpoint: 'public' });
  assert.equal(res.credential.status, 'active');
  // Getting a kubeconfig by itself is still not theirs; and ASM's action name says nothing of Kubernetes clusters.
  await assert.rejects(kit.authority.credentials.getKubeconfig(revokeOnly, { clusterId: mesh, endpoint: 'public' }), code('ACCESS_DENIED'));
  await assert.rejects(kit.authority.credentials.revokeAndReissue(revokeOnly, { clusterId, endpoint: 'public' }), code('ACCESS_DENIED'));
  const denied = await user([], [
    { Effect: 'Allow', Action: ['servicemesh:RevokeKubeconfig'], Resource: '*' },
    { Effect: 'Deny', Action: ['kubecred:GetKubeconfig'], Resource: '*' },
  ]);
  await assert.rejects(kit.authority.credentials.revokeAndReissue(denied, { clusterId: mesh, endpoint: 'public' }), (e: unknown) => e instanceof KubecredError && e.code === 'ACCESS_DENIED' && /explicitly denied/.test(e.message));
  // Refused before anything was revoked or minted.
  assert.equal((await kit.authority.credentials.list(kit.root, { principalId: denied.principal.id }, { limit: 10 })).items.length, 0);
  // Another's kubeconfig (a new key for them) is GetUserKubeconfig's, whatever revoke permission the caller has.
  const victim = await user();
  const revoker = await user([], [{ Effect: 'Allow', Action: ['kubecred:RevokeUserKubeconfig', 'cce:cluster:revokeClusterCert'], Resource: '*' }]);
  for (const c of [clusterId, mesh]) {
    await assert.rejects(kit.authority.credentials.revokeAndReissue(revoker, { clusterId: c, principalId: victim.principal.id, endpoint: 'public' }), (e: unknown) => e instanceof KubecredError && e.code === 'ACCESS_DENIED' && /GetUserKubeconfig/.test(e.message));
  }
  // On a Kubernetes cluster the revoke implies nothing: a get restricted to short-lived kubeconfigs stays restricted.
  const shortOnly = await user([], [
    { Effect: 'Allow', Action: ['cs:RevokeK8sClusterKubeConfig'], Resource: '*' },
    { Effect: 'Allow', Action: ['cs:DescribeClusterUserKubeconfig'], Resource: '*', Condition: { NumericLessThanEquals: { 'cs:KubeConfigDurationMinutes': 60 } } },
  ]);
  assert.equal((await get(shortOnly, { temporaryMinutes: 60 })).credential.kind, 'temporary');
  await assert.rejects(get(shortOnly), code('ACCESS_DENIED'));
  await assert.rejects(kit.authority.credentials.revokeAndReissue(shortOnly, { clusterId, endpoint: 'public' }), code('ACCESS_DENIED'));
});

test('deleting a principal or a cluster revokes its credentials and keeps the history', async () => {
  const u = await user();
  const k = await get(u);
  await kit.authority.principals.delete(kit.root, u.principal.id);
  const row = await kit.authority.credentials.get(kit.root, k.credential.id);
  assert.equal(row.status, 'revoked');
  assert.equal(row.revokeReason, 'principal deleted');
  await assert.rejects(kit.authority.authenticator.bearer('kc1.tok_00000000000000000000000000.' + 'a'.repeat(43)), code('UNAUTHENTICATED'));

  const c = await kit.authority.clusters.create(kit.root, { name: 'doomed', publicEndpoint: 'https://192.0.2.1:6443' });
  const v = await user();
  const k2 = await kit.authority.credentials.getKubeconfig(v, { clusterId: c.id, endpoint: 'public' });
  assert.deepEqual(await kit.authority.clusters.delete(kit.root, c.id), { revoked: 1 });
  assert.equal((await kit.authority.credentials.get(kit.root, k2.credential.id)).status, 'revoked');
  await assert.rejects(kit.authority.clusters.get(kit.root, c.id), code('NOT_FOUND'));
});

test("a request authenticated before its principal's deletion mints nothing after it; the deleted principal's ID is still revocable", async () => {
  const u = await user();
  const k = await get(u);
  const lateAdmin = await user([], [{ Effect: 'Allow', Action: ['kubecred:RevokeUserKubeconfig'], Resource: '*' }]);
  const stale = u; // the request's actor was loaded before the deletion below committed
  await kit.authority.principals.delete(kit.root, u.principal.id);
  // A deleted principal's policies decide nothing: refused before anything is minted.
  await assert.rejects(get(stale, { temporaryMinutes: 15 }), code('ACCESS_DENIED'));
  await assert.rejects(get(stale), code('ACCESS_DENIED'));
  // The inventory still lists what it held, by its ID.
  const rows = (await kit.authority.credentials.list(kit.root, { principalId: u.principal.id }, { limit: 100 })).items;
  assert.deepEqual(rows.map((c) => [c.id, c.status]), [[k.credential.id, 'revoked']], 'nothing minted after the deletion');

  // By ID (a deleteUser event's resource ID), not by its name, which a new principal may take.
  assert.deepEqual(await kit.authority.credentials.revoke(lateAdmin, { clusterId, principalId: u.principal.id, reason: 'offboarding check' }), []);
  await assert.rejects(kit.authority.credentials.revoke(lateAdmin, { clusterId, principalId: u.principal.name }), code('NOT_FOUND'));
  const one = await kit.authority.credentials.revokeOne(lateAdmin, { credentialId: k.credential.id });
  assert.equal(one.revoked, false);
  const audit = await kit.authority.audit.list(kit.root, { action: 'RevokeKubeconfig' }, { limit: 100 });
  assert.ok(audit.items.some((e) => e.resourceId === clusterId && (e.detail as any).principal === u.principal.id && (e.detail as any).reason === 'offboarding check'));
});

test('groups: system:masters is never issued; other system: groups only where the cluster allows them', async () => {
  await assert.rejects(kit.authority.principals.create(kit.root, { name: 'masters', groups: ['system:masters'] }), code('FORBIDDEN_GROUP'));
  const u = await user(['system:nodes']);
  await assert.rejects(get(u), code('FORBIDDEN_GROUP'));
  const lax = await kit.authority.clusters.create(kit.root, { name: 'lax', publicEndpoint: 'https://192.0.2.2:6443', allowSystemGroups: true });
  const k = await kit.authority.credentials.getKubeconfig(u, { clusterId: lax.id, endpoint: 'public' });
  assert.match(certOf(k.certificatePem).subject, /O=system:nodes/);
});

test('audit: issuance, validity change, policy and principal changes are recorded with request ID and source', async () => {
  const u = await user();
  const k = await get(u);
  const events = (await kit.authority.audit.list(kit.root, {}, { limit: 500 })).items;
  const issue = events.find((e) => e.action === 'IssueKubeconfig' && e.resourceId === k.credential.id)!;
  assert.equal(issue.actorId, u.principal.id);
  assert.equal(issue.requestId, u.requestId);
  assert.equal(issue.sourceIp, '127.0.0.1');
  assert.equal(issue.detail.serial, k.credential.serial);
  for (const action of ['CreatePrincipal', 'CreatePolicy', 'AttachPolicy', 'SetKubeconfigValidity', 'CreateCluster']) {
    assert.ok(events.some((e) => e.action === action), `${action} is audited`);
  }
  assert.ok(!JSON.stringify(events).includes('PRIVATE KEY'));
});

test('sweepExpired drops replay nonces once they expire (one row per signed vendor request, kept forever before)', async () => {
  const now = kit.clock.now();
  assert.equal(await kit.store.nonces.claim('test:sweep:a', new Date(now.getTime() + 60_000), now), true);
  assert.equal(await kit.store.nonces.claim('test:sweep:b', new Date(now.getTime() + 3_600_000), now), true);
  kit.clock.set(new Date(now.getTime() + 120_000));
  try {
    const dropped = await kit.authority.sweepExpired();
    assert.ok(dropped.nonces >= 1);
    assert.equal(await kit.store.nonces.claim('test:sweep:b', new Date(now.getTime() + 3_600_000), kit.clock.now()), false, 'an unexpired one is still a replay');
  } finally {
    kit.clock.set(now);
  }
});

test("a used nonce is kept two minutes past its window: a replica whose clock is ahead does not forget what one behind still accepts", async () => {
  const now = kit.clock.now();
  const windowEnd = new Date(now.getTime() + 60_000);
  assert.equal(await kit.authority.claimOnce('test:margin:a', windowEnd), true);
  assert.equal(await kit.authority.claimOnce('test:margin:a', windowEnd), false);
  try {
    // Past the window by this server's clock, within the margin: neither a sweep nor a claim forgets it.
    kit.clock.set(new Date(windowEnd.getTime() + 90_000));
    await kit.authority.sweepExpired();
    assert.equal(await kit.authority.claimOnce('test:margin:a', windowEnd), false);
    // Past the margin too: gone, and (the window long over) refused by the date check before any claim.
    kit.clock.set(new Date(windowEnd.getTime() + 121_000));
    await kit.authority.sweepExpired();
    assert.equal(await kit.authority.claimOnce('test:margin:a', windowEnd), true);
  } finally {
    kit.clock.set(now);
  }
});
