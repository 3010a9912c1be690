// Issues Kubernetes client certificates (CN = user, O = groups) from a cluster's client CA, synchronously.
// Must never take identity from the requester's key material or CSR, and never issue a CA or non-clientAuth cert.

import crypto from 'node:crypto';
import { KubecredError } from '../core/errors.ts';
import type { CaAlgorithm } from '../core/model.ts';
import { derToPem, pemToDer, sha256Hex } from './fingerprint.ts';
import { makeLeafTemplate, type LeafTemplate } from './leaf-template.ts';
import {
  type ParsedCert, KU, OID, authorityKeyIdExt, basicConstraintsExt, buildName, extKeyUsageExt, vetSpki, keyIdOf, keyPolicy,
  keyUsageExt, parseCertificate, randomSerial, serialHex, signCertificate, subjectKeyIdExt, subjectKeyIdOf,
} from './x509.ts';

export interface CaMaterial {
  certPem: string;
  /** PKCS#8 PEM. */
  keyPem: string;
  /** What the key is: 'ec-p256', 'ec-p384' or 'rsa-<bits>'. Shown to people; signing reads the key itself. */
  algorithm: CaAlgorithm;
}

export interface LoadedCa {
  material: CaMaterial;
  certDer: Buffer;
  /** The CA certificate's subject Name, raw DER, copied byte-for-byte as each leaf's issuer. */
  subjectDer: Buffer;
  /** The CA's subjectKeyIdentifier, or SHA-1 of its public key bits when the certificate has none. */
  subjectKeyId: Buffer;
  privateKey: crypto.KeyObject;
  notAfter: Date;
  notBefore: Date;
  signatureAlgorithm: 'ecdsa-with-SHA256' | 'sha256WithRSAEncryption';
}

export interface ClientCertRequest {
  ca: LoadedCa;
  /** SPKI DER of the subject key. */
  publicKeyDer: Buffer;
  commonName: string;
  organizations: string[];
  notBefore: Date;
  notAfter: Date;
  serial?: Buffer;
}

export interface IssuedCert {
  certPem: string;
  certDer: Buffer;
  /** Lowercase hex, no colons. */
  serialHex: string;
  /** Lowercase hex SHA-256 of the whole certificate DER. */
  fingerprintSha256: string;
  notBefore: Date;
  notAfter: Date;
}

const caInvalid = (message: string, cause?: unknown) => new KubecredError('CA_INVALID', message, { cause });

/** Parses the CA once so issuing only builds and signs; cache the result per cluster. */
export function loadCa(material: CaMaterial): LoadedCa {
  let certDer: Buffer;
  let parsed: ParsedCert;
  let x509: crypto.X509Certificate;
  try {
    certDer = pemToDer(material.certPem, 'CERTIFICATE');
    parsed = parseCertificate(certDer);
    x509 = new crypto.X509Certificate(certDer);
  } catch (e) {
    throw caInvalid('the CA certificate cannot be parsed', e);
  }
  let privateKey: crypto.KeyObject;
  try {
    privateKey = crypto.createPrivateKey({ key: material.keyPem, format: 'pem' });
  } catch (e) {
    throw caInvalid('the CA private key cannot be parsed', e);
  }
  const family = keyPolicy(privateKey);
  if (family !== 'ec' && family !== 'rsa') throw caInvalid(family);
  // A mismatched key would sign leaves nobody can verify; catch it here, not at kubectl time.
  if (!x509.checkPrivateKey(privateKey)) throw caInvalid('the CA private key does not match the CA certificate');
  let ski: Buffer | null;
  try {
    ski = subjectKeyIdOf(parsed);
  } catch (e) {
    throw caInvalid('the CA certificate has a malformed subjectKeyIdentifier', e);
  }
  return {
    material,
    certDer,
    subjectDer: parsed.subjectDer,
    subjectKeyId: ski ?? keyIdOf(parsed.keyBits),
    privateKey,
    notBefore: parsed.notBefore,
    notAfter: parsed.notAfter,
    signatureAlgorithm: family === 'ec' ? 'ecdsa-with-SHA256' : 'sha256WithRSAEncryption',
  };
}

// Constant for every leaf, so encode once.
const EKU_CLIENT_AUTH = extKeyUsageExt(OID.clientAuth);
const BC_NOT_CA = basicConstraintsExt(false);
const KU_EC = keyUsageExt([KU.digitalSignature]);
const KU_RSA = keyUsageExt([KU.digitalSignature, KU.keyEncipherment]);

function checkName(field: string, value: unknown): string {
  // X.520 upper bound is 64 characters; control characters have no business in a Kubernetes user or group.
  if (typeof value !== 'string' || value.length === 0 || [...value].length > 64 || /[\x00-\x1f\x7f]/.test(value)) {
    throw new KubecredError('VALIDATION_FAILED', `${field} must be 1-64 characters with no control characters`, { details: { field } });
  }
  return value;
}

