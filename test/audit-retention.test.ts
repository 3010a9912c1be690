// What keeps the store from growing without bound, through a real server, its CLI and /v1: a principal's flood of
// denials is coalesced, audit events and ended credentials past the operator's retention are deleted (and that is
// audited), and a filtered audit listing examines a bounded number of events per page.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { cli, cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { serversStoppedAfterAll, tempDir } from './support/server-process.ts';

const start = serversStoppedAfterAll();
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

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

test('--audit-retention-days and --credential-retention-days delete what is older, in the background, and audit each deletion; current defaults and unexpired credentials stay', async (t) => {
  if (!fs.existsSync(LIBFAKETIME)) return t.skip('libfaketime is not installed (apt-get install faketime); .ci/run installs it');
  const dataDir = tempDir();
  // 40 days ago: a cluster, a 15-minute kubeconfig (long expired now), a 1-hour default (expired, but still current),
  // and a 3-year default of another principal (unexpired).
  const past = await start({ dataDir, env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: '-40d', FAKETIME_DONT_FAKE_MONOTONIC: '1' } });
  await cliJson(past, past.rootToken, ['cluster', 'create', 'old', '--public-endpoint', 'https://192.0.2.10:6443']);
  await tokenFor(past, 'alice');
  const ok = async (args: string[]) => {
    const r = await cli(past, past.rootToken, args);
    assert.equal(r.code, 0, `kubecred ${args.join(' ')}: ${r.stderr}`);
  };
  await ok(['kubeconfig', 'get', '--cluster', 'old', '--temporary', '15', '-o', path.join(dataDir, 't.kubeconfig')]);
  await cliJson(past, past.rootToken, ['validity', 'set', '--cluster', 'old', '--principal', 'root', '--hours', '1']);
  await ok(['kubeconfig', 'get', '--cluster', 'old', '-o', path.join(dataDir, 'd.kubeconfig')]);
  await ok(['kubeconfig', 'get', '--cluster', 'old', '--principal', 'alice', '-o', path.join(dataDir, 'a.kubeconfig')]);
  const before = await cliJson<any[]>(past, past.rootToken, ['credential', 'list']);
  assert.equal(before.length, 3);
  const oldEvents = (await cliJson<any[]>(past, past.rootToken, ['audit', 'list', '--limit', '1000'])).length;
  assert.equal(await past.stop(), 0);

  const srv = await start({ dataDir, previous: past, args: ['--audit-retention-days', '30', '--credential-retention-days', '30'] });
  // The first run is a few seconds after start.
  let events: any[] = [];
  for (let i = 0; i < 100 && !events.some((e) => e.action === 'PruneCredentials'); i++) {
    await new Promise((r) => setTimeout(r, 200));
    events = await cliJson<any[]>(srv, srv.rootToken, ['audit', 'list', '--limit', '1000']);
  }
  const prunedAudit = events.find((e) => e.action === 'PruneAuditEvents');
  assert.ok(prunedAudit, 'the deletion of audit events is itself audited');
  assert.equal(prunedAudit.detail.deleted, oldEvents);
  assert.equal(prunedAudit.detail.retentionDays, 30);
  assert.ok(Math.abs(Date.parse(prunedAudit.detail.before) - (Date.now() - 30 * 86_400_000)) < 120_000);
  assert.ok(!events.some((e) => e.action === 'IssueKubeconfig' || e.action === 'CreateCluster'), 'the 40-day-old events are gone');
  const prunedCreds = events.find((e) => e.action === 'PruneCredentials');
  assert.equal(prunedCreds.detail.deleted, 1, 'only the temporary kubeconfig');
  assert.equal(prunedCreds.detail.retentionDays, 30);

  const after = await cliJson<any[]>(srv, srv.rootToken, ['credential', 'list']);
  assert.equal(after.length, 2, 'the expired current default and the unexpired one stay');
  assert.ok(!after.some((c) => c.kind === 'temporary'));
  assert.equal((await cli(srv, srv.rootToken, ['credential', 'list', '--state', 'expired', '--output', 'json'])).code, 0);
  // The expired default is still the holder's current one: the next fetch finds it and issues anew.
  assert.equal((await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'old', '-o', path.join(dataDir, 'd2.kubeconfig')])).code, 0);

  // A restart does not delete again what the first run left (nothing older), and records nothing more.
  assert.equal(await srv.stop(), 0);
  const db = new Database(path.join(dataDir, 'kubecred.db'), { readonly: true });
  try {
    const { n } = db.prepare("select count(*) as n from audit_events where action like 'Prune%'").get() as { n: number };
    assert.equal(n, 2);
  } finally {
    db.close();
  }
});

