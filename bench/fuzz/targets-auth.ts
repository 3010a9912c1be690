// In-process targets for request authentication: Alibaba signatures (ACS3, ROA v1, RPC v1: Authorization,
// dates, nonces, repeated parameters), Huawei SDK-HMAC-SHA256 and X-Auth-Token, and kubecred's bearer tokens and
// console cookie. Stores are small stubs; only the surface's own error types may escape.

import type { FastifyRequest } from 'fastify';
import { AliyunError } from '../../src/api/aliyun/aliyun-errors.ts';
import { authenticate as aliyunAuthenticate } from '../../src/api/aliyun/request-auth.ts';
import { readSessionCookie } from '../../src/api/console/session-cookie.ts';
import { authenticateCce } from '../../src/api/huaweicloud/cce-auth.ts';
import { formatToken, hashSecret, parseToken } from '../../src/core/api-credentials.ts';
import type { Authority } from '../../src/core/authority.ts';
import { makeAuthenticator } from '../../src/core/authenticator.ts';
import { KubecredError } from '../../src/core/errors.ts';
import type { Principal } from '../../src/core/model.ts';
import { Finding, type Target } from './engine.ts';
import { mutateText, nodeHeaders, reachesRoutes, type Req } from './mutate-text.ts';
import { ALIYUN_DICT, HUAWEI_DICT, aliyunSeeds, aliyunSigner, huaweiSeeds, huaweiSigner, reqCodec, reqShrinks, signedVariant, type Ids } from './requests.ts';
import type { Key } from './signers.ts';

const ACCOUNT = 'acc_fuzz';
const principal: Principal = { id: 'usr_01hzzzzzzzzzzzzzzzzzzzzzzz', accountId: ACCOUNT, kind: 'user', name: 'fuzz', groups: [], isRoot: false, createdAt: new Date(0), deletedAt: null };
const KEY: Key = { id: 'KCFUZZFUZZFUZZFUZZFUZZFUZZ', secret: 'fuzz-secret-0123456789abcdefghij' };
const TOKEN_ID = 'tok_01hzzzzzzzzzzzzzzzzzzzzzzz';
const TOKEN_SECRET = 'A'.repeat(43);
const IDS: Ids = { clusterId: 'cls_01hzzzzzzzzzzzzzzzzzzzzzzz', meshId: 'cls_01hyyyyyyyyyyyyyyyyyyyyyyy', principalId: principal.id, roleId: 'rol_01hzzzzzzzzzzzzzzzzzzzzzzz', projectId: 'p1' };
const HOST = 'cs.cn-hangzhou.aliyuncs.com';

/** Just enough of an Authority for the two vendor authenticators: one access key, one token, one project, a nonce set. */
function stubAuthority(): Authority {
  const clock = { now: () => new Date() };
  const nonces = new Set<string>();
  const store = {
    tokens: { get: async (id: string) => (id === TOKEN_ID ? { id, accountId: ACCOUNT, principalId: principal.id, name: 't', secretHash: hashSecret(TOKEN_SECRET), createdAt: new Date(0), expiresAt: null, revokedAt: null } : undefined) },
    principals: { get: async (accountId: string, id: string) => (accountId === ACCOUNT && id === principal.id ? principal : undefined) },
    accessKeys: { get: async (id: string) => (id === KEY.id ? { id, accountId: ACCOUNT, principalId: principal.id, secretSealed: KEY.secret, createdAt: new Date(0), revokedAt: null } : undefined) },
    nonces: {
      claim: async (k: string) => {
        if (nonces.size > 100_000) nonces.clear();
        if (nonces.has(k)) return false;
        nonces.add(k);
        return true;
      },
    },
    vendorProjects: { get: async (_v: string, account: string, id: string) => (account === ACCOUNT && id === IDS.projectId ? { vendor: 'huaweicloud', projectId: id, accountId: ACCOUNT, region: 'r' } : undefined) },
  };
  // The stored secret is kept in clear here; `seal` is what the authenticator's stand-in for an unknown key uses.
  const sealer = { open: (sealed: string) => Buffer.from(sealed), seal: (plain: string) => plain };
  return {
    clock, store, authenticator: makeAuthenticator({ store: store as never, clock, sealer: sealer as never }),
    claimOnce: (key: string) => store.nonces.claim(key),
  } as unknown as Authority;
}

/** A request object with what the authenticators read, as Fastify would hand it over. */
function fakeRequest(r: Req, params: Record<string, string> = {}): FastifyRequest {
  return { method: r.method, url: r.url, raw: { url: r.url }, headers: nodeHeaders(r.headers), body: r.body.length ? r.body : undefined, id: 'req_fuzz', ip: '127.0.0.1', params, protocol: 'http' } as unknown as FastifyRequest;
}

function expectOnly(what: string, e: unknown, ...types: (new (...a: never[]) => Error)[]): void {
  if (types.some((t) => e instanceof t)) return;
  throw new Finding('untyped-error', `${what} threw ${(e as Error)?.name ?? typeof e}: ${String((e as Error)?.message ?? e).slice(0, 200)}`);
}

