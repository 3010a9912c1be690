// The audit events `kubecred restore` writes into the restored copy (no actor, no request: the server's own act).
// Written in the carry's transaction on the copy, never into the database being replaced.

import BetterSqlite3 from 'better-sqlite3';
import type { AuditedAction } from '../../core/audit-actions.ts';

/** IDs per audit event: a CI role may have issued (or lost) thousands of temporary kubeconfigs since the backup. */
export const IDS_PER_EVENT = 1_000;

export type RestoreEventWriter = (accountId: string, action: AuditedAction, detail: Record<string, unknown>) => void;

export function restoreEventWriter(into: BetterSqlite3.Database, now: number, eventId: () => string): RestoreEventWriter {
  const insert = into.prepare(`insert into audit_events (id, account_id, "at", actor_id, "action", resource_type, resource_id, outcome, source_ip, request_id, detail)
    values (?, ?, ?, null, ?, 'server', null, 'success', null, null, ?)`);
  return (accountId, action, detail) => void insert.run(eventId(), accountId, now, action, JSON.stringify(detail));
}

/**
 * Splits lists of IDs into parts of at most IDS_PER_EVENT IDs in all, filled in the order the lists are given:
 * one part (its lists possibly empty) when there are none.
 */
export function splitIds<K extends string>(lists: Record<K, string[]>): Array<Record<K, string[]>> {
  const keys = Object.keys(lists) as K[];
  const parts: Array<Record<K, string[]>> = [];
  const fresh = () => Object.fromEntries(keys.map((k) => [k, []])) as unknown as Record<K, string[]>;
  let part = fresh();
  let n = 0;
  for (const k of keys) {
    for (const id of lists[k]) {
      if (n === IDS_PER_EVENT) {
        parts.push(part);
        part = fresh();
        n = 0;
      }
      part[k].push(id);
      n++;
    }
  }
  parts.push(part);
  return parts;
}
