// Authenticates an Alibaba Cloud-signed request (ACS3-HMAC-SHA256, ROA v1, RPC v1) into a core Actor:
// date window, key, signature in constant time, then a one-time nonce. Never log or echo a secret or signature.

import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../core/actor.ts';
import type { Authority } from '../../core/authority.ts';
import { AliyunError, invalidParameter, missingParameter } from './aliyun-errors.ts';
import {
  acs3Signature, acs3StringToSign, digestsEqual, roaV1Signature, roaV1StringToSign, rpcV1Signature, rpcV1StringToSign, sha256Hex,
} from './signature-compute.ts';

/** How far a request's date may be from the server's clock, either way; also how long a nonce is kept. */
export const DATE_WINDOW_MS = 15 * 60 * 1000;

const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/;
const NONCE = /^[\x21-\x7e]{1,128}$/;

const incomplete = (why: string) => new AliyunError('IncompleteSignature', 400, `The request signature does not conform to Alibaba Cloud standards: ${why}.`);
const mismatch = (why = 'Specified signature is not matched with our calculation') =>
  new AliyunError('SignatureDoesNotMatch', 400, `${why}. Check your AccessKey secret and that the request was not altered on its way.`);

export interface SplitUrl { rawPath: string; query: URLSearchParams }

/**
 * A parameter given twice could be signed with one value and acted on with another (the signature's canonical
 * form and the routes read different copies), so it is refused; the SDKs send each once (lists comma-joined).
 */
function refuseRepeated(keys: Iterable<string>): void {
  const seen = new Set<string>();
  for (const k of keys) {
    if (seen.has(k)) throw invalidParameter(k, 'it was given more than once; send each parameter once (lists comma-joined)');
    seen.add(k);
  }
}

/**
 * More than any Alibaba operation takes (they take under 20): a form of 120,000 parameters took ~0.7 s to refuse, on
 * the event loop every surface shares, before its signature could be checked.
 */
export const MAX_PARAMETERS = 256;

function parameters(text: string, where: string): URLSearchParams {
  let count = text.length ? 1 : 0;
  for (let i = text.indexOf('&'); i >= 0 && count <= MAX_PARAMETERS; i = text.indexOf('&', i + 1)) count++;
  if (count > MAX_PARAMETERS) throw new AliyunError('InvalidParameter', 400, `The request has more than ${MAX_PARAMETERS} parameters in its ${where}; no operation takes that many.`);
  return new URLSearchParams(text);
}

// Read once per request: the signature check, the route and the audit all ask.
const splitUrls = new WeakMap<FastifyRequest, SplitUrl>();
const rpcParamsOf = new WeakMap<FastifyRequest, Map<string, string>>();

export function splitUrl(req: FastifyRequest): SplitUrl {
  const known = splitUrls.get(req);
  if (known) return known;
  const url = req.raw.url ?? req.url;
  const i = url.indexOf('?');
  const query = parameters(i < 0 ? '' : url.slice(i + 1), 'query');
  refuseRepeated(query.keys());
  const split = { rawPath: i < 0 ? url : url.slice(0, i), query };
  splitUrls.set(req, split);
  return split;
}

const bodyOf = (req: FastifyRequest): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));
const header = (req: FastifyRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
};

/** RPC parameters: the query and a form body merged (older clients put everything in the body). */
export function rpcParams(req: FastifyRequest): Map<string, string> {
  const known = rpcParamsOf.get(req);
  if (known) return known;
  const pairs = [...splitUrl(req).query];
  const type = header(req, 'content-type') ?? '';
  if (/^application\/x-www-form-urlencoded/i.test(type)) {
    for (const pair of parameters(bodyOf(req).toString('utf8'), 'body')) pairs.push(pair);
  }
  refuseRepeated(pairs.map(([k]) => k));
  const params = new Map(pairs);
  rpcParamsOf.set(req, params);
  return params;
}

