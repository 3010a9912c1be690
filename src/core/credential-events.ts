// Wraps a Store so that every credential write is published once its transaction has committed:
// the one place the revocation index learns of changes, whichever service made them.

import type { Credential } from './model.ts';
import type { Repos, Store } from './store-port.ts';

export type CredentialListener = (changed: Credential[]) => void;

function recording(repos: Repos, sink: Credential[]): Repos {
  const c = repos.credentials;
  return {
    ...repos,
    credentials: {
      ...c,
      insert: async (cred) => {
        await c.insert(cred);
        sink.push(cred);
      },
      revoke: async (...args) => {
        const changed = await c.revoke(...args);
        sink.push(...changed);
        return changed;
      },
      supersedeDefaults: async (...args) => {
        const changed = await c.supersedeDefaults(...args);
        sink.push(...changed);
        return changed;
      },
    },
  };
}

export function publishCredentialChanges(store: Store, listener: CredentialListener): Store {
  const direct: Credential[] = [];
  const flushDirect = () => {
    if (direct.length) listener(direct.splice(0));
  };
  const base = recording(store, direct);
  const wrap = <F extends (...a: any[]) => Promise<any>>(f: F) => (async (...a: Parameters<F>) => {
    try {
      return await f(...a);
    } finally {
      flushDirect();
    }
  }) as F;
  return {
    ...store,
    ...base,
    credentials: {
      ...base.credentials,
      insert: wrap(base.credentials.insert),
      revoke: wrap(base.credentials.revoke),
      supersedeDefaults: wrap(base.credentials.supersedeDefaults),
    },
    transaction: async (fn) => {
      let sink: Credential[] = [];
      const result = await store.transaction((tx) => {
        // The store may run `fn` again (a deadlock's loser on PostgreSQL): only the run that committed is published.
        sink = [];
        return fn(recording(tx, sink));
      });
      // Only now has the transaction committed; a rolled-back one never reaches the listener.
      if (sink.length) listener(sink);
      return result;
    },
  };
}
