// What `npm run fuzz` found, each kept fixed through the real interface: a running server, raw HTTPS requests,
// the answer's status, code and request ID, and the server still answering afterwards (docs/fuzzing.md).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { sha256Hex, sign, stringToSign } from '../src/api/huaweicloud/cce-signature.ts';
import { createClientCa } from '../src/pki/ca.ts';
import * as der from '../src/pki/der.ts';
import { children, content, raw, readOnly } from '../src/pki/der-read.ts';
import { derToPem, pemToDer } from '../src/pki/fingerprint.ts';
import { assertCodedError, rawExchange, rawRequest, type RawResponse } from './support/http.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;

before(async () => {
  srv = await startServerProcess();
});
after(() => srv?.stop());

const post = (path: string, body: unknown) => rawRequest(srv, 'POST', path, { token: srv.rootToken, body: JSON.stringify(body) });

const assertRefused = assertCodedError;

async function assertServing() {
  const r = await rawRequest(srv, 'GET', '/v1/whoami', { token: srv.rootToken });
  assert.equal(r.status, 200, 'the server still answers');
}

let n = 0;
const clusterWithCa = (certPem: string, keyPem: string) =>
  post('/v1/clusters', { name: `fz-${++n}`, publicEndpoint: 'https://192.0.2.1:6443', clientCaCertPem: certPem, clientCaKeyPem: keyPem });

/** A SEC1 "EC PRIVATE KEY" with the CA's public point and curve, and `scalar` for its private key. */
function sec1WithScalar(pkcs8Pem: string, scalar: Buffer): string {
  const sec1 = crypto.createPrivateKey(pkcs8Pem).export({ type: 'sec1', format: 'der' });
  // SEQUENCE { INTEGER 1, OCTET STRING (32) scalar, [0] curve, [1] public point }: keep what follows the scalar.
  const rest = sec1.subarray(2 + 3 + 2 + 32);
  return derToPem(der.sequence(der.integerFromNumber(1), der.octetString(scalar), rest), 'EC PRIVATE KEY');
}

test('a client CA key whose EC scalar is longer than its curve is refused, and the server keeps running (it aborted Node)', async () => {
  const ca = await createClientCa({ commonName: 'fz', algorithm: 'ec-p256', notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) });
  const long = sec1WithScalar(ca.keyPem, Buffer.concat([Buffer.from([1]), crypto.randomBytes(32)]));
  assertRefused(await clusterWithCa(ca.certPem, long), 400, 'CA_INVALID', /cannot be parsed as EC PRIVATE KEY/);
  await assertServing();
});

test("a client CA key file carrying the CA's public point with another scalar is refused: it cannot sign for the CA", async () => {
  const ca = await createClientCa({ commonName: 'fz', algorithm: 'ec-p256', notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) });
  for (const scalar of [crypto.randomBytes(32), Buffer.alloc(32)]) {
    assertRefused(await clusterWithCa(ca.certPem, sec1WithScalar(ca.keyPem, scalar)), 400, 'CA_INVALID', /does not match the CA certificate/);
  }
  // The genuine pair, in the same SEC1 form, is taken.
  const own = crypto.createPrivateKey(ca.keyPem).export({ type: 'sec1', format: 'pem' }) as string;
  assert.equal((await clusterWithCa(ca.certPem, own)).status, 201);
});

// Reading these took time quadratic in the number of BEGINs (~80-120 ms of CPU per request at 64 KiB); now one pass.
// Timing is not asserted here (shared machines are noisy): `npm run fuzz -- --target pem` measures it.
test('PEM fields made of BEGIN lines without an END are refused with the field named', async () => {
  const begins = (label: string) => `-----BEGIN ${label}-----`.repeat(Math.floor(60_000 / (16 + label.length)));
  const cluster = (await post('/v1/clusters', { name: `fz-${++n}`, publicEndpoint: 'https://192.0.2.1:6443' })).json.id as string;
  assertRefused(await post(`/v1/clusters/${cluster}/kubeconfig`, { csr: begins('CERTIFICATE REQUEST') }), 400, 'CSR_INVALID', /not valid PEM: PEM text has an unterminated or malformed block/);
  assertRefused(await post('/v1/clusters', { name: `fz-${++n}`, publicEndpoint: 'https://192.0.2.1:6443', serverCaPem: begins('CERTIFICATE') }), 400, 'VALIDATION_FAILED', /serverCaPem holds no PEM certificate/);
  const ca = await createClientCa({ commonName: 'fz', algorithm: 'ec-p256', notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) });
  assertRefused(await clusterWithCa(ca.certPem, begins('PRIVATE KEY')), 400, 'CA_INVALID', /not valid PEM/);
  assertRefused(await clusterWithCa(begins('CERTIFICATE'), ca.keyPem), 400, 'CA_INVALID', /cannot be parsed/);
});

