// Signs fuzzed requests the way the vendor SDKs do (Alibaba ACS3-HMAC-SHA256, ROA v1, RPC v1; Huawei
// SDK-HMAC-SHA256), so a mutated request can still authenticate and reach the route behind the signature.

import crypto from 'node:crypto';
import { acs3Signature, acs3StringToSign, acsEncode, roaV1Signature, roaV1StringToSign, rpcV1Signature, rpcV1StringToSign } from '../../src/api/aliyun/signature-compute.ts';
import { sign as hwSign, stringToSign as hwStringToSign } from '../../src/api/huaweicloud/cce-signature.ts';
import { nodeHeaders, type Req } from './mutate-text.ts';
import type { Rng } from './rng.ts';

export interface Key { id: string; secret: string }
export type AliyunStyle = 'acs3' | 'roa' | 'rpc';

const isoSeconds = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const nonceOf = (rng: Rng) => rng.bytes(16).toString('hex');
const split = (url: string) => {
  const q = url.indexOf('?');
  return { path: q < 0 ? url : url.slice(0, q), query: new URLSearchParams(q < 0 ? '' : url.slice(q + 1)) };
};
const without = (r: Req, names: RegExp) => r.headers.filter(([n]) => !names.test(n));

/** The request with fresh auth over its current method, URL, headers and body (old auth parts dropped first). */
export function signAliyun(rng: Rng, r: Req, style: AliyunStyle, key: Key, host: string, now = new Date()): Req {
  if (style === 'rpc') {
    const { path, query } = split(r.url);
    for (const p of ['Signature', 'AccessKeyId', 'SignatureNonce', 'Timestamp', 'SignatureMethod', 'SignatureVersion']) query.delete(p);
    if (!query.has('Format')) query.set('Format', 'json');
    query.set('AccessKeyId', key.id);
    query.set('SignatureNonce', nonceOf(rng));
    query.set('Timestamp', isoSeconds(now));
    query.set('SignatureMethod', 'HMAC-SHA1');
    query.set('SignatureVersion', '1.0');
    const params = new Map<string, string>([...query]);
    const type = nodeHeaders(r.headers)['content-type'];
    if (typeof type === 'string' && /^application\/x-www-form-urlencoded/i.test(type)) for (const [k, v] of new URLSearchParams(r.body.toString('utf8'))) params.set(k, v);
    const signature = rpcV1Signature(rpcV1StringToSign(r.method, params), key.secret).toString('base64');
    const encoded = [...query].map(([k, v]) => `${acsEncode(k)}=${acsEncode(v)}`).join('&');
    return { ...r, url: `${path}?${encoded}&Signature=${acsEncode(signature)}`, headers: without(r, /^authorization$/i) };
  }
  const headers = without(r, /^(authorization|host|date|x-acs-date|x-acs-signature-nonce|x-acs-content-sha256|x-acs-signature-method|x-acs-signature-version)$/i);
  headers.push(['host', host], ['x-acs-signature-nonce', nonceOf(rng)]);
  const { path, query } = split(r.url);
  if (style === 'acs3') {
    const contentSha256 = crypto.createHash('sha256').update(r.body).digest('hex');
    headers.push(['x-acs-date', isoSeconds(now)], ['x-acs-content-sha256', contentSha256]);
    const seen = nodeHeaders(headers);
    const signedHeaders = Object.keys(seen).filter((h) => h.startsWith('x-acs-') || h === 'host' || h === 'content-type').sort();
    const sts = acs3StringToSign({ method: r.method, rawPath: path, query, headers: seen, signedHeaders, contentSha256 });
    headers.push(['authorization', `ACS3-HMAC-SHA256 Credential=${key.id},SignedHeaders=${signedHeaders.join(';')},Signature=${acs3Signature(sts, key.secret).toString('hex')}`]);
  } else {
    headers.push(['date', now.toUTCString()], ['x-acs-signature-method', 'HMAC-SHA1'], ['x-acs-signature-version', '1.0']);
    const sts = roaV1StringToSign({ method: r.method, rawPath: path, query, headers: nodeHeaders(headers) });
    headers.push(['authorization', `acs ${key.id}:${roaV1Signature(sts, key.secret).toString('base64')}`]);
  }
  return { ...r, headers };
}

const sdkDate = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');

/** SDK-HMAC-SHA256 over every header present (as the Node SDK does), with X-Sdk-Date now. */
export function signHuawei(r: Req, key: Key, host: string, now = new Date()): Req {
  const headers = without(r, /^(authorization|host|x-sdk-date)$/i);
  const date = sdkDate(now);
  headers.push(['host', host], ['x-sdk-date', date]);
  const seen = nodeHeaders(headers);
  const signedHeaders = Object.keys(seen).sort();
  const payloadHash = crypto.createHash('sha256').update(r.body).digest('hex');
  const sts = hwStringToSign({ method: r.method, rawUrl: r.url, headers: seen, signedHeaders, payloadHash, sdkDate: date });
  headers.push(['authorization', `SDK-HMAC-SHA256 Access=${key.id}, SignedHeaders=${signedHeaders.join(';')}, Signature=${hwSign(key.secret, sts)}`]);
  return { ...r, headers };
}
