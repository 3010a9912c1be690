// The body of a CCE request Fastify does not read (GET, HEAD), as bytes, so that its signature can be checked: the
// official SDK sends its reads (ShowCluster, ListClusters) with the body "{}" and signs that body's hash.
// Never parses it, and never reads more than the server's body limit.

import type { FastifyRequest } from 'fastify';
import { KubecredError } from '../../core/errors.ts';

/** The body Fastify already read, else the one still in the request stream of a bodyless method (empty when none was sent). */
export async function signedBody(req: FastifyRequest, limitBytes: number): Promise<Buffer> {
  if (Buffer.isBuffer(req.body)) return req.body;
  const length = req.headers['content-length'];
  const chunked = req.headers['transfer-encoding'] !== undefined;
  if (!chunked && (length === undefined || length === '0')) return Buffer.alloc(0);
  const tooLarge = () => new KubecredError('PAYLOAD_TOO_LARGE', `the request body is larger than ${limitBytes} bytes`);
  if (Number(length) > limitBytes) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req.raw) {
    size += (chunk as Buffer).length;
    if (size > limitBytes) throw tooLarge();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
