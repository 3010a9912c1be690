// SDK-HMAC-SHA256 as @huaweicloud/huaweicloud-sdk-core's AKSKSigner computes it, rebuilt from what
// arrived on the wire. Pure functions; it must never decide who the caller is or log any input.

import crypto from 'node:crypto';

export const ALGORITHM = 'SDK-HMAC-SHA256';
export const EMPTY_BODY_SHA256 = crypto.createHash('sha256').update('').digest('hex');

export interface ParsedAuthorization { accessKeyId: string; signedHeaders: string[]; signature: string }

// Unreserved characters stay as they are; every other UTF-8 byte becomes %XX (uppercase), like the SDK.
export function urlEncode(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`, or null when it is not that shape. */
export function parseAuthorization(header: string): ParsedAuthorization | null {
  if (!header.startsWith(`${ALGORITHM} `)) return null;
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return null;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Access');
  const signed = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!accessKeyId || !signed || !signature || !/^[0-9a-f]{64}$/.test(signature)) return null;
  const signedHeaders = signed.split(';');
  if (signedHeaders.some((h) => !/^[a-z0-9-]+$/.test(h))) return null;
  return { accessKeyId, signedHeaders, signature };
}

/** The SDK encodes each path segment it built; the wire already carries them encoded, so `%` becomes `%25` here too. */
export function canonicalUri(rawPath: string): string {
  const p = rawPath.split('/').map(urlEncode).join('/');
  return p.endsWith('/') ? p : `${p}/`;
}

export function canonicalQuery(rawQuery: string): string {
  const byKey = new Map<string, string[]>();
  // Appended in place: copying the list for every value was quadratic in how often a key repeats (5,000 "a=" in a
  // request line, ~50-100 ms before any key was looked up; found by npm run fuzz).
  for (const [k, v] of new URLSearchParams(rawQuery)) {
    const values = byKey.get(k);
    if (values) values.push(v);
    else byKey.set(k, [v]);
  }
  const out: string[] = [];
  for (const k of [...byKey.keys()].sort()) {
    for (const v of byKey.get(k)!.sort()) out.push(`${urlEncode(k)}=${urlEncode(v)}`);
  }
  return out.join('&');
}

export interface SignedRequestFacts {
  method: string;
  /** The path and query exactly as received (`req.raw.url`). */
  rawUrl: string;
  /** Lowercased header names to values, as received. */
  headers: Record<string, string | string[] | undefined>;
  signedHeaders: string[];
  payloadHash: string;
  sdkDate: string;
}

export function stringToSign(f: SignedRequestFacts): string {
  const q = f.rawUrl.indexOf('?');
  const path = q < 0 ? f.rawUrl : f.rawUrl.slice(0, q);
  const query = q < 0 ? '' : f.rawUrl.slice(q + 1);
  const headerLines = f.signedHeaders.map((h) => {
    const v = f.headers[h];
    return `${h}:${Array.isArray(v) ? v.join(',') : (v ?? '')}\n`;
  }).join('');
  const canonical = [f.method.toUpperCase(), canonicalUri(path), canonicalQuery(query), headerLines, f.signedHeaders.join(';'), f.payloadHash].join('\n');
  return [ALGORITHM, f.sdkDate, sha256Hex(canonical)].join('\n');
}

export function sign(secret: string, toSign: string): string {
  return crypto.createHmac('sha256', secret).update(toSign).digest('hex');
}

export function sha256Hex(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** `YYYYMMDDTHHmmssZ` to a Date, or null. */
export function parseSdkDate(v: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  if (!m) return null;
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]));
  return d.getUTCMonth() === +m[2] - 1 && d.getUTCDate() === +m[3] ? d : null;
}
