// Restarting the server keeps everything; start-up refuses unsafe settings; SIGTERM stops cleanly;
// an imported client CA works end to end; files holding secrets are owner-only.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { cli, cliJson } from './support/cli.ts';
import { startServerProcess, tempDir } from './support/server-process.ts';

test('restart keeps everything and returns the same default kubeconfig', async () => {
  const first = await startServerProcess();
  const c = await cliJson(first, first.rootToken, ['cluster', 'create', 'keep', '--public-endpoint', 'https://192.0.2.30:6443']);
  const k1 = (await cli(first, first.rootToken, ['kubeconfig', 'get', '--cluster', 'keep'])).stdout;
  assert.equal(await first.stop(), 0, 'SIGTERM exits 0');
  assert.match(first.stderr(), /SIGTERM/);

  const second = await startServerProcess({ dataDir: first.dataDir, previous: first });
  try {
    assert.doesNotMatch(second.stderr(), /root token/, 'secrets are printed on the first start only');
    const k2 = (await cli(second, first.rootToken, ['kubeconfig', 'get', '--cluster', 'keep'])).stdout;
    assert.equal(k2, k1);
    const shown = await cliJson(second, first.rootToken, ['cluster', 'show', c.id]);
    assert.equal(shown.clientCaPem, c.clientCaPem);
    const audit = await cliJson(second, first.rootToken, ['audit', 'list', '--action', 'IssueKubeconfig']);
    assert.equal(audit.length, 1);
  } finally {
    await second.stop();
  }

  for (const f of ['master.key', 'kubecred.db', 'tls/server.key']) {
    assert.equal(fs.statSync(path.join(first.dataDir, f)).mode & 0o077, 0, `${f} is owner-only`);
  }
  const db = fs.readFileSync(path.join(first.dataDir, 'kubecred.db'));
  assert.ok(!db.includes('PRIVATE KEY'), 'no private key is stored in clear');
  assert.ok(!db.includes(first.rootToken.split('.')[2]), 'the token is stored only as a hash');
});

test('KUBECRED_HOST, KUBECRED_PORT and KUBECRED_LOG_LEVEL apply when their flags are absent; a flag wins over them', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
  const env = { KUBECRED_HOST: '127.0.0.1', KUBECRED_PORT: String(port), KUBECRED_LOG_LEVEL: 'warn' };
  const byEnv = await startServerProcess({ anyPort: false, args: ['--no-tls'], env });
  try {
    assert.equal(byEnv.url, `http://127.0.0.1:${port}`);
    assert.equal((await fetch(`${byEnv.url}/healthz`)).status, 200);
    // At warn, neither start-up nor the request writes an info line.
    assert.doesNotMatch(byEnv.logs(), /"level":30/);
    // The flag wins: with the environment's port taken, this one would not start.
    const byFlag = await startServerProcess({ args: ['--no-tls', '--log-level', 'info'], env });
    try {
      assert.notEqual(new URL(byFlag.url).port, String(port));
      assert.equal((await fetch(`${byFlag.url}/healthz`)).status, 200);
      await new Promise((r) => setTimeout(r, 200));
      assert.match(byFlag.logs(), /"level":30/);
    } finally {
      await byFlag.stop();
    }
  } finally {
    await byEnv.stop();
  }
  const bad = await cli(null, null, ['serve', '--data-dir', tempDir(), '--no-tls'], { KUBECRED_LOG_LEVEL: 'loud' });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--log-level must be one of/);
});

test('plain HTTP on a non-loopback address is refused unless --insecure-http', async () => {
  const r = await cli(null, null, ['serve', '--data-dir', tempDir(), '--host', '0.0.0.0', '--no-tls', '--port', '0']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /refusing to serve plain HTTP/);
});

test('an imported client CA (openssl, RSA-3072 PKCS#1 key) signs kubeconfigs that verify against it, labelled by its own size', async () => {
  const dir = tempDir('kubecred-ca-');
  const key = path.join(dir, 'ca.key');
  const crt = path.join(dir, 'ca.crt');
  execFileSync('openssl', ['genrsa', '-traditional', '-out', key, '3072'], { stdio: 'ignore' });
  execFileSync('openssl', ['req', '-x509', '-new', '-key', key, '-out', crt, '-days', '3650', '-subj', '/CN=corp kubernetes client CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const srv = await startServerProcess();
  try {
    const c = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'imported', '--public-endpoint', 'https://192.0.2.40:6443', '--ca-cert', crt, '--ca-key', key]);
    assert.equal(c.clientCaSource, 'imported');
    assert.equal(c.clientCaAlgorithm, 'rsa-3072');
    const k = YAML.parse((await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'imported'])).stdout);
    const leaf = path.join(dir, 'leaf.crt');
    fs.writeFileSync(leaf, Buffer.from(k.users[0].user['client-certificate-data'], 'base64'));
    assert.match(execFileSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', crt, leaf], { encoding: 'utf8' }), /OK/);
    const mismatched = path.join(dir, 'other.key');
    execFileSync('openssl', ['genrsa', '-out', mismatched, '2048'], { stdio: 'ignore' });
    const bad = await cli(srv, srv.rootToken, ['cluster', 'create', 'mismatch', '--public-endpoint', 'https://192.0.2.41:6443', '--ca-cert', crt, '--ca-key', mismatched]);
    assert.equal(bad.code, 6);
    assert.match(bad.stderr, /CA_INVALID/);
  } finally {
    await srv.stop();
  }
});
