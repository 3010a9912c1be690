// Text, JSON and HTTP-request mutators: tokens from each target's dictionary, unicode and NUL, duplicated
// fields and parameters, deep nesting, huge values. Requests stay structured (method, URL, headers, body).

import type { Rng } from './rng.ts';

const GENERIC_TOKENS = [
  '\0', '\r\n', '\n', '\t', ' ', ',', ';', '=', '"', "'", '%', '%00', '%ff', '%zz', '%2F', '%25', '\\', '/', '..', '?', '&', '#', '*',
  '\u202e', '\ud800', '\uffff', 'é', '𝕏', '\u0085', '\u2028', '-1', '0', '1e400', 'NaN', 'null', 'true', '[]', '{}', 'A'.repeat(300),
];

export function mutateText(rng: Rng, s: string, dict: readonly string[] = []): string {
  const at = () => rng.int(s.length + 1);
  const token = () => (dict.length && rng.chance(0.6) ? rng.pick(dict) : rng.pick(GENERIC_TOKENS));
  switch (rng.int(9)) {
    case 0: { const p = at(); return s.slice(0, p) + token() + s.slice(p); }
    case 1: { const p = at(); return s.slice(0, p) + s.slice(p + rng.small(16) + 1); }
    case 2: { const p = at(); return s.slice(0, p) + token() + s.slice(p + rng.small(8) + 1); }
    case 3: return s.slice(0, at());
    case 4: { // a run repeated: long values, many separators
      const p = at(); const run = s.slice(p, p + rng.small(16) + 1) || token();
      return s.slice(0, p) + run.repeat(rng.chance(0.2) ? rng.range(50, 2000) : rng.range(2, 5)) + s.slice(p);
    }
    case 5: return rng.chance(0.5) ? s.toUpperCase() : s.toLowerCase();
    case 6: return '';
    case 7: { const p = at(); const c = s.charCodeAt(p); return Number.isNaN(c) ? s + token() : s.slice(0, p) + String.fromCharCode(c ^ (1 << rng.int(7))) + s.slice(p + 1); }
    default: return s + token();
  }
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function replacement(rng: Rng, dict: readonly string[]): Json {
  switch (rng.int(12)) {
    case 0: return null;
    case 1: return rng.chance(0.5);
    case 2: return rng.pick([0, -1, 1.5, 2 ** 53 + 2, -(2 ** 31), 1e21, 15, 60, 4320, 4321, 876000, 876001, 1827, -0]);
    case 3: return rng.pick(dict.length ? dict : GENERIC_TOKENS);
    case 4: return 'x'.repeat(rng.pick([64, 65, 129, 1025, 70_000]));
    case 5: return [];
    case 6: return {};
    case 7: { let v: Json = 'deep'; for (let i = rng.range(10, 400); i > 0; i--) v = rng.chance(0.5) ? [v] : { a: v }; return v; }
    case 8: return Array.from({ length: rng.range(2, 200) }, () => rng.pick(dict.length ? dict : ['a']));
    case 9: return rng.pick(['\u0000', '\ud800', 'system:masters', 'system:nodes', '*', '../../etc/passwd', 'usr_', 'cls_x', '']);
    case 10: return { Version: '1', Statement: [{ Effect: 'Allow', Action: ['*'], Resource: ['*'] }] };
    default: return rng.int(1_000_000);
  }
}

function containers(v: Json, out: (Json[] | { [k: string]: Json })[] = [], depth = 0): (Json[] | { [k: string]: Json })[] {
  if (v !== null && typeof v === 'object' && depth < 50) {
    out.push(v);
    for (const c of Array.isArray(v) ? v : Object.values(v)) containers(c, out, depth + 1);
  }
  return out;
}

/** A structurally mutated copy of a JSON value, serialized; sometimes with text damage no serializer makes. */
export function mutateJson(rng: Rng, value: unknown, dict: readonly string[] = []): string {
  let root: Json;
  try {
    root = structuredClone(value as Json) ?? {};
  } catch {
    return mutateText(rng, JSON.stringify(value) ?? '', dict); // nested too deep to copy: damage the text instead
  }
  const wrap: Json[] = [root];
  const n = 1 + rng.small(3);
  for (let k = 0; k < n; k++) {
    const c = rng.pick(containers(wrap));
    const keys = Array.isArray(c) ? c.map((_, i) => String(i)) : Object.keys(c);
    const key = keys.length ? rng.pick(keys) : undefined;
    const put = (k2: string, v: Json) => { if (Array.isArray(c)) c[Number(k2)] = v; else c[k2] = v; };
    switch (rng.int(5)) {
      case 0: if (key !== undefined) { if (Array.isArray(c)) c.splice(Number(key), 1); else delete c[key]; } break;
      case 1: if (Array.isArray(c)) c.push(replacement(rng, dict)); else c[rng.chance(0.5) ? rng.pick(dict.length ? dict : ['extra']) : `x${rng.int(9)}`] = replacement(rng, dict); break;
      case 2: { const cur = key !== undefined ? (c as Record<string, Json>)[key] : undefined; if (key !== undefined && typeof cur === 'string') put(key, mutateText(rng, cur, dict)); else if (key !== undefined) put(key, replacement(rng, dict)); break; }
      default: if (key !== undefined) put(key, replacement(rng, dict));
    }
  }
  let text = JSON.stringify(wrap[0]) ?? '';
  if (rng.chance(0.15)) {
    switch (rng.int(5)) {
      case 0: text = text.replace(/-?\d+(\.\d+)?/, rng.pick(['1e400', '-1e400', '1E2', '0.0000001e-400', '00', '1.'])); break;
      case 1: { const m = /"([^"\\]+)":/.exec(text); if (m) text = text.replace(m[0], `${m[0]}null,"${m[1]}":`); break; } // a duplicated key
      case 2: text = '['.repeat(rng.range(100, 20_000)) + text; break;
      case 3: text = text.replace('{', '{"__proto__":{"isRoot":true},'); break;
      default: text = mutateText(rng, text, dict);
    }
  }
  return text;
}