function wholeSeconds(field: string, d: Date): Date {
  const ms = d instanceof Date ? d.getTime() : NaN;
  if (!Number.isFinite(ms) || new Date(ms).getUTCFullYear() < 1950 || new Date(ms).getUTCFullYear() > 9999) {
    throw new KubecredError('VALIDATION_FAILED', `${field} must be a valid date between 1950 and 9999`, { details: { field } });
  }
  return new Date(Math.floor(ms / 1000) * 1000);
}

function checkSerial(serial: Buffer): Buffer {
  // RFC 5280 4.1.2.2: positive, at most 20 octets; we treat the bytes as an unsigned magnitude.
  if (!Buffer.isBuffer(serial) || serial.length === 0 || serial.length > 20 || serial.every((b) => b === 0)
    || (serial.length === 20 && serial[0]! & 0x80)) {
    throw new KubecredError('VALIDATION_FAILED', 'serial must be 1-20 bytes, non-zero, positive', { details: { field: 'serial' } });
  }
  return serial;
}

/** The checks every issuing path makes before building anything. */
function vetRequest(req: ClientCertRequest) {
  const commonName = checkName('commonName', req.commonName);
  if (!Array.isArray(req.organizations)) throw new KubecredError('VALIDATION_FAILED', 'organizations must be a list');
  const organizations = req.organizations.map((o, i) => checkName(`organizations[${i}]`, o));
  const notBefore = wholeSeconds('notBefore', req.notBefore);
  const notAfter = wholeSeconds('notAfter', req.notAfter);
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new KubecredError('VALIDATION_FAILED', 'notAfter must be later than notBefore', { details: { field: 'notAfter' } });
  }
  const serial = req.serial === undefined ? randomSerial() : checkSerial(req.serial);
  if (!Buffer.isBuffer(req.publicKeyDer)) throw new KubecredError('CSR_INVALID', 'the public key must be SPKI DER bytes');
  const spki = vetSpki(req.publicKeyDer);
  if (typeof spki === 'string') throw new KubecredError('CSR_INVALID', spki);
  return { commonName, organizations, notBefore, notAfter, serial, spki };
}

function issued(certDer: Buffer, serial: Buffer, notBefore: Date, notAfter: Date): IssuedCert {
  return {
    certPem: derToPem(certDer, 'CERTIFICATE'),
    certDer,
    serialHex: serialHex(serial),
    fingerprintSha256: sha256Hex(certDer),
    notBefore,
    notAfter,
  };
}

const templates = new WeakMap<LoadedCa, LeafTemplate>();

/** Issues through the CA's DER template (the hot path); byte-identical to issueClientCertificateGeneric. */
export function issueClientCertificate(req: ClientCertRequest): IssuedCert {
  const v = vetRequest(req);
  const ca = req.ca;
  let t = templates.get(ca);
  if (!t) {
    t = makeLeafTemplate({
      subjectDer: ca.subjectDer, subjectKeyId: ca.subjectKeyId, privateKey: ca.privateKey,
      signerFamily: ca.signatureAlgorithm === 'ecdsa-with-SHA256' ? 'ec' : 'rsa',
    });
    templates.set(ca, t);
  }
  const certDer = t.build({
    serial: v.serial, notBefore: v.notBefore, notAfter: v.notAfter, commonName: v.commonName, organizations: v.organizations,
    spkiDer: req.publicKeyDer, keyBits: v.spki.keyBits, keyFamily: v.spki.family,
  });
  return issued(certDer, v.serial, v.notBefore, v.notAfter);
}

/**
 * The generic builder: every element encoded on its own by der.ts. Kept as the reference the template
 * is tested against (same inputs, same TBSCertificate bytes); not used on the issuing path.
 */
export function issueClientCertificateGeneric(req: ClientCertRequest): IssuedCert {
  const { commonName, organizations, notBefore, notAfter, serial, spki } = vetRequest(req);
  const ca = req.ca;
  const certDer = signCertificate({
    serial,
    signerFamily: ca.signatureAlgorithm === 'ecdsa-with-SHA256' ? 'ec' : 'rsa',
    issuerDer: ca.subjectDer,
    notBefore,
    notAfter,
    subjectDer: buildName(commonName, organizations),
    spkiDer: req.publicKeyDer,
    extensions: [
      // keyEncipherment only means something for RSA key transport; EC keys cannot do it.
      spki.family === 'rsa' ? KU_RSA : KU_EC,
      EKU_CLIENT_AUTH,
      BC_NOT_CA,
      authorityKeyIdExt(ca.subjectKeyId),
      subjectKeyIdExt(keyIdOf(spki.keyBits)),
    ],
  }, ca.privateKey);
  return issued(certDer, serial, notBefore, notAfter);
}
