// Client CA creation and import, plus the self-signed TLS certificate kubecred serves with when given none.
// Must never accept a CA it could not sign with (wrong key, not a CA, expired) nor keep a key in any form but PKCS#8.

import crypto from 'node:crypto';
import net from 'node:net';
import { KubecredError } from '../core/errors.ts';
import type { CaMaterial } from './client-cert.ts';
import { MAX_PEM_BYTES } from './csr.ts';
import { children, content, decodeOid, readOnly } from './der-read.ts';
import { derToPem } from './fingerprint.ts';
import { generateKeyPair, type KeyAlgorithm } from './keys.ts';
import { readPemBlocks } from './pem-blocks.ts';
import * as der from './der.ts';
import {
  KU, OID, type ParsedCert, authorityKeyIdExt, basicConstraintsExt, buildName, extKeyUsageExt, extension, hasKeyUsage,
  inspectSpki, isCa, keyIdOf, keyLabel, keyPolicy, keyUsageExt, parseCertificate, randomSerial, rsaExponentProblem, signCertificate, subjectKeyIdExt,
} from './x509.ts';

const caInvalid = (message: string, cause?: unknown) => new KubecredError('CA_INVALID', message, { cause });

function checkWindow(notBefore: Date, notAfter: Date): { notBefore: Date; notAfter: Date } {
  const nb = Math.floor(notBefore.getTime() / 1000) * 1000;
  const na = Math.floor(notAfter.getTime() / 1000) * 1000;
  if (!Number.isFinite(nb) || !Number.isFinite(na) || na <= nb) {
    throw new KubecredError('VALIDATION_FAILED', 'notAfter must be a valid date later than notBefore', { details: { field: 'notAfter' } });
  }
  return { notBefore: new Date(nb), notAfter: new Date(na) };
}

export function createClientCa(opts: { commonName: string; algorithm: KeyAlgorithm; notBefore: Date; notAfter: Date }): Promise<CaMaterial> {
  try {
    const cn = opts.commonName;
    if (typeof cn !== 'string' || cn.length === 0 || [...cn].length > 64) {
      throw new KubecredError('VALIDATION_FAILED', 'the CA common name must be 1-64 characters', { details: { field: 'commonName' } });
    }
    const window = checkWindow(opts.notBefore, opts.notAfter);
    const pair = generateKeyPair(opts.algorithm);
    const privateKey = crypto.createPrivateKey(pair.privateKeyPem);
    const family = opts.algorithm === 'ec-p256' ? 'ec' : 'rsa';
    const spki = inspectSpki(pair.publicKeyDer);
    if (typeof spki === 'string') throw new Error(spki);
    const keyId = keyIdOf(spki.keyBits);
    const name = buildName(cn);
    const certDer = signCertificate({
      serial: randomSerial(), signerFamily: family, issuerDer: name, subjectDer: name, spkiDer: pair.publicKeyDer, ...window,
      extensions: [
        basicConstraintsExt(true),
        keyUsageExt([KU.digitalSignature, KU.keyCertSign, KU.cRLSign]),
        subjectKeyIdExt(keyId),
        authorityKeyIdExt(keyId),
      ],
    }, privateKey);
    return Promise.resolve({ certPem: derToPem(certDer, 'CERTIFICATE'), keyPem: pair.privateKeyPem, algorithm: opts.algorithm });
  } catch (e) {
    return Promise.reject(e);
  }
}

const KEY_TYPES: Record<string, 'pkcs8' | 'pkcs1' | 'sec1'> = {
  'PRIVATE KEY': 'pkcs8', 'RSA PRIVATE KEY': 'pkcs1', 'EC PRIVATE KEY': 'sec1',
};

