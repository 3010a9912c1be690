// The Store port's record of what was issued and what happened (credentials, custom validities, the audit
// trail), written once in Kysely for every SQL backend; kysely-repos.ts adds them to the other repositories.
// Queries only: no business rules here, and no dialect-specific SQL.

import { CURRENT_DEFAULT_RACE, KubecredError } from '../core/errors.ts';
import type { CredentialKind, CredentialState } from '../core/model.ts';
import type { IndexedRow, PrunedCount, Repos } from '../core/store-port.ts';
import { decodeCursor, type Db, encodeCursor, insertOrConflict, pageOf, scopeOf } from './kysely-helpers.ts';
import { auditFromRow, credentialFromRow, credentialToRow, INDEXED_COLUMNS, indexedFromRow, validityFromRow } from './row-mappers.ts';

export function credentialRepos(db: Db): Pick<Repos, 'credentials' | 'validity' | 'audit'> {
  return {
    credentials: {
      getAnyAccount: async (id) => {
        const r = await db.selectFrom('credentials').selectAll().where('id', '=', id).executeTakeFirst();
        return r && credentialFromRow(r);
      },
      scan: async (afterId, limit) => {
        let q = db.selectFrom('credentials').select(INDEXED_COLUMNS);
        if (afterId) q = q.where('id', '>', afterId);
        const rows = await q.orderBy('id').limit(limit).execute();
        return rows.map(indexedFromRow);
      },
      // Reads credentials_unexpired (migration 008) alone, every selected column being in it. The first page is the
      // range not_after > now; each later one resumes right after the previous page's last (not_after, id) pair,
      // which is itself later than now. That row-value bound alone is what both SQLite and PostgreSQL turn into an
      // index range (given beside not_after > now, SQLite seeks by not_after only and rereads every page before).
      // (A cursor not later than now is behind every unexpired row: it bounds nothing.)
      scanUnexpired: async (now, after, limit) => {
        const q = db.selectFrom('credentials').select(INDEXED_COLUMNS);
        const from = after && after.notAfter.getTime() > now.getTime() ? after : null;
        const rows = await (from
          ? q.where((eb) => eb(eb.refTuple('not_after', 'id'), '>', eb.tuple(from.notAfter.getTime(), from.id)))
          : q.where('not_after', '>', now.getTime())
        ).orderBy('not_after').orderBy('id').limit(limit).execute();
        return rows.map((r): IndexedRow => [r.id, r.cluster_id, r.principal_id, r.fingerprint_sha256, r.state as CredentialState, Number(r.not_after)]);
      },
      changedSince: async (since) => {
        const t = since.getTime();
        const rows = await db.selectFrom('credentials').select(INDEXED_COLUMNS)
          .where((eb) => eb.or([eb('issued_at', '>=', t), eb('revoked_at', '>=', t), eb('superseded_at', '>=', t)]))
          .orderBy('id').execute();
        return rows.map(indexedFromRow);
      },
      listRevoked: async (clusterId, unexpiredAt) => {
        const rows = await db.selectFrom('credentials').selectAll().where('cluster_id', '=', clusterId).where('state', 'in', ['revoked', 'superseded'])
          .where('not_after', '>', unexpiredAt.getTime()).orderBy('id').execute();
        return rows.map(credentialFromRow);
      },
      insert: (c) => insertOrConflict(() => db.insertInto('credentials').values(credentialToRow(c)).execute(), 'a current default kubeconfig for this cluster and principal', undefined, CURRENT_DEFAULT_RACE),
      get: async (accountId, id) => {
        const r = await db.selectFrom('credentials').selectAll().where('account_id', '=', accountId).where('id', '=', id).executeTakeFirst();
        return r && credentialFromRow(r);
      },
      currentDefault: async (clusterId, principalId) => {
        const r = await db.selectFrom('credentials').selectAll().where('cluster_id', '=', clusterId).where('principal_id', '=', principalId).where('is_current', '=', 1).executeTakeFirst();
        return r && credentialFromRow(r);
      },
      list: async (f, page) => {
        const scope = scopeOf({ cluster: f.clusterId, principal: f.principalId, kind: f.kind, status: f.status, issuedBy: f.issuedBy });
        const before = decodeCursor('credentials', page.cursor, scope);
        const listing = (principalId: string | undefined, issuedForOthers?: boolean) => {
          let q = db.selectFrom('credentials').selectAll().where('account_id', '=', f.accountId);
          if (f.clusterId) q = q.where('cluster_id', '=', f.clusterId);
          if (principalId) q = q.where('principal_id', '=', principalId);
          if (f.issuedBy) q = q.where('issued_by', '=', f.issuedBy);
          // The partial index of credentials issued for others (migration 018) applies once the query names its condition.
          if (issuedForOthers) q = q.where((eb) => eb('issued_by', '<>', eb.ref('principal_id')));
          if (f.kind) q = q.where('kind', '=', f.kind);
          // Rare kinds and states have partial indexes (migration 009), usable once the query names their condition.
          if (f.kind && f.kind !== 'temporary') q = q.where('kind', '<>', 'temporary');
          const now = f.now.getTime();
          if (f.status === 'expired') q = q.where('state', '=', 'active').where('not_after', '<=', now);
          else if (f.status === 'active') q = q.where('state', '=', 'active').where('not_after', '>', now);
          else if (f.status) q = q.where('state', '=', f.status).where('state', '<>', 'active');
          if (before) q = q.where('id', '<', before);
          return q.orderBy('id', 'desc').limit(page.limit + 1).execute();
        };
        // By issuer: what it issued for itself is a range of credentials_by_principal, what it issued for others one of
        // credentials_issued_for_others; each read newest first up to a page, and the two merged. Never a walk through
        // every credential of the account for the few one principal issued.
        let rows;
        if (!f.issuedBy) rows = await listing(f.principalId);
        else if (f.principalId) rows = await listing(f.principalId, f.principalId !== f.issuedBy);
        else {
          const [own, forOthers] = await Promise.all([listing(f.issuedBy), listing(undefined, true)]);
          rows = [...own, ...forOthers].sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)).slice(0, page.limit + 1);
        }
        return pageOf('credentials', rows, page.limit, credentialFromRow, (r) => r.id, scope);
      },
      // Conditional sums rather than GROUP BY on an expression: PostgreSQL refuses a grouped expression whose parameter
      // is bound again in the select list, and both dialects aggregate these alike. Counts come back as bigint on PostgreSQL.
      tally: async (clusterId, now, principalId) => {
        const t = now.getTime();
        const rows = await db.selectFrom('credentials')
          .select((eb) => [
            'principal_id', 'kind', 'state',
            eb.fn.countAll().as('n'),
            eb.fn.sum(eb.case().when('not_after', '>', t).then(1).else(0).end()).as('unexpired'),
            eb.fn.min(eb.case().when('not_after', '>', t).then(eb.ref('not_after')).end()).as('next_expiry'),
            eb.fn.max('not_after').as('last_expiry'),
          ])
          .where('cluster_id', '=', clusterId)
          .$if(principalId !== undefined, (q) => q.where('principal_id', '=', principalId!))
          .groupBy(['principal_id', 'kind', 'state']).execute();
        return rows.map((r) => ({
          principalId: r.principal_id, kind: r.kind as CredentialKind, state: r.state as CredentialState, count: Number(r.n),
          unexpired: Number(r.unexpired), nextExpiry: r.next_expiry === null ? null : new Date(Number(r.next_expiry)), lastExpiry: new Date(Number(r.last_expiry)),
        }));
      },
      tallyExpiry: async (clusterId, now, bounds) => {
        const rows = await db.selectFrom('credentials')
          .select((eb) => [
            'kind', eb.fn.countAll().as('n'),
            ...bounds.map((b, i) => eb.fn.sum(eb.case().when('not_after', '<', b.getTime()).then(1).else(0).end()).as(`b${i}`)),
          ])
          .where('cluster_id', '=', clusterId)
          .where('state', '=', 'active').where('not_after', '>', now.getTime())
          .groupBy('kind').execute();
        return rows.map((r) => {
          const row = r as unknown as Record<string, unknown>;
          return { kind: r.kind as CredentialKind, total: Number(r.n), endingBefore: bounds.map((_, i) => Number(row[`b${i}`])) };
        });
      },
      nextToExpire: async (accountId, clusterId, now, limit) => {
        const rows = await db.selectFrom('credentials').selectAll()
          .where('account_id', '=', accountId).where('cluster_id', '=', clusterId)
          .where('state', '=', 'active').where('not_after', '>', now.getTime())
          .orderBy('not_after').orderBy('id').limit(limit).execute();
        return rows.map(credentialFromRow);
      },
      clearCurrent: async (id) => {
        await db.updateTable('credentials').set({ is_current: 0 }).where('id', '=', id).execute();
      },
      // One UPDATE … RETURNING each: with replicas writing at once, a row is changed (and reported) exactly once.
      revoke: async (w, by, reason, at) => {
        let q = db.updateTable('credentials')
          .set({ state: 'revoked', is_current: 0, revoked_at: at.getTime(), revoked_by: by, revoke_reason: reason })
          .where('state', 'in', w.states);
        if (w.clusterId) q = q.where('cluster_id', '=', w.clusterId);
        if (w.principalId) q = q.where('principal_id', '=', w.principalId);
        if (w.credentialId) q = q.where('id', '=', w.credentialId);
        return (await q.returningAll().execute()).map(credentialFromRow);
      },
      supersedeDefaults: async (clusterId, principalId, at) => {
        const rows = await db.updateTable('credentials').set({ state: 'superseded', is_current: 0, superseded_at: at.getTime() })
          .where('cluster_id', '=', clusterId).where('principal_id', '=', principalId)
          .where('kind', '=', 'default').where('state', '=', 'active')
          .returningAll().execute();
        return rows.map(credentialFromRow);
      },
      // The subquery is a range of credentials_unexpired (led by not_after) from its start, reading the table only for
      // is_current; the outer conditions are said again so that a row changed meanwhile is left alone.
      prune: async (endedBefore, limit) => {
        const t = endedBefore.getTime();
        const oldest = db.selectFrom('credentials').select('id').where('not_after', '<', t).where('is_current', '=', 0).orderBy('not_after').limit(limit);
        const rows = await db.deleteFrom('credentials').where('id', 'in', oldest).where('not_after', '<', t).where('is_current', '=', 0)
          .returning('account_id').execute();
        return countByAccount(rows);
      },
    },

    validity: {
      get: async (clusterId, principalId) => {
        const r = await db.selectFrom('validity_overrides').selectAll().where('cluster_id', '=', clusterId).where('principal_id', '=', principalId).executeTakeFirst();
        return r && validityFromRow(r);
      },
      put: async (v) => {
        const row = { cluster_id: v.clusterId, principal_id: v.principalId, hours: v.hours, set_by: v.setBy, set_at: v.setAt.getTime() };
        await db.insertInto('validity_overrides').values(row)
          .onConflict((oc) => oc.columns(['cluster_id', 'principal_id']).doUpdateSet({ hours: row.hours, set_by: row.set_by, set_at: row.set_at }))
          .execute();
      },
      delete: async (clusterId, principalId) => {
        const res = await db.deleteFrom('validity_overrides').where('cluster_id', '=', clusterId).where('principal_id', '=', principalId).executeTakeFirst();
        return Number(res.numDeletedRows) > 0;
      },
      // A scan of a small table (one row per custom validity set): no index by principal alone.
      deleteForPrincipal: async (principalId) => {
        const res = await db.deleteFrom('validity_overrides').where('principal_id', '=', principalId).executeTakeFirst();
        return Number(res.numDeletedRows);
      },
    },

    audit: {
      append: async (e) => {
        await db.insertInto('audit_events').values({
          id: e.id, account_id: e.accountId, at: e.at.getTime(), actor_id: e.actorId, action: e.action,
          resource_type: e.resourceType, resource_id: e.resourceId, outcome: e.outcome, source_ip: e.sourceIp,
          request_id: e.requestId, detail: JSON.stringify(e.detail),
        }).execute();
      },
      list: async (f, page, scanLimit) => {
        let q = db.selectFrom('audit_events').selectAll().where('account_id', '=', f.accountId);
        const filtered = Boolean(f.actions?.length || f.actorId || f.resourceId || f.outcome || f.since || f.until);
        if (f.actions?.length) q = q.where('action', 'in', f.actions);
        if (f.actorId) q = q.where('actor_id', '=', f.actorId);
        if (f.resourceId) q = q.where('resource_id', '=', f.resourceId);
        if (f.outcome) q = q.where('outcome', '=', f.outcome);
        if (f.since) q = q.where('at', '>=', f.since.getTime());
        if (f.until) q = q.where('at', '<', f.until.getTime());
        const scope = scopeOf({ actions: f.actions?.join(','), actor: f.actorId, resource: f.resourceId, outcome: f.outcome, since: f.since?.getTime(), until: f.until?.getTime() });
        const before = decodeCursor('audit', page.cursor, scope);
        const beforeSeq = before ? await auditPosition(db, f.accountId, before, scanLimit ?? POSITION_SCAN_LIMIT) : undefined;
        if (beforeSeq !== undefined) q = q.where('seq', '<', beforeSeq);
        // The filters match columns no index holds: without a floor, a filter that matches little reads the account's
        // whole trail (seconds on millions of events, on SQLite's event loop). The floor is the scanLimit-th event from
        // the cursor, found in the (account_id, seq) index alone; the page examines the events from the cursor to it.
        const floor = filtered && scanLimit ? await auditFloor(db, f.accountId, beforeSeq, scanLimit) : undefined;
        if (floor) q = q.where('seq', '>=', floor.seq);
        const rows = await q.orderBy('seq', 'desc').limit(page.limit + 1).execute();
        const result = pageOf('audit', rows, page.limit, (r) => auditFromRow(r as never), (r) => auditCursorKey(r.id, Number(r.at)), scope);
        // Short of the limit with older events left unexamined: go on from the floor (itself examined), unless every
        // older event is before `since` (by more than replicas' clocks can disagree, and a transaction can last).
        if (floor && result.next === null && !(f.since && floor.at < f.since.getTime() - SINCE_MARGIN_MS)) {
          return { items: result.items, next: encodeCursor('audit', auditCursorKey(floor.id, floor.at), scope) };
        }
        return result;
      },
      prune: async (before, limit) => {
        const oldest = db.selectFrom('audit_events').select('seq').orderBy('seq').limit(limit);
        const rows = await db.deleteFrom('audit_events').where('seq', 'in', oldest).where('at', '<', before.getTime())
          .returning('account_id').execute();
        return countByAccount(rows);
      },
    },
  };
}

