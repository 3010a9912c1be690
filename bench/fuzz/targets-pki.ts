// In-process targets for what pki reads from requests: PEM blocks (and a server CA bundle), DER (the reader
// and the certificate parser), PKCS#10 CSRs, and client CA import. Each may throw only its documented error type.

import crypto from 'node:crypto';
import { KubecredError } from '../../src/core/errors.ts';
import { checkCertificateBundle } from '../../src/core/input-rules.ts';
import { importClientCa } from '../../src/pki/ca.ts';
import { parseCsr } from '../../src/pki/csr.ts';
import { children, DerError, decodeBitString, decodeBoolean, decodeOid, decodeTime, readOnly, type Tlv } from '../../src/pki/der-read.ts';
import { readPemBlocks } from '../../src/pki/pem-blocks.ts';
import { hasKeyUsage, isCa, parseCertificate, subjectKeyIdOf } from '../../src/pki/x509.ts';
import { Finding, type Target } from './engine.ts';
import { mutateBytes, mutateDer } from './mutate-bytes.ts';
import { mutateText } from './mutate-text.ts';
import type { Rng } from './rng.ts';
import { pemDer, seeds, toPem } from './seeds.ts';

const PEM_TOKENS = ['-----BEGIN CERTIFICATE-----', '-----END CERTIFICATE-----', '-----BEGIN ', '-----END ', '-----', 'CERTIFICATE REQUEST',
  'Proc-Type: 4,ENCRYPTED\n', '-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n', '=', '==', '\r\n', 'ENCRYPTED'];
const LABELS = ['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST', 'CERTIFICATE', 'PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY', 'X', ''];

/** Only these may escape; a TypeError, RangeError or anything else is a finding. */
function allowOnly(what: string, run: () => unknown, ...types: (new (...a: never[]) => Error)[]): void {
  try {
    run();
  } catch (e) {
    if (types.some((t) => e instanceof t)) return;
    throw new Finding('untyped-error', `${what} threw ${(e as Error)?.name ?? typeof e}: ${String((e as Error)?.message ?? e).slice(0, 200)}`);
  }
}

/** A seed's DER changed structurally, wrapped as PEM (sometimes with another label or damaged text). */
function mutatedPem(rng: Rng, seedPem: string, label: string): string {
  const s = seeds();
  let text = rng.chance(0.85) ? toPem(mutateDer(rng, pemDer(seedPem), s.ders), rng.chance(0.9) ? label : rng.pick(LABELS)) : seedPem;
  if (rng.chance(0.3)) text = text.replace(/\n/g, '\r\n');
  const damage = rng.chance(0.35) ? 1 + rng.small(3) : 0;
  for (let i = 0; i < damage; i++) text = mutateText(rng, text, PEM_TOKENS);
  if (rng.chance(0.05)) text = rng.pick([text + rng.pick(s.csrs), text + rng.pick(s.others), `junk\n${text}`]);
  // Mostly within the 64 KiB PEM cap, sometimes just over it (the cap itself is under test); never megabytes,
  // which the 1 MiB body limit keeps from every parser.
  return text.length > 70_000 ? text.slice(0, 70_000) : text;
}

const textCodec = { encode: (s: string) => Buffer.from(s, 'utf8'), decode: (b: Buffer) => b.toString('utf8') };

function* textShrinks(s: string): Iterable<string> {
  for (let chunk = s.length >> 1; chunk >= 1; chunk >>= 1) {
    for (let at = 0; at + chunk <= s.length; at += chunk) yield s.slice(0, at) + s.slice(at + chunk);
  }
}

export const pemTarget: Target<string> = {
  name: 'pem',
  covers: 'readPemBlocks (pki/pem-blocks.ts) and the server CA bundle check (core/input-rules.ts checkCertificateBundle + X509Certificate): PEM text up to ~64 KiB',
  slowMs: 10,
  generate(rng) {
    const s = seeds();
    const seed = rng.pick([...s.csrs, ...s.others, ...s.cas.flatMap((c) => [c.certPem, c.keyPem])]);
    let text = rng.chance(0.5) ? mutatedPem(rng, seed, rng.pick(LABELS)) : seed;
    for (let i = 1 + rng.small(4); i > 0; i--) text = mutateText(rng, text, PEM_TOKENS);
    return text.length > 66_000 ? text.slice(0, 66_000) : text;
  },
  run(text) {
    allowOnly('readPemBlocks', () => readPemBlocks(text), KubecredError);
    allowOnly('checkCertificateBundle', () => checkCertificateBundle(text, 'serverCaPem', (p) => new crypto.X509Certificate(p)), KubecredError);
  },
  ...textCodec,
  shrink: textShrinks,
};