function parseAcs3(auth: string): { keyId: string; signedHeaders: string[]; signature: Buffer } {
  const fields = new Map<string, string>();
  for (const part of auth.slice('ACS3-HMAC-SHA256 '.length).split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const keyId = fields.get('Credential');
  const signed = fields.get('SignedHeaders');
  const sig = fields.get('Signature');
  if (!keyId || !signed || !sig) throw incomplete('the Authorization header needs Credential, SignedHeaders and Signature');
  if (!/^[0-9a-f]{64}$/.test(sig)) throw incomplete('Signature must be 64 lowercase hex digits');
  if (!/^[a-z0-9-]+(;[a-z0-9-]+)*$/.test(signed)) throw incomplete('SignedHeaders must be lowercase header names joined by ";"');
  const signedHeaders = signed.split(';');
  for (const h of ['host', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-content-sha256']) {
    if (!signedHeaders.includes(h)) throw incomplete(`the header ${h} must be signed`);
  }
  return { keyId, signedHeaders, signature: Buffer.from(sig, 'hex') };
}

function checkDate(value: string | undefined, name: string, now: Date, parse: (v: string) => number): number {
  if (!value) throw missingParameter(name);
  const at = parse(value);
  if (!Number.isFinite(at)) throw new AliyunError('InvalidTimeStamp.Format', 400, `Specified ${name} "${value.slice(0, 64)}" is not in a valid format.`);
  if (Math.abs(at - now.getTime()) > DATE_WINDOW_MS) {
    throw new AliyunError('InvalidTimeStamp.Expired', 400, `Specified ${name} ${new Date(at).toISOString()} is more than 15 minutes away from the server time ${now.toISOString()}; check your clock.`);
  }
  return at;
}

const parseIso = (v: string) => (ISO_SECONDS.test(v) ? Date.parse(v) : NaN);
const parseHttpDate = (v: string) => (/GMT$/.test(v) ? Date.parse(v) : NaN);

interface Presented { keyId: string; nonce: string; dateMs: number; verify: (secret: string) => boolean }

function presented(req: FastifyRequest, now: Date): Presented {
  const auth = header(req, 'authorization');
  const { rawPath, query } = splitUrl(req);
  if (auth === undefined || auth.trim() === '') {
    if (!rpcParams(req).has('Signature')) throw missingParameter('Authorization');
    return presentedRpcV1(req, now);
  }
  if (auth.startsWith('ACS3-HMAC-SHA256 ')) {
    const a = parseAcs3(auth);
    // ACS3 signs every x-acs-* header: one left out (x-acs-action, say, which picks the RPC operation) could be
    // changed by anyone on the way without the signature noticing.
    for (const name of Object.keys(req.headers)) {
      if (name.startsWith('x-acs-') && !a.signedHeaders.includes(name)) throw incomplete(`the header ${name} must be signed (SignedHeaders lists every x-acs-* header)`);
    }
    const dateMs = checkDate(header(req, 'x-acs-date'), 'x-acs-date', now, parseIso);
    const nonce = header(req, 'x-acs-signature-nonce');
    if (!nonce || !NONCE.test(nonce)) throw missingParameter('x-acs-signature-nonce');
    const contentSha256 = header(req, 'x-acs-content-sha256') ?? '';
    return {
      keyId: a.keyId, nonce, dateMs,
      verify: (secret) => {
        if (contentSha256 !== sha256Hex(bodyOf(req))) return false;
        const sts = acs3StringToSign({ method: req.method, rawPath, query, headers: req.headers, signedHeaders: a.signedHeaders, contentSha256 });
        return digestsEqual(acs3Signature(sts, secret), a.signature);
      },
    };
  }
  const v1 = /^acs ([^:\s]+):([A-Za-z0-9+/]{27}=)$/.exec(auth);
  if (v1) {
    const dateMs = checkDate(header(req, 'date'), 'Date', now, parseHttpDate);
    const nonce = header(req, 'x-acs-signature-nonce');
    if (!nonce || !NONCE.test(nonce)) throw missingParameter('x-acs-signature-nonce');
    const given = Buffer.from(v1[2], 'base64');
    return {
      keyId: v1[1], nonce, dateMs,
      verify: (secret) => digestsEqual(roaV1Signature(roaV1StringToSign({ method: req.method, rawPath, query, headers: req.headers }), secret), given),
    };
  }
  throw incomplete('the Authorization header must be "ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…" or "acs <AccessKeyId>:<signature>"');
}

function presentedRpcV1(req: FastifyRequest, now: Date): Presented {
  const params = rpcParams(req);
  // Action and Version too: in this style they are signed only as parameters (the x-acs-* headers are not).
  for (const p of ['AccessKeyId', 'SignatureNonce', 'Timestamp', 'Action', 'Version']) if (!params.get(p)) throw missingParameter(p);
  if ((params.get('SignatureMethod') ?? 'HMAC-SHA1') !== 'HMAC-SHA1') throw incomplete('SignatureMethod must be HMAC-SHA1');
  if ((params.get('SignatureVersion') ?? '1.0') !== '1.0') throw incomplete('SignatureVersion must be 1.0');
  const nonce = params.get('SignatureNonce')!;
  if (!NONCE.test(nonce)) throw missingParameter('SignatureNonce');
  const dateMs = checkDate(params.get('Timestamp'), 'Timestamp', now, parseIso);
  const sig = params.get('Signature')!;
  if (!/^[A-Za-z0-9+/]{27}=$/.test(sig)) throw incomplete('Signature must be a base64 HMAC-SHA1 digest');
  const signed = new Map(params);
  signed.delete('Signature');
  return {
    keyId: params.get('AccessKeyId')!, nonce, dateMs,
    verify: (secret) => digestsEqual(rpcV1Signature(rpcV1StringToSign(req.method, signed), secret), Buffer.from(sig, 'base64')),
  };
}

export async function authenticate(req: FastifyRequest, authority: Authority): Promise<Actor> {
  const now = authority.clock.now();
  const p = presented(req, now);
  // The signature is recomputed whether or not the key exists, so the time taken does not tell (the answer does:
  // Alibaba's contract names an unknown key, and its IDs are 110 random bits, not guessable).
  const key = await authority.authenticator.verifyAccessKey(p.keyId, p.verify);
  if (!key.ok && key.unknownKey) throw new AliyunError('InvalidAccessKeyId.NotFound', 404, 'Specified access key is not found or is disabled.');
  if (!key.ok) throw mismatch();
  // Claimed only after the signature holds, so nobody can burn another caller's nonces; kept as long
  // as the request's date is still acceptable, in the store, so a restart does not reopen the window.
  const fresh = await authority.claimOnce(`aliyun:${p.keyId}:${p.nonce}`, new Date(p.dateMs + DATE_WINDOW_MS));
  if (!fresh) throw new AliyunError('SignatureNonceUsed', 400, 'Specified signature nonce was used already; send every request with a new nonce.');
  return { accountId: key.accountId, principal: key.principal, requestId: req.id, sourceIp: req.ip ?? null, surface: 'aliyun' };
}