/** A CSR signed by a fresh P-256 key whose signature algorithm is `sigAlgOid` (DER, tag included). */
function csrWithSignatureOid(sigAlgOid: Buffer): string {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'der' } });
  const info = der.sequence(der.integerFromNumber(0), der.sequence(), publicKey, der.explicit(0));
  const sig = crypto.sign('sha256', info, crypto.createPrivateKey({ key: privateKey, format: 'der', type: 'pkcs8' }));
  return derToPem(der.sequence(info, der.sequence(sigAlgOid), der.bitString(sig)), 'CERTIFICATE REQUEST');
}

// A 40 KB OID cost ~200 ms of CPU to decode (BigInt arcs), and its dotted form, ~85,000 characters, was echoed in the answer.
test('a CSR whose signature algorithm OID is kilobytes long is refused as malformed, in a short answer', async () => {
  const cluster = (await post('/v1/clusters', { name: `fz-${++n}`, publicEndpoint: 'https://192.0.2.1:6443' })).json.id as string;
  assert.equal((await post(`/v1/clusters/${cluster}/kubeconfig`, { csr: csrWithSignatureOid(der.oid('1.2.840.10045.4.3.2')) })).status, 200, 'the same CSR with its real OID is signed');
  const longOid = der.tlv(0x06, Buffer.concat([Buffer.alloc(40_000, 0x81), Buffer.from([0x01])]));
  const r = await post(`/v1/clusters/${cluster}/kubeconfig`, { csr: csrWithSignatureOid(longOid) });
  assertRefused(r, 400, 'CSR_INVALID', /not a well-formed PKCS#10 request/);
  assert.ok(r.body.length < 1000, `a short answer (${r.body.length} bytes)`);
});

// parseCertificate threw TypeError on a certificate cut short (now DerError: src/pki/der.test.ts); the import said the same.
test('a client CA certificate with its subject public key missing is refused as unparseable', async () => {
  const ca = await createClientCa({ commonName: 'fz', algorithm: 'ec-p256', notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) });
  const elements = (b: Buffer) => children(readOnly(b)).map(raw);
  const [tbs, alg, sig] = elements(pemToDer(ca.certPem, 'CERTIFICATE'));
  // TBSCertificate { version, serial, signature, issuer, validity, subject, SPKI (left out), extensions }
  const fields = elements(tbs!);
  const cut = der.sequence(der.sequence(...fields.slice(0, 6), ...fields.slice(7)), alg!, sig!);
  assertRefused(await clusterWithCa(derToPem(cut, 'CERTIFICATE'), ca.keyPem), 400, 'CA_INVALID', /cannot be parsed/);
});

/** A CCE request signed with the server's own access key (SDK-HMAC-SHA256 over every header sent). */
function cceSigned(method: string, url: string, body: string, signature?: string) {
  const host = new URL(srv.url).host;
  const date = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  const headers: Record<string, string> = { 'content-type': 'application/json', host, 'x-sdk-date': date };
  const signedHeaders = Object.keys(headers).sort();
  const toSign = stringToSign({ method, rawUrl: url, headers, signedHeaders, payloadHash: sha256Hex(body), sdkDate: date });
  headers.authorization = `SDK-HMAC-SHA256 Access=${srv.accessKeyId}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature ?? sign(srv.accessKeySecret, toSign)}`;
  return rawRequest(srv, method, url, { headers, body });
}

// Every repeat of a query key copied the key's list of values: quadratic, ~50-100 ms per request before any key was looked up.
test('a CCE request line of thousands of repeated query keys is refused as unsigned, and a repeated key still signs as the SDK does', async () => {
  await post('/v1/projects', { projectId: 'fzproj', region: 'r' });
  const cluster = (await post('/v1/clusters', { name: `fz-${++n}`, publicEndpoint: 'https://192.0.2.1:6443', region: 'r' })).json.id as string;
  const path = `/api/v3/projects/fzproj/clusters/${cluster}/clustercert`;
  const r = await cceSigned('POST', `${path}?${'a=&'.repeat(5000)}`, '{"duration":1}', 'a'.repeat(64));
  assert.equal(r.status, 401, r.body);
  assert.equal(r.json.error_code, 'APIGW.0301');
  assert.match(String(r.headers['x-request-id']), /^req_[0-9a-f]{24}$/);
  const ok = await cceSigned('POST', `${path}?b=2&a=x&a=y&a=`, '{"duration":1}');
  assert.equal(ok.status, 200, ok.body);
});

