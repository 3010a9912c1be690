// What `kubecred restore` undoes: the changes that took access away which the replaced database recorded after the
// backup, and of those, the ones the restored copy does not show once the carry re-applied what it could. Reads only.

import fs from 'node:fs';
import BetterSqlite3 from 'better-sqlite3';
import { ACCESS_REMOVING_ACTIONS } from '../../core/audit-actions.ts';

/** A change the replaced database recorded after the backup's last event, which the restore undoes. */
export interface UndoneChange { at: string; accountId: string; action: string; resourceType: string; resourceId: string | null; actorId: string | null; requestId: string | null }

/** An undone change with its event's detail, which names what it changed (a token's ID, the serials revoked). */
export interface UndoneRecord { change: UndoneChange; detail: Record<string, unknown> }

/**
 * What the database being replaced recorded after `afterMs` that took access away (ACCESS_REMOVING_ACTIONS): restoring an
 * older backup brings it all back. Read-only; an unreadable database (the reason for a restore, often) lists nothing.
 */
export function changesUndoneBy(database: string, afterMs: number | null): UndoneRecord[] | null {
  if (!fs.existsSync(database)) return [];
  try {
    const db = new BetterSqlite3(database, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare(`select "at", account_id, "action", resource_type, resource_id, actor_id, request_id, detail from audit_events
        where "at" > ? and outcome = 'success' and "action" in (${ACCESS_REMOVING_ACTIONS.map(() => '?').join(', ')}) order by seq`)
        .all(afterMs ?? -1, ...ACCESS_REMOVING_ACTIONS) as Array<Record<string, string | number | null>>;
      return rows.map((r) => ({
        change: {
          at: new Date(Number(r.at)).toISOString(), accountId: String(r.account_id), action: String(r.action), resourceType: String(r.resource_type),
          resourceId: r.resource_id === null ? null : String(r.resource_id), actorId: r.actor_id === null ? null : String(r.actor_id), requestId: r.request_id === null ? null : String(r.request_id),
        },
        detail: parseDetail(r.detail),
      }));
    } finally {
      db.close();
    }
  } catch {
    return null;
  }
}

/**
 * The undone changes `restored` (the copy, after the carry) does not show: a revocation or deletion whose rows are
 * revoked or deleted there, or absent (made after the backup and not carried: nothing to authenticate with), is no
 * longer undone. What restore cannot re-apply stays: policy changes, validities, projects, principals' groups, a
 * clean of a principal's access (its policy detachments), and a revocation that also reset a custom validity.
 */
export function stillUndone(restored: BetterSqlite3.Database, undone: UndoneRecord[]): UndoneChange[] {
  // Prepared on first use: a backup from before webhook tokens has no such table, and no revocation of one to show.
  const one = (sql: string) => {
    let s: BetterSqlite3.Statement | undefined;
    return (...args: unknown[]) => (s ??= restored.prepare(sql)).get(...args) as Record<string, number | string | null> | undefined;
  };
  const credential = one('select state from credentials where cluster_id = ? and serial_hex = ?');
  const revoked = (table: string) => {
    const get = one(`select revoked_at from "${table}" where id = ?`);
    return (id: unknown) => typeof id === 'string' && (get(id)?.revoked_at ?? 'absent') !== null;
  };
  const deleted = (table: string) => {
    const get = one(`select deleted_at from "${table}" where id = ?`);
    return (id: string | null) => id !== null && (get(id)?.deleted_at ?? 'absent') !== null;
  };
  const [token, accessKey, webhookToken] = ['api_tokens', 'access_keys', 'webhook_tokens'].map(revoked);
  const [principal, cluster] = ['principals', 'clusters'].map(deleted);
  const shows: Partial<Record<string, (u: UndoneRecord) => boolean>> = {
    RevokeKubeconfig: ({ change, detail }) => {
      const on = change.resourceType === 'credential' ? detail.cluster : change.resourceId;
      const serials = Array.isArray(detail.revoked) ? detail.revoked : [];
      return detail.customValidityReset !== true && serials.every((s) => credential(on, s)?.state === 'revoked');
    },
    RevokeToken: ({ detail }) => token(detail.tokenId),
    RevokeAccessKey: ({ detail }) => accessKey(detail.accessKeyId),
    RevokeWebhookToken: ({ detail }) => webhookToken(detail.tokenId),
    DeletePrincipal: ({ change }) => principal(change.resourceId),
    DeleteCluster: ({ change }) => cluster(change.resourceId),
  };
  return undone.filter((u) => !shows[u.change.action]?.(u)).map((u) => u.change);
}

function parseDetail(text: string | number | null): Record<string, unknown> {
  try {
    const d: unknown = JSON.parse(String(text));
    return d !== null && typeof d === 'object' ? (d as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