function readKey(keyPem: string): crypto.KeyObject {
  if (/ENCRYPTED/.test(keyPem)) {
    throw caInvalid('the CA private key is encrypted; decrypt it first (e.g. openssl pkey -in key.pem -out plain.pem)');
  }
  let blocks;
  try {
    blocks = readPemBlocks(keyPem);
  } catch (e) {
    throw caInvalid(`the CA private key is not valid PEM: ${(e as Error).message}`, e);
  }
  // `openssl ecparam -genkey` writes an EC PARAMETERS block before the key; it adds nothing, so skip it.
  const keys = blocks.filter((b) => b.label !== 'EC PARAMETERS');
  const label = keys[0]?.label ?? '';
  if (keys.length !== 1 || !(label in KEY_TYPES)) {
    throw caInvalid('the CA private key must be one PEM block: "PRIVATE KEY", "RSA PRIVATE KEY" or "EC PRIVATE KEY"');
  }
  let normalized: crypto.KeyObject;
  let rsa: string | null;
  try {
    const key = crypto.createPrivateKey({ key: keys[0]!.der, format: 'der', type: KEY_TYPES[label]! });
    // OpenSSL loads an EC key whose private scalar is longer than its curve allows, and Node then aborts the whole
    // process (a native assertion) when anything reads its asymmetricKeyDetails. Exporting such a key fails cleanly,
    // so the key used from here on is the one its own PKCS#8 export gives back: what cannot make that trip is refused.
    const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
    normalized = crypto.createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    // Read before anything asks Node for the key's details, which are slow to compute for a huge RSA exponent.
    rsa = rsaExponentProblem(crypto.createPublicKey(normalized).export({ type: 'spki', format: 'der' })) ?? rsaComponentsProblem(pkcs8);
  } catch (e) {
    throw caInvalid(`the CA private key cannot be parsed as ${label}`, e);
  }
  if (rsa) throw caInvalid(`the CA private key is unusable: ${rsa}`);
  return normalized;
}

/**
 * RSAPrivateKey (inside PKCS#8) holds d, p, q, dP, dQ and qInv beside n: each is smaller than n, and OpenSSL signs
 * with the CRT ones. A CA key whose dP was 17 KB (found by npm run fuzz) still signed correctly (OpenSSL checks a
 * CRT result and falls back to d) but took ~35 ms per signature, i.e. per kubeconfig issued for the cluster.
 */
function rsaComponentsProblem(pkcs8: Buffer): string | null {
  const [, alg, wrapped] = children(readOnly(pkcs8, 0x30));
  if (!alg || !wrapped || decodeOid(children(alg)[0]!) !== '1.2.840.113549.1.1.1') return null;
  const ints = children(readOnly(content(wrapped), 0x30)).slice(1).map((t) => {
    const b = content(t);
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    return b.length - i;
  });
  const [n, , ...secrets] = ints;
  return n === undefined || secrets.length !== 6 || secrets.some((len) => len > n) ? 'its private components are not those of an RSA key (each is smaller than the modulus)' : null;
}

/**
 * The key signs and the certificate's public key verifies. checkPrivateKey alone compares public halves only: an EC
 * key file carries its public point beside the scalar, so a file with the CA's point and any other scalar passed it,
 * and every certificate signed with it then failed to verify against the CA.
 */
function provesPossession(key: crypto.KeyObject, x509: crypto.X509Certificate): boolean {
  const probe = crypto.randomBytes(32);
  try {
    return x509.checkPrivateKey(key) && crypto.verify('sha256', probe, x509.publicKey, crypto.sign('sha256', probe, key));
  } catch {
    return false;
  }
}