// The schemas capped PEM fields at 65,536 characters, answering 400 (and counting characters, not bytes); only a CSR
// under that but over 64 KiB in bytes got 413. Every PEM over 64 KiB is now 413, naming its field.
test('every PEM field over 64 KiB is 413 PAYLOAD_TOO_LARGE naming the field, counted in bytes', async () => {
  const over = (label: string, unit = 'A') => `-----BEGIN ${label}-----\n${unit.repeat(Math.ceil((64 * 1024 + 100) / Buffer.byteLength(unit)))}\n-----END ${label}-----\n`;
  const cluster = (await post('/v1/clusters', { name: `fz-${++n}`, publicEndpoint: 'https://192.0.2.1:6443' })).json.id as string;
  const ca = await createClientCa({ commonName: 'fz', algorithm: 'ec-p256', notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) });
  const cases: [string, unknown, string][] = [
    [`/v1/clusters/${cluster}/kubeconfig`, { csr: over('CERTIFICATE REQUEST') }, 'csr'],
    [`/v1/clusters/${cluster}/kubeconfig`, { csr: over('CERTIFICATE REQUEST', 'é') }, 'csr'], // ~33,000 characters
    ['/v1/clusters', { name: `fz-${++n}`, publicEndpoint: 'https://192.0.2.1:6443', serverCaPem: over('CERTIFICATE') }, 'serverCaPem'],
    ['/v1/clusters', { name: `fz-${++n}`, publicEndpoint: 'https://192.0.2.1:6443', serverCaPem: over('CERTIFICATE', 'é') }, 'serverCaPem'],
    ['/v1/clusters', { name: `fz-${++n}`, publicEndpoint: 'https://192.0.2.1:6443', clientCaCertPem: over('CERTIFICATE'), clientCaKeyPem: ca.keyPem }, 'clientCaCertPem'],
    ['/v1/clusters', { name: `fz-${++n}`, publicEndpoint: 'https://192.0.2.1:6443', clientCaCertPem: ca.certPem, clientCaKeyPem: over('PRIVATE KEY') }, 'clientCaKeyPem'],
  ];
  for (const [path, body, field] of cases) {
    const r = await post(path, body);
    assertRefused(r, 413, 'PAYLOAD_TOO_LARGE', /larger than 65536 bytes/);
    assert.equal(r.json.details?.field, field, r.body);
  }
});

