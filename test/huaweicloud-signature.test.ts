// SDK-HMAC-SHA256 as the server recomputes it, against the test vector VENDOR-WIRE.md §4 derived from
// @huaweicloud/huaweicloud-sdk-core 3.1.211, and the wire quirks the recipe depends on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalQuery, canonicalUri, parseAuthorization, parseSdkDate, sha256Hex, sign, stringToSign } from '../src/api/huaweicloud/cce-signature.ts';

test('the signature matches the SDK test vector for POST clustercert {"duration":30}', () => {
  const toSign = stringToSign({
    method: 'POST', rawUrl: '/api/v3/projects/p1/clusters/c1/clustercert',
    headers: { 'content-type': 'application/json', host: 'cce.cn-north-4.myhuaweicloud.com', 'x-project-id': 'p1', 'x-sdk-date': '20250101T000000Z' },
    signedHeaders: ['content-type', 'host', 'x-project-id', 'x-sdk-date'], payloadHash: sha256Hex('{"duration":30}'), sdkDate: '20250101T000000Z',
  });
  assert.equal(sign('HWSK', toSign), 'ea6d3e81a9edd44c835861f62794c2bded3bc21f2edac0ca0cf6e36927dc2e2a');
});

test('the canonical URI re-encodes raw segments and ends with a slash; the query is sorted and re-encoded', () => {
  assert.equal(canonicalUri('/api/v3/projects/p%201/x'), '/api/v3/projects/p%25201/x/');
  assert.equal(canonicalQuery('b=2&a=x+y&a=%2A'), 'a=%2A&a=x%20y&b=2');
});

test('a malformed Authorization header or X-Sdk-Date is recognised as such', () => {
  assert.deepEqual(parseAuthorization(`SDK-HMAC-SHA256 Access=AK, SignedHeaders=host;x-sdk-date, Signature=${'a'.repeat(64)}`), { accessKeyId: 'AK', signedHeaders: ['host', 'x-sdk-date'], signature: 'a'.repeat(64) });
  assert.equal(parseAuthorization('SDK-HMAC-SHA256 Access=AK, Signature=zz'), null);
  assert.equal(parseAuthorization('Bearer x'), null);
  assert.equal(parseSdkDate('20250230T000000Z'), null);
  assert.equal(parseSdkDate('20250101T000000Z')?.toISOString(), '2025-01-01T00:00:00.000Z');
});
