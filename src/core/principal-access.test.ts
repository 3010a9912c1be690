// A holder's one-word holding, from the store's counts, against the rule read credential by credential (the way it
// was computed before the counts): random holdings, every kind, state and date, the same answer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { CredentialKind, CredentialState } from './model.ts';
import { holdingOf, type Holding } from './principal-access.ts';
import type { CredentialTally } from './store-port.ts';

interface Cred { kind: CredentialKind; state: CredentialState; current: boolean; notAfter: number }

/**
 * The rule, credential by credential: a valid one wins (a valid default kubeconfig's date, the latest if a renewal left
 * two), else an expired one, else a revoked one. Before the counts, the date was the current default's: the same but
 * where the newest default was revoked by ID while the one it renewed still lives (that one's date is shown now).
 */
function byCredential(creds: Cred[], now: number): Holding {
  const latest = (cs: Cred[]) => new Date(Math.max(...cs.map((c) => c.notAfter))).toISOString();
  const usable = creds.filter((c) => c.state === 'active');
  const live = usable.filter((c) => c.notAfter > now);
  if (live.length) {
    const defaults = live.filter((c) => c.kind === 'default');
    return { status: 'active', notAfter: latest(defaults.length ? defaults : live) };
  }
  if (usable.length) return { status: 'expired', notAfter: latest(usable) };
  if (creds.length) return { status: 'revoked', notAfter: latest(creds) };
  return { status: 'none', notAfter: null };
}

/** What the store's GROUP BY answers for these credentials. */
function tallied(creds: Cred[], now: number): CredentialTally[] {
  const groups = new Map<string, Cred[]>();
  for (const c of creds) groups.set(`${c.kind}/${c.state}`, [...(groups.get(`${c.kind}/${c.state}`) ?? []), c]);
  return [...groups.values()].map((cs) => {
    const unexpired = cs.filter((c) => c.notAfter > now);
    return {
      principalId: 'usr_x', kind: cs[0].kind, state: cs[0].state, count: cs.length, unexpired: unexpired.length,
      nextExpiry: unexpired.length ? new Date(Math.min(...unexpired.map((c) => c.notAfter))) : null,
      lastExpiry: new Date(Math.max(...cs.map((c) => c.notAfter))),
    };
  });
}

/**
 * A holder's credentials as issuance leaves them: defaults one after another (each renewal's ends later, the older
 * one no longer current; a changed validity supersedes them all), temporary and CSR ones at any date in any state.
 */
function randomHolder(rand: () => number, now: number): Cred[] {
  const HOUR = 3600_000;
  const at = () => now + Math.round((rand() * 2 - 1) * 2000) * HOUR;
  const creds: Cred[] = [];
  let defaultEnd = now - Math.round(rand() * 3000) * HOUR;
  for (let i = Math.floor(rand() * 3); i > 0; i--) {
    for (const d of creds) if (d.kind === 'default') d.current = false;
    defaultEnd += Math.round(rand() * 3000) * HOUR;
    const state: CredentialState = rand() < 0.25 ? 'revoked' : rand() < 0.2 ? 'superseded' : 'active';
    creds.push({ kind: 'default', state, current: state === 'active', notAfter: defaultEnd });
  }
  for (let i = Math.floor(rand() * 5); i > 0; i--) {
    creds.push({ kind: rand() < 0.7 ? 'temporary' : 'csr', state: rand() < 0.3 ? 'revoked' : rand() < 0.1 ? 'superseded' : 'active', current: false, notAfter: at() });
  }
  return creds;
}

test('a holding from the counts equals the rule read credential by credential, over 20,000 random holders', () => {
  let seed = 42;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const now = Date.parse('2026-06-01T00:00:00Z');
  const seen = new Set<string>();
  for (let i = 0; i < 20_000; i++) {
    const creds = randomHolder(rand, now);
    const want = byCredential(creds, now);
    seen.add(want.status);
    assert.deepEqual(holdingOf(tallied(creds, now)), want, JSON.stringify(creds));
  }
  assert.deepEqual([...seen].sort(), ['active', 'expired', 'none', 'revoked'], 'every status came up');
});

test('a live default kubeconfig shows its own end even when a temporary one ends later', () => {
  const now = Date.parse('2026-06-01T00:00:00Z');
  const creds: Cred[] = [
    { kind: 'default', state: 'active', current: true, notAfter: now + 10 * 86_400_000 },
    { kind: 'temporary', state: 'active', current: false, notAfter: now + 20 * 86_400_000 },
  ];
  assert.deepEqual(holdingOf(tallied(creds, now)), { status: 'active', notAfter: new Date(now + 10 * 86_400_000).toISOString() });
});
