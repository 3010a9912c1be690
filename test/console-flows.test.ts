// The web console end to end, in Debian's Chromium against the real server: sign in, register a cluster,
// download a kubeconfig that kubectl parses, revoke it after confirming, see its state change and the
// audit entry, and be refused a root-only action as a non-root principal.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { browserUnavailable, ensureConsoleBuilt, launchBrowser, openConsole, signIn, type ConsoleTab } from './support/browser.ts';
import { cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';

const skip = browserUnavailable() ?? false;
let srv: ServerProcess;
let browser: Browser;
let work: string;
let root: ConsoleTab;
let alice: ConsoleTab;
let aliceId: string;
let aliceToken: string;
let clusterId: string;
let revokeRequestId: string;

before(async () => {
  if (skip) return;
  await ensureConsoleBuilt();
  [srv, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
  work = tempDir('kubecred-console-');
  // Tokens are handed out with the CLI here (the console's own token pages: console-credentials.test.ts).
  aliceId = (await cliJson(srv, srv.rootToken, ['principal', 'create', 'alice', '--group', 'dev'])).id;
  fs.writeFileSync(path.join(work, 'self.json'), JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:GetKubeconfig', 'kubecred:ListClusters', 'kubecred:GetCluster'], Resource: '*' }] }));
  await cliJson(srv, srv.rootToken, ['policy', 'create', 'self-service', '--file', path.join(work, 'self.json')]);
  await cliJson(srv, srv.rootToken, ['policy', 'attach', 'self-service', '--principal', 'alice']);
  aliceToken = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'alice'])).token;
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  for (const d of [srv?.dataDir, work]) if (d) fs.rmSync(d, { recursive: true, force: true });
});

const kubectl = (...args: string[]) => new Promise<string>((resolve, reject) => {
  execFile('/usr/bin/kubectl', args, { encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout)));
});

test('the root signs in with a token; the session lives in an HttpOnly cookie and nothing is kept in web storage', { skip }, async () => {
  root = await openConsole(browser, srv.url);
  const page = await root.page.goto('/console/');
  assert.equal(page!.status(), 200);
  assert.match(page!.headers()['content-security-policy'], /script-src 'self'/);
  await root.page.getByRole('heading', { name: 'Sign in to kubecred' }).waitFor();
  await signIn(root.page, srv.rootToken);
  await root.page.getByRole('heading', { name: 'Clusters' }).waitFor();
  await root.page.getByText('No clusters yet.').waitFor();

  const cookies = await root.context.cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0].name, '__Host-kubecred_session');
  assert.equal(cookies[0].httpOnly, true);
  assert.equal(cookies[0].secure, true);
  assert.equal(cookies[0].sameSite, 'Strict');
  assert.equal(cookies[0].path, '/');
  const stored = await root.page.evaluate(() => ({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie, html: document.documentElement.outerHTML }));
  assert.deepEqual({ local: stored.local, session: stored.session, cookie: stored.cookie }, { local: 0, session: 0, cookie: '' });
  assert.ok(!stored.html.includes(srv.rootToken.split('.')[2]), 'the token is not left in the page');
  assert.deepEqual(root.problems, []);
});

test('the root registers a cluster with a generated client CA, and it is listed with its endpoints', { skip }, async () => {
  const p = root.page;
  await p.getByRole('link', { name: 'Register a cluster' }).click();
  await p.getByLabel('Name', { exact: true }).fill('prod');
  await p.getByLabel('Public endpoint').fill('https://203.0.113.10:6443');
  await p.getByLabel('Private endpoint').fill('https://10.0.0.10:6443');
  await p.getByLabel('Generate a new one').check();
  await p.getByRole('button', { name: 'Register cluster' }).click();
  await p.getByRole('heading', { name: 'Cluster prod' }).waitFor();
  clusterId = /\/console\/clusters\/(cls_[a-z0-9]+)/.exec(p.url())![1];
  assert.match(await p.locator('pre.pem').innerText(), /^-----BEGIN CERTIFICATE-----/);

  await p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Clusters' }).click();
  const row = p.getByRole('row', { name: /prod/ });
  await row.waitFor();
  assert.match(await row.innerText(), /https:\/\/203\.0\.113\.10:6443[\s\S]*https:\/\/10\.0\.0\.10:6443[\s\S]*generated \(ec-p256\)/);
  const api = await rawRequest(srv, 'GET', `/v1/clusters/${clusterId}`, { token: srv.rootToken });
  assert.equal(api.json.clientCaSource, 'generated');
  assert.deepEqual(root.problems, []);
});

