// A cluster's kubeconfig states and expiry chart when one role was issued thousands of temporary kubeconfigs:
// GET /v1/clusters/:id/kubeconfig-summary counts every one with GROUP BY, and the console shows every holder
// (an old default kubeconfig still valid for years among them), not the newest 5,000 kubeconfigs.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import https from 'node:https';
import type { Browser } from 'playwright-core';
import { browserUnavailable, ensureConsoleBuilt, launchBrowser, openConsole, signIn, type ConsoleTab } from './support/browser.ts';
import { assertCodedError, rawRequest } from './support/http.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

const skip = browserUnavailable() ?? false;
/** More than the 5,000 kubeconfigs the console used to read before it stopped paging. */
const FLOOD = 5_050;
let srv: ServerProcess;
let browser: Browser;
let root: ConsoleTab;
let clusterId: string;
let olga: { id: string };
let ci: { id: string };

const api = (method: string, path: string, body?: unknown, token = srv.rootToken) =>
  rawRequest(srv, method, path, { token, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });

/** Issues `n` temporary kubeconfigs for `principalId` over a few kept-alive connections, as a busy CI would. */
async function flood(principalId: string, n: number): Promise<void> {
  const agent = new https.Agent({ keepAlive: true, ca: fs.readFileSync(srv.caFile, 'utf8') });
  const url = new URL(`/v1/clusters/${clusterId}/kubeconfig`, srv.url);
  const body = JSON.stringify({ principalId, temporaryMinutes: 4320 });
  const one = () => new Promise<void>((resolve, reject) => {
    const req = https.request(url, { method: 'POST', agent, headers: { authorization: `Bearer ${srv.rootToken}`, 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`issuance answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(body);
  });
  let left = n;
  const worker = async () => { while (left-- > 0) await one(); };
  try {
    await Promise.all([worker(), worker(), worker(), worker()]);
  } finally {
    agent.destroy();
  }
}

before(async () => {
  if (!skip) await ensureConsoleBuilt();
  srv = await startServerProcess();
  if (!skip) browser = await launchBrowser();
  clusterId = (await api('POST', '/v1/clusters', { name: 'prod', publicEndpoint: 'https://203.0.113.10:6443' })).json.id;
  olga = (await api('POST', '/v1/principals', { name: 'olga' })).json;
  ci = (await api('POST', '/v1/principals', { name: 'ci', kind: 'role' })).json;
  // Olga's default kubeconfig is the oldest on the cluster; the CI role's thousands come after it.
  assert.equal((await api('POST', `/v1/clusters/${clusterId}/kubeconfig`, { principalId: olga.id })).status, 200);
  await flood(ci.id, FLOOD);
});

after(async () => {
  await browser?.close();
  await srv?.stop();
  if (srv) fs.rmSync(srv.dataDir, { recursive: true, force: true });
});

test('the summary counts every kubeconfig of every holder, and the active ones by time left', async () => {
  const res = await api('GET', `/v1/clusters/${clusterId}/kubeconfig-summary`);
  assert.equal(res.status, 200, res.body);
  const s = res.json;
  const holder = (id: string) => s.holders.find((h: any) => h.principalId === id);
  assert.deepEqual({ ...holder(ci.id), nextExpiry: undefined, lastExpiry: undefined },
    { principalId: ci.id, principalName: 'ci', principalDeleted: false, state: 'active', usable: FLOOD, expired: 0, superseded: 0, revoked: 0, total: FLOOD, kinds: ['temporary'], nextExpiry: undefined, lastExpiry: undefined });
  const o = holder(olga.id);
  assert.deepEqual([o.state, o.usable, o.total, o.kinds], ['active', 1, 1, ['default']]);
  const years = (Date.parse(o.lastExpiry) - Date.now()) / (365 * 864e5);
  assert.ok(years > 2.9 && years <= 3.01, `olga's default lasts three years (${years})`);

  assert.equal(s.expiry.total, FLOOD + 1);
  const band = (days: number | null) => s.expiry.bands.find((b: any) => b.untilDays === days);
  assert.deepEqual(band(7), { untilDays: 7, default: 0, temporary: FLOOD, csr: 0, explicit: 0, total: FLOOD }, 'three days left: the 1-7 days band');
  assert.deepEqual(band(1096), { untilDays: 1096, default: 1, temporary: 0, csr: 0, explicit: 0, total: 1 });
  assert.equal(s.expiry.nextToExpire.length, 5);
  assert.ok(s.expiry.nextToExpire.every((c: any) => c.principalId === ci.id && c.status === 'active'));

  // Revoking olga's shows at once; the CI role's count is untouched.
  await api('POST', `/v1/clusters/${clusterId}/revocations`, { principalId: olga.id, reason: 'left' });
  const after = (await api('GET', `/v1/clusters/${clusterId}/kubeconfig-summary`)).json;
  assert.deepEqual(after.holders.map((h: any) => [h.principalId, h.state, h.usable, h.revoked]), [[ci.id, 'active', FLOOD, 0], [olga.id, 'revoked', 0, 1]]);
  assert.equal(after.expiry.total, FLOOD);
  // Issue it again for the browser test below.
  assert.equal((await api('POST', `/v1/clusters/${clusterId}/kubeconfig`, { principalId: olga.id })).status, 200);
});

test('the summary is authorized as the listing it sums up, and is in /openapi.json', async () => {
  const bob = (await api('POST', '/v1/principals', { name: 'bob' })).json;
  const bobToken = (await api('POST', `/v1/principals/${bob.id}/tokens`, {})).json.token;
  const denied = await api('GET', `/v1/clusters/${clusterId}/kubeconfig-summary`, undefined, bobToken);
  assertCodedError(denied, 403, 'ACCESS_DENIED');
  const audited = (await api('GET', '/v1/audit?outcome=denied')).json.items.find((e: any) => e.requestId === denied.json.requestId);
  assert.equal(audited?.action, 'kubecred:ListCredentials');

  const policy = (await api('POST', '/v1/policies', {
    name: 'list-prod', document: { Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:ListCredentials'], Resource: ['*'] }] },
  })).json;
  assert.equal((await api('POST', `/v1/principals/${bob.id}/policies`, { policy: policy.id })).status, 200);
  const seen = await api('GET', `/v1/clusters/${clusterId}/kubeconfig-summary`, undefined, bobToken);
  assert.equal(seen.status, 200);
  // Names come with the summary: bob may not list principals, and still sees who holds what.
  assertCodedError(await api('GET', '/v1/principals', undefined, bobToken), 403, 'ACCESS_DENIED');
  assert.deepEqual(seen.json.holders.map((h: any) => h.principalName).sort(), ['ci', 'olga']);
  // A deleted holder keeps its name, marked deleted.
  const dora = (await api('POST', '/v1/principals', { name: 'dora' })).json;
  assert.equal((await api('POST', `/v1/clusters/${clusterId}/kubeconfig`, { principalId: dora.id })).status, 200);
  assert.equal((await api('DELETE', `/v1/principals/${dora.id}`)).status, 200);
  const gone = (await api('GET', `/v1/clusters/${clusterId}/kubeconfig-summary`, undefined, bobToken)).json.holders.find((h: any) => h.principalId === dora.id);
  assert.deepEqual([gone.principalName, gone.principalDeleted, gone.state], ['dora', true, 'revoked']);
  assertCodedError(await api('GET', '/v1/clusters/cls_nothere/kubeconfig-summary'), 404, 'NOT_FOUND');

  const spec = (await api('GET', '/openapi.json')).json;
  assert.ok(spec.paths['/v1/clusters/{id}/kubeconfig-summary']?.get, 'documented');
});

test('the console shows every holder and counts every active kubeconfig in the expiry chart', { skip }, async () => {
  root = await openConsole(browser, srv.url);
  await signIn(root.page, srv.rootToken);
  const p = root.page;
  await p.goto(`/console/clusters/${clusterId}/states`);
  const olgaRow = p.getByRole('row', { name: /olga/ });
  await olgaRow.waitFor();
  assert.match(await olgaRow.innerText(), /Active[\s\S]*Yes \(1 usable\)/);
  const ciRow = p.getByRole('row', { name: /^ci/ });
  assert.match(await ciRow.innerText(), new RegExp(`${FLOOD} kubeconfigs`));
  assert.match(await ciRow.innerText(), new RegExp(`Yes \\(${FLOOD} usable\\)`));

  // The CI role's list loads a page at a time.
  await ciRow.getByText(/kubeconfigs$/).click();
  await ciRow.getByRole('button', { name: /Revoke temporary kubeconfig/ }).first().waitFor();
  assert.equal(await ciRow.getByRole('button', { name: /Revoke temporary kubeconfig/ }).count(), 50);
  await ciRow.getByRole('button', { name: `Show older ones (${FLOOD - 50} more)` }).click();
  await ciRow.getByRole('button', { name: `Show older ones (${FLOOD - 100} more)` }).waitFor();
  assert.equal(await ciRow.getByRole('button', { name: /Revoke temporary kubeconfig/ }).count(), 100);

  await p.goto(`/console/clusters/${clusterId}/expiry`);
  await p.getByText(`When the ${FLOOD + 1} active kubeconfigs on prod expire, from now`).waitFor();
  assert.equal(await p.getByRole('img', { name: /Active kubeconfigs by time left/ }).getAttribute('aria-label'),
    `Active kubeconfigs by time left: ${FLOOD} in 1–7 days, 1 in 2–3 years`);
  assert.equal(await p.getByText(/temporary kubeconfig of ci$/).count(), 5, 'the next to expire are named');
  assert.deepEqual(root.problems, []);
});