export interface Req {
  method: string;
  /** Path and query exactly as sent on the request line. */
  url: string;
  headers: [string, string][];
  body: Buffer;
}

export const reqToJson = (r: Req) => ({ method: r.method, url: r.url, headers: r.headers, body: r.body.toString('base64') });
export const reqFromJson = (j: { method: string; url: string; headers: [string, string][]; body: string }): Req =>
  ({ method: j.method, url: j.url, headers: j.headers, body: Buffer.from(j.body, 'base64') });

/**
 * Whether Node's HTTP parser would let the request through to a route at all: the request line and headers
 * within http.maxHeaderSize (16 KiB; larger is a 431 before any code of ours), the body within the 1 MiB limit.
 */
export function reachesRoutes(r: Req, slack = 1): boolean {
  let size = Buffer.byteLength(`${r.method} ${r.url} HTTP/1.1\r\n`);
  for (const [n, v] of r.headers) size += Buffer.byteLength(`${n}: ${v}\r\n`);
  return size <= 16 * 1024 * slack && r.body.length <= 1024 * 1024 * slack;
}

// Headers Node keeps only the first of when a request repeats them (IncomingMessage), as the server sees them.
const FIRST_ONLY = new Set(['age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host', 'if-modified-since',
  'if-unmodified-since', 'last-modified', 'location', 'max-forwards', 'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent']);

/** Headers as Node hands them to a route: lowercased names, latin1 values, duplicates joined or dropped. */
export function nodeHeaders(pairs: [string, string][]): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [rawName, rawValue] of pairs) {
    const name = rawName.toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(name)) continue; // the HTTP parser would refuse the request
    const value = Buffer.from(rawValue, 'utf8').toString('latin1').replace(/[\x00-\x08\x0a-\x1f\x7f]/g, '').trim();
    const prev = out[name];
    if (prev === undefined) out[name] = name === 'set-cookie' ? [value] : value;
    else if (Array.isArray(prev)) prev.push(value);
    else if (!FIRST_ONLY.has(name)) out[name] = `${prev}${name === 'cookie' ? '; ' : ', '}${value}`;
  }
  return out;
}

