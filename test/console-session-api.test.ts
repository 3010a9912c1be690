// The web console's sessions over real HTTPS (and plain HTTP on loopback): the cookie's attributes,
// the CSRF rule for changes, cross-site refusal, sign-out, and that bearer-token callers are unaffected.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { cliJson } from './support/cli.ts';
import { rawRequest, type RawResponse } from './support/http.ts';
import { serveExpectingFailure, startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;

before(async () => {
  srv = await startServerProcess();
});
after(async () => {
  await srv?.stop();
  if (srv) fs.rmSync(srv.dataDir, { recursive: true, force: true });
});

const json = (body: unknown) => JSON.stringify(body);

async function signIn(token: string): Promise<{ res: RawResponse; cookie: string; csrf: string }> {
  const res = await rawRequest(srv, 'POST', '/v1/sessions', { body: json({ token }) });
  assert.equal(res.status, 201, res.body);
  const set = String(res.headers['set-cookie']);
  const cookie = /^(__Host-kubecred_session=[^;]+)/.exec(set)![1];
  return { res, cookie, csrf: res.json.csrfToken };
}

const withCookie = (cookie: string, extra: Record<string, string> = {}) => ({ cookie, ...extra });

function assertError(r: RawResponse, status: number, code: string) {
  assert.equal(r.status, status, r.body);
  assert.equal(r.json.code, code, r.body);
  assert.match(r.json.requestId, /^req_[0-9a-f]{24}$/);
  assert.equal(r.headers['x-request-id'], r.json.requestId);
}

test('signing in sets an HttpOnly, SameSite=Strict, Secure, host-only cookie and never echoes the token', async () => {
  const { res, csrf } = await signIn(srv.rootToken);
  const set = res.headers['set-cookie'] as string[];
  assert.equal(set.length, 1);
  assert.match(set[0], /^__Host-kubecred_session=ses_[a-z0-9]{26}\.[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/);
  assert.doesNotMatch(set[0], /Domain=/i);
  assert.equal(res.headers['cache-control'], 'no-store');
  assert.equal(res.json.principal.isRoot, true);
  assert.match(csrf, /^[A-Za-z0-9_-]{43}$/);
  assert.ok(Date.parse(res.json.expiresAt) > Date.now() + 11.9 * 3600_000);
  const idleLeft = Date.parse(res.json.idleExpiresAt) - Date.now();
  assert.ok(idleLeft > 29 * 60_000 && idleLeft <= 30 * 60_000, `unused for 30 minutes by default, it ends (${idleLeft} ms)`);
  assert.ok(!res.body.includes(srv.rootToken.split('.')[2]), 'the token secret is not in the answer');
});

test('a bad token is refused with a request ID and sets no cookie', async () => {
  for (const token of ['nonsense', `kc1.tok_${'0'.repeat(26)}.${'A'.repeat(43)}`]) {
    const r = await rawRequest(srv, 'POST', '/v1/sessions', { body: json({ token }) });
    assertError(r, 401, 'UNAUTHENTICATED');
    assert.equal(r.headers['set-cookie'], undefined);
  }
  assertError(await rawRequest(srv, 'POST', '/v1/sessions', { body: json({ token: srv.rootToken, extra: 1 }) }), 400, 'VALIDATION_FAILED');
  // A form post from another site cannot even be parsed: JSON only.
  assertError(await rawRequest(srv, 'POST', '/v1/sessions', { body: `token=${srv.rootToken}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } }), 415, 'UNSUPPORTED_MEDIA_TYPE');
});

test('the cookie authenticates reads; a change needs the CSRF header and changes nothing without it', async () => {
  const { cookie, csrf } = await signIn(srv.rootToken);
  const list = await rawRequest(srv, 'GET', '/v1/clusters', { headers: withCookie(cookie) });
  assert.equal(list.status, 200, list.body);
  assert.equal(list.headers['cache-control'], 'no-store');
  const body = json({ name: 'via-cookie', publicEndpoint: 'https://192.0.2.30:6443' });
  assertError(await rawRequest(srv, 'POST', '/v1/clusters', { body, headers: withCookie(cookie) }), 403, 'ACCESS_DENIED');
  assertError(await rawRequest(srv, 'POST', '/v1/clusters', { body, headers: withCookie(cookie, { 'x-csrf-token': 'A'.repeat(43) }) }), 403, 'ACCESS_DENIED');
  const still = await rawRequest(srv, 'GET', '/v1/clusters', { headers: withCookie(cookie) });
  assert.equal(still.json.items.length, list.json.items.length, 'nothing was created');
  const created = await rawRequest(srv, 'POST', '/v1/clusters', { body, headers: withCookie(cookie, { 'x-csrf-token': csrf }) });
  assert.equal(created.status, 201, created.body);
  const audit = await rawRequest(srv, 'GET', `/v1/audit?action=CreateCluster&resource=${created.json.id}`, { token: srv.rootToken });
  assert.equal(audit.json.items[0].requestId, created.headers['x-request-id']);
  assert.equal(audit.json.items[0].detail.surface, 'console');
});

test('a cross-site request is refused even with the cookie, and even for reading', async () => {
  const { cookie, csrf } = await signIn(srv.rootToken);
  assertError(await rawRequest(srv, 'GET', '/v1/clusters', { headers: withCookie(cookie, { 'sec-fetch-site': 'cross-site' }) }), 403, 'ACCESS_DENIED');
  assertError(await rawRequest(srv, 'GET', '/v1/clusters', { headers: withCookie(cookie, { 'sec-fetch-site': 'same-site' }) }), 403, 'ACCESS_DENIED');
  assertError(await rawRequest(srv, 'DELETE', '/v1/sessions/current', { headers: withCookie(cookie, { 'x-csrf-token': csrf, 'sec-fetch-site': 'cross-site' }) }), 403, 'ACCESS_DENIED');
  assertError(await rawRequest(srv, 'POST', '/v1/sessions', { body: json({ token: srv.rootToken }), headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'ACCESS_DENIED');
  const ok = await rawRequest(srv, 'GET', '/v1/clusters', { headers: withCookie(cookie, { 'sec-fetch-site': 'same-origin' }) });
  assert.equal(ok.status, 200);
});

test('bearer-token callers are unaffected: a cookie beside the header is ignored, and no CSRF header is asked', async () => {
  const r = await rawRequest(srv, 'POST', '/v1/principals', { token: srv.rootToken, body: json({ name: 'bearer-only' }), headers: { cookie: '__Host-kubecred_session=garbage' } });
  assert.equal(r.status, 201, r.body);
  assert.equal(r.headers['set-cookie'], undefined);
  assertError(await rawRequest(srv, 'GET', '/v1/whoami', { headers: { cookie: '__Host-kubecred_session=garbage' } }), 401, 'UNAUTHENTICATED');
});

test('after a reload the console gets who it is and its CSRF token back from the cookie alone', async () => {
  const { cookie, csrf } = await signIn(srv.rootToken);
  const cur = await rawRequest(srv, 'GET', '/v1/sessions/current', { headers: withCookie(cookie) });
  assert.equal(cur.status, 200, cur.body);
  assert.equal(cur.json.csrfToken, csrf);
  assert.equal(cur.json.principal.name, 'root');
  assert.equal(cur.json.tokenId, srv.rootToken.split('.')[1], 'the token it was opened with, by ID (never the secret)');
  assertError(await rawRequest(srv, 'GET', '/v1/sessions/current', {}), 401, 'UNAUTHENTICATED');
  assertError(await rawRequest(srv, 'GET', '/v1/sessions/current', { token: srv.rootToken }), 401, 'UNAUTHENTICATED');
});

test('signing out needs the CSRF token, ends the session at once, clears the cookie, and is audited', async () => {
  const { res, cookie, csrf } = await signIn(srv.rootToken);
  assertError(await rawRequest(srv, 'DELETE', '/v1/sessions/current', { headers: withCookie(cookie) }), 403, 'ACCESS_DENIED');
  const out = await rawRequest(srv, 'DELETE', '/v1/sessions/current', { headers: withCookie(cookie, { 'x-csrf-token': csrf }) });
  assert.equal(out.status, 200, out.body);
  assert.match(String(out.headers['set-cookie']), /^__Host-kubecred_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0; Secure$/);
  assertError(await rawRequest(srv, 'GET', '/v1/clusters', { headers: withCookie(cookie) }), 401, 'UNAUTHENTICATED');
  const events = await rawRequest(srv, 'GET', '/v1/audit?limit=500', { token: srv.rootToken });
  const signIn_ = events.json.items.find((e: any) => e.action === 'ConsoleSignIn' && e.requestId === res.headers['x-request-id']);
  const signOut = events.json.items.find((e: any) => e.action === 'ConsoleSignOut' && e.requestId === out.headers['x-request-id']);
  assert.ok(signIn_ && signOut, 'sign-in and sign-out are both in the audit log with their request IDs');
  assert.equal(signOut.detail.sessionId, signIn_.detail.sessionId);
  assert.ok(!JSON.stringify(events.json).includes(cookie.split('.')[1]), 'the session secret is not in the audit log');
});

test('a session dies when its principal is deleted', async () => {
  const bob = await cliJson(srv, srv.rootToken, ['principal', 'create', 'bob']);
  const token = (await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', 'bob'])).token;
  const { cookie } = await signIn(token);
  assert.equal((await rawRequest(srv, 'GET', '/v1/whoami', { headers: withCookie(cookie) })).json.principal.id, bob.id);
  const del = await rawRequest(srv, 'DELETE', `/v1/principals/${bob.id}`, { token: srv.rootToken });
  assert.equal(del.status, 200, del.body);
  assertError(await rawRequest(srv, 'GET', '/v1/whoami', { headers: withCookie(cookie) }), 401, 'UNAUTHENTICATED');
});

test('the session routes are in the OpenAPI document', async () => {
  const doc = (await rawRequest(srv, 'GET', '/openapi.json')).json;
  assert.ok(doc.paths['/v1/sessions'].post);
  assert.ok(doc.paths['/v1/sessions/current'].get);
  assert.ok(doc.paths['/v1/sessions/current'].delete);
  assert.equal(doc.paths['/console/{*}'], undefined, 'the console assets are not API');
});

test('over plain HTTP on loopback the cookie is neither Secure nor __Host- prefixed, and still works', async () => {
  const plain = await startServerProcess({ dataDir: tempDir(), args: ['--no-tls'] });
  try {
    assert.match(plain.url, /^http:\/\/127\.0\.0\.1:/);
    const res = await fetch(`${plain.url}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json({ token: plain.rootToken }) });
    assert.equal(res.status, 201);
    const set = res.headers.get('set-cookie')!;
    assert.match(set, /^kubecred_session=ses_[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200$/);
    const cookie = set.split(';')[0];
    const who = await fetch(`${plain.url}/v1/whoami`, { headers: { cookie } });
    assert.equal(who.status, 200);
    // The TLS cookie name is not accepted over plain HTTP (a __Host- cookie there would be a forgery).
    const forged = await fetch(`${plain.url}/v1/whoami`, { headers: { cookie: `__Host-${cookie}` } });
    assert.equal(forged.status, 401);
  } finally {
    await plain.stop();
    fs.rmSync(plain.dataDir, { recursive: true, force: true });
  }
});

test('--console-idle-minutes sets how long an unused session lasts; a value out of range stops serve with exit 2', async () => {
  const strict = await startServerProcess({ args: ['--console-idle-minutes', '5'] });
  try {
    const res = await rawRequest(strict, 'POST', '/v1/sessions', { body: json({ token: strict.rootToken }) });
    assert.equal(res.status, 201, res.body);
    const idleLeft = Date.parse(res.json.idleExpiresAt) - Date.now();
    assert.ok(idleLeft > 4 * 60_000 && idleLeft <= 5 * 60_000, String(idleLeft));
    const cookie = /^(__Host-kubecred_session=[^;]+)/.exec(String(res.headers['set-cookie']))![1];
    const current = await rawRequest(strict, 'GET', '/v1/sessions/current', { headers: { cookie } });
    assert.equal(current.json.idleExpiresAt, res.json.idleExpiresAt, 'a use within the minute moves nothing (no write)');
  } finally {
    await strict.stop();
    fs.rmSync(strict.dataDir, { recursive: true, force: true });
  }
  for (const bad of ['0', '721', 'soon']) {
    const r = await serveExpectingFailure(['--port', '0', '--console-idle-minutes', bad]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--console-idle-minutes must be a whole number of minutes from 1 to 720/);
  }
  const r = await serveExpectingFailure(['--port', '0'], { KUBECRED_CONSOLE_IDLE_MINUTES: '0' });
  assert.equal(r.code, 2);
});

test('failed sign-ins naming a known token are audited in its account; 20 from one address in 10 minutes, then 429 with Retry-After there only', async () => {
  // A server of its own: the limits are counted per process, and the other tests fail sign-ins on purpose. Behind a
  // trusted proxy hop, X-Forwarded-For says which address each attempt comes from.
  const own = await startServerProcess({ args: ['--trust-proxy', '1'] });
  try {
    const asRoot = (method: string, path: string, body?: unknown) => rawRequest(own, method, path, { token: own.rootToken, ...(body === undefined ? {} : { body: json(body) }) });
    const signInWith = (token: string, from = '198.51.100.7') => rawRequest(own, 'POST', '/v1/sessions', { body: json({ token }), headers: { 'x-forwarded-for': from } });
    const bob = (await asRoot('POST', '/v1/principals', { name: 'bob' })).json;
    const bobToken: string = (await asRoot('POST', `/v1/principals/${bob.id}/tokens`, {})).json.token;
    const [, bobTokenId, bobSecret] = bobToken.split('.');
    const wrong = `kc1.${bobTokenId}.${'A'.repeat(43)}`;

    const first = await signInWith(wrong);
    assertError(first, 401, 'UNAUTHENTICATED');
    const events = (await asRoot('GET', '/v1/audit?action=ConsoleSignIn&outcome=denied')).json.items;
    assert.equal(events.length, 1);
    assert.deepEqual([events[0].actorId, events[0].resourceId, events[0].requestId, events[0].sourceIp], [null, bob.id, first.json.requestId, '198.51.100.7']);
    assert.deepEqual(events[0].detail, { surface: 'console', tokenId: bobTokenId, reason: 'wrong secret, or its principal was deleted' });
    assert.ok(!JSON.stringify(events).includes('A'.repeat(43)) && !JSON.stringify(events).includes(bobSecret), 'nothing presented is kept');

    // Unknown token IDs count too, but have no account to tell.
    for (let i = 2; i <= 10; i++) assertError(await signInWith(wrong), 401, 'UNAUTHENTICATED');
    for (let i = 11; i <= 20; i++) assertError(await signInWith(`kc1.tok_${String(i).padStart(26, '0')}.${'B'.repeat(43)}`), 401, 'UNAUTHENTICATED');
    const limited = await signInWith(bobToken);
    assertError(limited, 429, 'RATE_LIMITED');
    const retryAfter = Number(limited.headers['retry-after']);
    assert.ok(retryAfter > 500 && retryAfter <= 600, String(retryAfter));
    assert.equal(limited.json.details.retryAfterSeconds, retryAfter);
    assert.match(limited.json.message, /too many failed sign-ins from this address; try again in \d+ seconds/);
    assert.equal(limited.headers['set-cookie'], undefined, 'even the right token opens nothing from there meanwhile');
    assert.equal((await asRoot('GET', '/v1/audit?action=ConsoleSignIn&outcome=denied')).json.items.length, 10, 'refusals by the limit are not counted as tries');
    // The token whose ID was named ten times is not locked out: its holder signs in from elsewhere.
    assert.equal((await signInWith(bobToken, '203.0.113.9')).status, 201);
    // The API itself is not limited: the bearer token still works.
    assert.equal((await asRoot('GET', '/v1/principals')).status, 200);
  } finally {
    await own.stop();
    fs.rmSync(own.dataDir, { recursive: true, force: true });
  }
});
