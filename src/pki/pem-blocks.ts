// Splits PEM text into labelled DER blocks, with strict base64 so a mangled paste fails loudly.
// Must never accept RFC 1421 headers (Proc-Type, DEK-Info): they only appear on legacy-encrypted keys.

import { KubecredError } from '../core/errors.ts';

export interface PemBlock { label: string; der: Buffer }

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function readPemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const label = m[1]!;
    if (m[3] !== label) throw new KubecredError('VALIDATION_FAILED', `PEM block "${label}" ends with "${m[3]}"`);
    const body = m[2]!.replace(/\s+/g, '');
    if (body.length === 0 || body.length % 4 !== 0 || !B64.test(body)) {
      throw new KubecredError('VALIDATION_FAILED', `PEM block "${label}" is not valid base64`);
    }
    blocks.push({ label, der: Buffer.from(body, 'base64') });
  }
  // A BEGIN without its END (or vice versa) is a truncated paste, not something to skip over.
  const begins = text.match(/-----BEGIN /g)?.length ?? 0;
  const ends = text.match(/-----END /g)?.length ?? 0;
  if (begins !== blocks.length || ends !== blocks.length) {
    throw new KubecredError('VALIDATION_FAILED', 'PEM text has an unterminated or malformed block');
  }
  return blocks;
}
