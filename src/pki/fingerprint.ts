// Fingerprints and PEM<->DER conversion shared by every pki module, so there is one way to do each.
// Must never accept more than one PEM block where one is expected: a second block is ambiguous input.

import crypto from 'node:crypto';
import { KubecredError } from '../core/errors.ts';
import { readPemBlocks } from './pem-blocks.ts';

export function sha256Hex(der: Buffer): string {
  return crypto.createHash('sha256').update(der).digest('hex');
}

/** Exactly one block, with exactly this label; throws VALIDATION_FAILED (callers re-code it for their context). */
export function pemToDer(pem: string, label: string): Buffer {
  const blocks = readPemBlocks(pem);
  if (blocks.length !== 1) {
    throw new KubecredError('VALIDATION_FAILED', `expected one PEM "${label}" block, found ${blocks.length} blocks`);
  }
  if (blocks[0]!.label !== label) {
    throw new KubecredError('VALIDATION_FAILED', `expected a PEM "${label}" block, found "${blocks[0]!.label}"`);
  }
  return blocks[0]!.der;
}

export function derToPem(der: Buffer, label: string): string {
  const b64 = der.toString('base64');
  let body = '';
  for (let i = 0; i < b64.length; i += 64) body += b64.slice(i, i + 64) + '\n';
  return `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`;
}
