// One rule for a holder's date, whatever asks: a holder whose only active kubeconfig expired, beside a superseded one
// still years from its end, is "expired" with the expired one's end in the kubeconfig summary (/v1), in ACK's holder
// lists (the official Alibaba SDK) and in the console, which says the access ended rather than when it "expires".

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import CsModule, * as Cs from '@alicloud/cs20151215';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import type { Browser } from 'playwright-core';
import { browserUnavailable, ensureConsoleBuilt, launchBrowser, openConsole, signIn } from './support/browser.ts';
import { cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { serversStoppedAfterAll, tempDir, type ServerProcess } from './support/server-process.ts';

const CsClient = ((CsModule as any).default ?? CsModule) as unknown as typeof CsModule.default;
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const noFaketime = fs.existsSync(LIBFAKETIME) ? false : 'libfaketime is not installed (apt-get install faketime); .ci/run installs it';
const noBrowser = browserUnavailable() ?? false;

const start = serversStoppedAfterAll();
let srv: ServerProcess;
let browser: Browser | undefined;
let prod: { id: string };
let alice: { id: string };

before(async () => {
  if (noFaketime) return;
  const dataDir = tempDir();
  // Three hours ago: alice's 3-year default, superseded by a 1-hour validity, and the 1-hour default fetched after it.
  const past = await start({ dataDir, env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: '-3h', FAKETIME_DONT_FAKE_MONOTONIC: '1' } });
  prod = await cliJson(past, past.rootToken, ['cluster', 'create', 'prod', '--public-endpoint', 'https://203.0.113.10:6443', '--region', 'cn-hangzhou']);
  alice = await cliJson(past, past.rootToken, ['principal', 'create', 'alice']);
  const fetch = () => rawRequest(past, 'POST', `/v1/clusters/${prod.id}/kubeconfig`, { token: past.rootToken, body: JSON.stringify({ principalId: alice.id }) });
  assert.equal((await fetch()).status, 200);
  await cliJson(past, past.rootToken, ['validity', 'set', '--cluster', 'prod', '--principal', 'alice', '--hours', '1']);
  assert.equal((await fetch()).status, 200);
  assert.equal(await past.stop(), 0);
  srv = await start({ dataDir, previous: past });
  if (!noBrowser) {
    await ensureConsoleBuilt();
    browser = await launchBrowser();
  }
});

after(async () => {
  await browser?.close();
});

test("an expired holder's date is its expired kubeconfig's end, in the summary and in ACK's holder lists alike", { skip: noFaketime }, async () => {
  const creds = await cliJson<any[]>(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod', '--principal', 'alice']);
  const expired = creds.find((c) => c.status === 'expired');
  const superseded = creds.find((c) => c.status === 'superseded');
  assert.ok(expired && superseded, JSON.stringify(creds));
  assert.ok(Date.parse(superseded.notAfter) > Date.now() + 2.9 * 365 * 86400_000, 'the superseded default ends years from now');

  const summary = await rawRequest(srv, 'GET', `/v1/clusters/${prod.id}/kubeconfig-summary`, { token: srv.rootToken });
  assert.equal(summary.status, 200, summary.body);
  const holder = summary.json.holders.find((h: any) => h.principalId === alice.id);
  assert.deepEqual([holder.state, holder.usable, holder.expired, holder.superseded], ['expired', 0, 1, 1]);
  assert.equal(holder.lastExpiry, expired.notAfter, "the expired kubeconfig's end, not the superseded one's");

  const ack = new CsClient(new $OpenApiUtil.Config({
    accessKeyId: srv.accessKeyId, accessKeySecret: srv.accessKeySecret, endpoint: new URL(srv.url).host, protocol: 'https', ca: fs.readFileSync(srv.caFile, 'utf8'),
  }));
  const onCluster = (await ack.listClusterKubeconfigStates(prod.id, new Cs.ListClusterKubeconfigStatesRequest({}))).body!.states!.find((s) => s.accountId === alice.id)!;
  const ofUser = (await ack.listUserKubeConfigStates(alice.id, new Cs.ListUserKubeConfigStatesRequest({ pageNumber: 1, pageSize: 100 }))).body!.states!.find((s) => s.clusterId === prod.id)!;
  for (const state of [onCluster, ofUser]) {
    assert.equal(state.certState, 'Expired');
    // ACK's times are to the second.
    assert.equal(Date.parse(state.certExpireTime!), Math.floor(Date.parse(holder.lastExpiry) / 1000) * 1000, 'ACK gives the date the summary gives');
  }
});

test("the console says an expired holder's access ended, not when it expires", { skip: noFaketime || noBrowser }, async () => {
  const tab = await openConsole(browser!, srv.url);
  await signIn(tab.page, srv.rootToken);
  await tab.page.goto(`/console/clusters/${prod.id}/states`);
  const row = tab.page.locator(`tr[data-principal="${alice.id}"]`);
  await row.waitFor();
  const expiry = await row.locator('td[data-label="Expiry"]').innerText();
  assert.match(expiry, /^Ended .*ago/);
  assert.doesNotMatch(expiry, /year/, "not the superseded kubeconfig's end");
  assert.deepEqual(tab.problems, []);
  await tab.context.close();
});
