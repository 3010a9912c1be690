// Seed requests for the vendor surfaces (the operations the official SDKs send, with their parameters) and
// what every request-shaped target shares: how to generate from a seed, encode, and shrink a request.

import { mutateReq, reachesRoutes, reqFromJson, reqToJson, type Req } from './mutate-text.ts';
import type { Rng } from './rng.ts';
import { signAliyun, signHuawei, type AliyunStyle, type Key } from './signers.ts';

export interface Ids { clusterId: string; meshId: string; principalId: string; roleId: string; projectId: string }

const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const req = (method: string, url: string, body?: Buffer, type?: string): Req =>
  ({ method, url, headers: type ? [['content-type', type]] : [], body: body ?? Buffer.alloc(0) });

/** ACK (ROA) and ASM (RPC) operations as cs20151215 and servicemesh20200111 send them. */
export function aliyunSeeds(ids: Ids): { style: AliyunStyle[]; req: Req; action: string }[] {
  const c = ids.clusterId;
  const roa = ['acs3', 'roa'] as AliyunStyle[];
  const acs = (r: Req, action: string, version = '2015-12-15') => ({ ...r, headers: [...r.headers, ['x-acs-action', action], ['x-acs-version', version], ['accept', 'application/json']] as [string, string][] });
  return [
    { style: roa, action: 'DescribeClusterUserKubeconfig', req: req('GET', `/k8s/${c}/user_config?PrivateIpAddress=false&TemporaryDurationMinutes=60`) },
    { style: roa, action: 'DescribeClusterV2UserKubeconfig', req: req('GET', `/api/v2/k8s/${c}/user_config?TemporaryDurationMinutes=15`) },
    { style: roa, action: 'DescribeSubaccountK8sClusterUserConfig', req: req('GET', `/k8s/${c}/users/${ids.principalId}/user_config?TemporaryDurationMinutes=30`) },
    { style: roa, action: 'UpdateK8sClusterUserConfigExpire', req: req('POST', `/k8s/${c}/user_config/expire`, json({ expire_hour: 720, user: ids.principalId }), 'application/json; charset=utf-8') },
    { style: roa, action: 'RevokeK8sClusterKubeConfig', req: req('DELETE', `/k8s/${c}/certs`) },
    { style: roa, action: 'ListClusterKubeconfigStates', req: req('GET', `/clusters/${c}/kubeconfig/states?cloudServiceKubeConfig=false&pageNumber=1&pageSize=10`) },
    { style: roa, action: 'ListUserKubeConfigStates', req: req('GET', `/users/${ids.principalId}/kubeconfig/states?page_number=1&page_size=50`) },
    { style: roa, action: 'CleanClusterUserPermissions', req: req('DELETE', `/cluster/${c}/user/${ids.roleId}/permissions?Force=true`) },
    { style: roa, action: 'CleanUserPermissions', req: req('DELETE', `/users/${ids.roleId}/permissions?ClusterIds=${c}%2Ccls_x&Force=false`) },
    { style: ['acs3', 'rpc'] as AliyunStyle[], action: 'DescribeServiceMeshKubeconfig', req: req('POST', `/?PrivateIpAddress=false&ServiceMeshId=${ids.meshId}&Action=DescribeServiceMeshKubeconfig&Version=2020-01-11`) },
    { style: ['acs3', 'rpc'] as AliyunStyle[], action: 'RevokeKubeconfig', req: req('POST', '/?Action=RevokeKubeconfig&Version=2020-01-11', Buffer.from(`PrivateIpAddress=false&ServiceMeshId=${ids.meshId}`), 'application/x-www-form-urlencoded') },
  ].map((s) => ({ ...s, req: acs(s.req, s.action, s.action.includes('ServiceMesh') || s.action === 'RevokeKubeconfig' ? '2020-01-11' : '2015-12-15') }));
}

export const ALIYUN_DICT = ['ClusterId', 'PrivateIpAddress', 'TemporaryDurationMinutes', 'expire_hour', 'user', 'pageNumber', 'pageSize', 'page_number',
  'page_size', 'Force', 'ClusterIds', 'ServiceMeshId', 'Action', 'Version', 'Signature', 'SignatureNonce', 'Timestamp', 'AccessKeyId', 'SignatureMethod',
  'SignatureVersion', 'x-acs-action', 'x-acs-version', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-content-sha256', 'ACS3-HMAC-SHA256 ', 'Credential=',
  'SignedHeaders=', 'acs ', 'true', 'false', '15', '4320', '4321', '2015-12-15', '2020-01-11', 'DescribeServiceMeshKubeconfig', 'RevokeKubeconfig',
  'HMAC-SHA1', '1.0', 'application/x-www-form-urlencoded', 'application/json', 'GMT', '2020-01-01T00:00:00Z'];