/**
 * Reads elements the way pki's parsers do, recursing into constructed ones. At most 256 primitives are decoded:
 * pki decodes a handful per input, and decoding (and failing on) thousands would time this walk, not pki.
 */
function walk(t: Tlv, depth: number, budget = { left: 256 }): void {
  if (depth > 64 || budget.left <= 0) return;
  if (t.tag & 0x20) {
    for (const c of children(t)) walk(c, depth + 1, budget);
    return;
  }
  budget.left--;
  const attempt = (f: () => unknown) => allowOnly(`der-read on tag 0x${t.tag.toString(16)}`, f, DerError);
  if (t.tag === 0x06) attempt(() => decodeOid(t));
  if (t.tag === 0x03) attempt(() => decodeBitString(t, true));
  if (t.tag === 0x01) attempt(() => decodeBoolean(t));
  if (t.tag === 0x17 || t.tag === 0x18) attempt(() => decodeTime(t));
}

export const derTarget: Target<Buffer> = {
  name: 'der',
  covers: 'the DER reader (pki/der-read.ts: readTlv, children, decodeOid/BitString/Boolean/Time) and parseCertificate, isCa, hasKeyUsage, subjectKeyIdOf (pki/x509.ts)',
  slowMs: 10,
  generate(rng) {
    const s = seeds();
    return rng.chance(0.9) ? mutateDer(rng, rng.pick(s.ders), s.ders) : mutateBytes(rng, rng.pick(s.ders), s.ders);
  },
  run(der) {
    allowOnly('readOnly/children walk', () => walk(readOnly(der), 0), DerError);
    allowOnly('parseCertificate', () => {
      const p = parseCertificate(der);
      isCa(p);
      hasKeyUsage(p, 5);
      subjectKeyIdOf(p);
    }, DerError);
  },
  encode: (b) => b,
  decode: (b) => b,
};

export const csrTarget: Target<string> = {
  name: 'csr',
  covers: 'parseCsr (pki/csr.ts): PEM, PKCS#10 structure, SPKI and key policy, signature algorithm and proof of possession; only KubecredError CSR_INVALID may escape',
  slowMs: 10,
  generate(rng) {
    const s = seeds();
    return mutatedPem(rng, rng.pick(s.csrs), 'CERTIFICATE REQUEST');
  },
  run(pem) {
    try {
      const r = parseCsr(pem);
      if (r.algorithm !== 'ec' && r.algorithm !== 'rsa') throw new Finding('bad-result', `parseCsr returned algorithm ${String(r.algorithm)}`);
    } catch (e) {
      if (e instanceof Finding) throw e;
      if (!(e instanceof KubecredError) || e.code !== 'CSR_INVALID') {
        throw new Finding('untyped-error', `parseCsr threw ${(e as Error)?.name}${e instanceof KubecredError ? ` ${e.code}` : ''}: ${String((e as Error)?.message).slice(0, 200)}`);
      }
    }
  },
  ...textCodec,
  shrink: textShrinks,
};

export interface CaInput { certPem: string; keyPem: string }

export const caImportTarget: Target<CaInput> = {
  name: 'ca-import',
  covers: 'importClientCa (pki/ca.ts): certificate PEM+DER, CA checks, key PEM in PKCS#8/PKCS#1/SEC1 (+EC PARAMETERS), key-pair match',
  slowMs: 10,
  generate(rng) {
    const s = seeds();
    const ca = rng.pick(s.cas);
    const other = rng.pick(s.cas);
    const certPem = rng.chance(0.6) ? mutatedPem(rng, rng.chance(0.9) ? ca.certPem : rng.pick(s.others), 'CERTIFICATE') : ca.certPem;
    const key = rng.chance(0.1) ? other.keyPem : ca.keyPem;
    const keyLabel = /-----BEGIN ((?:EC |RSA )?PRIVATE KEY)-----/.exec(key)?.[1] ?? 'PRIVATE KEY';
    const keyPem = rng.chance(0.5) ? mutatedPem(rng, key.slice(key.indexOf(`-----BEGIN ${keyLabel}`)), keyLabel) : key;
    return { certPem, keyPem };
  },
  run({ certPem, keyPem }) {
    allowOnly('importClientCa', () => importClientCa(certPem, keyPem, new Date()), KubecredError);
  },
  encode: (i) => Buffer.from(JSON.stringify(i)),
  decode: (b) => JSON.parse(b.toString('utf8')) as CaInput,
  *shrink(i) {
    for (const c of textShrinks(i.certPem)) yield { ...i, certPem: c };
    for (const k of textShrinks(i.keyPem)) yield { ...i, keyPem: k };
  },
};