export function importClientCa(certPem: string, keyPem: string, now: Date): CaMaterial {
  if (typeof certPem !== 'string' || typeof keyPem !== 'string') throw caInvalid('the CA certificate and key must be PEM text');
  // Over the cap is 413, as for every PEM kubecred takes.
  const tooLarge = (what: string, field: string) => new KubecredError('PAYLOAD_TOO_LARGE', `the CA ${what} PEM is larger than ${MAX_PEM_BYTES} bytes (64 KiB)`, { details: { field } });
  if (Buffer.byteLength(certPem) > MAX_PEM_BYTES) throw tooLarge('certificate', 'clientCaCertPem');
  if (Buffer.byteLength(keyPem) > MAX_PEM_BYTES) throw tooLarge('key', 'clientCaKeyPem');

  let certDer: Buffer;
  let parsed: ParsedCert;
  let x509: crypto.X509Certificate;
  try {
    const blocks = readPemBlocks(certPem);
    if (blocks.length !== 1 || blocks[0]!.label !== 'CERTIFICATE') throw new Error('not a single CERTIFICATE block');
    certDer = blocks[0]!.der;
    parsed = parseCertificate(certDer);
    x509 = new crypto.X509Certificate(certDer);
  } catch (e) {
    throw caInvalid('the CA certificate cannot be parsed; give exactly one PEM "CERTIFICATE" block (the CA itself, no chain)', e);
  }
  try {
    if (!isCa(parsed)) throw caInvalid('the certificate is not a CA: it needs basicConstraints with cA=TRUE');
    if (hasKeyUsage(parsed, KU.keyCertSign) === false) {
      throw caInvalid('the certificate keyUsage does not allow keyCertSign, so it cannot sign client certificates');
    }
    // An extendedKeyUsage on a CA limits what its chain may be used for (OpenSSL and Go check it up the chain).
    const eku = x509.keyUsage;
    if (eku !== undefined && !eku.includes('1.3.6.1.5.5.7.3.2') && !eku.includes('2.5.29.37.0')) {
      throw caInvalid(`the certificate's extendedKeyUsage (${eku.join(', ')}) does not include clientAuth, so clients it signs would be refused; import a CA without that restriction`);
    }
  } catch (e) {
    throw e instanceof KubecredError ? e : caInvalid('the CA certificate has malformed extensions', e);
  }
  const t = now.getTime();
  if (t > parsed.notAfter.getTime()) throw caInvalid(`the CA certificate expired at ${parsed.notAfter.toISOString()}; import a current one`);
  if (t < parsed.notBefore.getTime()) throw caInvalid(`the CA certificate is not valid before ${parsed.notBefore.toISOString()}; check its dates or your clock`);
  const certKey = inspectSpki(parsed.spkiDer);
  if (typeof certKey === 'string') throw caInvalid(`the CA certificate key is unusable: ${certKey}`);

  const key = readKey(keyPem);
  const family = keyPolicy(key);
  if (family !== 'ec' && family !== 'rsa') throw caInvalid(`the CA private key is unusable: ${family}`);
  if (!provesPossession(key, x509)) throw caInvalid('the private key does not match the CA certificate public key; check you paired the right files');

  return {
    certPem: derToPem(certDer, 'CERTIFICATE'),
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    algorithm: keyLabel(key),
  };
}

function ipBytes(ip: string): Buffer {
  if (net.isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  // IPv6: expand "::", allowing a trailing dotted quad (IPv4-mapped forms).
  let text = ip.replace(/%.*$/, '');
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const b = ipBytes(quad[1]!);
    text = text.slice(0, -quad[1]!.length) + `${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl];
  const out = Buffer.alloc(16);
  groups.forEach((g: string, i: number) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

const DNS_NAME = /^(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function createSelfSignedServerCert(hosts: string[], now: Date, days: number): { certPem: string; keyPem: string } {
  if (!Array.isArray(hosts) || hosts.length === 0) throw new KubecredError('VALIDATION_FAILED', 'at least one host is needed');
  if (!Number.isFinite(days) || days <= 0) throw new KubecredError('VALIDATION_FAILED', 'days must be positive');
  const names = hosts.map((h) => {
    if (net.isIP(h)) return der.implicit(7, ipBytes(h));
    if (h.length > 253 || !DNS_NAME.test(h)) throw new KubecredError('VALIDATION_FAILED', `"${h}" is neither an IP address nor a DNS name`);
    return der.implicit(2, Buffer.from(h, 'latin1'));
  });
  // Backdated a little so a client whose clock runs slightly behind still accepts it.
  const window = checkWindow(new Date(now.getTime() - 5 * 60_000), new Date(now.getTime() + days * 86_400_000));
  const pair = generateKeyPair('ec-p256');
  const spki = inspectSpki(pair.publicKeyDer);
  if (typeof spki === 'string') throw new Error(spki);
  const cn = [...hosts[0]!].length <= 64 ? hosts[0]! : 'kubecred';
  const name = buildName(cn);
  const certDer = signCertificate({
    serial: randomSerial(), signerFamily: 'ec', issuerDer: name, subjectDer: name, spkiDer: pair.publicKeyDer, ...window,
    extensions: [
      keyUsageExt([KU.digitalSignature]),
      extKeyUsageExt(OID.serverAuth),
      basicConstraintsExt(false),
      extension(OID.subjectAltName, false, der.sequence(...names)),
      subjectKeyIdExt(keyIdOf(spki.keyBits)),
    ],
  }, crypto.createPrivateKey(pair.privateKeyPem));
  return { certPem: derToPem(certDer, 'CERTIFICATE'), keyPem: pair.privateKeyPem };
}
