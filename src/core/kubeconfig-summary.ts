// A cluster's kubeconfigs summed up by the store (GROUP BY), however many were issued: per holder, how many are
// usable, expired or revoked and when they end; and the active ones by time left. Reads only; authorized as a listing.

import type { Actor } from './actor.ts';
import { Actions } from './actions.ts';
import { absentClusterTargets, clusterTarget, type Authorizer } from './authorizer.ts';
import { findCluster } from './lookup.ts';
import { CREDENTIAL_KINDS, type CredentialKind, type CredentialStatus } from './model.ts';
import type { Clock } from './ports.ts';
import type { CredentialTally, Store } from './store-port.ts';
import { credentialView, type CredentialView } from './views.ts';

const DAY_MS = 86_400_000;
/** Where the expiry bands end, in days from now; the last band has no end (a default kubeconfig lasts 3 years). */
export const EXPIRY_BAND_DAYS = [1, 7, 30, 91, 365, 730, 1096] as const;
/** How many of the next kubeconfigs to expire the summary names. */
const NEXT_TO_EXPIRE = 5;

export interface HolderSummary {
  principalId: string;
  /** Its name, deleted or not: whoever may list a cluster's kubeconfigs sees who holds them (as ACK's state list does). */
  principalName: string;
  principalDeleted: boolean;
  /** active: at least one usable; expired: none usable, some only expired; revoked: the rest (revoked or superseded). */
  state: Exclude<CredentialStatus, 'superseded'>;
  /** Active and not yet expired. */
  usable: number;
  /** Active and past their end. */
  expired: number;
  /** Replaced when a custom validity was set: the webhook and the CRL refuse them, as revoked ones. */
  superseded: number;
  revoked: number;
  total: number;
  /** The kinds of the usable ones; when none is usable, of the expired ones; when none is either, of all. */
  kinds: CredentialKind[];
  /** The soonest end of a usable one. */
  nextExpiry: string | null;
  /**
   * When the last usable one ends; when none is usable, when the last expired one ended; when none is either (all
   * revoked or superseded), the latest end of any: not when access ended, which was at the revocation. See standingOf.
   */
  lastExpiry: string;
}

export type ExpiryBand = { untilDays: number | null; total: number } & Record<CredentialKind, number>;

export interface KubeconfigSummary {
  clusterId: string;
  at: string;
  holders: HolderSummary[];
  expiry: { total: number; bands: ExpiryBand[]; nextToExpire: CredentialView[] };
}

type Deps = { store: Pick<Store, 'credentials' | 'clusters' | 'principals'>; clock: Clock; authorizer: Authorizer };

const RANK = { active: 0, expired: 1, revoked: 2 };

const sum = (gs: CredentialTally[], f: (g: CredentialTally) => number) => gs.reduce((n, g) => n + f(g), 0);

/** A cluster's tallies, per holder. */
export function byHolder(tallies: CredentialTally[]): Map<string, CredentialTally[]> {
  const by = new Map<string, CredentialTally[]>();
  for (const t of tallies) {
    const groups = by.get(t.principalId);
    if (groups) groups.push(t);
    else by.set(t.principalId, [t]);
  }
  return by;
}

/**
 * A holder's state from its (kind, state) groups (at least one), and the groups its dates and kinds come from: the
 * usable ones; else the expired ones (what it last could use: a superseded or revoked credential never could be, so
 * its later end is no expiry of the holder's); else all (revoked and superseded). The summary here and ACK's holder
 * lists (principal-access.ts) both read it, so they give a holder the same state and date.
 */
export function standingOf(groups: CredentialTally[]): { state: HolderSummary['state']; from: CredentialTally[] } {
  const active = groups.filter((g) => g.state === 'active');
  const live = active.filter((g) => g.unexpired > 0);
  if (live.length) return { state: 'active', from: live };
  if (active.length) return { state: 'expired', from: active };
  return { state: 'revoked', from: groups };
}