test('alice downloads her default kubeconfig, and kubectl parses it', { skip }, async () => {
  alice = await openConsole(browser, srv.url);
  await signIn(alice.page, aliceToken);
  const p = alice.page;
  await p.getByRole('link', { name: 'My kubeconfig' }).click();
  await p.getByLabel('Cluster').selectOption({ label: 'prod' });
  await p.getByLabel('Default').check();
  await p.getByRole('button', { name: 'Get kubeconfig' }).click();
  await p.getByRole('heading', { name: 'Your kubeconfig for prod' }).waitFor();
  const [download] = await Promise.all([p.waitForEvent('download'), p.getByRole('button', { name: 'Download kubeconfig' }).click()]);
  assert.equal(download.suggestedFilename(), 'prod.kubeconfig');
  const file = path.join(work, 'alice.kubeconfig');
  await download.saveAs(file);

  const view = JSON.parse(await kubectl('config', 'view', '--kubeconfig', file, '--raw', '-o', 'json'));
  assert.equal(view.clusters[0].cluster.server, 'https://203.0.113.10:6443');
  const cert = new crypto.X509Certificate(Buffer.from(view.users[0].user['client-certificate-data'], 'base64'));
  assert.match(cert.subject, new RegExp(`CN=${aliceId}`));
  assert.match(cert.subject, /O=dev/);
  assert.ok(view.users[0].user['client-key-data'], 'the key is in the file');
  assert.deepEqual(alice.problems, []);
});

