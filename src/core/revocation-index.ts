// The in-memory view enforcement decides from: kubecred credentials by fingerprint, and per (cluster,
// principal) whether it holds an active one. Kept current on every committed change; never a table scan per request.
// Compact by design (typed arrays, ~90 bytes a credential) so a million credentials fit in a small server.

import type { Credential, CredentialState } from './model.ts';
import type { Clock } from './ports.ts';
import { cursorOfRow, type IndexedCredential, type Repos, type UnexpiredCursor } from './store-port.ts';

export type Verdict = { deny: false } | { deny: true; reason: string };

const NO_OPINION: Verdict = { deny: false };
const STATES: CredentialState[] = ['active', 'revoked', 'superseded'];
const STATE_CODE: Record<CredentialState, number> = { active: 0, revoked: 1, superseded: 2 };
const HEX = /^[0-9a-f]{64}$/;

type Indexed = IndexedCredential | Credential;

/** What load() reads: a Store's credentials, or any source of either of their two scans. */
export type IndexSource = { credentials: Pick<Repos['credentials'], 'scanUnexpired'> };

/**
 * Credentials live in parallel typed arrays indexed by entry number; fingerprints (32 raw bytes each) are
 * found through an open-addressing table. Each holder keeps the latest notAfter among its active entries.
 */