/** encodeURIComponent, except that a lone surrogate (which it refuses) goes raw: that is worth sending too. */
const safeEncode = (s: string) => {
  try {
    return encodeURIComponent(s);
  } catch {
    return s;
  }
};

function mutateUrl(rng: Rng, url: string, dict: readonly string[]): string {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const params = q < 0 ? [] : url.slice(q + 1).split('&');
  if (rng.chance(0.4)) {
    const segs = path.split('/');
    const i = rng.int(segs.length);
    segs[i] = rng.chance(0.3) ? rng.pick(['..', '%2e%2e', '', '%ff', 'x'.repeat(200), '%00', '\u00e9']) : mutateText(rng, segs[i]!, dict);
    return segs.join('/') + (q < 0 ? '' : `?${params.join('&')}`);
  }
  const i = rng.int(Math.max(1, params.length));
  switch (rng.int(4)) {
    case 0: { // a parameter given twice, or thousands of times (short ones most, as many as a request line holds)
      const p = params.length && rng.chance(0.7) ? params[i]! : rng.pick(['a=', 'a', '=', 'x=1', '']);
      params.push(...Array<string>(rng.chance(0.2) ? rng.range(100, Math.max(100, Math.floor(15_000 / (p.length + 1)))) : 1).fill(p));
      break;
    }
    case 1: params.splice(i, 1); break;
    case 2: params.push(`${rng.pick(dict.length ? dict : ['x'])}=${safeEncode(mutateText(rng, 'v', dict))}`); break;
    default: if (params.length) params[i] = mutateText(rng, params[i]!, dict);
  }
  return `${path}${params.length ? `?${params.join('&')}` : ''}`;
}

/** Headers with meaning to Node or kubecred that a mutation may add. */
const HEADERS: [string, string][] = [
  ['expect', '100-continue'], ['expect', 'something'], ['transfer-encoding', 'chunked'], ['content-encoding', 'gzip'], ['connection', 'close'],
  ['connection', 'upgrade'], ['upgrade', 'websocket'], ['x-forwarded-for', '10.0.0.1, 127.0.0.1'], ['x-forwarded-proto', 'https'],
  ['cookie', 'kubecred_session=abc; __Host-kubecred_session=def'], ['x-csrf-token', 'x'], ['sec-fetch-site', 'cross-site'], ['content-type', 'text/plain'],
  ['content-type', 'application/json; charset=latin1'], ['content-type', 'application/x-www-form-urlencoded'], ['accept-encoding', 'gzip, br'],
  ['range', 'bytes=0-1'], ['if-none-match', '*'], ['authorization', 'Basic YTpi'], ['authorization', 'Bearer '], ['x-auth-token', ''],
];

/** One structural change to a request: a header, the URL, the body (JSON-aware when it is JSON), rarely the method. */
export function mutateReq(rng: Rng, r: Req, dict: readonly string[]): Req {
  const out: Req = { method: r.method, url: r.url, headers: r.headers.map(([n, v]) => [n, v] as [string, string]), body: r.body };
  const h = out.headers;
  switch (rng.int(8)) {
    case 0: if (h.length && rng.chance(0.6)) h.splice(rng.int(h.length), 1); else h.push(rng.pick(HEADERS)); break;
    case 1: if (h.length) { const [n, v] = rng.pick(h); h.push([rng.chance(0.5) ? n : n.toUpperCase(), mutateText(rng, v, dict)]); } break;
    case 2: case 3: if (h.length) { const i = rng.int(h.length); h[i] = [h[i]![0], mutateText(rng, h[i]![1], dict)]; } break;
    case 4: out.url = mutateUrl(rng, out.url, dict); break;
    case 5: {
      let parsed: unknown;
      try { parsed = JSON.parse(r.body.toString('utf8')); } catch { parsed = undefined; }
      out.body = Buffer.from(parsed !== undefined && rng.chance(0.8) ? mutateJson(rng, parsed, dict) : mutateText(rng, r.body.toString('utf8'), dict));
      break;
    }
    case 6: out.url = mutateUrl(rng, out.url, dict); break;
    default: out.method = rng.chance(0.8) ? rng.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS']) : mutateText(rng, r.method, ['GET']);
  }
  return out;
}
