// Building a real Authority for core tests: a real SQLite store in a temp directory (or one given), a real sealer,
// and a clock the test moves by hand (no sleeps). Used only by *.test.ts files.

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeAuthority, type Authority } from './authority.ts';
import { makeAuditWriter } from './audit.ts';
import { bootstrapIfEmpty, createAccount, type BootstrapResult } from './bootstrap.ts';
import { KubecredError } from './errors.ts';
import { randomIds } from './ids.ts';
import type { Actor } from './actor.ts';
import type { Clock } from './ports.ts';
import type { Store } from './store-port.ts';
import { aesGcmSealer } from '../pki/sealer.ts';
import { openSqliteStore } from '../storage/sqlite/sqlite-store.ts';

export class ManualClock implements Clock {
  constructor(private t = Date.parse('2026-01-01T00:00:00Z')) {}
  now() { return new Date(this.t); }
  advance(ms: number) { this.t += ms; }
  set(d: Date) { this.t = d.getTime(); }
}

export const HOUR = 3600_000;
export const DAY = 24 * HOUR;

export interface Kit {
  authority: Authority;
  store: Store;
  clock: ManualClock;
  root: Actor;
  boot: BootstrapResult;
  actor(principalId: string): Promise<Actor>;
  newAccount(name: string): Promise<Actor>;
  /** A new user with one policy of its own: the statements given, or getting and revoking its own kubeconfigs anywhere. */
  user(groups?: string[], statements?: unknown[]): Promise<Actor>;
  /** A name no other call in this kit returned: `${prefix}-<n>`. */
  nextName(prefix: string): string;
  close(): Promise<void>;
}

/** A matcher for assert.rejects: a KubecredError with this code. */
export const isCode = (c: string) => (e: unknown) => e instanceof KubecredError && e.code === c;

/** `open`: another store than SQLite in the kit's temporary directory (a PostgreSQL one, a wrapped one). */
export async function makeKit(open?: (dir: string) => Promise<Store>): Promise<Kit> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-core-'));
  const store = open ? await open(dir) : await openSqliteStore({ file: path.join(dir, 'kubecred.db') });
  const clock = new ManualClock();
  const ids = randomIds();
  const sealer = aesGcmSealer(crypto.randomBytes(32));
  const deps = { store, clock, ids, sealer, audit: makeAuditWriter({ ids, clock }) };
  const boot = (await bootstrapIfEmpty(deps))!;
  const authority = makeAuthority({ store, clock, ids, sealer });
  const actorFor = async (accountId: string, principalId: string): Promise<Actor> => ({
    accountId, principal: (await store.principals.get(accountId, principalId))!, requestId: `req_test_${ids.secret(4)}`, sourceIp: '127.0.0.1', surface: 'test',
  });
  const root = await actorFor(boot.accountId, boot.rootPrincipalId);
  let n = 0;
  const nextName = (prefix: string) => `${prefix}-${++n}`;
  return {
    authority, store, clock, boot, root, nextName,
    user: async (groups = [], statements) => {
      const name = nextName('user');
      const p = await authority.principals.create(root, { name, groups });
      const pol = await authority.policies.create(root, {
        name: `policy-${name}`,
        document: { Version: '1', Statement: statements ?? [{ Effect: 'Allow', Action: ['kubecred:GetKubeconfig', 'kubecred:RevokeKubeconfig'], Resource: '*' }] },
      });
      await authority.policies.attach(root, pol.id, p.id);
      return actorFor(boot.accountId, p.id);
    },
    actor: (principalId) => actorFor(boot.accountId, principalId),
    newAccount: async (name) => {
      const b = await createAccount(deps, name);
      return actorFor(b.accountId, b.rootPrincipalId);
    },
    close: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
