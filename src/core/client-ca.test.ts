// A cluster's client CA over its life, on a real SQLite store with a clock moved by hand: what it signs near and
// after its end, and the CRL it signs (entries dropped once long expired; refused for a CA without cRLSign).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HOUR, makeKit, type Kit } from './test-kit.ts';
import type { Actor } from './actor.ts';
import { KubecredError } from './errors.ts';

let kit: Kit;
let clusterId: string;

before(async () => {
  kit = await makeKit();
  clusterId = (await kit.authority.clusters.create(kit.root, { name: 'prod', publicEndpoint: 'https://203.0.113.10:6443' })).id;
});
after(() => kit.close());

const get = (a: Actor, extra: Record<string, unknown> = {}) => kit.authority.credentials.getKubeconfig(a, { clusterId, endpoint: 'public', ...extra });
const user = () => kit.user();

test("a CRL drops an entry once its certificate expired longer ago than a CRL's validity, and not before", async () => {
  const u = await user();
  const tmp = await get(u, { temporaryMinutes: 15 });
  await kit.authority.credentials.revoke(kit.root, { clusterId, principalId: u.principal.id, reason: 'test' });
  const serials = async () => {
    const der = await kit.authority.crl.crlDer(clusterId);
    const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], { input: der, encoding: 'utf8' });
    return [...text.matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]!.toLowerCase());
  };
  const serial = tmp.credential.serial.toLowerCase();
  const start = kit.clock.now();
  try {
    assert.ok((await serials()).includes(serial), 'revoked and unexpired: listed');
    kit.clock.set(new Date(new Date(tmp.credential.notAfter).getTime() + HOUR - 1000));
    assert.ok((await serials()).includes(serial), 'expired, but a CRL built before its expiry may still be held: listed');
    kit.clock.set(new Date(new Date(tmp.credential.notAfter).getTime() + HOUR + 1000));
    assert.ok(!(await serials()).includes(serial), 'expired longer ago than a CRL lives: gone');
  } finally {
    kit.clock.set(start);
  }
});

test('a client CA that ends within 15 minutes, or has ended, signs nothing: a clear CONFLICT, not a kubeconfig already expired', async () => {
  const c = await kit.authority.clusters.create(kit.root, { name: 'ageing', publicEndpoint: 'https://203.0.113.44:6443' });
  const caEnds = new Date(new crypto.X509Certificate(c.clientCaPem).validTo).getTime();
  const u = await user();
  const start = kit.clock.now();
  try {
    kit.clock.set(new Date(caEnds - 20 * 60_000));
    const k = await kit.authority.credentials.getKubeconfig(u, { clusterId: c.id, endpoint: 'public', temporaryMinutes: 60 });
    assert.equal(new Date(k.credential.notAfter).getTime(), Math.floor(caEnds / 1000) * 1000, 'clamped to the CA while it still carries 15 minutes');
    for (const at of [caEnds - 10 * 60_000, caEnds + 60_000]) {
      kit.clock.set(new Date(at));
      await assert.rejects(kit.authority.credentials.getKubeconfig(u, { clusterId: c.id, endpoint: 'public', temporaryMinutes: 15 }),
        (e: unknown) => e instanceof KubecredError && e.code === 'CONFLICT' && /client CA (expires|expired) at/.test(e.message));
    }
  } finally {
    kit.clock.set(start);
  }
});

test("a CRL is refused for an imported CA without cRLSign (kubeadm's shape), saying what works instead; a long cluster name gets a CA", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubecred-kubeadm-ca-'));
  const [key, crt] = [path.join(dir, 'ca.key'), path.join(dir, 'ca.crt')];
  execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key], { stdio: 'ignore' });
  execFileSync('openssl', ['req', '-x509', '-new', '-key', key, '-out', crt, '-days', '30', '-subj', '/CN=kubernetes',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign'], { stdio: 'ignore' });
  const start = kit.clock.now();
  kit.clock.set(new Date()); // openssl dated the CA from the real clock
  try {
    const c = await kit.authority.clusters.create(kit.root, { name: 'kubeadm-like', publicEndpoint: 'https://203.0.113.45:6443', clientCa: { import: { certPem: fs.readFileSync(crt, 'utf8'), keyPem: fs.readFileSync(key, 'utf8') } } });
    await assert.rejects(kit.authority.crl.crlDer(c.id), (e: unknown) => e instanceof KubecredError && e.code === 'CONFLICT' && /no cRLSign[\s\S]*authorization webhook/.test(e.message));
  } finally {
    kit.clock.set(start);
  }
  assert.ok((await kit.authority.crl.crlDer(clusterId)).length > 0, 'a generated CA signs its CRL');
  const long = await kit.authority.clusters.create(kit.root, { name: 'a'.repeat(63), publicEndpoint: 'https://203.0.113.46:6443' });
  assert.match(new crypto.X509Certificate(long.clientCaPem).subject, /CN=kubecred client CA for a+/);
});