// Node answered these itself: a bare 400 with no body and no X-Request-Id.
test('an HTTP/1.1 request without Host is 400 in the shape of the surface asked, with a request ID', async () => {
  const noHost = async (path: string) => {
    const r = await rawExchange(srv, `GET ${path} HTTP/1.1\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 400, r.body);
    assert.match(String(r.headers['x-request-id']), /^req_[0-9a-f]{24}$/);
    return r;
  };
  const native = await noHost('/v1/whoami');
  assert.equal(native.json.code, 'VALIDATION_FAILED');
  assert.equal(native.json.requestId, native.headers['x-request-id']);
  assert.match(native.json.message, /no Host header/);
  assert.equal((await noHost('/api/v3/projects/p/clusters/c/clustercert')).json.error_code, 'CCE.01400001');
  assert.equal((await noHost('/?Action=DescribeServiceMeshKubeconfig')).json.Code, 'InvalidParameter');
  assert.equal((await noHost('/k8s/c/user_config')).json.code, 'InvalidParameter');
  // HTTP/1.0 has no Host requirement.
  const old = await rawExchange(srv, 'GET /healthz HTTP/1.0\r\n\r\n');
  assert.equal(old.status, 200, old.body);
});

// Node answered an Expect other than 100-continue itself: a bare 417 with no body and no X-Request-Id.
test('a request with an unknown Expect is served as if it had none, errors included in the surface shape', async () => {
  const host = new URL(srv.url).host;
  const ok = await rawExchange(srv, `GET /v1/whoami HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${srv.rootToken}\r\nExpect: something\r\nConnection: close\r\n\r\n`);
  assert.equal(ok.status, 200, ok.body);
  const refused = await rawExchange(srv, `GET /v1/whoami HTTP/1.1\r\nHost: ${host}\r\nExpect: something\r\nConnection: close\r\n\r\n`);
  assert.equal(refused.status, 401, refused.body);
  assert.equal(refused.json.code, 'UNAUTHENTICATED');
  assert.equal(refused.json.requestId, refused.headers['x-request-id']);
});

/** An RSA SubjectPublicKeyInfo with modulus `n` and exponent `e` (big-endian bytes). */
const rsaSpki = (n: Buffer, e: Buffer) =>
  der.sequence(der.sequence(der.oid('1.2.840.113549.1.1.1'), der.NULL), der.bitString(der.sequence(der.integerFromBytes(n), der.integerFromBytes(e))));
const hugeExponent = () => Buffer.concat([Buffer.from([0x41]), crypto.randomBytes(22_000), Buffer.from([0x01])]);

// Node computes asymmetricKeyDetails in time quadratic in the exponent's length: ~85 ms for a 22 KB one, per request.
test('an RSA key with a public exponent over 32 bits is refused, in a CSR and in an imported client CA', async () => {
  const modulus = (pkcs1: Buffer) => content(children(readOnly(pkcs1))[0]!);
  const { publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'pkcs1', format: 'der' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const info = der.sequence(der.integerFromNumber(0), der.sequence(), rsaSpki(modulus(publicKey), hugeExponent()), der.explicit(0));
  const csr = derToPem(der.sequence(info, der.sequence(der.oid('1.2.840.113549.1.1.11'), der.NULL), der.bitString(crypto.randomBytes(256))), 'CERTIFICATE REQUEST');
  const cluster = (await post('/v1/clusters', { name: `fz-${++n}`, publicEndpoint: 'https://192.0.2.1:6443' })).json.id as string;
  assertRefused(await post(`/v1/clusters/${cluster}/kubeconfig`, { csr }), 400, 'CSR_INVALID', /RSA public exponent of \d+ bits is not supported/);

  // The client CA's certificate with its key's exponent swapped for a huge one.
  const ca = await createClientCa({ commonName: 'fz', algorithm: 'rsa-2048', notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) });
  const [tbs, alg, sig] = children(readOnly(pemToDer(ca.certPem, 'CERTIFICATE'))).map(raw);
  const fields = children(readOnly(tbs!)).map(raw);
  const caModulus = modulus(crypto.createPublicKey(ca.certPem).export({ type: 'pkcs1', format: 'der' }));
  const swapped = der.sequence(der.sequence(...fields.slice(0, 6), rsaSpki(caModulus, hugeExponent()), ...fields.slice(7)), alg!, sig!);
  assertRefused(await clusterWithCa(derToPem(swapped, 'CERTIFICATE'), ca.keyPem), 400, 'CA_INVALID', /RSA public exponent of \d+ bits is not supported/);
  await assertServing();
});

// OpenSSL signs with such a key correctly (it checks the CRT result and falls back to d), ~35 ms per certificate.
test('an RSA client CA key whose CRT exponent is larger than its modulus is refused', async () => {
  const ca = await createClientCa({ commonName: 'fz', algorithm: 'rsa-2048', notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 86_400_000) });
  const pkcs1 = crypto.createPrivateKey(ca.keyPem).export({ type: 'pkcs1', format: 'der' });
  const parts = children(readOnly(pkcs1)).map(raw); // version, n, e, d, p, q, dP, dQ, qInv
  parts[6] = der.integerFromBytes(Buffer.alloc(17_000, 0x7f));
  assertRefused(await clusterWithCa(ca.certPem, derToPem(der.sequence(...parts), 'RSA PRIVATE KEY')), 400, 'CA_INVALID', /private components are not those of an RSA key/);
  assert.equal((await clusterWithCa(ca.certPem, ca.keyPem)).status, 201, 'the untouched key is taken');
});

// The router ends a path at "#", so "/#x" reached the ASM (RPC) route, whose errors were then written in ACK's ROA shape.
test('the RPC endpoint answers in the RPC error shape whatever follows "/" in the URL', async () => {
  for (const url of ['/?Action=DescribeServiceMeshKubeconfig', '/#x', '/#/k8s/c/user_config']) {
    // Sent as raw bytes: Node's own client would drop the fragment.
    const r = await rawExchange(srv, `POST ${url} HTTP/1.1\r\nHost: ${new URL(srv.url).host}\r\nAuthorization: acs nobody:AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 400, `${url}: ${r.body}`);
    assert.equal(r.json.Code, 'MissingParameter', `${url}: ${r.body}`);
    assert.equal(r.json.RequestId, r.headers['x-request-id']);
    assert.equal(r.json.code, undefined, 'not the ROA shape');
  }
});
