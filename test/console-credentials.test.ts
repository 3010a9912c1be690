// API credentials in the web console, in Chromium against the real server: your own tokens and access
// keys, another principal's on its page, a cluster's webhook tokens; each secret shown once and proven to
// work (the API, the Alibaba Cloud SDK, the webhook), revocation after confirming and then refused, the
// root's last token kept with the refusal shown, and revoking the session's own token signing out cleanly.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import CsModule, * as Cs from '@alicloud/cs20151215';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import * as $dara from '@darabonba/typescript';
import type { Browser, Locator, Page } from 'playwright-core';
import { browserUnavailable, ensureConsoleBuilt, launchBrowser, openConsole, signIn, type ConsoleTab } from './support/browser.ts';
import { rawRequest } from './support/http.ts';
import { rejectionOf } from './support/rejection.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

const CsClient = ((CsModule as any).default ?? CsModule) as unknown as typeof CsModule.default;

const skip = browserUnavailable() ?? false;
let srv: ServerProcess;
let browser: Browser;
let root: ConsoleTab;
let prod: { id: string };
let erin: { id: string };
let erinToken: string;
let daveToken: string;
let laptop: { id: string; token: string };

const api = (method: string, path: string, body?: unknown, token = srv.rootToken) =>
  rawRequest(srv, method, path, { token, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const whoami = (token: string) => rawRequest(srv, 'GET', '/v1/whoami', { token });
const tokenIdOf = (token: string) => token.split('.')[1];
const secretOf = (token: string) => token.split('.')[2];

before(async () => {
  if (skip) return;
  await ensureConsoleBuilt();
  [srv, browser] = await Promise.all([startServerProcess(), launchBrowser()]);
  prod = (await api('POST', '/v1/clusters', { name: 'prod', publicEndpoint: 'https://203.0.113.10:6443' })).json;
  // erin has no policy at all: what she may do with her own credentials needs none.
  erin = (await api('POST', '/v1/principals', { name: 'erin' })).json;
  erinToken = (await api('POST', `/v1/principals/${erin.id}/tokens`, { name: 'console' })).json.token;
  // dave looks after others' credentials.
  const dave = (await api('POST', '/v1/principals', { name: 'dave' })).json;
  const actions = ['ListPrincipals', 'GetPrincipal', 'ListTokens', 'CreateToken', 'RevokeToken', 'ListAccessKeys', 'CreateAccessKey', 'RevokeAccessKey'].map((a) => `kubecred:${a}`);
  await api('POST', '/v1/policies', { name: 'credential-admin', document: { Version: '1', Statement: [{ Effect: 'Allow', Action: actions, Resource: '*' }] } });
  await api('POST', `/v1/principals/${dave.id}/policies`, { policy: 'credential-admin' });
  daveToken = (await api('POST', `/v1/principals/${dave.id}/tokens`, {})).json.token;
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  if (srv) fs.rmSync(srv.dataDir, { recursive: true, force: true });
});

const nav = (p: Page, name: string) => p.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
/** The table row that holds an ID (token, access key). */
const rowOf = (p: Page, id: string) => p.getByRole('row').filter({ hasText: id });
const stateOf = (row: Locator) => row.getByRole('cell').first();

/** Answers the next request matching `method` and `path` gets, while `act` runs. */
async function answerTo(p: Page, method: string, path: RegExp, act: () => Promise<unknown>) {
  const [res] = await Promise.all([p.waitForResponse((r) => r.request().method() === method && path.test(new URL(r.url()).pathname)), act()]);
  return res;
}

/** DescribeClusterUserKubeconfig through Alibaba Cloud's official SDK, signed with the given access key. */
const ackKubeconfig = (id: string, secret: string) => new CsClient(new $OpenApiUtil.Config({
  accessKeyId: id, accessKeySecret: secret, endpoint: new URL(srv.url).host, protocol: 'https', ca: fs.readFileSync(srv.caFile, 'utf8'),
})).describeClusterUserKubeconfigWithOptions(prod.id, new Cs.DescribeClusterUserKubeconfigRequest({ temporaryDurationMinutes: 15 }), {}, new $dara.RuntimeOptions({}));

test('My API credentials lists your own tokens and access keys, never their secrets, marking the token of this session', { skip }, async () => {
  root = await openConsole(browser, srv.url);
  await signIn(root.page, srv.rootToken);
  const p = root.page;
  await nav(p, 'My API credentials').click();
  await p.getByRole('heading', { name: 'My API credentials' }).waitFor();
  const mine = rowOf(p, tokenIdOf(srv.rootToken));
  await mine.waitFor();
  assert.match(await mine.innerText(), /\(this session\)[\s\S]*Active/);
  const key = rowOf(p, srv.accessKeyId);
  await key.waitFor();
  assert.match(await key.innerText(), /Active/);
  const html = await p.content();
  assert.ok(!html.includes(secretOf(srv.rootToken)) && !html.includes(srv.accessKeySecret), 'no secret in the page');
  assert.deepEqual(root.problems, []);
});

test('creating a token shows its secret once, with a copy button, and the token works against the API', { skip }, async () => {
  const p = root.page;
  await p.getByText('Create a token').click();
  await p.getByLabel('Token name').fill('laptop');
  await p.getByLabel('Expires after (days)').fill('30');
  await p.keyboard.press('Enter');
  const shown = p.getByRole('region', { name: /^New token laptop/ });
  await shown.waitFor();
  assert.match(await shown.innerText(), /you will not see this again/);
  assert.equal(await p.evaluate(() => document.activeElement?.tagName), 'H3', 'focus moves to the new secret');
  const token = await shown.getByLabel('Token', { exact: true }).inputValue();
  assert.match(token, /^kc1\.tok_[a-z0-9]+\.\S+$/);
  laptop = { id: tokenIdOf(token), token };

  // Keyboard: the secret's field, then its copy button.
  await p.keyboard.press('Tab');
  await p.keyboard.press('Tab');
  assert.equal(await p.evaluate(() => document.activeElement?.textContent), 'Copy the token');
  await p.keyboard.press('Enter');
  await shown.getByText('Copied to the clipboard.').waitFor();
  assert.equal(await p.evaluate(() => navigator.clipboard.readText()), token);

  const who = await whoami(token);
  assert.equal(who.status, 200);
  assert.equal(who.json.principal.id, srv.rootPrincipalId);
  const listed = (await api('GET', `/v1/principals/${srv.rootPrincipalId}/tokens`)).json.items.find((t: any) => t.id === laptop.id);
  const days = (Date.parse(listed.expiresAt) - Date.now()) / 86400_000;
  assert.ok(listed.name === 'laptop' && days > 29.9 && days <= 30, JSON.stringify(listed));

  await shown.getByRole('button', { name: 'Done: I have stored it' }).focus();
  await p.keyboard.press('Enter');
  await shown.waitFor({ state: 'detached' });
  assert.equal(await p.evaluate(() => (document.activeElement as HTMLInputElement | null)?.labels?.[0]?.textContent), 'Expires after (days)', 'focus goes back to where the token was asked for');
  assert.match(await rowOf(p, laptop.id).innerText(), /laptop[\s\S]*Active/);
  assert.ok(!(await p.content()).includes(secretOf(token)), 'once dismissed, the secret is gone from the page');
  await p.reload();
  await rowOf(p, laptop.id).waitFor();
  assert.ok(!(await p.content()).includes(secretOf(token)), 'and a reload does not bring it back');
  assert.deepEqual(root.problems, []);
});

test('revoking a token asks first; then it is listed as revoked with the time, and the API refuses it', { skip }, async () => {
  const p = root.page;
  const row = rowOf(p, laptop.id);
  const revoke = row.getByRole('button', { name: `Revoke token laptop (${laptop.id})` });
  await revoke.click();
  const dialog = p.getByRole('dialog', { name: 'Revoke token laptop?' });
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await whoami(laptop.token)).status, 200, 'cancelling changes nothing');

  await revoke.click();
  const res = await answerTo(p, 'DELETE', new RegExp(`/tokens/${laptop.id}$`), () => dialog.getByRole('button', { name: 'Revoke token' }).click());
  assert.equal(res.status(), 200);
  await p.getByText(`Revoked token laptop (${laptop.id})`).waitFor();
  await stateOf(row).filter({ hasText: 'Revoked' }).waitFor();
  const revokedAt = (await api('GET', `/v1/principals/${srv.rootPrincipalId}/tokens`)).json.items.find((t: any) => t.id === laptop.id).revokedAt;
  assert.equal(await stateOf(row).locator('time').getAttribute('datetime'), revokedAt, 'revoked, with when');
  assert.equal(await row.getByRole('button').count(), 0, 'nothing left to revoke');
  const refused = await whoami(laptop.token);
  assert.equal(refused.status, 401);
  assert.equal(refused.json.code, 'UNAUTHENTICATED');
  assert.deepEqual(root.problems, []);
});

