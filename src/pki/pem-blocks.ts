// Splits PEM text into labelled DER blocks, with strict base64 so a mangled paste fails loudly.
// Must never accept RFC 1421 headers (Proc-Type, DEK-Info): they only appear on legacy-encrypted keys.

import { KubecredError } from '../core/errors.ts';

export interface PemBlock { label: string; der: Buffer }

const BEGIN = '-----BEGIN ';
const END = '-----END ';
const DASHES = '-----';
const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

const malformed = () => new KubecredError('VALIDATION_FAILED', 'PEM text has an unterminated or malformed block');

/** The label ([A-Z0-9 ]+) starting at `at` and closed by five dashes, and where the text goes on; null otherwise. */
function labelAt(text: string, at: number): { label: string; next: number } | null {
  let i = at;
  for (let c = text.charCodeAt(i); (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 32; c = text.charCodeAt(++i));
  return i === at || !text.startsWith(DASHES, i) ? null : { label: text.slice(at, i), next: i + DASHES.length };
}

/**
 * One pass from left to right: each BEGIN must be followed by its END before any other BEGIN, and nothing but
 * text may lie outside blocks. (A lazy regular expression did this in time quadratic in the number of BEGINs
 * without an END: 64 KiB of them took ~75 ms, found by npm run fuzz.)
 */
export function readPemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let pos = 0;
  for (;;) {
    const begin = text.indexOf(BEGIN, pos);
    const stray = text.indexOf(END, pos);
    // An END before the next BEGIN, or a BEGIN without its END, is a truncated paste, not something to skip over.
    if (stray >= 0 && (begin < 0 || stray < begin)) throw malformed();
    if (begin < 0) return blocks;
    const head = labelAt(text, begin + BEGIN.length);
    if (!head) throw malformed();
    const end = text.indexOf(END, head.next);
    if (end < 0) throw malformed();
    const nested = text.indexOf(BEGIN, head.next);
    if (nested >= 0 && nested < end) throw malformed();
    const tail = labelAt(text, end + END.length);
    if (!tail) throw malformed();
    if (tail.label !== head.label) throw new KubecredError('VALIDATION_FAILED', `PEM block "${head.label}" ends with "${tail.label}"`);
    const body = text.slice(head.next, end).replace(/\s+/g, '');
    if (body.length === 0 || body.length % 4 !== 0 || !B64.test(body)) {
      throw new KubecredError('VALIDATION_FAILED', `PEM block "${head.label}" is not valid base64`);
    }
    blocks.push({ label: head.label, der: Buffer.from(body, 'base64') });
    pos = tail.next;
  }
}
