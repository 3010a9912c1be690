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