test('an access key is shown once, signs requests through the Alibaba Cloud SDK, and is refused once revoked', { skip }, async () => {
  const p = root.page;
  await p.getByRole('button', { name: 'Create an access key' }).click();
  const shown = p.getByRole('region', { name: /^New access key/ });
  await shown.waitFor();
  assert.match(await shown.innerText(), /you will not see this again/);
  const id = await shown.getByLabel('AccessKey ID').inputValue();
  const secret = await shown.getByLabel('AccessKey secret').inputValue();
  await shown.getByRole('button', { name: 'Copy the AccessKey secret' }).click();
  await shown.getByText('Copied to the clipboard.').waitFor();
  assert.equal(await p.evaluate(() => navigator.clipboard.readText()), secret);
  assert.match((await ackKubeconfig(id, secret)).body!.config!, /client-certificate-data/);

  await shown.getByRole('button', { name: 'Done: I have stored it' }).click();
  const row = rowOf(p, id);
  await row.getByRole('button', { name: `Revoke access key ${id}` }).click();
  const dialog = p.getByRole('dialog', { name: `Revoke access key ${id}?` });
  await dialog.getByRole('button', { name: 'Revoke access key' }).click();
  await p.getByText(`Revoked access key ${id}`).waitFor();
  await stateOf(row).filter({ hasText: 'Revoked' }).locator('time').waitFor();
  const e: any = await rejectionOf(ackKubeconfig(id, secret));
  assert.equal(e.code, 'InvalidAccessKeyId.NotFound');
  assert.match(await rowOf(p, srv.accessKeyId).innerText(), /Active/, 'the other key is untouched');
  assert.deepEqual(root.problems, []);
});