/**
 * An audit cursor names the page's last event by its ID and its time, never its seq: seq counts every account's
 * events, so its gaps would show a tenant how busy the others are. The time is where the listing goes on once the
 * audit retention has deleted the event.
 */
const auditCursorKey = (id: string, at: number) => `${id}.${at}`;

/** Events examined at most to place a cursor whose event was deleted, when the listing has no scan limit of its own. */
const POSITION_SCAN_LIMIT = 20_000;

const staleCursor = (why: string) => new KubecredError('VALIDATION_FAILED', `${why}; list again without the cursor`, { details: { field: 'cursor' } });

/**
 * The seq the page goes on below. Its event by ID when it is still there (and this account's). Once the retention
 * deleted it (oldest first, so the account's older events went before it), below the account's oldest event later
 * than it: at most `scanLimit` of the oldest events are examined, so a made-up cursor costs no more than a page.
 */
async function auditPosition(db: Db, accountId: string, key: string, scanLimit: number): Promise<number | undefined> {
  const m = /^(evt_[A-Za-z0-9_]{1,80})(?:\.(\d{1,15}))?$/.exec(key);
  if (!m) throw staleCursor('the paging cursor is not one this server returned');
  const found = await db.selectFrom('audit_events').select(['seq', 'account_id']).where('id', '=', m[1]).executeTakeFirst();
  if (found) {
    if (found.account_id !== accountId) throw staleCursor('the paging cursor is not one this server returned');
    return Number(found.seq);
  }
  // A cursor from before cursors carried the time.
  if (m[2] === undefined) throw staleCursor('the event this paging cursor went on from is gone (the audit retention deleted it)');
  const oldest = db.selectFrom('audit_events').select('seq').where('account_id', '=', accountId).orderBy('seq').limit(scanLimit);
  const later = await db.selectFrom('audit_events').select('seq').where('seq', 'in', oldest).where('at', '>', Number(m[2]))
    .orderBy('seq').limit(1).executeTakeFirst();
  if (later) return Number(later.seq);
  const more = await db.selectFrom('audit_events').select('seq').where('account_id', '=', accountId).orderBy('seq').offset(scanLimit).limit(1).executeTakeFirst();
  if (more) throw staleCursor('the event this paging cursor went on from is gone and its place was not found among the oldest events');
  // Every event left is older than the cursor's.
  return undefined;
}

