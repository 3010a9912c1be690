// Recomputes the three Alibaba Cloud request signatures (ACS3-HMAC-SHA256, ROA v1, RPC v1) exactly as the
// official SDKs build them. Pure functions of the request: never decide, log or compare anything here.

import crypto from 'node:crypto';

/** encodeURIComponent plus the five characters the SDK also escapes. */
export function acsEncode(s: string): string {
  return encodeURIComponent(s).replace(/!/g, '%21').replace(/'/g, '%27').replace(/\(/g, '%28').replace(/\)/g, '%29').replace(/\*/g, '%2A');
}

export const sha256Hex = (body: Buffer) => crypto.createHash('sha256').update(body).digest('hex');

export type Headers = Record<string, string | string[] | undefined>;

const headerValues = (headers: Headers, name: string): string[] => {
  const v = headers[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
};

export interface Acs3Input {
  method: string;
  /** The path exactly as it arrived, still percent-encoded. */
  rawPath: string;
  query: URLSearchParams;
  headers: Headers;
  signedHeaders: string[];
  contentSha256: string;
}

export function acs3StringToSign(r: Acs3Input): string {
  // The SDK signs the path it percent-encoded itself; these three rewrites are its own finishing touches.
  const uri = r.rawPath.replace(/\+/g, '%20').replace(/\*/g, '%2A').replace(/%7E/g, '~');
  const params = new Map<string, string>();
  for (const [k, v] of r.query) params.set(k, v);
  // Default sort (UTF-16 code units) is what the SDK uses; the key stays raw, only the value is encoded.
  const query = [...params.keys()].sort().map((k) => `${k}=${acsEncode(params.get(k) ?? '')}`).join('&');
  const canonicalHeaders = r.signedHeaders
    .map((h) => `${h}:${headerValues(r.headers, h).map((v) => v.trim()).sort().join(',')}\n`)
    .join('');
  const canonical = [r.method.toUpperCase(), uri, query, canonicalHeaders, r.signedHeaders.join(';'), r.contentSha256].join('\n');
  return `ACS3-HMAC-SHA256\n${crypto.createHash('sha256').update(canonical, 'utf8').digest('hex')}`;
}

export const acs3Signature = (stringToSign: string, secret: string): Buffer =>
  crypto.createHmac('sha256', secret).update(stringToSign, 'utf8').digest();

export function roaV1StringToSign(r: { method: string; rawPath: string; query: URLSearchParams; headers: Headers }): string {
  const one = (name: string) => headerValues(r.headers, name).join(',');
  const acsHeaders = Object.keys(r.headers)
    .map((k) => k.toLowerCase())
    .filter((k) => k.startsWith('x-acs-'))
    .sort()
    .map((k) => `${k}:${one(k).replace(/[\t\n\r\f]/g, ' ').trim()}\n`)
    .join('');
  const params = new Map<string, string>();
  for (const [k, v] of r.query) params.set(k, v);
  const keys = [...params.keys()].sort();
  // v1 signs the query raw (decoded, not re-encoded): that is how the SDK does it.
  const resource = keys.length ? `${r.rawPath}?${keys.map((k) => `${k}=${params.get(k)}`).join('&')}` : r.rawPath;
  return `${r.method.toUpperCase()}\n${one('accept')}\n${one('content-md5')}\n${one('content-type')}\n${one('date')}\n${acsHeaders}${resource}`;
}

export const roaV1Signature = (stringToSign: string, secret: string): Buffer =>
  crypto.createHmac('sha1', secret).update(stringToSign, 'utf8').digest();

/** `params` is every query and form-body parameter except Signature. */
export function rpcV1StringToSign(method: string, params: Map<string, string>): string {
  const canonical = [...params.keys()].sort().map((k) => `${acsEncode(k)}=${acsEncode(params.get(k) ?? '')}`).join('&');
  return `${method.toUpperCase()}&${acsEncode('/')}&${acsEncode(canonical)}`;
}

export const rpcV1Signature = (stringToSign: string, secret: string): Buffer =>
  crypto.createHmac('sha1', `${secret}&`).update(stringToSign, 'utf8').digest();

/** Constant time on equal-length digests; a length mismatch is simply false (the length is public). */
export function digestsEqual(expected: Buffer, presented: Buffer): boolean {
  return expected.length === presented.length && crypto.timingSafeEqual(expected, presented);
}
