// The rest of the web console in Chromium: loading, empty and error states (with request IDs),
// principals, groups and policies, temporary kubeconfigs and copying, the expiry chart, custom
// validity, the keyboard alone, phone width, and a session that ends while the page is open.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import YAML from 'yaml';
import { browserUnavailable, ensureConsoleBuilt, launchBrowser, openConsole, signIn, type ConsoleTab } from './support/browser.ts';
import { rawRequest } from './support/http.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

const skip = browserUnavailable() ?? false;
let srv: ServerProcess;
let browser: Browser;
let root: ConsoleTab;
let edge: { id: string };
let carolId: string;

before(async () => {
  if (skip) return;
  await ensureConsoleBuilt();
  [srv, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  if (srv) fs.rmSync(srv.dataDir, { recursive: true, force: true });
});

const api = (method: string, path: string, body?: unknown) =>
  rawRequest(srv, method, path, { token: srv.rootToken, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

/** A link of the main navigation (page text may have links with the same words). */
const nav = (p: Page, name: string) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

/** The whole text of the table row whose name matches. */
const rowText = (p: Page, name: RegExp) => p.getByRole('row', { name }).innerText();

test('loading and empty states, then an error in words with the request ID', { skip }, async () => {
  root = await openConsole(browser, srv.url);
  await signIn(root.page, srv.rootToken);
  const p = root.page;
  // Hold the next cluster list answer to see the loading state.
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await p.route('**/v1/clusters?*', async (route) => { await held; await route.continue(); });
  await nav(p, 'My kubeconfig').click();
  await nav(p, 'Clusters').click();
  await p.getByText('Loading clusters…').waitFor();
  release();
  await p.getByText('No clusters yet.').waitFor();
  await p.unroute('**/v1/clusters?*');

  await p.getByRole('link', { name: 'Register a cluster' }).click();
  await p.getByLabel('Name', { exact: true }).fill('plain');
  await p.getByLabel('Public endpoint').fill('http://10.0.0.1:6443');
  const [res] = await Promise.all([
    p.waitForResponse((r) => r.url().endsWith('/v1/clusters') && r.request().method() === 'POST'),
    p.getByRole('button', { name: 'Register cluster' }).click(),
  ]);
  assert.equal(res.status(), 400);
  const alert = p.getByRole('alert');
  await alert.waitFor();
  const text = await alert.innerText();
  assert.match(text, /Some of what you entered was not accepted/);
  assert.match(text, /publicEndpoint must be an https:\/\/ URL/, "the server's words as sent: a field name keeps its case");
  assert.match(text, new RegExp(`Request ID: ${res.headers()['x-request-id']}`));
  assert.doesNotMatch(text, /VALIDATION_FAILED/, 'words, not codes');
  assert.deepEqual(root.problems, []);
});

test('principals, their groups and policies are managed in the browser', { skip }, async () => {
  const p = root.page;
  await nav(p, 'Principals').click();
  await p.getByText('Create a principal').click();
  await p.getByLabel('Name', { exact: true }).fill('carol');
  await p.getByLabel('Kubernetes groups').fill('dev, oncall');
  await p.getByRole('button', { name: 'Create principal' }).click();
  await p.getByText(/Created user carol/).waitFor();
  await p.getByRole('row', { name: /carol/ }).waitFor();
  assert.match(await rowText(p, /carol/), /dev\s+oncall/);
  carolId = (await api('GET', '/v1/principals/carol')).json.id;

  await p.getByRole('button', { name: 'Edit groups of carol' }).click();
  await p.getByLabel('Groups of carol, separated by commas').fill('dev, sre');
  await p.getByRole('button', { name: 'Save' }).click();
  await p.getByRole('row', { name: /carol/ }).filter({ hasText: 'sre' }).waitFor();
  assert.match(await rowText(p, /carol/), /dev\s+sre/);
  assert.deepEqual((await api('GET', `/v1/principals/${carolId}`)).json.groups, ['dev', 'sre']);

  await nav(p, 'Groups').click();
  assert.match(await rowText(p, /^sre/), /carol/);

  await nav(p, 'Policies').click();
  await p.getByText('No policies yet').waitFor();
  await p.getByText('Create a policy').click();
  await p.getByLabel('Name', { exact: true }).fill('readers');
  await p.getByLabel('Document (JSON)').fill('{"Version": "1", "Statement": [');
  await p.getByRole('button', { name: 'Create policy' }).click();
  await p.getByRole('alert').filter({ hasText: 'The document is not valid JSON' }).waitFor();
  await p.getByLabel('Document (JSON)').fill(JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:ListClusters', 'kubecred:GetKubeconfig'], Resource: '*' }] }));
  await p.getByRole('button', { name: 'Create policy' }).click();
  await p.getByRole('row', { name: /readers/ }).waitFor();

  await nav(p, 'Principals').click();
  await p.getByRole('button', { name: 'Policies of carol' }).click();
  await p.getByText('No policy attached').waitFor();
  await p.getByLabel('Attach a policy').selectOption({ label: 'readers' });
  await p.getByRole('button', { name: 'Attach', exact: true }).click();
  await p.getByRole('button', { name: 'Detach readers from carol' }).waitFor();
  assert.deepEqual((await api('GET', `/v1/principals/${carolId}/policies`)).json.items.map((x: any) => x.name), ['readers']);
  assert.deepEqual(root.problems, []);
});

test('a temporary kubeconfig for the private endpoint: minutes are bounded, and Copy puts it on the clipboard', { skip }, async () => {
  edge = (await api('POST', '/v1/clusters', { name: 'edge', publicEndpoint: 'https://198.51.100.20:6443', privateEndpoint: 'https://10.0.0.20:6443' })).json;
  const p = root.page;
  await nav(p, 'My kubeconfig').click();
  await p.getByLabel('Cluster').selectOption({ label: 'edge' });
  await p.getByLabel('Temporary').check();
  const minutes = p.getByLabel('Valid for (minutes)');
  let posted = 0;
  p.on('request', (r) => { if (r.method() === 'POST' && r.url().endsWith('/kubeconfig')) posted++; });
  for (const [value, flaw] of [['14', 'rangeUnderflow'], ['4321', 'rangeOverflow'], ['60.5', 'stepMismatch']] as const) {
    await minutes.fill(value);
    await p.getByRole('button', { name: 'Get kubeconfig' }).click();
    assert.equal(await minutes.evaluate((el, f) => (el as HTMLInputElement).validity[f], flaw), true, value);
  }
  assert.equal(posted, 0, 'out-of-range minutes are stopped before anything is sent');
  await minutes.fill('90');
  await p.getByText('That is 1 hour 30 minutes.').waitFor();
  await p.getByRole('radio', { name: /^Private/ }).check();
  await p.getByRole('button', { name: 'Get kubeconfig' }).click();
  const result = p.getByRole('region', { name: 'Your kubeconfig for edge' });
  await result.waitFor();
  assert.match(await result.innerText(), /temporary/);
  await p.getByRole('button', { name: 'Copy kubeconfig' }).click();
  await p.getByText('Copied to the clipboard.').waitFor();
  const copied = YAML.parse(await p.evaluate(() => navigator.clipboard.readText()));
  assert.equal(copied.clusters[0].cluster.server, 'https://10.0.0.20:6443');
  const temp = (await api('GET', `/v1/credentials?cluster=${edge.id}&kind=temporary`)).json.items[0];
  const minutesLeft = (Date.parse(temp.notAfter) - Date.now()) / 60_000;
  assert.ok(minutesLeft > 85 && minutesLeft <= 90, String(minutesLeft));
  assert.deepEqual(root.problems, []);
});

test('the expiry chart counts the cluster\'s active kubeconfigs by time left', { skip }, async () => {
  await api('POST', `/v1/clusters/${edge.id}/kubeconfig`, {}); // the root's default: 3 years
  const p = root.page;
  await p.goto(`/console/clusters/${edge.id}/expiry`);
  const chart = p.getByRole('img', { name: /Active kubeconfigs by time left/ });
  await chart.waitFor();
  assert.equal(await chart.getAttribute('aria-label'), 'Active kubeconfigs by time left: 1 in < 1 day, 1 in 2–3 years');
  await p.getByText('The numbers').click();
  // Default, Temporary, CSR, Explicit end, Total.
  assert.match(await rowText(p, /^Time left/), /Default\s+Temporary\s+CSR\s+Explicit end\s+Total/i);
  assert.match(await rowText(p, /^< 1 day/), /0\s+1\s+0\s+0\s+1/);
  assert.match(await rowText(p, /^2–3 years/), /1\s+0\s+0\s+0\s+1/);
  assert.deepEqual(root.problems, []);
});

test('the root sets a custom validity from the cluster page', { skip }, async () => {
  const p = root.page;
  await p.getByRole('navigation', { name: 'Cluster views' }).getByRole('link', { name: 'Custom validity' }).click();
  await p.getByLabel('Principal').selectOption({ label: 'carol' });
  await p.getByText('Now: the 3-year default.').waitFor();
  await p.getByLabel('Validity in hours').fill('720');
  await p.getByRole('button', { name: 'Set validity' }).click();
  await p.getByText(/^Saved: 30 days\./).waitFor();
  assert.equal((await api('GET', `/v1/clusters/${edge.id}/validity/${carolId}`)).json.hours, 720);
  assert.deepEqual(root.problems, []);
});

test('with the keyboard alone: skip link, navigation that moves focus, and a dialog that Escape cancels', { skip }, async () => {
  const p = root.page;
  await p.goto('/console/clusters');
  await p.getByRole('heading', { name: 'Clusters' }).waitFor();
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await p.keyboard.press('Enter');
  assert.equal(await p.evaluate(() => document.activeElement?.id), 'main');

  await p.getByRole('link', { name: 'kubecred' }).focus();
  for (let i = 0; i < 12 && (await p.evaluate(() => document.activeElement?.textContent)) !== 'Audit log'; i++) await p.keyboard.press('Tab');
  await p.keyboard.press('Enter');
  await p.getByRole('heading', { name: 'Audit log' }).waitFor();
  assert.equal(await p.evaluate(() => document.activeElement?.tagName), 'H1', 'focus moves to the new page\'s heading');

  await p.goto(`/console/clusters/${edge.id}/states`);
  const revoke = p.getByRole('button', { name: 'Revoke kubeconfigs of root' });
  await revoke.focus();
  await p.keyboard.press('Enter');
  const dialog = p.getByRole('dialog');
  await dialog.waitFor();
  assert.equal(await p.evaluate(() => document.activeElement?.textContent), 'Cancel', 'the safe choice has focus');
  await p.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  const still = (await api('GET', `/v1/credentials?cluster=${edge.id}&status=active`)).json.items;
  assert.equal(still.length, 2, 'nothing was revoked');
  assert.deepEqual(root.problems, []);
});

test('at phone width every page fits the screen, with wide tables scrolling inside their frame', { skip }, async () => {
  const phone = await openConsole(browser, srv.url, { phone: true });
  await signIn(phone.page, srv.rootToken);
  const p = phone.page;
  for (const path of ['/clusters', `/clusters/${edge.id}`, `/clusters/${edge.id}/states`, `/clusters/${edge.id}/expiry`, `/clusters/${edge.id}/validity`, '/kubeconfig', '/principals', '/groups', '/policies', '/audit', '/clusters/new']) {
    await p.goto(`/console${path}`);
    await p.locator('h1').first().waitFor();
    await p.waitForLoadState('networkidle');
    const { scroll, width } = await p.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(scroll <= width, `${path}: page is ${scroll}px wide on a ${width}px screen`);
  }
  assert.deepEqual(phone.problems, []);
  await phone.context.close();
});

test('a session ended meanwhile sends you back to sign-in with the reason; signing out ends it for good', { skip }, async () => {
  const carolToken = (await api('POST', `/v1/principals/${carolId}/tokens`, {})).json.token;
  const carol = await openConsole(browser, srv.url);
  await signIn(carol.page, carolToken);
  await carol.page.getByRole('heading', { name: 'Clusters' }).waitFor();
  assert.equal((await api('DELETE', `/v1/principals/${carolId}`)).status, 200);
  await nav(carol.page, 'My kubeconfig').click();
  await carol.page.getByText(/Your session ended/).waitFor();
  await carol.page.getByRole('heading', { name: 'Sign in to kubecred' }).waitFor();
  await carol.context.close();

  const p = root.page;
  const [cookie] = await root.context.cookies();
  await p.getByRole('button', { name: 'Sign out' }).click();
  await p.getByRole('heading', { name: 'Sign in to kubecred' }).waitFor();
  assert.deepEqual(await root.context.cookies(), [], 'the browser dropped the cookie');
  const replay = await rawRequest(srv, 'GET', '/v1/whoami', { headers: { cookie: `${cookie.name}=${cookie.value}` } });
  assert.equal(replay.status, 401, 'a copy of the old cookie no longer works');
  await p.reload();
  await p.getByRole('heading', { name: 'Sign in to kubecred' }).waitFor();
  assert.deepEqual(root.problems, []);
});

test('a first page of clusters that comes back empty with a next does not say "No clusters yet": Load more goes on', { skip }, async () => {
  const tab = await openConsole(browser, srv.url);
  await signIn(tab.page, srv.rootToken);
  const p = tab.page;
  const names = (await api('GET', '/v1/clusters?limit=500')).json.items.map((c: any) => c.name);
  assert.ok(names.length > 0);
  // As a server that filtered a page after reading it answered: nothing on it, and a next (before every cluster).
  await p.route('**/v1/clusters?*', async (route) => {
    if (new URL(route.request().url()).searchParams.has('cursor')) return route.continue();
    return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ items: [], next: Buffer.from('clusters:cls_0').toString('base64url') }) });
  });
  await p.goto('/console/clusters');
  await p.getByText('None of the clusters read so far is one you may see').waitFor();
  assert.equal(await p.getByText('No clusters yet.').count(), 0);
  await p.getByRole('button', { name: 'Load more clusters' }).click();
  await p.getByRole('link', { name: names[0], exact: true }).waitFor();
  assert.equal(await p.getByText('None of the clusters read so far').count(), 0);
  assert.deepEqual(tab.problems, []);
  await tab.context.close();
});