/** How far an event's `at` may fall behind an older event's: replicas' clocks (30 s apart at most) and a slow transaction. */
const SINCE_MARGIN_MS = 5 * 60_000;

/**
 * The account's `scanLimit`-th event older than `beforeSeq` (from the newest when undefined), or undefined when
 * fewer are left. Its seq is counted off in audit_by_account, which holds it (covering: no table read per event
 * skipped); only the one row found is read from the table.
 */
async function auditFloor(db: Db, accountId: string, beforeSeq: number | undefined, scanLimit: number): Promise<{ seq: number; id: string; at: number } | undefined> {
  let q = db.selectFrom('audit_events').select('seq').where('account_id', '=', accountId);
  if (beforeSeq !== undefined) q = q.where('seq', '<', beforeSeq);
  const found = await q.orderBy('seq', 'desc').limit(1).offset(scanLimit - 1).executeTakeFirst();
  if (!found) return undefined;
  const row = await db.selectFrom('audit_events').select(['seq', 'id', 'at']).where('seq', '=', found.seq).executeTakeFirstOrThrow();
  return { seq: Number(row.seq), id: row.id, at: Number(row.at) };
}

function countByAccount(rows: Array<{ account_id: string }>): PrunedCount[] {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(r.account_id, (counts.get(r.account_id) ?? 0) + 1);
  return [...counts].map(([accountId, count]) => ({ accountId, count }));
}