/** CCE clustercert and clustercertrevoke as huaweicloud-sdk-cce sends them. */
export function huaweiSeeds(ids: Ids): Req[] {
  const base = `/api/v3/projects/${ids.projectId}/clusters/${ids.clusterId}`;
  const h = (r: Req) => ({ ...r, headers: [...r.headers, ['x-project-id', ids.projectId]] as [string, string][] });
  return [
    h(req('POST', `${base}/clustercert`, json({ duration: 30 }), 'application/json')),
    h(req('POST', `${base}/clustercert`, json({ duration: -1 }), 'application/json')),
    h(req('POST', `${base}/clustercert`, json({ expire_at: new Date(Date.now() + 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z') }), 'application/json')),
    h(req('POST', `${base}/clustercert`, json({ expire_at: '2099-01-01 16:00:00 +0000 UTC' }), 'application/json')),
    h(req('POST', `${base}/clustercertrevoke`, json({ userId: ids.principalId }), 'application/json')),
    h(req('POST', `${base}/clustercertrevoke`, json({ agencyId: ids.roleId }), 'application/json')),
  ];
}

export const HUAWEI_DICT = ['duration', 'expire_at', 'userId', 'agencyId', 'SDK-HMAC-SHA256 ', 'Access=', 'SignedHeaders=', 'Signature=', ', ', 'x-sdk-date',
  'x-project-id', 'x-auth-token', 'x-sdk-content-sha256', 'UNSIGNED-PAYLOAD', 'clustercert', 'clustercertrevoke', 'projects', '-1', '1827', '1828',
  '20250101T000000Z', '+0000 UTC', 'kc1.', 'application/json'];

/**
 * A signed seed with 1-3 mutations: half the time mutated then signed (so it authenticates and the route
 * decides), half the time signed then mutated (so authentication decides).
 */
export function signedVariant(rng: Rng, seed: Req, dict: readonly string[], sign: (r: Req) => Req): Req {
  let r = seed;
  const n = 1 + rng.small(3);
  const before = rng.chance(0.5);
  // A mutation that makes the request far larger than Node's parser lets through is dropped: it would only test that parser.
  const step = (x: Req) => {
    const next = mutateReq(rng, x, dict);
    return reachesRoutes(next, 1.25) ? next : x;
  };
  for (let i = 0; i < n && before; i++) r = step(r);
  r = sign(r);
  for (let i = 0; i < n && !before; i++) r = step(r);
  return r;
}

export const aliyunSigner = (rng: Rng, style: AliyunStyle, key: Key, host: string) => (r: Req) => signAliyun(rng, r, style, key, host);
export const huaweiSigner = (key: Key, host: string) => (r: Req) => signHuawei(r, key, host);

export const reqCodec = {
  encode: (r: Req) => Buffer.from(JSON.stringify(reqToJson(r))),
  decode: (b: Buffer) => reqFromJson(JSON.parse(b.toString('utf8'))),
};

export function* reqShrinks(r: Req): Iterable<Req> {
  for (let i = 0; i < r.headers.length; i++) yield { ...r, headers: r.headers.filter((_, j) => j !== i) };
  for (let chunk = r.body.length >> 1; chunk >= 1; chunk >>= 1) {
    for (let at = 0; at + chunk <= r.body.length; at += chunk) yield { ...r, body: Buffer.concat([r.body.subarray(0, at), r.body.subarray(at + chunk)]) };
  }
  for (let i = 0; i < r.headers.length; i++) {
    const v = r.headers[i]![1];
    for (let chunk = v.length >> 1; chunk >= 1; chunk >>= 1) {
      for (let at = 0; at + chunk <= v.length; at += chunk) yield { ...r, headers: r.headers.map((h, j) => (j === i ? [h[0], v.slice(0, at) + v.slice(at + chunk)] : h)) };
    }
  }
  const u = r.url;
  for (let chunk = u.length >> 1; chunk >= 1; chunk >>= 1) {
    for (let at = 1; at + chunk <= u.length; at += chunk) yield { ...r, url: u.slice(0, at) + u.slice(at + chunk) };
  }
}