test("the root's last usable token is kept: the refusal is shown in words with its request ID, and the session goes on", { skip }, async () => {
  const p = root.page;
  const id = tokenIdOf(srv.rootToken);
  await rowOf(p, id).getByRole('button', { name: `Revoke token root (${id})` }).click();
  const dialog = p.getByRole('dialog', { name: /^Revoke token/ });
  await dialog.waitFor();
  const warning = await dialog.innerText();
  assert.match(warning, /You are signed in with this token/);
  assert.match(warning, /the root's last usable token/);
  const res = await answerTo(p, 'DELETE', new RegExp(`/tokens/${id}$`), () => dialog.getByRole('button', { name: 'Revoke token' }).click());
  assert.equal(res.status(), 409);
  const alert = dialog.getByRole('alert');
  await alert.waitFor();
  const text = await alert.innerText();
  assert.match(text, /kubecred keeps the root's last usable token/);
  assert.match(text, /this is the account root's last usable token/, "the server's message, as sent");
  assert.match(text, new RegExp(`Request ID: ${res.headers()['x-request-id']}`));
  await p.keyboard.press('Escape');
  await dialog.waitFor({ state: 'hidden' });
  assert.equal((await whoami(srv.rootToken)).status, 200);
  await nav(p, 'Clusters').click();
  await p.getByRole('heading', { name: 'Clusters' }).waitFor();
  assert.deepEqual(root.problems, []);
});

test("a principal's page shows its credentials to those allowed; the root's are the root's alone", { skip }, async () => {
  const dave = await openConsole(browser, srv.url);
  await signIn(dave.page, daveToken);
  const p = dave.page;
  await nav(p, 'Principals').click();
  await p.getByRole('link', { name: 'erin', exact: true }).click();
  await p.getByRole('heading', { name: 'User erin' }).waitFor();
  assert.match(await rowOf(p, tokenIdOf(erinToken)).innerText(), /console[\s\S]*Active/);
  assert.doesNotMatch(await rowOf(p, tokenIdOf(erinToken)).innerText(), /this session/, "dave's session is not erin's token");
  await p.getByText('No access key', { exact: false }).waitFor();

  await p.getByText('Create a token').click();
  await p.getByLabel('Token name').fill('deploy');
  await p.getByLabel('Expires after (days)').fill('');
  await p.getByRole('button', { name: 'Create token' }).click();
  const shown = p.getByRole('region', { name: /^New token deploy/ });
  await shown.waitFor();
  assert.match(await shown.innerText(), /does not expire/);
  const token = await shown.getByLabel('Token', { exact: true }).inputValue();
  assert.equal((await whoami(token)).json.principal.id, erin.id, 'a token of erin');
  await shown.getByRole('button', { name: 'Done: I have stored it' }).click();
  await rowOf(p, tokenIdOf(token)).getByRole('button', { name: /^Revoke token deploy/ }).click();
  await p.getByRole('dialog', { name: 'Revoke token deploy?' }).getByRole('button', { name: 'Revoke token' }).click();
  await stateOf(rowOf(p, tokenIdOf(token))).filter({ hasText: 'Revoked' }).waitFor();
  assert.equal((await whoami(token)).status, 401);

  // The root's page: listed, but neither creating nor revoking is offered, and the server refuses both.
  await nav(p, 'Principals').click();
  await p.getByRole('link', { name: 'root', exact: true }).click();
  await p.getByRole('heading', { name: /root$/ }).waitFor();
  await rowOf(p, tokenIdOf(srv.rootToken)).waitFor();
  assert.match(await p.getByRole('note').first().innerText(), /only the root may create or revoke them/);
  assert.equal(await p.getByText('Create a token').count(), 0);
  assert.equal(await p.getByRole('button', { name: /^Revoke/ }).count(), 0);
  assert.equal(await p.getByRole('button', { name: 'Create an access key' }).count(), 0);
  const refused = await api('DELETE', `/v1/principals/${srv.rootPrincipalId}/tokens/${tokenIdOf(srv.rootToken)}`, undefined, daveToken);
  assert.equal(refused.status, 403);
  assert.match(refused.json.message, /only the account's root/);
  assert.equal((await api('POST', `/v1/principals/${srv.rootPrincipalId}/tokens`, {}, daveToken)).status, 403);
  assert.deepEqual(dave.problems, []);
  await dave.context.close();
});

test('revoking the token you are signed in with signs you out cleanly', { skip }, async () => {
  const tab = await openConsole(browser, srv.url);
  await signIn(tab.page, erinToken);
  const p = tab.page;
  await nav(p, 'My API credentials').click();
  const row = rowOf(p, tokenIdOf(erinToken));
  await row.filter({ hasText: '(this session)' }).waitFor();

  // Creating one needs a policy erin does not have: refused, in words, with the request ID.
  await p.getByText('Create a token').click();
  const created = await answerTo(p, 'POST', /\/tokens$/, () => p.getByRole('button', { name: 'Create token' }).click());
  assert.equal(created.status(), 403);
  const alert = p.getByRole('alert').filter({ hasText: 'You are not allowed to do this' });
  await alert.waitFor();
  assert.match(await alert.innerText(), new RegExp(`Request ID: ${created.headers()['x-request-id']}`));

  // Revoking her own needs none.
  await row.getByRole('button', { name: /^Revoke token console/ }).click();
  const dialog = p.getByRole('dialog', { name: 'Revoke token console?' });
  assert.match(await dialog.innerText(), /You are signed in with this token/);
  const res = await answerTo(p, 'DELETE', /\/tokens\/tok_/, () => dialog.getByRole('button', { name: 'Revoke token' }).click());
  assert.equal(res.status(), 200);
  await p.getByRole('heading', { name: 'Sign in to kubecred' }).waitFor();
  await p.getByText(`You revoked the API token this session was opened with (${tokenIdOf(erinToken)})`).waitFor();
  assert.deepEqual(await tab.context.cookies(), [], 'the browser dropped the dead cookie');
  assert.equal((await whoami(erinToken)).status, 401);
  await p.reload();
  await p.getByRole('heading', { name: 'Sign in to kubecred' }).waitFor();
  assert.equal(await p.getByRole('alert').count(), 0, 'a clean sign-in page, no error');
  assert.deepEqual(tab.problems, []);
  await tab.context.close();
});

test("a cluster's webhook tokens: created with the secret shown once, accepted by the webhook, refused once revoked", { skip }, async () => {
  const p = root.page;
  await p.goto(`/console/clusters/${prod.id}`);
  await p.getByRole('navigation', { name: 'Cluster views' }).getByRole('link', { name: 'Webhook tokens' }).click();
  await p.getByText('prod has no webhook token').waitFor();
  await p.getByRole('button', { name: 'Create a webhook token' }).click();
  const shown = p.getByRole('region', { name: /^New webhook token wht_/ });
  await shown.waitFor();
  assert.match(await shown.innerText(), /you will not see this again/);
  const token = await shown.getByLabel('Webhook token').inputValue();
  const id = tokenIdOf(token);
  const review = () => rawRequest(srv, 'POST', `/kube/clusters/${prod.id}/authorize`, { token, body: JSON.stringify({ apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview', spec: { user: 'someone', groups: [] } }) });
  assert.equal((await review()).status, 200);
  await shown.getByRole('button', { name: 'Done: I have stored it' }).click();

  const row = rowOf(p, id);
  await row.getByRole('button', { name: `Revoke webhook token ${id}` }).click();
  const dialog = p.getByRole('dialog', { name: `Revoke webhook token ${id}?` });
  assert.match(await dialog.innerText(), /only active webhook token/);
  await dialog.getByRole('button', { name: 'Revoke webhook token' }).click();
  await p.getByText(`Revoked webhook token ${id}`).waitFor();
  await stateOf(row).filter({ hasText: 'Revoked' }).locator('time').waitFor();
  assert.equal((await review()).status, 401);
  assert.deepEqual(root.problems, []);
});

test('at phone width the credential pages fit the screen, a secret shown once included', { skip }, async () => {
  const phone = await openConsole(browser, srv.url, { phone: true });
  await signIn(phone.page, srv.rootToken);
  const p = phone.page;
  const fits = async (what: string) => {
    await p.waitForLoadState('networkidle');
    const { scroll, width } = await p.evaluate(() => ({ scroll: document.documentElement.scrollWidth, width: window.innerWidth }));
    assert.ok(scroll <= width, `${what}: page is ${scroll}px wide on a ${width}px screen`);
  };
  for (const path of ['/credentials', `/principals/${erin.id}`, `/clusters/${prod.id}/webhook-tokens`]) {
    await p.goto(`/console${path}`);
    await p.locator('h1').first().waitFor();
    await fits(path);
  }
  await p.getByRole('button', { name: 'Create a webhook token' }).click();
  await p.getByRole('region', { name: /^New webhook token/ }).waitFor();
  await fits('a webhook token shown once');
  assert.deepEqual(phone.problems, []);
  await phone.context.close();
});