test('a serve retention that is not a whole number of days from 1 to 36500 is refused, saying how to keep everything', async () => {
  const r = await cli(null, null, ['serve', '--data-dir', tempDir(), '--port', '0', '--audit-retention-days', '0']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /--audit-retention-days must be a whole number of days from 1 to 36500.*leave it out to keep them forever/);
  const e = await cli(null, null, ['serve', '--data-dir', tempDir(), '--port', '0'], { KUBECRED_CREDENTIAL_RETENTION_DAYS: '7d' });
  assert.match(e.stderr, /--credential-retention-days must be a whole number of days/);
});

test('a filter that matches little among more events than one page examines: the API answers short pages with a next, the CLI and the console go on to the match', async (t) => {
  const dataDir = tempDir();
  const first = await start({ dataDir });
  // Only the file is wanted. (Its exit code is not checked: a server sent SIGTERM the moment it says "serving on"
  // sometimes dies of the signal itself, as it did before this test existed.)
  await first.stop();
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

test('a next the server returned still pages once the audit retention deleted its event; an older cursor naming a deleted event is refused saying to start again', async (t) => {
  if (!fs.existsSync(LIBFAKETIME)) return t.skip('libfaketime is not installed (apt-get install faketime); .ci/run installs it');
  const dataDir = tempDir();
  const past = await start({ dataDir, env: { LD_PRELOAD: LIBFAKETIME, FAKETIME: '-40d', FAKETIME_DONT_FAKE_MONOTONIC: '1' } });
  for (const name of ['old-1', 'old-2', 'old-3', 'old-4']) await cliJson(past, past.rootToken, ['principal', 'create', name]);
  const page = async (srv: typeof past, q: string) => rawRequest(srv, 'GET', `/v1/audit?${q}`, { token: past.rootToken });
  const plain = (await page(past, 'limit=2')).json;
  const filtered = (await page(past, 'action=CreatePrincipal&limit=1')).json;
  assert.ok(plain.next && filtered.next);
  // As a server before cursors carried the time wrote them: the event's ID alone.
  const idOnly = Buffer.from(`audit:${plain.items[1].id}`).toString('base64url');
  assert.equal(await past.stop(), 0);

  const srv = await start({ dataDir, previous: past, args: ['--audit-retention-days', '30'] });
  let events: any[] = [];
  for (let i = 0; i < 100 && !events.some((e) => e.action === 'PruneAuditEvents'); i++) {
    await new Promise((r) => setTimeout(r, 200));
    events = (await page(srv, 'limit=500')).json.items;
  }
  assert.ok(events.some((e) => e.action === 'PruneAuditEvents'), 'the old events were deleted');
  assert.ok(!events.some((e) => e.id === plain.items[1].id));
  for (const cursor of [plain.next, filtered.next]) {
    const rest = await page(srv, `${cursor === plain.next ? 'limit=2' : 'action=CreatePrincipal&limit=1'}&cursor=${cursor}`);
    assert.equal(rest.status, 200, rest.body);
    assert.deepEqual(rest.json, { items: [], next: null }, 'nothing older is left');
  }
  const old = await page(srv, `limit=2&cursor=${idOnly}`);
  assert.equal(old.status, 400);
  assert.equal(old.json.code, 'VALIDATION_FAILED');
  assert.equal(old.json.details?.field, 'cursor');
  assert.match(old.json.message, /gone \(the audit retention deleted it\); list again without the cursor/);
});
