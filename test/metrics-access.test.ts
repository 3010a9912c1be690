// /metrics tells how busy the server is (issued, denied, revoked counts; latencies): loopback clients only by
// default (PRODUCT.md's operations row: "none / loopback"), --metrics-from opens it to an in-cluster Prometheus.
// Over real HTTPS against `kubecred serve`; the address matching itself also in-process, for IPv6 and mapped forms.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressAllowed } from '../src/api/ops-routes.ts';
import { assertCodedError, rawRequest } from './support/http.ts';
import { documentedResponses } from './support/openapi.ts';
import { serveExpectingFailure, serversStoppedAfterAll } from './support/server-process.ts';

const start = serversStoppedAfterAll();

test('/metrics answers loopback by default; --metrics-from without loopback refuses it with a coded 403 that says what to do (not the ranges); /healthz stays open', async () => {
  const open = await start();
  const ok = await rawRequest(open, 'GET', '/metrics');
  assert.equal(ok.status, 200);
  assert.match(ok.body, /kubecred_http_request_duration_seconds/);

  const closed = await start({ args: ['--metrics-from', '10.0.0.0/8,fd00::/8'] });
  const refused = await rawRequest(closed, 'GET', '/metrics');
  assertCodedError(refused, 403, 'ACCESS_DENIED', /does not answer your address 127\.0\.0\.1; the operator lets Prometheus in with kubecred serve --metrics-from/);
  assert.doesNotMatch(refused.body, /10\.0\.0\.0|fd00/, "the operator's ranges are not told to whoever asks");
  assert.doesNotMatch(refused.body, /kubecred_/);
  documentedResponses((await rawRequest(closed, 'GET', '/openapi.json')).json).check('GET', '/metrics', refused);
  assert.equal((await rawRequest(closed, 'GET', '/healthz')).status, 200);

  const any = await start({ args: ['--metrics-from', 'any'] });
  assert.equal((await rawRequest(any, 'GET', '/metrics')).status, 200);
});

test('--metrics-from that is neither "any" nor addresses and CIDRs is a usage error (exit 2) naming the entry', async () => {
  for (const bad of ['10.0.0.0/33', 'prometheus.local', '']) {
    const r = await serveExpectingFailure(['--port', '0', '--metrics-from', bad]);
    assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--metrics-from takes "any", or addresses and CIDRs/);
  }
});

test('address matching: loopback in both families and IPv4-mapped, single addresses, CIDRs', () => {
  const loop = addressAllowed(['loopback']);
  for (const ip of ['127.0.0.1', '127.8.9.10', '::1', '::ffff:127.0.0.1']) assert.equal(loop(ip), true, ip);
  for (const ip of ['10.0.0.1', '::ffff:10.0.0.1', 'fd00::1', '']) assert.equal(loop(ip), false, ip);
  const lan = addressAllowed(['10.0.0.0/8', '192.168.1.5', 'fd00::/8']);
  for (const ip of ['10.1.2.3', '::ffff:10.1.2.3', '192.168.1.5', 'fd12::3']) assert.equal(lan(ip), true, ip);
  for (const ip of ['192.168.1.6', '127.0.0.1', '::1', '11.0.0.1']) assert.equal(lan(ip), false, ip);
  assert.equal(addressAllowed('any')('203.0.113.9'), true);
});
