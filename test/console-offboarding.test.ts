// Offboarding in the web console, in Chromium against the real server: Delete on a principal's page only for a
// caller whose policies allow it (never on the root's page, nor one's own), a confirmation naming what it ends,
// then the principal's API access refused and its page kept, by ID, with what it held and who made it.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { browserUnavailable, ensureConsoleBuilt, launchBrowser, openConsole, signIn } from './support/browser.ts';
import { rawRequest } from './support/http.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

const skip = browserUnavailable() ?? false;
let srv: ServerProcess;
let browser: Browser;
let bob: { id: string };
let bobToken: string;
let adminToken: string;
let viewerToken: string;
let adminId: string;

const api = (method: string, path: string, body?: unknown, token = srv.rootToken) =>
  rawRequest(srv, method, path, { token, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

/** A principal with a token and a policy allowing `actions` on everything. */
async function withPolicy(name: string, actions: string[]): Promise<{ id: string; token: string }> {
  const p = (await api('POST', '/v1/principals', { name })).json;
  await api('POST', '/v1/policies', { name: `${name}-policy`, document: { Version: '1', Statement: [{ Effect: 'Allow', Action: actions.map((a) => `kubecred:${a}`), Resource: '*' }] } });
  await api('POST', `/v1/principals/${p.id}/policies`, { policy: `${name}-policy` });
  return { id: p.id, token: (await api('POST', `/v1/principals/${p.id}/tokens`, {})).json.token };
}

before(async () => {
  if (skip) return;
  await ensureConsoleBuilt();
  [srv, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
  const prod = (await api('POST', '/v1/clusters', { name: 'prod', publicEndpoint: 'https://203.0.113.10:6443' })).json;
  const reading = ['ListPrincipals', 'GetPrincipal', 'ListTokens', 'ListAccessKeys'];
  const admin = await withPolicy('pat', [...reading, 'DeletePrincipal']);
  [adminId, adminToken] = [admin.id, admin.token];
  viewerToken = (await withPolicy('vic', reading)).token;
  bob = (await api('POST', '/v1/principals', { name: 'bob' })).json;
  bobToken = (await api('POST', `/v1/principals/${bob.id}/tokens`, { name: 'laptop' })).json.token;
  await api('POST', `/v1/principals/${bob.id}/access-keys`);
  await api('POST', `/v1/clusters/${prod.id}/kubeconfig`, { principalId: bob.id });
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  if (srv) fs.rmSync(srv.dataDir, { recursive: true, force: true });
});

/** Opens a principal's page and waits until its credentials are listed, so a missing button is really missing. */
async function principalPage(p: Page, id: string): Promise<void> {
  await p.goto(`/console/principals/${id}`);
  await p.getByRole('heading', { name: 'API tokens' }).waitFor();
  await p.getByRole('table', { name: /Access keys of/ }).or(p.getByText(/has no access key/)).waitFor();
}

const deleteButton = (p: Page) => p.getByRole('button', { name: /^Delete (user|role) / });

test('Delete is offered only to a caller whose policies allow deleting principals, never on the root or oneself', { skip }, async () => {
  const viewer = await openConsole(browser, srv.url);
  await signIn(viewer.page, viewerToken);
  await principalPage(viewer.page, bob.id);
  assert.equal(await deleteButton(viewer.page).count(), 0, 'no DeletePrincipal: no button');

  const root = await openConsole(browser, srv.url);
  await signIn(root.page, srv.rootToken);
  await principalPage(root.page, srv.rootPrincipalId);
  assert.equal(await deleteButton(root.page).count(), 0, "the root's own page");
  await principalPage(root.page, bob.id);
  assert.equal(await deleteButton(root.page).count(), 1);

  const admin = await openConsole(browser, srv.url);
  await signIn(admin.page, adminToken);
  await principalPage(admin.page, adminId);
  assert.equal(await deleteButton(admin.page).count(), 0, 'one does not delete oneself here');
  for (const t of [viewer, root, admin]) {
    assert.deepEqual(t.problems, []);
    await t.context.close();
  }
});

test('deleting a principal in the console names what it ends, ends it, and keeps its page with what it held', { skip }, async () => {
  const admin = await openConsole(browser, srv.url);
  await signIn(admin.page, adminToken);
  const p = admin.page;
  await principalPage(p, bob.id);

  await deleteButton(p).click();
  const dialog = p.getByRole('dialog', { name: 'Delete user bob?' });
  await dialog.waitFor();
  for (const what of [/kubeconfigs on every cluster/, /API tokens and the console sessions/, /access keys/, /on every replica/]) {
    assert.match(await dialog.textContent() ?? '', what);
  }
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  assert.equal((await rawRequest(srv, 'GET', '/v1/whoami', { token: bobToken })).status, 200, 'Cancel deletes nothing');

  await deleteButton(p).click();
  await dialog.getByRole('button', { name: 'Delete bob' }).click();
  await p.getByRole('status').filter({ hasText: 'Deleted bob: 1 kubeconfig, 1 API token and 1 access key revoked.' }).waitFor();
  assert.equal((await rawRequest(srv, 'GET', '/v1/whoami', { token: bobToken })).status, 401, "bob's token is refused at once");

  // The page stays, by ID: marked deleted, its token listed revoked, nothing to add or revoke, no second Delete.
  await p.getByRole('note').filter({ hasText: 'bob was deleted' }).waitFor();
  await p.getByRole('row').filter({ hasText: 'laptop' }).getByText('Revoked').waitFor();
  // The root made bob's token and access key: each row says so.
  await p.getByRole('row').filter({ hasText: 'laptop' }).getByText(`by ${srv.rootPrincipalId}`).waitFor();
  await p.getByRole('table', { name: 'Access keys of bob' }).getByText(`by ${srv.rootPrincipalId}`).waitFor();
  assert.equal(await deleteButton(p).count(), 0);
  assert.equal(await p.getByText('Create a token').count(), 0);
  assert.equal(await p.getByRole('button', { name: 'Create an access key' }).count(), 0);
  assert.deepEqual(admin.problems, []);
  await admin.context.close();
});
