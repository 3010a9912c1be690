// The issuing hot path: a per-CA template of a client certificate's DER in which only the serial, the
// validity, the subject and the public key (with its key ID) change. Must stay byte-identical to the
// generic builder in client-cert.ts (issueClientCertificateGeneric); client-cert.test.ts compares them.

import crypto from 'node:crypto';
import * as der from './der.ts';
import {
  KU, OID, authorityKeyIdExt, basicConstraintsExt, buildName, extKeyUsageExt, keyUsageExt, signatureAlgorithmId, type KeyFamily,
} from './x509.ts';

export interface TemplateCa {
  subjectDer: Buffer;
  subjectKeyId: Buffer;
  privateKey: crypto.KeyObject;
  signerFamily: KeyFamily;
}

export interface LeafFields {
  serial: Buffer;
  notBefore: Date;
  notAfter: Date;
  commonName: string;
  organizations: readonly string[];
  spkiDer: Buffer;
  /** The subject key's BIT STRING contents, for its subjectKeyIdentifier. */
  keyBits: Buffer;
  keyFamily: KeyFamily;
}

const VERSION_3 = der.explicit(0, der.integerFromNumber(2));
// subjectKeyIdentifier is SEQUENCE { OID, OCTET STRING { OCTET STRING (20 bytes of SHA-1) } }: fixed length.
const SKI_PREFIX = Buffer.from('301d0603551d0e04160414', 'hex');
const SUBJECT_CACHE_MAX = 4096;

export interface LeafTemplate {
  /** Certificate DER for these fields, signed by the template's CA. */
  build(f: LeafFields): Buffer;
}

export function makeLeafTemplate(ca: TemplateCa): LeafTemplate {
  const algId = signatureAlgorithmId(ca.signerFamily);
  const caHead = Buffer.concat([algId, ca.subjectDer]);
  const common = [extKeyUsageExt(OID.clientAuth), basicConstraintsExt(false), authorityKeyIdExt(ca.subjectKeyId)];
  // Everything of [3] EXPLICIT { SEQUENCE OF Extension } but the 20 bytes of the subject key ID, per key family
  // (keyEncipherment only means something for RSA key transport).
  const extPrefix = (family: KeyFamily): Buffer => {
    const fixed = Buffer.concat([keyUsageExt(family === 'rsa' ? [KU.digitalSignature, KU.keyEncipherment] : [KU.digitalSignature]), ...common]);
    const whole = der.explicit(3, der.sequence(fixed, Buffer.concat([SKI_PREFIX, Buffer.alloc(20)])));
    return whole.subarray(0, whole.length - 20);
  };
  const prefixes: Record<KeyFamily, Buffer> = { ec: extPrefix('ec'), rsa: extPrefix('rsa') };

  // A principal's subject is the same on every certificate it gets: encode it once.
  const subjects = new Map<string, Buffer>();
  const subjectOf = (cn: string, orgs: readonly string[]): Buffer => {
    const key = orgs.length ? `${cn}\u0000${orgs.join('\u0000')}` : cn;
    let s = subjects.get(key);
    if (!s) {
      if (subjects.size >= SUBJECT_CACHE_MAX) subjects.clear();
      s = buildName(cn, [...orgs]);
      subjects.set(key, s);
    }
    return s;
  };

  return {
    build(f) {
      const keyId = crypto.createHash('sha1').update(f.keyBits).digest();
      const tbs = der.sequence(
        VERSION_3,
        der.integerFromBytes(f.serial),
        caHead,
        der.sequence(der.time(f.notBefore), der.time(f.notAfter)),
        subjectOf(f.commonName, f.organizations),
        f.spkiDer,
        prefixes[f.keyFamily],
        keyId,
      );
      // Default DSA encoding for EC is DER (r,s) SEQUENCE, which is what X.509 wants.
      const sig = crypto.sign('sha256', tbs, ca.privateKey);
      return der.sequence(tbs, algId, der.bitString(sig));
    },
  };
}