let authority: Authority | undefined;
const stub = () => (authority ??= stubAuthority());

export const aliyunAuthTarget: Target<Req> = {
  name: 'aliyun-auth',
  covers: 'Alibaba request authentication (api/aliyun/request-auth.ts, signature-compute.ts): ACS3-HMAC-SHA256 and ROA v1 Authorization headers, RPC v1 query/form signatures, dates, nonces, repeated parameters',
  slowMs: 10,
  generate(rng) {
    const seed = rng.pick(aliyunSeeds(IDS));
    return signedVariant(rng, seed.req, ALIYUN_DICT, aliyunSigner(rng, rng.pick(seed.style), KEY, HOST));
  },
  async run(r) {
    if (!reachesRoutes(r)) return;
    try {
      await aliyunAuthenticate(fakeRequest(r), stub());
    } catch (e) {
      expectOnly('aliyun authenticate', e, AliyunError, KubecredError);
    }
  },
  ...reqCodec,
  shrink: reqShrinks,
};

const CCE_ROUTE = /^\/api\/v3\/projects\/([^/?]+)\/clusters\/([^/?]+)\/clustercert(?:revoke)?(?:\?|$)/;

export const huaweiAuthTarget: Target<Req> = {
  name: 'huawei-auth',
  covers: 'Huawei CCE authentication (api/huaweicloud/cce-auth.ts, cce-signature.ts): SDK-HMAC-SHA256 Authorization, canonical URI/query/headers, X-Sdk-Date, X-Auth-Token, project mapping',
  slowMs: 10,
  generate(rng) {
    const seed = rng.pick(huaweiSeeds(IDS));
    const signed = signedVariant(rng, seed, HUAWEI_DICT, huaweiSigner(KEY, 'cce.cn-north-4.myhuaweicloud.com'));
    if (!rng.chance(0.15)) return signed;
    const token = rng.chance(0.5) ? formatToken(TOKEN_ID, TOKEN_SECRET) : mutateText(rng, formatToken(TOKEN_ID, TOKEN_SECRET), HUAWEI_DICT);
    return { ...signed, headers: [...signed.headers.filter(([n]) => n !== 'authorization'), ['x-auth-token', token]] };
  },
  async run(r) {
    // Fastify decodes path parameters; a path it cannot decode is refused by the router before any auth.
    if (!reachesRoutes(r)) return;
    const m = CCE_ROUTE.exec(r.url);
    let params: Record<string, string> = {};
    try {
      if (m) params = { project_id: decodeURIComponent(m[1]!), cluster_id: decodeURIComponent(m[2]!) };
    } catch {
      return;
    }
    try {
      await authenticateCce(stub(), fakeRequest(r, params), r.body);
    } catch (e) {
      expectOnly('authenticateCce', e, KubecredError);
    }
  },
  ...reqCodec,
  shrink: reqShrinks,
};

const TOKEN_DICT = ['kc1', 'kcw1', 'kct1', '.', 'tok_', 'wht_', 'crd_', TOKEN_ID, TOKEN_SECRET, 'Bearer ', 'kubecred_session=', '__Host-kubecred_session=', ';'];

export const tokensTarget: Target<string> = {
  name: 'tokens',
  covers: 'bearer tokens and API credentials (core/api-credentials.ts parseToken, core/authenticator.ts bearer) and the console session cookie header (api/console/session-cookie.ts)',
  slowMs: 10,
  generate(rng) {
    let s = rng.pick([formatToken(TOKEN_ID, TOKEN_SECRET), `kubecred_session=${TOKEN_SECRET}; other=1`, `kcw1.wht_01hzzzzzzzzzzzzzzzzzzzzzzz.${'b'.repeat(43)}`, '']);
    for (let i = 1 + rng.small(4); i > 0; i--) s = mutateText(rng, s, TOKEN_DICT);
    return s;
  },
  async run(s) {
    let parsed: ReturnType<typeof parseToken>;
    try {
      parsed = parseToken(s);
    } catch (e) {
      throw new Finding('untyped-error', `parseToken threw ${(e as Error)?.name}: ${(e as Error)?.message}`);
    }
    // What parses must be exactly what was given: nothing trimmed, decoded or ignored on the way.
    if (parsed && formatToken(parsed.tokenId, parsed.secret) !== s) throw new Finding('bad-result', 'parseToken accepted a token that does not round-trip');
    try {
      await stub().authenticator.bearer(s);
    } catch (e) {
      if (!(e instanceof KubecredError && e.code === 'UNAUTHENTICATED')) expectOnly('authenticator.bearer', e, Finding);
    }
    try {
      readSessionCookie({ headers: nodeHeaders([['cookie', s]]), protocol: 'http' } as unknown as FastifyRequest);
    } catch (e) {
      expectOnly('readSessionCookie', e, KubecredError);
    }
  },
  encode: (s) => Buffer.from(s, 'utf8'),
  decode: (b) => b.toString('utf8'),
};
