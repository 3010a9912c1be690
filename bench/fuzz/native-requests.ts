// Requests for the native /v1 API made from its own OpenAPI document: each operation's path, query and a body
// built from its JSON schema, with IDs taken from what the server created and field-aware values (CSR, CA, policy).

import type { FuzzServer } from './fuzz-server.ts';
import type { Req } from './mutate-text.ts';
import type { Rng } from './rng.ts';
import { seeds } from './seeds.ts';

type Schema = { type?: string; properties?: Record<string, Schema>; required?: string[]; anyOf?: Schema[]; oneOf?: Schema[]; enum?: unknown[]; const?: unknown;
  items?: Schema; minimum?: number; maximum?: number; minLength?: number; maxLength?: number; pattern?: string };
export interface Op { method: string; path: string; body?: Schema; query: { name: string; schema: Schema }[] }

export const NATIVE_DICT = ['name', 'kind', 'region', 'publicEndpoint', 'privateEndpoint', 'serverCaPem', 'clientCaAlgorithm', 'clientCaCertPem', 'clientCaKeyPem',
  'allowSystemGroups', 'credentialType', 'groups', 'expiresInDays', 'endpoint', 'temporaryMinutes', 'csr', 'principalId', 'reason', 'hours', 'document', 'policy',
  'Version', 'Statement', 'Effect', 'Action', 'Resource', 'Condition', 'limit', 'cursor', 'cluster', 'principal', 'status', 'outcome', 'since', 'until',
  'system:masters', 'system:nodes', 'kubecred:*', 'kubecred:GetKubeconfig', 'cs:KubeConfigDurationMinutes', 'NumericLessThanEquals', 'StringLike', 'IpAddress',
  '__proto__', 'constructor', 'prototype', 'Bearer ', 'kc1.', 'cls_', 'usr_', 'rol_', 'pol_', 'tok_', 'crd_', 'wht_', 'ec-p256', 'rsa-2048', 'token', 'x509'];

/** The operations of /openapi.json (sessions and the ops routes included), with their body and query schemas. */
export async function nativeOps(s: FuzzServer): Promise<Op[]> {
  const res = await s.client.send({ method: 'GET', url: '/openapi.json', headers: [['host', `${s.host}:${s.port}`]], body: Buffer.alloc(0) });
  const doc = JSON.parse(res.body.toString('utf8')) as { paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: Schema }> }; parameters?: { in: string; name: string; schema: Schema }[] }>> };
  const ops: Op[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      if (path.startsWith('/kube/') || path.startsWith('/clusters/')) continue; // the http-kube target's
      ops.push({ method: method.toUpperCase(), path, body: op.requestBody?.content?.['application/json']?.schema, query: (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => ({ name: p.name, schema: p.schema })) });
    }
  }
  return ops;
}

const ID = /^(cls|usr|rol|pol|tok|crd|wht)_[a-z0-9]{26}$|^KC[A-Z0-9]{22}$/;
const pools = new Map<string, string[]>();
/** Never handed to a DELETE: the fuzzer's own credentials. */
const own = new Set<string>();

function remember(v: unknown, depth = 0): void {
  if (depth > 6) return;
  if (typeof v === 'string' && ID.test(v) && !own.has(v)) {
    const kind = v.startsWith('KC') ? 'KC' : v.slice(0, 3);
    const pool = pools.get(kind) ?? [];
    if (!pool.includes(v)) pool.push(v);
    if (pool.length > 64) pool.shift();
    pools.set(kind, pool);
  } else if (v && typeof v === 'object') {
    for (const x of Object.values(v)) remember(x, depth + 1);
  }
}

/** IDs in a 2xx answer join the pools path parameters are drawn from. */
export function rememberIds(body: Buffer): void {
  try {
    remember(JSON.parse(body.toString('utf8')));
  } catch { /* not JSON */ }
}

function fixtures(s: FuzzServer): void {
  if (pools.size) return;
  for (const t of [s.rootToken, s.userToken]) own.add(t.split('.')[1] ?? '');
  own.add(s.userKey.id);
  own.add(s.rootKey.id);
  remember([s.ids.clusterId, s.ids.meshId, s.ids.tokenClusterId, s.ids.principalId, s.ids.roleId]);
}

function pathValue(rng: Rng, path: string, param: string): string {
  if (rng.chance(0.05)) return rng.pick(['x', 'cls_00000000000000000000000000', 'fz-k8s', 'fz-user', 'fz-all', '%2e%2e', 'A'.repeat(129), '%ff', 'usr_']);
  const kind = param === 'tokenId' ? (path.includes('webhook') ? 'wht' : 'tok') : param === 'accessKeyId' ? 'KC' : param === 'policy' ? 'pol'
    : param === 'principal' ? rng.pick(['usr', 'rol']) : path.startsWith('/v1/clusters') ? 'cls' : path.startsWith('/v1/principals') ? rng.pick(['usr', 'rol'])
      : path.startsWith('/v1/credentials') ? 'crd' : 'cls';
  const pool = pools.get(kind);
  return pool?.length ? rng.pick(pool) : rng.pick(['fz-k8s', 'fz-user', 'fz-all']);
}

