// Every server on a database must hold the master key that sealed its CA keys. The first server to
// open the database seals a known value with its key; each later one (a restart, another replica)
// checks it can open it, and refuses to start otherwise, before it could fail on every issuance.
// A rotation re-seals the check last, once everything else is under the new key: from then on a
// server that holds only the old key refuses to start.

import type { Clock, Sealer } from './ports.ts';
import type { Store } from './store-port.ts';

export const MASTER_KEY_CHECK = 'master-key-check';
const AAD = `settings:${MASTER_KEY_CHECK}`;
const CANARY = 'kubecred master key check v1';

export class MasterKeyMismatch extends Error {}

export async function checkMasterKey(store: Pick<Store, 'settings'>, sealer: Sealer, clock: Clock): Promise<void> {
  let sealed = await store.settings.get(MASTER_KEY_CHECK);
  if (sealed === undefined) {
    if (await store.settings.claim(MASTER_KEY_CHECK, sealer.seal(CANARY, AAD), clock.now())) return;
    sealed = await store.settings.get(MASTER_KEY_CHECK);
  }
  if (opens(sealer, sealed!)) return;
  const named = /^v2:([0-9a-f]{16}):/.exec(sealed!)?.[1];
  throw new MasterKeyMismatch(
    `the master key does not match the database's${named ? ` (its secrets are sealed under master key ${named}; this server holds ${sealer.keyIds.join(', ')})` : ''}; ` +
    'give every server the same KUBECRED_MASTER_KEY (or the original <data-dir>/master.key), and during a rotation the previous key too (KUBECRED_PREVIOUS_MASTER_KEYS); see docs/ha.md, "Rotating the master key"',
  );
}

/** Seals the check under the current key if another key of the ring sealed it; true when it did. */
export async function resealMasterKeyCheck(store: Pick<Store, 'settings'>, sealer: Sealer, clock: Clock): Promise<boolean> {
  const sealed = await store.settings.get(MASTER_KEY_CHECK);
  if (sealed === undefined || !opens(sealer, sealed)) return false;
  if (sealer.openWithId(sealed, AAD).keyId === sealer.currentKeyId) return false;
  return store.settings.replace(MASTER_KEY_CHECK, sealed, sealer.seal(CANARY, AAD), clock.now());
}

/** Whether the sealer opens a database's check value (as read from its settings), e.g. a backup's before restoring it. */
export const opensMasterKeyCheck = (sealer: Sealer, sealed: string): boolean => opens(sealer, sealed);

function opens(sealer: Sealer, sealed: string): boolean {
  try {
    return sealer.open(sealed, AAD).toString('utf8') === CANARY;
  } catch {
    return false;
  }
}
