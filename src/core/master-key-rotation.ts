// Re-sealing every secret under the current master key, and counting which key seals what. A rotation is:
// give the servers the new key as current and the old one beside it (they open with both, seal with the new),
// re-seal what the old one sealed, then drop the old one. Each value is replaced only if it is still the one
// read (compare and swap), a page per transaction, so servers can keep running and a kill at any moment
// leaves every value sealed under one key or the other, never lost. The master-key check goes last.

import { accessKeySecretAad } from './api-credentials.ts';
import type { AuditWriter } from './audit.ts';
import { clusterCaKeyAad, credentialKeyAad } from './credential-issuer.ts';
import { MASTER_KEY_CHECK, resealMasterKeyCheck } from './master-key-check.ts';
import type { Clock, Sealer } from './ports.ts';
import { SEALED_KINDS, type SealedKind, type Store } from './store-port.ts';

const AAD: Record<SealedKind, (id: string) => string> = {
  'cluster-ca-key': clusterCaKeyAad,
  'credential-key': credentialKeyAad,
  'access-key-secret': accessKeySecretAad,
};

const PAGE = 200;

export interface SealedCount {
  kind: SealedKind | typeof MASTER_KEY_CHECK;
  total: number;
  /** How many values each key seals, by key ID. */
  byKey: Record<string, number>;
  /** Values no key of the ring opens (sealed under a key the caller lacks, or damaged); their IDs, the first ten. */
  unopenable: number;
  unopenableIds: string[];
}

export interface ResealResult extends SealedCount {
  /** Values re-sealed under the current key by this run. */
  resealed: number;
  /** Values that changed between the read and the replace (a server wrote them meanwhile, under its own current key). */
  changedMeanwhile: number;
}

type Progress = (kind: string, done: number) => void;

/** Which key seals each secret in the store, and which no key of `sealer` opens. Reads only. */
export async function countSealed(store: Store, sealer: Sealer, progress?: Progress): Promise<SealedCount[]> {
  const counts: SealedCount[] = [];
  for (const kind of SEALED_KINDS) {
    const c = emptyCount(kind);
    await eachPage(store, kind, async (values) => {
      for (const v of values) tally(c, v.id, keyOf(sealer, v.sealed, AAD[kind](v.id)));
      progress?.(kind, c.total);
    });
    counts.push(c);
  }
  counts.push(await countCheck(store, sealer));
  return counts;
}

/**
 * Re-seals under `sealer`'s current key every value another key of its ring sealed, then the master-key check,
 * and records the rotation in each account's audit trail. Values no key opens are counted, never touched.
 */
export async function resealUnderCurrentKey(deps: { store: Store; sealer: Sealer; clock: Clock; audit: AuditWriter }, progress?: Progress): Promise<ResealResult[]> {
  const { store, sealer } = deps;
  const current = sealer.currentKeyId;
  const results: ResealResult[] = [];
  for (const kind of SEALED_KINDS) {
    const r: ResealResult = { ...emptyCount(kind), resealed: 0, changedMeanwhile: 0 };
    await eachPage(store, kind, async (values) => {
      // Counted once committed: the store may run the transaction again (a deadlock on PostgreSQL), and only that run's count holds.
      const outcomes = await store.transaction(async (tx) => {
        const page: Array<{ id: string; keyId: string | null; outcome: 'kept' | 'resealed' | 'changed' }> = [];
        for (const v of values) {
          const aad = AAD[kind](v.id);
          const opened = tryOpen(sealer, v.sealed, aad);
          if (!opened || opened.keyId === current) {
            page.push({ id: v.id, keyId: opened?.keyId ?? null, outcome: 'kept' });
            continue;
          }
          const replaced = await tx.sealedValues.replace(kind, v.id, v.sealed, sealer.seal(opened.plaintext, aad));
          page.push({ id: v.id, keyId: current, outcome: replaced ? 'resealed' : 'changed' });
        }
        return page;
      });
      for (const o of outcomes) {
        if (o.outcome === 'changed') {
          r.changedMeanwhile++;
          r.total++;
          continue;
        }
        if (o.outcome === 'resealed') r.resealed++;
        tally(r, o.id, o.keyId);
      }
      progress?.(kind, r.total);
    });
    results.push(r);
  }
  const resealedCheck = await resealMasterKeyCheck(store, sealer, deps.clock);
  results.push({ ...(await countCheck(store, sealer)), resealed: resealedCheck ? 1 : 0, changedMeanwhile: 0 });

  const resealed = results.reduce((n, r) => n + r.resealed, 0);
  if (resealed > 0) {
    await store.transaction(async (tx) => {
      for (const accountId of await tx.accounts.ids()) {
        await deps.audit.record(tx, null, accountId, {
          action: 'ResealSecrets', resourceType: 'server', resourceId: null,
          detail: { masterKeyId: current, resealed, via: 'kubecred master-key, on the server' },
        });
      }
    });
  }
  return results;
}

/** True when every value opens and the current key seals them all: the other keys can go. */
export const allUnderCurrentKey = (counts: SealedCount[], current: string): boolean =>
  counts.every((c) => c.unopenable === 0 && Object.keys(c.byKey).every((k) => k === current));

async function eachPage(store: Store, kind: SealedKind, fn: (values: { id: string; sealed: string }[]) => Promise<void>): Promise<void> {
  for (let after: string | null = null; ;) {
    const values = await store.sealedValues.page(kind, after, PAGE);
    if (values.length === 0) return;
    await fn(values);
    after = values[values.length - 1]!.id;
  }
}

async function countCheck(store: Store, sealer: Sealer): Promise<SealedCount> {
  const c = emptyCount(MASTER_KEY_CHECK);
  const sealed = await store.settings.get(MASTER_KEY_CHECK);
  if (sealed !== undefined) tally(c, MASTER_KEY_CHECK, keyOf(sealer, sealed, `settings:${MASTER_KEY_CHECK}`));
  return c;
}

function tryOpen(sealer: Sealer, sealed: string, aad: string): { plaintext: Buffer; keyId: string } | null {
  try {
    return sealer.openWithId(sealed, aad);
  } catch {
    return null;
  }
}

const keyOf = (sealer: Sealer, sealed: string, aad: string): string | null => tryOpen(sealer, sealed, aad)?.keyId ?? null;

const emptyCount = (kind: SealedCount['kind']): SealedCount => ({ kind, total: 0, byKey: {}, unopenable: 0, unopenableIds: [] });

function tally(c: SealedCount, id: string, keyId: string | null): void {
  c.total++;
  if (keyId === null) {
    c.unopenable++;
    if (c.unopenableIds.length < 10) c.unopenableIds.push(id);
  } else {
    c.byKey[keyId] = (c.byKey[keyId] ?? 0) + 1;
  }
}
