// Every server on a database must hold the master key that sealed its CA keys. The first server to
// open the database seals a known value with its key; each later one (a restart, another replica)
// checks it can open it, and refuses to start otherwise, before it could fail on every issuance.

import type { Clock, Sealer } from './ports.ts';
import type { Store } from './store-port.ts';

const SETTING = 'master-key-check';
const AAD = 'settings:master-key-check';
const CANARY = 'kubecred master key check v1';

export class MasterKeyMismatch extends Error {}

export async function checkMasterKey(store: Pick<Store, 'settings'>, sealer: Sealer, clock: Clock): Promise<void> {
  let sealed = await store.settings.get(SETTING);
  if (sealed === undefined) {
    if (await store.settings.claim(SETTING, sealer.seal(CANARY, AAD), clock.now())) return;
    sealed = await store.settings.get(SETTING);
  }
  let opened: string | null = null;
  try {
    opened = sealer.open(sealed!, AAD).toString('utf8');
  } catch {
    opened = null;
  }
  if (opened !== CANARY) {
    throw new MasterKeyMismatch('the master key does not match the one this database was initialized with; give every server the same KUBECRED_MASTER_KEY (or the original <data-dir>/master.key)');
  }
}
