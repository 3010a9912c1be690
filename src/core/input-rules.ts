// Shape checks for names, endpoints and PEM text that arrive from any surface.
// Core re-checks what schemas already checked: the vendor surfaces and the CLI reach core too.

import { MAX_PEM_BYTES } from '../pki/csr.ts';
import { invalid, KubecredError } from './errors.ts';

/**
 * A name (account, cluster, principal, policy, token) and a region, each with the rule it states. The API's schemas
 * declare the same expressions as their `pattern` (api/native/schemas.ts), so /openapi.json says what core checks.
 */
export const NAME_RE = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;
export const NAME_RULE = "1-63 lowercase letters, digits, '.', '_' or '-', starting and ending with a letter or digit";
export const REGION_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const REGION_RULE = `1-63 lowercase letters, digits or '-', e.g. "on-prem-1"`;

export function checkName(v: unknown, field: string): string {
  if (typeof v !== 'string' || !NAME_RE.test(v)) throw invalid(`${field} must be ${NAME_RULE}`, { field });
  return v;
}

/** The ID prefixes lookups tell IDs from names by (lookup.ts, policy-service.ts). */
const ID_PREFIX_RE = /^(usr|rol|cls|pol)_/;

/** A principal's, cluster's or policy's name: also looked up in place of its ID, so it may not look like one. */
export function checkResourceName(v: unknown, field: string): string {
  const name = checkName(v, field);
  if (ID_PREFIX_RE.test(name)) throw invalid(`${field} may not start with usr_, rol_, cls_ or pol_: names and IDs are used in the same places, and those prefixes mark IDs`, { field });
  return name;
}

export function checkRegion(v: unknown, field = 'region'): string {
  if (typeof v !== 'string' || !REGION_RE.test(v)) throw invalid(`${field} must be ${REGION_RULE}`, { field });
  return v;
}

/** An API server address as kubectl wants it: https, a host, an optional port, no credentials or query. */
export function checkEndpoint(v: unknown, field: string): string {
  let u: URL;
  try {
    if (typeof v !== 'string' || v.length > 2048) throw new Error('not a string');
    u = new URL(v);
  } catch {
    throw invalid(`${field} must be an https:// URL such as https://10.0.0.10:6443`, { field });
  }
  if (u.protocol !== 'https:' || u.username || u.password || u.search || u.hash) {
    throw invalid(`${field} must be an https:// URL with no user, query or fragment, such as https://10.0.0.10:6443`, { field });
  }
  // The URL parser drops tabs, newlines and outer spaces before it checks: what is stored and written into every
  // kubeconfig is the string as given, so it must hold none.
  if (/[\u0000-\u0020\u007f-\u00a0\u2028\u2029]/.test(v)) throw invalid(`${field} must not contain spaces or control characters`, { field });
  return v.replace(/\/+$/, '');
}

const CERT_BEGIN = '-----BEGIN CERTIFICATE-----';
const CERT_END = '-----END CERTIFICATE-----';

/**
 * Every BEGIN CERTIFICATE ... END CERTIFICATE in the text, other text ignored, in one pass. (The lazy regular
 * expression it replaces searched to the end of the text again for every BEGIN without an END: quadratic, ~40 ms
 * for 64 KiB of them, found by npm run fuzz.)
 */
function certificateBlocks(v: string): string[] {
  const out: string[] = [];
  for (let pos = 0; ;) {
    const begin = v.indexOf(CERT_BEGIN, pos);
    if (begin < 0) return out;
    const end = v.indexOf(CERT_END, begin + CERT_BEGIN.length + 1);
    // No END after this BEGIN means none after any later one either.
    if (end < 0) return out;
    out.push(v.slice(begin, end + CERT_END.length));
    pos = end + CERT_END.length;
  }
}

/** One or more PEM certificates (a CA bundle); each must parse. */
export function checkCertificateBundle(v: unknown, field: string, parse: (pem: string) => void): string {
  if (typeof v !== 'string') throw invalid(`${field} must be PEM text of at most 64 KiB`, { field });
  // Over the cap is 413, as for every PEM kubecred takes (a CSR, a client CA), counted in bytes as they are.
  if (Buffer.byteLength(v) > MAX_PEM_BYTES) throw new KubecredError('PAYLOAD_TOO_LARGE', `${field} is larger than ${MAX_PEM_BYTES} bytes (64 KiB)`, { details: { field } });
  const blocks = certificateBlocks(v);
  if (!blocks.length) throw invalid(`${field} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`, { field });
  for (const b of blocks) {
    try {
      parse(b);
    } catch {
      throw invalid(`${field} holds a certificate that cannot be parsed`, { field });
    }
  }
  return blocks.join('\n') + '\n';
}