test('the root revokes alice\'s kubeconfig after confirming, and sees its state change', { skip }, async () => {
  const p = root.page;
  await p.goto(`/console/clusters/${clusterId}/states`);
  const row = p.getByRole('row', { name: /alice/ });
  // The first cell after the principal is the certificate state.
  const state = (word: string) => row.getByRole('cell').first().filter({ hasText: word }).waitFor();
  await state('Active');
  await row.getByRole('button', { name: 'Revoke kubeconfigs of alice' }).click();
  const dialog = p.getByRole('dialog', { name: "Revoke alice's kubeconfigs?" });
  await dialog.waitFor();
  // Cancelling changes nothing.
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  await state('Active');

  await row.getByRole('button', { name: 'Revoke kubeconfigs of alice' }).click();
  await dialog.getByLabel(/Reason/).fill('left the team');
  const [res] = await Promise.all([
    p.waitForResponse((r) => r.url().endsWith(`/v1/clusters/${clusterId}/revocations`)),
    dialog.getByRole('button', { name: 'Revoke', exact: true }).click(),
  ]);
  assert.equal(res.status(), 200);
  revokeRequestId = res.headers()['x-request-id'];
  await p.getByText('1 usable kubeconfig of alice on prod stopped working.').waitFor();
  await state('Revoked');
  assert.match(await row.innerText(), /\bNo\b/, 'no longer revokable');
  const creds = await rawRequest(srv, 'GET', `/v1/credentials?cluster=${clusterId}&principal=${aliceId}`, { token: srv.rootToken });
  assert.deepEqual(creds.json.items.map((c: any) => [c.status, c.revokeReason]), [['revoked', 'left the team']]);
  assert.deepEqual(root.problems, []);
});
test('the revocation is in the audit log, found with the filters, with its request ID', { skip }, async () => {
  const p = root.page;
  await p.getByRole('link', { name: 'Audit log' }).click();
  await p.getByLabel('Action').fill('RevokeKubeconfig');
  await p.getByLabel('Outcome').selectOption('success');
  const [filtered] = await Promise.all([
    p.waitForResponse((r) => /\/v1\/audit\?action=RevokeKubeconfig&outcome=success/.test(r.url())),
    p.getByRole('button', { name: 'Apply filters' }).click(),
  ]);
  assert.equal(filtered.status(), 200);
  await p.waitForURL(/\/console\/audit\?action=RevokeKubeconfig&outcome=success/);
  const row = p.getByRole('row', { name: /RevokeKubeconfig/ });
  await row.waitFor();
  assert.equal(await p.locator('table.audit tbody tr').count(), 1, 'only the matching event');
  const text = await row.innerText();
  assert.match(text, /root/);
  assert.match(text, new RegExp(clusterId));
  assert.match(text, new RegExp(revokeRequestId));

  // At 1280 px, with every event's details open, every column stays on screen (the details wrap).
  await p.getByRole('button', { name: 'Clear' }).click();
  await p.waitForURL(/\/console\/audit$/);
  await p.getByRole('row', { name: /CreateCluster/ }).waitFor();
  for (const d of await p.locator('table.audit details').all()) await d.locator('summary').click();
  const fit = await p.evaluate(() => {
    const wrap = document.querySelector('.table-wrap')!;
    const right = wrap.getBoundingClientRect().right;
    return { overflow: wrap.scrollWidth - wrap.clientWidth, lastColumnInside: [...document.querySelectorAll('table.audit thead th')].every((th) => th.getBoundingClientRect().right <= right + 1) };
  });
  assert.deepEqual(fit, { overflow: 0, lastColumnInside: true });
  // The Action filter suggests what core writes, the newest actions too.
  const suggested = await p.locator('#a-actions option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
  for (const a of ['UpdatePolicy', 'DeletePolicy', 'RemoveProject', 'RevokeToken', 'CleanPrincipalAccess', 'kubecred:RevokeUserKubeconfig']) assert.ok(suggested.includes(a), a);
  assert.deepEqual(root.problems, []);
});

test('a non-root principal is not offered custom validity, and the server refuses it with a request ID', { skip }, async () => {
  const p = alice.page;
  await p.goto(`/console/clusters/${clusterId}`);
  await p.getByRole('heading', { name: 'Cluster prod' }).waitFor();
  const tabs = p.getByRole('navigation', { name: 'Cluster views' });
  await tabs.getByRole('link', { name: 'Overview' }).waitFor();
  assert.equal(await tabs.getByRole('link', { name: 'Custom validity' }).count(), 0, 'the tab is shown to the root only');

  // Reaching the page by its address does not make it allowed: the server decides.
  await p.goto(`/console/clusters/${clusterId}/validity`);
  await p.getByText("Only the account's root may set a custom validity").waitFor();
  await p.getByLabel('Principal').fill('alice');
  await p.getByLabel('Validity in hours').fill('48');
  const [res] = await Promise.all([
    p.waitForResponse((r) => r.request().method() === 'PUT' && r.url().includes('/validity/')),
    p.getByRole('button', { name: 'Set validity' }).click(),
  ]);
  assert.equal(res.status(), 403);
  const alert = p.getByRole('alert').filter({ hasText: "Only the account's root can do this" });
  await alert.waitFor();
  const requestId = res.headers()['x-request-id'];
  assert.match(await alert.innerText(), new RegExp(`Request ID: ${requestId}`));

  const denied = await rawRequest(srv, 'GET', '/v1/audit?outcome=denied', { token: srv.rootToken });
  const e = denied.json.items.find((x: any) => x.requestId === requestId);
  assert.equal(e?.action, 'kubecred:SetKubeconfigValidity');
  assert.equal(e?.actorId, aliceId);
  assert.deepEqual(alice.problems, []);
});

test("the root revokes one of alice's kubeconfigs from the list under her row; her other one stays valid", { skip }, async () => {
  const issue = async (body: object) => (await rawRequest(srv, 'POST', `/v1/clusters/${clusterId}/kubeconfig`, { token: aliceToken, body: JSON.stringify(body) })).json.credential;
  const keep = await issue({});
  const leaked = await issue({ temporaryMinutes: 60 });
  const p = root.page;
  await p.goto(`/console/clusters/${clusterId}/states`);
  const row = p.getByRole('row', { name: /alice/ });
  await row.getByText(/kubeconfigs$/).click(); // opens the list under her name
  await row.getByRole('button', { name: `Revoke temporary kubeconfig ${leaked.serial.slice(0, 16)} of alice` }).click();
  const dialog = p.getByRole('dialog', { name: 'Revoke this kubeconfig of alice?' });
  await dialog.getByLabel(/Reason/).fill('pasted in a ticket');
  const [res] = await Promise.all([
    p.waitForResponse((r) => r.url().endsWith(`/v1/credentials/${leaked.id}/revoke`)),
    dialog.getByRole('button', { name: 'Revoke kubeconfig' }).click(),
  ]);
  assert.equal(res.status(), 200);
  await p.getByText(`Revoked temporary kubeconfig ${leaked.serial.slice(0, 16)} of alice on prod; their other kubeconfigs stay valid.`).waitFor();
  await row.getByRole('cell').first().filter({ hasText: 'Active' }).waitFor();
  const state = async (id: string) => (await rawRequest(srv, 'GET', `/v1/credentials/${id}`, { token: srv.rootToken })).json;
  assert.deepEqual([(await state(leaked.id)).status, (await state(leaked.id)).revokeReason], ['revoked', 'pasted in a ticket']);
  assert.equal((await state(keep.id)).status, 'active');
  assert.equal(await row.getByRole('button', { name: `Revoke temporary kubeconfig ${leaked.serial.slice(0, 16)} of alice` }).count(), 0, 'no longer offered');
  assert.deepEqual(root.problems, []);
});

test('revoking a holder with a usable and a superseded kubeconfig says which stopped working and which had already ended', { skip }, async () => {
  const api = (method: string, path: string, body?: unknown) => rawRequest(srv, method, path, { token: srv.rootToken, body: body === undefined ? undefined : JSON.stringify(body) });
  const dan = (await api('POST', '/v1/principals', { name: 'dan' })).json;
  // The first default is superseded by the new validity; the one fetched after it is the usable one.
  assert.equal((await api('POST', `/v1/clusters/${clusterId}/kubeconfig`, { principalId: dan.id })).status, 200);
  assert.equal((await api('PUT', `/v1/clusters/${clusterId}/validity/${dan.id}`, { hours: 24 })).status, 200);
  assert.equal((await api('POST', `/v1/clusters/${clusterId}/kubeconfig`, { principalId: dan.id })).status, 200);
  const p = root.page;
  await p.goto(`/console/clusters/${clusterId}/states`);
  await p.getByRole('button', { name: 'Revoke kubeconfigs of dan' }).click();
  const dialog = p.getByRole('dialog', { name: "Revoke dan's kubeconfigs?" });
  await dialog.getByText('1 usable kubeconfig of').waitFor();
  await dialog.getByRole('button', { name: 'Revoke', exact: true }).click();
  await p.getByText('1 usable kubeconfig of dan on prod stopped working; 1 already expired or superseded was marked revoked too.').waitFor();
  assert.deepEqual(root.problems, []);
});
