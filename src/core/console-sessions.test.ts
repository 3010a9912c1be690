// Console sessions against a real SQLite store and a hand-moved clock: sign-in, the CSRF rule, expiry,
// and that a session dies with its token, its principal or a sign-out. Secrets are never stored in clear.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { makeConsoleSessions } from './console-sessions.ts';
import { makeAuditWriter } from './audit.ts';
import { randomIds } from './ids.ts';
import { HOUR, makeKit, type Kit } from './test-kit.ts';
import { aesGcmSealer } from '../pki/sealer.ts';

let kit: Kit;
let sessions: ReturnType<typeof makeConsoleSessions>;
const req = { requestId: 'req_console_test', sourceIp: '127.0.0.1' };

before(async () => {
  kit = await makeKit();
  sessions = kit.authority.consoleSessions;
});
after(() => kit?.close());

const code = (c: string) => (e: unknown) => (e as { code?: string }).code === c;

async function newUser(name: string, expiresInDays?: number) {
  const p = await kit.authority.principals.create(kit.root, { name });
  const t = await kit.authority.principals.createToken(kit.root, p.id, expiresInDays ? { expiresInDays } : {});
  return { principal: p, token: t.token, tokenId: t.id };
}

test('signing in with a valid token opens a session that acts as that token, and is audited', async () => {
  const s = await sessions.open(kit.boot.rootToken, req);
  assert.match(s.cookie, /^ses_[a-z0-9]{26}\.[A-Za-z0-9_-]{43}$/);
  assert.equal(s.principal.id, kit.boot.rootPrincipalId);
  assert.equal(s.expiresAt.getTime(), kit.clock.now().getTime() + 12 * HOUR);
  const caller = await sessions.check(s.cookie, { change: false });
  assert.equal(caller.principal.id, kit.boot.rootPrincipalId);
  assert.equal(caller.tokenId, s.tokenId);
  assert.equal(caller.csrfToken, s.csrfToken, 'the CSRF token can be recovered from the cookie after a reload');
  const audit = await kit.store.audit.list({ accountId: kit.boot.accountId, actions: ['ConsoleSignIn'] }, { limit: 10 });
  assert.equal(audit.items[0].requestId, req.requestId);
  assert.equal(audit.items[0].detail.sessionId, s.sessionId);
  assert.equal(audit.items[0].detail.surface, 'console');
});

test('the session secret and CSRF token are stored only as hashes', async () => {
  const s = await sessions.open(kit.boot.rootToken, req);
  const row = await kit.store.consoleSessions.get(s.sessionId);
  const stored = JSON.stringify(row);
  const secret = s.cookie.split('.')[1];
  assert.ok(!stored.includes(secret));
  assert.ok(!stored.includes(s.csrfToken));
  assert.match(row!.secretHash, /^[0-9a-f]{64}$/);
});

test('a bad token opens nothing; a forged, unknown or malformed cookie is UNAUTHENTICATED', async () => {
  await assert.rejects(sessions.open(undefined, req), code('UNAUTHENTICATED'));
  await assert.rejects(sessions.open('kc1.tok_00000000000000000000000000.' + 'A'.repeat(43), req), code('UNAUTHENTICATED'));
  const s = await sessions.open(kit.boot.rootToken, req);
  const [id] = s.cookie.split('.');
  for (const bad of [undefined, '', 'nonsense', `${id}.${'B'.repeat(43)}`, `ses_${'0'.repeat(26)}.${s.cookie.split('.')[1]}`, `${s.cookie}x`]) {
    await assert.rejects(sessions.check(bad, { change: false }), code('UNAUTHENTICATED'), String(bad));
  }
});

test('a change needs the session\'s CSRF token; reading does not', async () => {
  const s = await sessions.open(kit.boot.rootToken, req);
  await sessions.check(s.cookie, { change: false });
  await assert.rejects(sessions.check(s.cookie, { change: true }), code('ACCESS_DENIED'));
  await assert.rejects(sessions.check(s.cookie, { change: true, csrfToken: 'x'.repeat(43) }), code('ACCESS_DENIED'));
  const other = await sessions.open(kit.boot.rootToken, req);
  await assert.rejects(sessions.check(s.cookie, { change: true, csrfToken: other.csrfToken }), code('ACCESS_DENIED'), 'another session\'s token does not do');
  assert.equal((await sessions.check(s.cookie, { change: true, csrfToken: s.csrfToken })).sessionId, s.sessionId);
});

/** Uses the session every 20 minutes (inside the idle limit) until `ms` have passed. */
async function keepUsing(cookie: string, ms: number) {
  for (let left = ms; left > 0; left -= Math.min(left, 20 * 60_000)) {
    kit.clock.advance(Math.min(left, 20 * 60_000));
    await sessions.check(cookie, { change: false });
  }
}