export function makeRevocationIndex(clock: Clock) {
  // Assigned by empty() below, at the start and when compact() rebuilds.
  let capacity: number;
  let count: number;
  let fp: Buffer;
  let fpWords: Uint32Array;
  let clusterOf: Uint32Array;
  let holderOf: Uint32Array;
  let stateOf: Uint8Array;
  let notAfterOf: Float64Array;
  let nextOfHolder: Int32Array;
  const ids: string[] = [];
  /** Slot -> entry + 1 (0: empty). Kept at most half full. */
  let slots: Int32Array;

  const clusters: string[] = [];
  const clusterNumber = new Map<string, number>();
  /** Cluster ID -> principal ID -> holder number (two levels: no key string built per lookup). */
  const holderNumber = new Map<string, Map<string, number>>();
  /** Principal ID -> its holder numbers on every cluster (one lookup for a user kubecred never issued for). */
  const holdersOfPrincipal = new Map<string, number[]>();
  /** Holder number -> principal ID (for rebuilding). */
  const principalOfHolder: string[] = [];
  let holderHead: Int32Array;
  let holderActiveUntil: Float64Array;
  let holders: number;

  function empty(): void {
    capacity = 0;
    count = 0;
    fp = Buffer.alloc(0);
    fpWords = new Uint32Array(0);
    clusterOf = new Uint32Array(0);
    holderOf = new Uint32Array(0);
    stateOf = new Uint8Array(0);
    notAfterOf = new Float64Array(0);
    nextOfHolder = new Int32Array(0);
    slots = new Int32Array(0);
    ids.length = 0;
    clusters.length = 0;
    clusterNumber.clear();
    holderNumber.clear();
    holdersOfPrincipal.clear();
    principalOfHolder.length = 0;
    holderHead = new Int32Array(0);
    holderActiveUntil = new Float64Array(0);
    holders = 0;
  }
  empty();

  const scratch = Buffer.alloc(32);
  const scratchWords = new Uint32Array(scratch.buffer, scratch.byteOffset, 8);

  function grow(): void {
    const cap = Math.max(1024, capacity * 2);
    const nfp = Buffer.alloc(cap * 32);
    fp.copy(nfp, 0, 0, count * 32);
    fp = nfp;
    fpWords = new Uint32Array(fp.buffer, fp.byteOffset, cap * 8);
    const widen = <T extends Uint32Array | Uint8Array | Float64Array | Int32Array>(old: T, make: (n: number) => T): T => {
      const n = make(cap);
      n.set(old.subarray(0, count) as never);
      return n;
    };
    clusterOf = widen(clusterOf, (n) => new Uint32Array(n));
    holderOf = widen(holderOf, (n) => new Uint32Array(n));
    stateOf = widen(stateOf, (n) => new Uint8Array(n));
    notAfterOf = widen(notAfterOf, (n) => new Float64Array(n));
    nextOfHolder = widen(nextOfHolder, (n) => new Int32Array(n));
    capacity = cap;
    slots = new Int32Array(cap * 2);
    for (let e = 0; e < count; e++) slots[freeSlot(e)] = e + 1;
  }

  /** The slot holding the fingerprint in `scratch`, or the empty slot where it would go (as ~slot). */
  function find(): number {
    const mask = slots.length - 1;
    for (let s = scratchWords[0]! & mask; ; s = (s + 1) & mask) {
      const v = slots[s]!;
      if (v === 0) return ~s;
      const base = (v - 1) * 8;
      let same = true;
      for (let w = 0; w < 8; w++) {
        if (fpWords[base + w] !== scratchWords[w]) {
          same = false;
          break;
        }
      }
      if (same) return s;
    }
  }

  function freeSlot(e: number): number {
    const mask = slots.length - 1;
    let s = fpWords[e * 8]! & mask;
    while (slots[s] !== 0) s = (s + 1) & mask;
    return s;
  }

  /** Puts the fingerprint into `scratch`; false when it is not 64 lowercase hex digits. */
  function readFingerprint(hex: string): boolean {
    if (hex.length !== 64 || !HEX.test(hex)) return false;
    scratch.write(hex, 'hex');
    return true;
  }

  function entryOf(fingerprint: string): number {
    if (count === 0 || !readFingerprint(fingerprint)) return -1;
    const s = find();
    return s < 0 ? -1 : slots[s]! - 1;
  }

  function holderFor(clusterId: string, principalId: string, create: boolean): number {
    let ofCluster = holderNumber.get(clusterId);
    if (ofCluster === undefined) {
      if (!create) return -1;
      ofCluster = new Map();
      holderNumber.set(clusterId, ofCluster);
    }
    let h = ofCluster.get(principalId);
    if (h === undefined && create) {
      h = holders++;
      ofCluster.set(principalId, h);
      principalOfHolder[h] = principalId;
      const all = holdersOfPrincipal.get(principalId);
      if (all) all.push(h);
      else holdersOfPrincipal.set(principalId, [h]);
      if (h >= holderHead.length) {
        const head = new Int32Array(Math.max(256, holderHead.length * 2)).fill(-1);
        head.set(holderHead);
        holderHead = head;
        const until = new Float64Array(head.length).fill(-Infinity);
        until.set(holderActiveUntil);
        holderActiveUntil = until;
      }
    }
    return h ?? -1;
  }

  /** After an entry of `h` stopped being active: the latest notAfter among the others still active. */
  function recomputeHolder(h: number): void {
    let until = -Infinity;
    for (let e = holderHead[h]!; e !== -1; e = nextOfHolder[e]!) {
      if (stateOf[e] === 0 && notAfterOf[e]! > until) until = notAfterOf[e]!;
    }
    holderActiveUntil[h] = until;
  }

  /**
   * `loadedAt`: set for a row read by load(), which may be older than a change apply() already recorded.
   * kube-apiserver refuses an expired client certificate before it asks any authorizer, so a credential
   * that had expired before the server started can never reach the webhook: loading it would only cost memory.
   */
  function put(c: Indexed, loadedAt: number | null): void {
    putFields(c.id, c.clusterId, c.principalId, c.fingerprintSha256, c.state, c.notAfter.getTime(), loadedAt);
  }

  /** put's work, from the fields themselves: load() has them as rows (IndexedRow), with no object or Date to build. */
  function putFields(id: string, clusterId: string, principalId: string, fingerprint: string, stateName: CredentialState, notAfter: number, loadedAt: number | null): void {
    if (loadedAt !== null && notAfter <= loadedAt) return;
    const fromLoad = loadedAt !== null;
    const state = STATE_CODE[stateName];
    if (state === undefined || !readFingerprint(fingerprint)) return;
    if (count > 0) {
      const s = find();
      if (s >= 0) {
        if (fromLoad) return;
        const e = slots[s]! - 1;
        const wasActive = stateOf[e] === 0;
        stateOf[e] = state;
        notAfterOf[e] = notAfter;
        const h = holderOf[e]!;
        if (state === 0) holderActiveUntil[h] = Math.max(holderActiveUntil[h]!, notAfter);
        else if (wasActive) recomputeHolder(h);
        return;
      }
    }
    if (count === capacity) grow();
    const e = count++;
    for (let w = 0, base = e * 8; w < 8; w++) fpWords[base + w] = scratchWords[w]!;
    let cl = clusterNumber.get(clusterId);
    if (cl === undefined) {
      cl = clusters.length;
      clusters.push(clusterId);
      clusterNumber.set(clusterId, cl);
    }
    clusterOf[e] = cl;
    const h = holderFor(clusterId, principalId, true);
    holderOf[e] = h;
    stateOf[e] = state;
    notAfterOf[e] = notAfter;
    ids[e] = id;
    nextOfHolder[e] = holderHead[h]!;
    holderHead[h] = e;
    if (state === 0 && notAfter > holderActiveUntil[h]!) holderActiveUntil[h] = notAfter;
    slots[freeSlot(e)] = e + 1;
  }

  return {
    /**
     * Loads the store's unexpired credentials (any state) a page at a time, through `scanUnexpired`: those
     * already expired are never read (see put). Changes applied while it runs win over the rows it reads, which
     * may predate them. Returns how many it holds.
     * Small pages keep each page's rows short-lived: with a million rows, 10,000-row pages cost a third more
     * time and 80 MB more resident memory in garbage the young generation could not collect.
     */
    async load(store: IndexSource, pageSize = 2_000): Promise<number> {
      const now = clock.now();
      const loadedAt = now.getTime();
      const source = store.credentials;
      let after: UnexpiredCursor | null = null;
      for (;;) {
        const page = await source.scanUnexpired(now, after, pageSize);
        for (const r of page) putFields(r[0], r[1], r[2], r[3], r[4], r[5], loadedAt);
        if (page.length < pageSize) break;
        after = cursorOfRow(page[page.length - 1]!);
      }
      return count;
    },

    apply(changed: Indexed[]): void {
      for (const c of changed) put(c, null);
    },

    /**
     * Drops the credentials that expired before `expiredBefore` (kube-apiserver refuses an expired certificate before
     * it asks, as for load's), once they are at least half the index and 10,000: credentials keep arriving while
     * the server runs, and nothing else ever removed one (a day of 15-minute kubeconfigs at 10 a second was ~130 MB).
     * Rebuilds from what stays; returns how many went.
     */
    compact(expiredBefore: Date, minDropped = 10_000): number {
      const before = expiredBefore.getTime();
      let expired = 0;
      for (let e = 0; e < count; e++) if (notAfterOf[e]! <= before) expired++;
      if (expired < minDropped || expired * 2 < count) return 0;
      const keep: IndexedCredential[] = [];
      for (let e = 0; e < count; e++) {
        if (notAfterOf[e]! <= before) continue;
        keep.push({
          id: ids[e]!, clusterId: clusters[clusterOf[e]!]!, principalId: principalOfHolder[holderOf[e]!]!,
          fingerprintSha256: fp.toString('hex', e * 32, e * 32 + 32), state: STATES[stateOf[e]!]!, notAfter: new Date(notAfterOf[e]!),
        });
      }
      empty();
      for (const c of keep) put(c, null);
      return expired;
    },

    /** How many credentials the index holds. */
    get size() {
      return count;
    },

    /** Bytes held in the index's arrays (not counting the cluster and holder name maps). */
    get bytes() {
      return fp.length + clusterOf.byteLength + holderOf.byteLength + stateOf.byteLength + notAfterOf.byteLength + nextOfHolder.byteLength
        + slots.byteLength + holderHead.byteLength + holderActiveUntil.byteLength + count * 8;
    },

    /**
     * Kubernetes 1.32+: the request carries the certificate's SHA-256. Deny a kubecred certificate that is
     * revoked, superseded or expired, whichever cluster it was issued for: an API server that accepts one of
     * another cluster's trusts that cluster's client CA (shared, or a deleted cluster's CA still in its
     * --client-ca-file and imported again), and a dead credential must stay dead there too. No opinion on
     * anything else, so RBAC decides (an active one of another cluster too: the next webhook in the chain may be
     * that cluster's).
     */
    byFingerprint(clusterId: string, fingerprint: string): Verdict {
      const e = entryOf(fingerprint);
      if (e < 0) return NO_OPINION;
      const state = STATES[stateOf[e]!];
      // Another cluster's (maybe another account's): said without its ID.
      const which = clusters[clusterOf[e]!] === clusterId ? `kubecred credential ${ids[e]}` : 'a kubecred credential issued for another cluster';
      if (state === 'revoked') return { deny: true, reason: `${which} was revoked` };
      if (state === 'superseded') return { deny: true, reason: `${which} was superseded; fetch a new kubeconfig` };
      if (notAfterOf[e]! <= clock.now().getTime()) return { deny: true, reason: `${which} has expired` };
      return NO_OPINION;
    },

    /**
     * Before 1.32 there is no credential ID: deny a kubecred principal with no active credential on this cluster;
     * one never issued for on this cluster, when it holds no active credential on any cluster (all it can present
     * is dead, whichever CA signed it).
     */
    byPrincipal(clusterId: string, principalId: string): Verdict {
      const now = clock.now().getTime();
      const h = holderFor(clusterId, principalId, false);
      if (h >= 0) {
        if (holderActiveUntil[h]! > now) return NO_OPINION;
        return { deny: true, reason: `principal ${principalId} holds no active kubecred credential for this cluster` };
      }
      const elsewhere = holdersOfPrincipal.get(principalId);
      if (elsewhere === undefined) return NO_OPINION; // not a user kubecred issued for: not ours to judge
      for (const other of elsewhere) if (holderActiveUntil[other]! > now) return NO_OPINION;
      // Worded as on a cluster it holds something on: nothing here says where else it is known.
      return { deny: true, reason: `principal ${principalId} holds no active kubecred credential for this cluster` };
    },
  };
}

export type RevocationIndex = ReturnType<typeof makeRevocationIndex>;
