// Reading Alibaba Cloud wire parameters (query strings, JSON bodies) and writing its time formats.
// Shapes only: ranges and business rules stay in core, so nothing here may accept or refuse a value on meaning.

import { nestsDeeperThan, tooDeepMessage } from '../json-depth.ts';
import type { FastifyRequest } from 'fastify';
import { AliyunError, invalidParameter, missingParameter } from './aliyun-errors.ts';

type Source = { get(name: string): string | null | undefined };

export function optionalBool(src: Source, name: string): boolean | undefined {
  const v = src.get(name);
  if (v === null || v === undefined || v === '') return undefined;
  if (v === 'true') return true;
  if (v === 'false') return false;
  throw invalidParameter(name, `expected true or false, got ${JSON.stringify(v.slice(0, 32))}`);
}

export function optionalInt(src: Source, name: string): number | undefined {
  const v = src.get(name);
  if (v === null || v === undefined || v === '') return undefined;
  if (!/^-?\d{1,15}$/.test(v)) throw invalidParameter(name, `expected a whole number, got ${JSON.stringify(v.slice(0, 32))}`);
  return Number(v);
}

export function requiredString(src: Source, name: string, max = 128): string {
  const v = src.get(name);
  if (v === null || v === undefined || v === '') throw missingParameter(name);
  if (v.length > max) throw invalidParameter(name, `at most ${max} characters`);
  return v;
}

/** Paging as the vendor does it: a 1-based page number and a bounded page size. */
export function paging(src: Source, names: { number: string; size: string }, max: number, fallback: number): { number: number; size: number } {
  const number = optionalInt(src, names.number) ?? 1;
  const size = optionalInt(src, names.size) ?? fallback;
  if (number < 1) throw invalidParameter(names.number, 'must be 1 or more');
  if (size < 1 || size > max) throw invalidParameter(names.size, `must be from 1 to ${max}`);
  return { number, size };
}

export function pageOf<T>(items: T[], p: { number: number; size: number }) {
  return { page: { page_number: p.number, page_size: p.size, total_count: items.length }, items: items.slice((p.number - 1) * p.size, p.number * p.size) };
}

/**
 * A JSON object body; the SDK always sends an object, so anything else is a malformed request. A body declared as
 * anything but JSON is refused, as the native and CCE surfaces refuse it (the SDKs send application/json).
 */
export function jsonBody(req: FastifyRequest): Record<string, unknown> {
  const body = req.body;
  if (!Buffer.isBuffer(body) || body.length === 0) return {};
  const type = req.headers['content-type'];
  if (typeof type !== 'string' || !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
    throw new AliyunError('UnsupportedMediaType', 415, 'The request body must be JSON: send it with Content-Type: application/json.');
  }
  const text = body.toString('utf8');
  if (nestsDeeperThan(text)) throw invalidParameter('body', tooDeepMessage);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidParameter('body', 'the body is not valid JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw invalidParameter('body', 'expected a JSON object');
  return parsed as Record<string, unknown>;
}

/** RFC 3339 in UTC without fractions, as ACK writes `expiration`: 2024-03-10T09:56:17Z. */
export const rfc3339 = (iso: string) => new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** ASM's ExpireTime, in UTC: 2024-05-28 16:00:00. */
export const asmTime = (iso: string) => new Date(iso).toISOString().slice(0, 19).replace('T', ' ');
