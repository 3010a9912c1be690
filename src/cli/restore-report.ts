// What `kubecred restore` tells the operator: what it put back, what it re-applied and carried from the replaced
// database, and what it undid that only the operator can do again. Writes only; the restore is commands-database.ts's.

import type { restoreSqlite } from './commands-database.ts';
import { print, say, type Format } from './output.ts';

export type RestoreResult = ReturnType<typeof restoreSqlite>;

/** How many undone changes and carried credentials the table output shows; --output json lists them all. */
const SHOWN = 50;

export function reportRestore(result: RestoreResult, format: Format): void {
  if (format !== 'table') print(result, format);
  else {
    const out = (s: string) => process.stdout.write(s);
    out(`restored ${result.restored} from ${result.from} (${result.credentials} credentials; last audit event ${result.lastEvent ?? 'none'})\n`);
    for (const k of result.replacedKeptAs) out(`kept the replaced ${k}\n`);
    if (result.replacedReadFrom) out(`read as the replaced database: ${result.replacedReadFrom} (there was no ${result.restored}: an earlier restore was cut off after moving it aside)\n`);
    const reapplied = result.reapplied;
    if (reapplied && reapplyCount(reapplied)) {
      out(`\nre-applied from the replaced database: what it revoked or deleted after the backup, as it was there\n`);
      if (reapplied.credentials.length) print(reapplied.credentials.slice(0, SHOWN), 'table', ['id', 'clusterId', 'principalId', 'state', 'revokedAt', 'revokeReason']);
      if (reapplied.credentials.length > SHOWN) out(`… and ${reapplied.credentials.length - SHOWN} more: --output json lists them all\n`);
      const named: Array<[string, string[]]> = [['principals deleted', reapplied.principals], ['clusters deleted', reapplied.clusters], ['tokens revoked', reapplied.tokens],
        ['access keys revoked', reapplied.accessKeys], ['webhook tokens revoked', reapplied.webhookTokens], ['console sessions ended', reapplied.consoleSessions]];
      for (const [what, ids] of named) {
        if (ids.length) out(`${what}: ${ids.slice(0, SHOWN).join(', ')}${ids.length > SHOWN ? ` … and ${ids.length - SHOWN} more` : ''}\n`);
      }
    }
    if (result.undone?.length) {
      out(`\nundone by this restore: ${result.undone.length} change(s) that took access away, recorded by the replaced database after the backup, that restore cannot re-apply\n`);
      print(result.undone.slice(0, SHOWN), 'table', ['at', 'action', 'resourceType', 'resourceId', 'accountId', 'actorId']);
      if (result.undone.length > SHOWN) out(`… and ${result.undone.length - SHOWN} more: --output json lists them all\n`);
    }
    const carried = result.carried;
    if (carried?.credentials.length) {
      out(`\ncarried from the replaced database: ${carried.credentials.length} credential(s) issued after the backup, all revoked (the webhook denies them; the inventory and the CRL list them)\n`);
      print(carried.byCluster, 'table', ['clusterId', 'name', 'credentials', 'clusterCarriedDeleted']);
      out('\n');
      print(carried.credentials.slice(0, SHOWN), 'table', ['id', 'clusterId', 'principalId', 'kind', 'notAfter', 'revokedByRestore']);
      if (carried.credentials.length > SHOWN) out(`… and ${carried.credentials.length - SHOWN} more: --output json lists them all\n`);
    }
    if (carried?.principals.length) out(`principals made after the backup, carried as deleted: ${carried.principals.join(', ')}\n`);
    if (carried?.clusters.length) out(`clusters made after the backup, carried as deleted (they keep enforcing; register them again to issue for them): ${carried.clusters.join(', ')}\n`);
    if (carried?.webhookTokens.length) out(`webhook tokens made after the backup, carried as they were: ${carried.webhookTokens.join(', ')}\n`);
  }
  if (result.reapplied && reapplyCount(result.reapplied)) {
    say(`${reapplyCount(result.reapplied)} revocation(s) and deletion(s) made after the backup were re-applied to the restored database: see the ReapplyRevocations audit event`);
  }
  say(result.undone === null
    ? 'the replaced database could not be read for what it changed after the backup: anything revoked or deleted since is back; check the replaced copy kept beside the database'
    : result.undone.length
      ? `${result.undone.length} change(s) made after the backup are undone (policy changes, validities, groups, projects, cleans): do them again now (listed above)`
      : 'nothing taken away after the backup is undone');
  if (result.carried === null) {
    say(`the credentials issued after the backup could not be carried from the replaced database (${result.carryError}): the webhook has no opinion on them; find them in the replaced copy kept beside the database, and rotate the client CA of any cluster they were issued for. Nothing revoked or deleted since was re-applied either`);
  } else if (result.carried.credentials.length) {
    say(`${result.carried.credentials.length} credential(s) issued after the backup were carried into the restored database as revoked: see the CarryCredentials audit event`);
  }
  if (result.carried?.caKeysNotOpening.length) {
    say(`the client CA keys of cluster(s) ${result.carried.caKeysNotOpening.join(', ')}, carried from the replaced database, are sealed under a master key this data directory does not hold: their CRLs cannot be signed until you give it (KUBECRED_PREVIOUS_MASTER_KEYS) and run \`kubecred master-key reseal\``);
  }
}

const reapplyCount = (r: NonNullable<RestoreResult['reapplied']>) =>
  r.credentials.length + r.principals.length + r.clusters.length + r.tokens.length + r.accessKeys.length + r.webhookTokens.length + r.consoleSessions.length;
