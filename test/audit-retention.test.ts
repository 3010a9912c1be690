// What keeps the store from growing without bound, through a real server, its CLI and /v1: a principal's flood of
// denials is coalesced, audit events and ended credentials past the operator's retention are deleted (and that is
// audited), and a filtered audit listing examines a bounded number of events per page.

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { serversStoppedAfterAll, tempDir } from './support/server-process.ts';

const start = serversStoppedAfterAll();

async function tokenFor(srv: { url: string; caFile: string; rootToken: string }, name: string): Promise<string> {
  assert.equal((await rawRequest(srv, 'POST', '/v1/principals', { token: srv.rootToken, body: JSON.stringify({ name, kind: 'user' }) })).status, 201);
  const tok = await rawRequest(srv, 'POST', `/v1/principals/${name}/tokens`, { token: srv.rootToken, body: '{}' });
  assert.equal(tok.status, 201);
  return tok.json.token;
}

test('a principal with no permissions cannot grow the audit trail: past 20 denials a minute, one summary event counts the rest and names their first and last request IDs', async () => {
  const dataDir = tempDir();
  const srv = await start({ dataDir });
  const nobody = await tokenFor(srv, 'nobody');
  const requestIds: string[] = [];
  for (let i = 0; i < 45; i++) {
    const r = await rawRequest(srv, 'POST', '/v1/principals', { token: nobody, body: JSON.stringify({ name: `x${i}`, kind: 'user' }) });
    assert.equal(r.status, 403, 'every request is still refused');
    assert.equal(r.json.code, 'ACCESS_DENIED');
    assert.match(r.json.requestId, /\S/, 'with its request ID');
    requestIds.push(r.json.requestId);
  }
  const denied = await cliJson<any[]>(srv, srv.rootToken, ['audit', 'list', '--actor', 'nobody', '--limit', '1000']);
  assert.equal(denied.length, 20, 'the first 20 denials are recorded whole');
  assert.deepEqual(denied.map((e) => e.requestId).reverse(), requestIds.slice(0, 20));
  assert.ok(denied.every((e) => e.action === 'kubecred:CreatePrincipal' && e.outcome === 'denied' && /no policy that allows/.test(e.detail.reason)));

  // The window's summary is written when it ends, or when the server stops (counts live in its memory).
  assert.equal(await srv.stop(), 0);
  const again = await start({ dataDir, previous: srv });
  const events = await cliJson<any[]>(again, srv.rootToken, ['audit', 'list', '--actor', 'nobody', '--limit', '1000']);
  assert.equal(events.length, 21);
  const summary = events.find((e) => e.action === 'SuppressDenials');
  assert.ok(summary, 'one summary event');
  assert.equal(summary.outcome, 'denied');
  assert.equal(summary.detail.suppressed, 25);
  assert.equal(summary.detail.firstSuppressedRequestId, requestIds[20]);
  assert.equal(summary.detail.lastSuppressedRequestId, requestIds[44]);
  assert.equal(summary.requestId, requestIds[44]);
  assert.deepEqual(summary.detail.actions, { 'kubecred:CreatePrincipal': 25 });
  assert.ok(Date.parse(summary.detail.windowEnd) - Date.parse(summary.detail.windowStart) === 60_000);
  // The filter by outcome finds it beside the recorded denials.
  assert.equal((await cliJson<any[]>(again, srv.rootToken, ['audit', 'list', '--outcome', 'denied', '--action', 'SuppressDenials'])).length, 1);
});

test('a filter that matches little among more events than one page examines: the API answers short pages with a next, the CLI and the console go on to the match', async (t) => {
  const dataDir = tempDir();
  const first = await start({ dataDir });
  assert.equal(await first.stop(), 0);
  // One refused issuance, then 20,100 newer events: more than one filtered page examines (20,000).
  const db = new Database(path.join(dataDir, 'kubecred.db'));
  try {
    const accountId = first.accountId;
    const insert = `insert into audit_events (id, account_id, at, actor_id, action, resource_type, resource_id, outcome, source_ip, request_id, detail)`;
    db.prepare(`${insert} values ('evt_theonefailure', ?, ?, null, 'IssueKubeconfig', 'cluster', 'cls_x', 'failure', null, 'req_theone', '{}')`).run(accountId, Date.now() - 60_000);
    db.prepare(`with recursive n(i) as (select 1 union all select i + 1 from n where i < 20100)
      ${insert} select 'evt_bulk' || i, ?, ?, null, 'GetKubeconfig', 'cluster', 'cls_x', 'success', null, 'req_bulk' || i, '{}' from n`).run(accountId, Date.now() - 30_000);
  } finally {
    db.close();
  }
  const srv = await start({ dataDir, previous: first });
  const page = await rawRequest(srv, 'GET', '/v1/audit?outcome=failure&limit=10', { token: srv.rootToken });
  assert.equal(page.status, 200);
  assert.deepEqual(page.json.items, [], 'the newest 20,000 events hold no failure');
  assert.ok(page.json.next, 'but the page says there is more to search');
  const rest = await rawRequest(srv, 'GET', `/v1/audit?outcome=failure&limit=10&cursor=${page.json.next}`, { token: srv.rootToken });
  assert.deepEqual(rest.json.items.map((e: any) => e.id), ['evt_theonefailure']);
  assert.equal(rest.json.next, null);
  // The CLI follows next through the empty page, up to its --limit.
  const found = await cliJson<any[]>(srv, srv.rootToken, ['audit', 'list', '--outcome', 'failure', '--limit', '5']);
  assert.deepEqual(found.map((e) => e.requestId), ['req_theone']);

  const { browserUnavailable, ensureConsoleBuilt, launchBrowser, openConsole, signIn } = await import('./support/browser.ts');
  const why = browserUnavailable();
  if (why) return t.skip(why);
  await ensureConsoleBuilt();
  const browser = await launchBrowser();
  try {
    const tab = await openConsole(browser, srv.url);
    await signIn(tab.page, srv.rootToken);
    const p = tab.page;
    await p.goto(`${srv.url}/console/audit?outcome=failure`);
    await p.getByText('No match among the most recent events searched so far').waitFor();
    assert.equal(await p.getByText('No audit event matches these filters.').count(), 0, 'not "nothing matches"');
    await p.getByRole('button', { name: 'Search older events' }).click();
    await p.getByRole('row', { name: /req_theone/ }).waitFor();
    assert.equal(await p.getByRole('button', { name: /older events/ }).count(), 0, 'the end of the trail');
  } finally {
    await browser.close();
  }
});
