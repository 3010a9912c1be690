// Reads a PKCS#10 CSR only to obtain a proven-possessed public key for a client certificate.
// Must never take the subject, SANs or extensions from the CSR: kubecred alone decides who the cert names.

import crypto from 'node:crypto';
import { KubecredError } from '../core/errors.ts';
import { children, decodeBitString, decodeOid, expect, raw, readOnly } from './der-read.ts';
import { readPemBlocks } from './pem-blocks.ts';
import { inspectSpki, markVetted } from './x509.ts';

export const MAX_PEM_BYTES = 64 * 1024;

const csrInvalid = (message: string, cause?: unknown) => new KubecredError('CSR_INVALID', message, { cause });

// Signature algorithms we verify; SHA-1 and MD5 are refused because a forged proof of possession is cheap there.
const SIG_ALGS: Record<string, { hash: string; family: 'ec' | 'rsa' }> = {
  '1.2.840.10045.4.3.2': { hash: 'sha256', family: 'ec' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', family: 'ec' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', family: 'ec' },
  '1.2.840.113549.1.1.11': { hash: 'sha256', family: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', family: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', family: 'rsa' },
};

export function parseCsr(pem: string): { publicKeyDer: Buffer; algorithm: 'ec' | 'rsa' } {
  if (typeof pem !== 'string') throw csrInvalid('the CSR must be PEM text');
  if (Buffer.byteLength(pem, 'utf8') > MAX_PEM_BYTES) throw csrInvalid(`the CSR is larger than ${MAX_PEM_BYTES} bytes`);
  let blocks;
  try {
    blocks = readPemBlocks(pem);
  } catch (e) {
    throw csrInvalid(`the CSR is not valid PEM: ${(e as Error).message}`, e);
  }
  if (blocks.length !== 1 || blocks[0]!.label !== 'CERTIFICATE REQUEST') {
    throw csrInvalid('expected exactly one "-----BEGIN CERTIFICATE REQUEST-----" PEM block');
  }
  const csrDer = blocks[0]!.der;

  let info: Buffer;
  let spkiDer: Buffer;
  let sigOid: string;
  let signature: Buffer;
  try {
    const [cri, sigAlg, sigBits, ...rest] = children(readOnly(csrDer, 0x30));
    if (!cri || !sigAlg || !sigBits || rest.length) throw new Error('CertificationRequest must have three parts');
    // The subject (cri[1]) and the attributes (cri[3], where requested extensions and SANs live) are skipped on purpose.
    const [version, , spki] = children(expect(cri, 0x30));
    if (!version || version.tag !== 0x02 || version.end - version.contentStart !== 1 || version.buf[version.contentStart] !== 0) {
      throw new Error('unsupported CSR version');
    }
    info = raw(cri);
    spkiDer = Buffer.from(raw(expect(spki!, 0x30)));
    sigOid = decodeOid(children(expect(sigAlg, 0x30))[0]!);
    signature = decodeBitString(sigBits).bytes;
  } catch (e) {
    throw csrInvalid('the CSR is not a well-formed PKCS#10 request', e);
  }

  const key = inspectSpki(spkiDer);
  if (typeof key === 'string') throw csrInvalid(key);
  const alg = SIG_ALGS[sigOid];
  if (!alg) throw csrInvalid(`the CSR signature algorithm ${sigOid} is not supported; sign with SHA-256 or stronger`);
  if (alg.family !== key.family) throw csrInvalid('the CSR signature algorithm does not match its key type');
  let ok = false;
  try {
    ok = crypto.verify(alg.hash, info, key.key, signature);
  } catch {
    ok = false;
  }
  // The self-signature is the proof that the requester holds the private key; without it anyone could ask for anyone's key.
  if (!ok) throw csrInvalid('the CSR signature does not verify');
  markVetted(spkiDer, key.family);
  return { publicKeyDer: spkiDer, algorithm: key.family };
}
