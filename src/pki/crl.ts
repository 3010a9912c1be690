// Building a v2 CRL (RFC 5280 §5) signed by a cluster's client CA, for proxies that read CRLs.
// kube-apiserver never reads it; it must never list a serial kubecred did not revoke or supersede.

import crypto from 'node:crypto';
import * as der from './der.ts';
import type { LoadedCa } from './client-cert.ts';
import { extension, signatureAlgorithmId } from './x509.ts';

const OID_CRL_NUMBER = '2.5.29.20';
const OID_REASON_CODE = '2.5.29.21';
const OID_AUTHORITY_KEY_ID = '2.5.29.35';

/** RFC 5280 CRLReason values kubecred uses. */
export const CrlReason = { unspecified: 0, keyCompromise: 1, affiliationChanged: 3, superseded: 4, cessationOfOperation: 5 } as const;

export interface CrlEntry { serialHex: string; revokedAt: Date; reason: number }

export interface CrlInput {
  ca: LoadedCa;
  entries: CrlEntry[];
  /** Monotonic: a consumer keeps the CRL with the highest number. */
  crlNumber: bigint;
  thisUpdate: Date;
  nextUpdate: Date;
}

function bigintBytes(n: bigint): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Buffer.from(hex, 'hex');
}

export function buildCrl(i: CrlInput): Buffer {
  const family = i.ca.signatureAlgorithm === 'ecdsa-with-SHA256' ? 'ec' : 'rsa';
  const algId = signatureAlgorithmId(family);
  // RFC 5280 5.3.1: the reason code is left out rather than given as unspecified (0).
  const revoked = i.entries.map((e) => der.sequence(
    der.integerFromBytes(Buffer.from(e.serialHex, 'hex')),
    der.time(e.revokedAt),
    ...(e.reason === CrlReason.unspecified ? [] : [der.sequence(extension(OID_REASON_CODE, false, der.tlv(0x0a, Buffer.from([e.reason]))))]),
  ));
  const tbs = der.sequence(
    der.integerFromNumber(1), // v2
    algId,
    i.ca.subjectDer,
    der.time(i.thisUpdate),
    der.time(i.nextUpdate),
    ...(revoked.length ? [der.sequence(...revoked)] : []),
    der.explicit(0, der.sequence(
      extension(OID_AUTHORITY_KEY_ID, false, der.sequence(der.implicit(0, i.ca.subjectKeyId))),
      extension(OID_CRL_NUMBER, false, der.integerFromBytes(bigintBytes(i.crlNumber))),
    )),
  );
  const sig = crypto.sign('sha256', tbs, i.ca.privateKey);
  return der.sequence(tbs, algId, der.bitString(sig));
}