test('a session expires after 12 hours, and never outlives its API token', async () => {
  const s = await sessions.open(kit.boot.rootToken, req);
  await keepUsing(s.cookie, 12 * HOUR - 1000);
  kit.clock.advance(1000);
  await assert.rejects(sessions.check(s.cookie, { change: false }), code('UNAUTHENTICATED'));

  const u = await newUser('short-token', 1);
  kit.clock.advance(20 * HOUR);
  const s2 = await sessions.open(u.token, req);
  assert.equal(s2.expiresAt.getTime(), kit.clock.now().getTime() + 4 * HOUR, 'bounded by the token\'s expiry');
  await keepUsing(s2.cookie, 4 * HOUR - 1000);
  kit.clock.advance(1000);
  await assert.rejects(sessions.check(s2.cookie, { change: false }), code('UNAUTHENTICATED'));
});

test('a session unused for 30 minutes ends; each use moves that end, writing the last use at most once a minute', async () => {
  const MIN = 60_000;
  const s = await sessions.open(kit.boot.rootToken, req);
  assert.equal(s.idleExpiresAt.getTime(), kit.clock.now().getTime() + 30 * MIN);
  kit.clock.advance(29 * MIN);
  const used = await sessions.check(s.cookie, { change: false });
  assert.equal(used.idleExpiresAt.getTime(), kit.clock.now().getTime() + 30 * MIN, 'moved by the use');
  const stored = (await kit.store.consoleSessions.get(s.sessionId))!.lastUsedAt.getTime();
  assert.equal(stored, kit.clock.now().getTime());
  // Uses within the minute after write nothing.
  kit.clock.advance(30_000);
  await sessions.check(s.cookie, { change: false });
  assert.equal((await kit.store.consoleSessions.get(s.sessionId))!.lastUsedAt.getTime(), stored);
  // 30 minutes after the stored use, unused since: ended, for reading and for signing out alike.
  kit.clock.advance(30 * MIN - 30_000);
  await assert.rejects(sessions.check(s.cookie, { change: false }), code('UNAUTHENTICATED'));
  await assert.rejects(sessions.close(s.cookie, s.csrfToken, req), code('UNAUTHENTICATED'));

  // Another limit, as serve's --console-idle-minutes sets it.
  const ids = randomIds();
  const strict = makeConsoleSessions({ store: kit.store, clock: kit.clock, ids, sealer: aesGcmSealer(Buffer.alloc(32)), audit: makeAuditWriter({ ids, clock: kit.clock }) }, { idleMs: 5 * MIN });
  const t = await strict.open(kit.boot.rootToken, req);
  kit.clock.advance(5 * MIN - 1);
  await strict.check(t.cookie, { change: false });
  kit.clock.advance(5 * MIN);
  await assert.rejects(strict.check(t.cookie, { change: false }), code('UNAUTHENTICATED'));
});

test('a session dies when its API token is revoked or its principal deleted', async () => {
  const a = await newUser('token-revoked');
  const sa = await sessions.open(a.token, req);
  await kit.store.tokens.revokeForPrincipal(a.principal.id, kit.clock.now());
  await assert.rejects(sessions.check(sa.cookie, { change: false }), code('UNAUTHENTICATED'));

  const b = await newUser('deleted-later');
  const sb = await sessions.open(b.token, req);
  await sessions.check(sb.cookie, { change: false });
  await kit.authority.principals.delete(kit.root, b.principal.id);
  await assert.rejects(sessions.check(sb.cookie, { change: false }), code('UNAUTHENTICATED'));
});

test('signing out needs the CSRF token, ends the session at once, and is audited', async () => {
  const s = await sessions.open(kit.boot.rootToken, req);
  await assert.rejects(sessions.close(s.cookie, undefined, req), code('ACCESS_DENIED'));
  await sessions.check(s.cookie, { change: false });
  await sessions.close(s.cookie, s.csrfToken, { requestId: 'req_signout', sourceIp: null });
  await assert.rejects(sessions.check(s.cookie, { change: false }), code('UNAUTHENTICATED'));
  await assert.rejects(sessions.close(s.cookie, s.csrfToken, req), code('UNAUTHENTICATED'));
  const audit = await kit.store.audit.list({ accountId: kit.boot.accountId, actions: ['ConsoleSignOut'] }, { limit: 10 });
  assert.equal(audit.items.length, 1);
  assert.equal(audit.items[0].requestId, 'req_signout');
});

test('expired sessions are pruned at the next sign-in', async () => {
  const ids = randomIds();
  const quick = makeConsoleSessions({ store: kit.store, clock: kit.clock, ids, sealer: aesGcmSealer(Buffer.alloc(32)), audit: makeAuditWriter({ ids, clock: kit.clock }) }, { ttlMs: HOUR });
  const s = await quick.open(kit.boot.rootToken, req);
  kit.clock.advance(HOUR);
  await quick.open(kit.boot.rootToken, req);
  assert.equal(await kit.store.consoleSessions.get(s.sessionId), undefined);
});
