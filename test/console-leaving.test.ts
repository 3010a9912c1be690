// Leaving the console in Chromium with its back/forward cache on: a kubeconfig's private key or a once-shown
// secret does not come back with Back; and signing out of a session that had already ended signs out.

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
let clusterId: string;

const api = (method: string, path: string, body?: unknown) =>
  rawRequest(srv, method, path, { token: srv.rootToken, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

before(async () => {
  if (skip) return;
  await ensureConsoleBuilt();
  [srv, browser] = await Promise.all([startServerProcess(), launchBrowser({ backForwardCache: true })]);
  clusterId = (await api('POST', '/v1/clusters', { name: 'prod', publicEndpoint: 'https://203.0.113.10:6443' })).json.id;
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  if (srv) fs.rmSync(srv.dataDir, { recursive: true, force: true });
});

/** Leaves the console for another page of the server, then comes back with Back. */
async function leaveAndComeBack(p: Page): Promise<void> {
  await p.goto('/healthz');
  await p.goBack({ waitUntil: 'commit' });
  await p.waitForURL(/\/console\//, { waitUntil: 'commit' });
  await p.getByRole('button', { name: 'Sign out' }).waitFor();
}

test("a temporary kubeconfig's private key is gone after leaving the page and pressing Back", { skip }, async () => {
  const tab = await openConsole(browser, srv.url);
  const p = tab.page;
  await signIn(p, srv.rootToken);
  await p.goto('/console/kubeconfig');
  await p.getByLabel('Cluster').selectOption(clusterId);
  await p.getByRole('radio', { name: /Temporary/ }).check();
  await p.getByRole('button', { name: 'Get kubeconfig' }).click();
  await p.getByText('Show the kubeconfig').click();
  assert.match(await p.locator('pre').innerText(), /client-key-data/);

  // The page drops the key itself when the browser hides it (whether or not it is then kept for Back).
  await p.evaluate(() => dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true })));
  await p.locator('pre').waitFor({ state: 'detached' });
  assert.equal(await p.getByText('client-key-data').count(), 0);

  await p.getByRole('button', { name: 'Get kubeconfig' }).click();
  await p.getByText('Show the kubeconfig').click();
  await leaveAndComeBack(p);
  assert.equal(await p.locator('pre').count(), 0, 'no kubeconfig on the page after Back');
  assert.equal(await p.evaluate(() => document.body.innerHTML.includes('client-key-data')), false);
  assert.deepEqual(tab.problems, []);
  await tab.context.close();
});

test('a token shown once is gone after leaving the page and pressing Back', { skip }, async () => {
  const tab = await openConsole(browser, srv.url);
  const p = tab.page;
  await signIn(p, srv.rootToken);
  await p.goto('/console/credentials');
  await p.getByText('Create a token').click();
  await p.getByRole('button', { name: 'Create token' }).click();
  const secret = await p.getByLabel('Token', { exact: true }).inputValue();
  assert.match(secret, /^kc1\./);

  await leaveAndComeBack(p);
  assert.equal(await p.getByText('Copy it now: you will not see this again.').count(), 0);
  assert.equal(await p.evaluate((s) => document.body.innerHTML.includes(s) || [...document.querySelectorAll('input')].some((i) => i.value === s), secret), false);
  assert.deepEqual(tab.problems, []);
  await tab.context.close();
});

test('signing out when the session already ended (signed out in another tab) shows the sign-in page', { skip }, async () => {
  const tab = await openConsole(browser, srv.url);
  const a = tab.page;
  await signIn(a, srv.rootToken);
  const b = await tab.context.newPage();
  b.setDefaultTimeout(10_000);
  await b.goto('/console/clusters');
  await b.getByRole('button', { name: 'Sign out' }).waitFor();

  await a.getByRole('button', { name: 'Sign out' }).click();
  await a.getByRole('heading', { name: 'Sign in to kubecred' }).waitFor();

  const [res] = await Promise.all([
    b.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith('/v1/sessions/current')),
    b.getByRole('button', { name: 'Sign out' }).click(),
  ]);
  assert.equal(res.status(), 401);
  await b.getByRole('heading', { name: 'Sign in to kubecred' }).waitFor();
  await b.getByText('You are signed out (your session had already ended).').waitFor();
  assert.equal(await b.getByRole('button', { name: 'Sign out' }).count(), 0);
  assert.equal(await b.getByRole('alert').count(), 0, 'no error shown');
  assert.deepEqual(tab.problems, []);
  await tab.context.close();
});