interface Gens { csr: () => string; ca: () => { certPem: string; keyPem: string } }

function valueOf(rng: Rng, s: FuzzServer, name: string, schema: Schema, gens: Gens, depth = 0): unknown {
  if (schema.anyOf?.length || schema.oneOf?.length) return valueOf(rng, s, name, rng.pick((schema.anyOf ?? schema.oneOf)!), gens, depth);
  if (schema.const !== undefined) return schema.const;
  if (schema.enum) return rng.pick(schema.enum);
  switch (name) {
    case 'csr': return rng.chance(0.5) ? rng.pick(seeds().csrs) : gens.csr();
    case 'serverCaPem': return rng.chance(0.5) ? rng.pick(seeds().others) : gens.ca().certPem;
    case 'name': return `fz-${rng.int(1e9).toString(36)}`;
    case 'publicEndpoint': case 'privateEndpoint': return rng.pick(['https://192.0.2.1:6443', 'https://[2001:db8::1]:6443', 'https://k8s.example:443/']);
    case 'principalId': return rng.pick(pools.get('usr') ?? [s.ids.principalId]);
    case 'policy': return rng.chance(0.5) ? 'fz-all' : rng.pick(pools.get('pol') ?? ['fz-all']);
    case 'token': return s.userToken;
    case 'document': return { Version: '1', Statement: [{ Effect: rng.pick(['Allow', 'Deny']), Action: [rng.pick(['kubecred:*', 'kubecred:GetKubeconfig', 'cs:DescribeClusterUserKubeconfig'])], Resource: ['*'],
      ...(rng.chance(0.5) ? { Condition: { NumericLessThanEquals: { 'cs:KubeConfigDurationMinutes': [60] }, IpAddress: { 'acs:SourceIp': ['10.0.0.0/8'] } } } : {}) }] };
  }
  switch (schema.type) {
    case 'object': {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(schema.properties ?? {})) {
        if (schema.required?.includes(k) || rng.chance(0.5)) out[k] = valueOf(rng, s, k, v, gens, depth + 1);
      }
      // An imported client CA is a pair, from one seed.
      if ('clientCaCertPem' in out || 'clientCaKeyPem' in out) {
        const ca = rng.chance(0.5) ? rng.pick(seeds().cas) : gens.ca();
        out.clientCaCertPem = ca.certPem;
        out.clientCaKeyPem = ca.keyPem;
        delete out.clientCaAlgorithm;
      }
      return out;
    }
    case 'array': return depth > 4 ? [] : Array.from({ length: rng.int(4) }, () => valueOf(rng, s, name, schema.items ?? {}, gens, depth + 1));
    case 'integer': case 'number': {
      const lo = schema.minimum ?? 0;
      const hi = schema.maximum ?? 1000;
      return rng.chance(0.8) ? rng.range(lo, Math.min(hi, lo + 100_000)) : rng.pick([lo, hi, lo - 1, hi + 1]);
    }
    case 'boolean': return rng.chance(0.5);
    case 'string': {
      if (schema.pattern === '^[0-9]{1,4}$') return String(rng.range(1, 500));
      const max = Math.min(schema.maxLength ?? 32, 32);
      return rng.chance(0.8) ? rng.pick(['dev', 'ops', 'fz', 'x'.repeat(Math.max(1, max)), 'team-a']) : 'y'.repeat(rng.range(schema.minLength ?? 0, max));
    }
    default: return {};
  }
}

/** A well-formed request for `op`, authenticated as the root (mostly) or the fixture user. */
export function nativeRequest(rng: Rng, s: FuzzServer, op: Op, gens: Gens): Req {
  fixtures(s);
  const path = op.path.replace(/\{(\w+)\}/g, (_, p: string) => encodeURIComponent(pathValue(rng, op.path, p)));
  const query = op.query.filter(() => rng.chance(0.4)).map((q) => `${q.name}=${encodeURIComponent(String(valueOf(rng, s, q.name, q.schema, gens)))}`);
  const headers: [string, string][] = [['host', `${s.host}:${s.port}`]];
  const who = rng.int(10);
  if (who < 8) headers.push(['authorization', `Bearer ${s.rootToken}`]);
  else if (who < 9) headers.push(['authorization', `Bearer ${s.userToken}`]);
  let body = Buffer.alloc(0);
  if (op.body) {
    headers.push(['content-type', 'application/json']);
    body = Buffer.from(JSON.stringify(valueOf(rng, s, '', op.body, gens)));
  }
  return { method: op.method, url: `${path}${query.length ? `?${query.join('&')}` : ''}`, headers, body };
}