/** The latest end among these groups; of groups with a usable member, a usable one's (a later end in the group is unexpired too). */
export const lastEndOf = (groups: CredentialTally[]): Date => groups.reduce((a, g) => (g.lastExpiry > a ? g.lastExpiry : a), groups[0].lastExpiry);

/** One holder from its (kind, state) groups. */
export function holderOf(principal: { id: string; name: string; deleted: boolean }, groups: CredentialTally[]): HolderSummary {
  const active = groups.filter((g) => g.state === 'active');
  const usable = sum(active, (g) => g.unexpired);
  const expired = sum(active, (g) => g.count - g.unexpired);
  const superseded = sum(groups.filter((g) => g.state === 'superseded'), (g) => g.count);
  const revoked = sum(groups.filter((g) => g.state === 'revoked'), (g) => g.count);
  const { state, from } = standingOf(groups);
  const nexts = state === 'active' ? from.map((g) => g.nextExpiry!.getTime()) : [];
  return {
    principalId: principal.id, principalName: principal.name, principalDeleted: principal.deleted, state, usable, expired, superseded, revoked,
    total: usable + expired + superseded + revoked,
    kinds: CREDENTIAL_KINDS.filter((k) => from.some((g) => g.kind === k)),
    nextExpiry: nexts.length ? new Date(Math.min(...nexts)).toISOString() : null,
    lastExpiry: lastEndOf(from).toISOString(),
  };
}

export function makeKubeconfigSummary(deps: Deps) {
  const { store, clock, authorizer } = deps;
  return {
    /** Needs what listing the cluster's credentials needs: the root, or ListCredentials on the cluster. */
    async summarize(actor: Actor, clusterId: string): Promise<KubeconfigSummary> {
      const cluster = await findCluster(store, actor.accountId, clusterId)
        .catch((e) => authorizer.absent(actor, Actions.ListCredentials, absentClusterTargets(actor.accountId, clusterId), e));
      await authorizer.check(actor, Actions.ListCredentials, clusterTarget(actor.accountId, cluster));
      const now = clock.now();
      const bounds = EXPIRY_BAND_DAYS.map((d) => new Date(now.getTime() + d * DAY_MS));
      const [tallies, expiry, soonest] = await Promise.all([
        store.credentials.tally(cluster.id, now),
        store.credentials.tallyExpiry(cluster.id, now, bounds),
        store.credentials.nextToExpire(actor.accountId, cluster.id, now, NEXT_TO_EXPIRE),
      ]);

      const byPrincipal = byHolder(tallies);
      const known = new Map((await store.principals.manyIncludingDeleted(actor.accountId, [...byPrincipal.keys()])).map((p) => [p.id, p]));
      const holders = [...byPrincipal].map(([id, groups]) => {
        const p = known.get(id);
        return holderOf(p ? { id, name: p.name, deleted: p.deletedAt !== null } : { id, name: id, deleted: true }, groups);
      })
        .sort((a, b) => RANK[a.state] - RANK[b.state] || a.principalId.localeCompare(b.principalId));

      // Each tally says how many end before each bound; a band holds those before its bound and not before the previous one.
      const none = Object.fromEntries(CREDENTIAL_KINDS.map((k) => [k, 0])) as Record<CredentialKind, number>;
      const bands: ExpiryBand[] = [...EXPIRY_BAND_DAYS, null].map((untilDays) => ({ untilDays, ...none, total: 0 }));
      for (const t of expiry) {
        const cumulative = [...t.endingBefore, t.total];
        cumulative.forEach((n, i) => {
          const count = n - (i ? cumulative[i - 1] : 0);
          bands[i][t.kind] += count;
          bands[i].total += count;
        });
      }
      return {
        clusterId: cluster.id, at: now.toISOString(), holders,
        expiry: { total: expiry.reduce((n, t) => n + t.total, 0), bands, nextToExpire: soonest.map((c) => credentialView(c, now)) },
      };
    },
  };
}

export type KubeconfigSummaryService = ReturnType<typeof makeKubeconfigSummary>;
