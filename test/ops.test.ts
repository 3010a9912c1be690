// Operations edges through the real server process and CLI: which proxies are believed about the client address,
// a full disk, a store that failed for good, and the server's own TLS certificate.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { cli, cliJson } from './support/cli.ts';
import { rawRequest } from './support/http.ts';
import { logLinesMatching, serveExpectingFailure, serversStoppedAfterAll, tempDir, type ServerProcess } from './support/server-process.ts';

const start = serversStoppedAfterAll();


/** Creates a principal with the given X-Forwarded-For and returns the sourceIp its audit event recorded. */
async function auditedSourceIp(srv: ServerProcess, xff: string, name: string): Promise<string> {
  const res = await fetch(new URL('/v1/principals', srv.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${srv.rootToken}`, 'content-type': 'application/json', 'x-forwarded-for': xff },
    body: JSON.stringify({ name }),
  });
  assert.equal(res.status, 201, await res.text());
  const r = await cli({ url: srv.url, caFile: '' }, srv.rootToken, ['audit', 'list', '--action', 'CreatePrincipal', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const event = (JSON.parse(r.stdout) as { target?: unknown; sourceIp: string; [k: string]: unknown }[]).find((e) => JSON.stringify(e).includes(name));
  assert.ok(event, r.stdout);
  return event.sourceIp;
}

test('--trust-proxy alone believes one hop: a forged leftmost X-Forwarded-For entry is not the audited source address', async () => {
  const srv = await start({ args: ['--no-tls', '--trust-proxy'] });
  // What a client sends through one proxy: its forged entry, then the address the proxy saw (appended by the proxy).
  assert.equal(await auditedSourceIp(srv, '6.6.6.6, 10.0.0.5', 'bob'), '10.0.0.5');
  assert.match(srv.logs(), /"remoteAddress":"10\.0\.0\.5"/);
  assert.doesNotMatch(srv.logs(), /6\.6\.6\.6/);
});

test('--insecure-http without --trust-proxy warns at start that the console cookie is not Secure; with it, no warning and a Secure cookie', async () => {
  const signIn = (srv: ServerProcess, headers: Record<string, string> = {}) => fetch(new URL('/v1/sessions', srv.url), {
    method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token: srv.rootToken }),
  });
  const bare = await start({ args: ['--insecure-http'] });
  const warning = bare.logs().split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => /--insecure-http without --trust-proxy/.test(l.msg));
  assert.ok(warning, bare.logs());
  assert.equal(warning.level, 40);
  assert.match(warning.msg, /session cookie is set without Secure.*add --trust-proxy/);
  const plain = await signIn(bare, { 'x-forwarded-proto': 'https' });
  assert.equal(plain.status, 201);
  assert.doesNotMatch(plain.headers.get('set-cookie') ?? '', /Secure/, 'what the warning is about');

  const proxied = await start({ args: ['--insecure-http', '--trust-proxy'] });
  assert.doesNotMatch(proxied.logs(), /--insecure-http without --trust-proxy/);
  const secure = await signIn(proxied, { 'x-forwarded-proto': 'https' });
  assert.match(secure.headers.get('set-cookie') ?? '', /^__Host-kubecred_session=.*; Secure$/);
});

test('--trust-proxy with addresses believes only those proxies; KUBECRED_TRUST_PROXY=2 believes two hops', async () => {
  // The test client (127.0.0.1) is not the listed proxy: its X-Forwarded-For is ignored.
  const listed = await start({ args: ['--no-tls', '--trust-proxy', '10.1.2.0/24,192.168.7.7'] });
  assert.equal(await auditedSourceIp(listed, '6.6.6.6', 'carol'), '127.0.0.1');
  const twoHops = await start({ args: ['--no-tls'], env: { KUBECRED_TRUST_PROXY: '2' } });
  assert.equal(await auditedSourceIp(twoHops, '6.6.6.6, 10.0.0.9, 10.0.0.5', 'dave'), '10.0.0.9');
});

test('a --trust-proxy that is neither a hop count nor addresses is refused with exit 2, before anything is created', async () => {
  const dir = tempDir();
  const r = await serveExpectingFailure(['--data-dir', dir, '--port', '0', '--no-tls', '--trust-proxy', 'everyone']);
  assert.equal(r.signal, null);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--trust-proxy takes a number of proxy hops .*"everyone" is neither/);
  assert.doesNotMatch(r.stderr, /root token/);
});

/** A small tmpfs of its own, or the reason there cannot be one here (not root, no mount in a container). */
function mountSmallDisk(sizeMb: number): { dir: string; unmount(): void } | string {
  const dir = tempDir('kubecred-smalldisk-');
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=0700`, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    return `cannot mount a ${sizeMb} MB tmpfs here (needs root and mount permission): ${(r.stderr || r.error?.message || '').trim()}`;
  }
  return {
    dir,
    unmount() {
      spawnSync('umount', ['-l', dir]);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Writes zeros until the file system says it is full. */
function fillDisk(file: string): void {
  const fd = fs.openSync(file, 'w');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) fs.writeSync(fd, chunk);
  } catch (e) {
    assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    fs.closeSync(fd);
  }
}

test('SQLite on a full disk: writes are 503 UNAVAILABLE saying the disk is full and nothing changed, counted in /metrics; freeing space heals it', async (t) => {
  const disk = mountSmallDisk(8);
  if (typeof disk === 'string') return t.skip(disk);
  t.after(async () => {
    await srv?.stop();
    disk.unmount();
  });
  const srv = await start({ dataDir: path.join(disk.dir, 'data') });
  await cliJson(srv, srv.rootToken, ['cluster', 'create', 'c1', '--public-endpoint', 'https://127.0.0.1:6443']);
  const before = (await cliJson<unknown[]>(srv, srv.rootToken, ['principal', 'list'])).length;
  fillDisk(path.join(disk.dir, 'fill'));

  // What room the WAL still has takes a few writes; after that every one is refused, cleanly.
  let refused: Awaited<ReturnType<typeof rawRequest>> | null = null;
  let created = 0;
  for (let i = 0; i < 5000 && !refused; i++) {
    const r = await rawRequest(srv, 'POST', '/v1/principals', { token: srv.rootToken, body: JSON.stringify({ name: `p${i}-${'x'.repeat(40)}` }) });
    if (r.status === 201) created++;
    else refused = r;
  }
  assert.ok(refused, 'the disk never filled up');
  assert.equal(refused.status, 503, refused.body);
  assert.equal(refused.json.code, 'UNAVAILABLE');
  assert.match(refused.json.message, /disk is full; nothing was changed/);
  assert.ok(refused.json.requestId);

  // An issuance can still fit where the WAL was restarted into pages it already holds (a full disk refuses only
  // what needs new space): ask until one is refused, as for the principals above.
  let kube = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'c1', '--temporary', '60', '-o', path.join(tempDir(), 'k.kube')]);
  for (let i = 0; i < 200 && kube.code === 0; i++) {
    kube = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'c1', '--temporary', '60', '-o', path.join(tempDir(), `k${i}.kube`)]);
  }
  assert.equal(kube.code, 8, kube.stderr); // the server failed (5xx), as during a PostgreSQL outage
  assert.match(kube.stderr, /disk is full; nothing was changed.*\[UNAVAILABLE, request req_/);

  const metrics = await rawRequest(srv, 'GET', '/metrics');
  const failures = Number(/^kubecred_store_write_failures_total\{reason="disk_full"\} (\d+)/m.exec(metrics.body)?.[1]);
  assert.ok(failures >= 2, metrics.body.split('\n').filter((l) => l.includes('write_failures')).join('\n'));
  assert.match(metrics.body, /^kubecred_store_write_failures_total\{reason="io_error"\} 0$/m);

  // Nothing half-written: what was answered 201 is there, and nothing else. Then space comes back, and so do writes.
  fs.rmSync(path.join(disk.dir, 'fill'));
  assert.equal((await cliJson<unknown[]>(srv, srv.rootToken, ['principal', 'list'])).length, before + created);
  const healed = await rawRequest(srv, 'POST', '/v1/principals', { token: srv.rootToken, body: JSON.stringify({ name: 'after-space-freed' }) });
  assert.equal(healed.status, 201, healed.body);
  assert.equal((await rawRequest(srv, 'GET', '/healthz')).status, 200);
});

test('once the WAL cannot be synced the SQLite store is dead for good: writes are 503 and /healthz fails so a supervisor restarts it; a restart heals', async () => {
  const srv = await start({});
  assert.equal((await rawRequest(srv, 'GET', '/healthz')).status, 200);
  // A real way to make the sync fail: the WAL file vanishes under the server (SQLite keeps writing to the unlinked
  // file, which nothing can sync by name again). The sync re-checks the file's identity at most once a second.
  fs.rmSync(path.join(srv.dataDir, 'kubecred.db-wal'));
  await new Promise((r) => setTimeout(r, 1200));
  const write = await rawRequest(srv, 'POST', '/v1/principals', { token: srv.rootToken, body: JSON.stringify({ name: 'lost' }) });
  assert.equal(write.status, 503, write.body);
  assert.equal(write.json.code, 'UNAVAILABLE');
  assert.match(write.json.message, /not confirmed .* restarted once the disk is healthy/);
  const live = await rawRequest(srv, 'GET', '/healthz');
  assert.equal(live.status, 503, live.body);
  assert.deepEqual({ status: live.json.status, failing: live.json.failing }, { status: 'failed', failing: ['store'] });
  assert.match(live.json.message, /restart kubecred/);
  assert.doesNotMatch(live.body, /kubecred\.db-wal|ENOENT/, 'no paths or errno on an unauthenticated endpoint');
  assert.equal((await rawRequest(srv, 'GET', '/readyz')).status, 503);
  const again = await rawRequest(srv, 'POST', '/v1/principals', { token: srv.rootToken, body: JSON.stringify({ name: 'still-lost' }) });
  assert.equal(again.status, 503, 'a healthy disk later does not make the server trust its writes again');
  // Logged as what it is (its name, code and message; no stack), with the request ID it was answered with
  // (the line may reach stdout a moment after the answer: wait for it).
  const failedLine = () => srv.logs().split('\n').filter((l) => l.includes('"request failed"')).map((l) => JSON.parse(l)).find((l) => l.requestId === again.json.requestId);
  for (let i = 0; i < 100 && !failedLine(); i++) await new Promise((r) => setTimeout(r, 20));
  const line = failedLine();
  assert.ok(line, srv.logs());
  assert.deepEqual(Object.keys(line.error).sort(), ['code', 'message', 'type']);
  assert.equal(line.error.type, 'KubecredError');
  assert.equal(line.err, undefined);

  assert.equal(await srv.stop(), 0);
  const restarted = await start({ dataDir: srv.dataDir, previous: srv });
  assert.equal((await rawRequest(restarted, 'GET', '/healthz')).status, 200);
  const healed = await rawRequest(restarted, 'POST', '/v1/principals', { token: restarted.rootToken, body: JSON.stringify({ name: 'after-restart' }) });
  assert.equal(healed.status, 201, healed.body);
});

test('the self-signed certificate is made again at start when it expires within 30 days or does not name --host, saying so; a good one is kept', async () => {
  const { createSelfSignedServerCert } = await import('../src/pki/ca.ts');
  const { X509Certificate } = await import('node:crypto');
  const first = await start({});
  const dir = first.dataDir;
  const certFile = path.join(dir, 'tls', 'server.crt');
  const keyFile = path.join(dir, 'tls', 'server.key');
  await first.stop();

  // A certificate that still matches is kept as it is.
  const original = fs.readFileSync(certFile, 'utf8');
  const kept = await start({ dataDir: dir, previous: first });
  assert.equal(fs.readFileSync(certFile, 'utf8'), original);
  assert.doesNotMatch(kept.stderr() + kept.logs(), /new self-signed TLS certificate/);
  await kept.stop();

  // Expiring in 5 days (made 820 days ago, for 825): made again, with the key 0600, and served.
  const old = createSelfSignedServerCert(['127.0.0.1', 'localhost', '::1'], new Date(Date.now() - 820 * 86_400_000), 825);
  fs.writeFileSync(certFile, old.certPem);
  fs.writeFileSync(keyFile, old.keyPem, { mode: 0o600 });
  const renewed = await start({ dataDir: dir, previous: first });
  const [renewal] = await logLinesMatching(renewed, /^made a new self-signed TLS certificate/);
  assert.match(renewal?.msg, /made a new self-signed TLS certificate in .*: the old one expires on .*; it names 127\.0\.0\.1, localhost, ::1 and is valid until/);
  assert.deepEqual({ level: renewal?.level, certFile: renewal?.certFile }, { level: 40, certFile });
  const cert = new X509Certificate(fs.readFileSync(certFile));
  assert.ok(Date.parse(cert.validTo) > Date.now() + 800 * 86_400_000, cert.validTo);
  assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(path.join(dir, 'tls')).sort(), ['server.crt', 'server.key'], 'no temporary files left');
  assert.equal((await rawRequest(renewed, 'GET', '/healthz')).status, 200);
  await renewed.stop();

  // Served on a host the certificate does not name: made again, naming it, and a client checking the name connects.
  const moved = await start({ dataDir: dir, previous: first, args: ['--host', '127.0.0.2'] });
  assert.match(moved.url, /^https:\/\/127\.0\.0\.2:/);
  assert.match((await logLinesMatching(moved, /^made a new self-signed/))[0]?.msg, /the old one does not name 127\.0\.0\.2; it names 127\.0\.0\.1, localhost, ::1, 127\.0\.0\.2/);
  assert.equal(new X509Certificate(fs.readFileSync(certFile)).checkIP('127.0.0.2'), '127.0.0.2');
  assert.equal((await rawRequest(moved, 'GET', '/healthz')).status, 200);
  await moved.stop();
});

test('a --tls-cert/--tls-key that is not PEM, or a key that does not match, exits 2 naming the file, before a first start prints secrets', async () => {
  const { createSelfSignedServerCert } = await import('../src/pki/ca.ts');
  const work = tempDir('kubecred-tlsfiles-');
  const a = createSelfSignedServerCert(['127.0.0.1'], new Date(), 10);
  const b = createSelfSignedServerCert(['127.0.0.1'], new Date(), 30);
  const file = (name: string, content: string) => {
    fs.writeFileSync(path.join(work, name), content, { mode: 0o600 });
    return path.join(work, name);
  };
  const [certA, keyA, keyB, json] = [file('a.crt', a.certPem), file('a.key', a.keyPem), file('b.key', b.keyPem), file('self.json', '{"not":"pem"}')];
  const cases: Array<[string[], RegExp]> = [
    [['--tls-cert', json, '--tls-key', json], /--tls-cert .*self\.json is not a PEM certificate/],
    [['--tls-cert', certA, '--tls-key', json], /--tls-key .*self\.json is not an unencrypted PEM private key/],
    [['--tls-cert', certA, '--tls-key', keyB], /--tls-key .*b\.key is not the private key of --tls-cert .*a\.crt/],
  ];
  for (const [args, message] of cases) {
    const dir = path.join(tempDir(), 'data');
    const r = await serveExpectingFailure(['--data-dir', dir, '--port', '0', ...args]);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /root token|initialized/);
    assert.ok(!fs.existsSync(dir), 'nothing created');
  }
  // The matching pair serves, and a certificate about to expire (10 days here) is warned about.
  const ok = await start({ args: ['--tls-cert', certA, '--tls-key', keyA] });
  assert.match((await logLinesMatching(ok, /^--tls-cert .* expires on/))[0]?.msg, /^--tls-cert .*a\.crt expires on .*replace it/);
  assert.equal((await rawRequest({ url: ok.url, caFile: certA }, 'GET', '/healthz')).status, 200);
  await ok.stop();
});

test('init and account commands take only the data-directory flags, and serve-only environment (KUBECRED_HOST/PORT) cannot break them', async () => {
  const dir = path.join(tempDir(), 'data');
  const env = { KUBECRED_HOST: '0.0.0.0', KUBECRED_PORT: '70000', KUBECRED_LOG_LEVEL: 'loud', KUBECRED_TRUST_PROXY: 'everyone', KUBECRED_OUTAGE_GRACE_SECONDS: 'soon', KUBECRED_MASTER_KEY: undefined };
  const init = await cli(null, null, ['init', '--data-dir', dir, '-o', 'json'], env);
  assert.equal(init.code, 0, init.stderr);
  assert.ok(JSON.parse(init.stdout).rootToken);
  const created = await cli(null, null, ['account', 'create', 'team-b', '--data-dir', dir, '-o', 'json'], env);
  assert.equal(created.code, 0, created.stderr);
  const root = await cli(null, null, ['account', 'root-token', '--data-dir', dir, '-o', 'json'], env);
  assert.equal(root.code, 0, root.stderr);
  assert.match(JSON.parse(root.stdout).rootToken, /^kc1\./);
  // serve's flags are not theirs: refused as unknown (exit 2), and not in their --help.
  const flag = await cli(null, null, ['account', 'root-token', '--data-dir', dir, '--no-tls', '--host', '0.0.0.0']);
  assert.equal(flag.code, 2, flag.stderr);
  assert.match(flag.stderr, /unknown option '--no-tls'/);
  const help = await cli(null, null, ['init', '--help']);
  assert.doesNotMatch(help.stdout, /--host|--port|--tls-cert|--trust-proxy/);
  assert.match(help.stdout, /--data-dir/);
});

test('KUBECRED_PORT and KUBECRED_HOST set but empty mean their defaults (7443 on 127.0.0.1), not any free port on every address', async () => {
  const env = { KUBECRED_PORT: '', KUBECRED_HOST: '', KUBECRED_LOG_LEVEL: '', KUBECRED_TRUST_PROXY: '' };
  let srv: ServerProcess | null = null;
  try {
    srv = await start({ anyPort: false, env });
    assert.equal(new URL(srv.url).host, '127.0.0.1:7443');
  } catch (e) {
    // Something else holds 7443 here: the refusal still shows which port an empty KUBECRED_PORT meant.
    assert.match(String((e as Error).message), /port 7443 on 127\.0\.0\.1 is already in use/);
  } finally {
    await srv?.stop();
  }
  for (const args of [['--port', ''], ['--port', ' '], ['--port', '12ab'], ['--host', '']]) {
    const r = await serveExpectingFailure(['--data-dir', path.join(tempDir(), 'data'), ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /--(port must be 0-65535|host must not be empty)/);
  }
});

test('a data directory kubecred cannot use is a usage error naming it and why; one open to others is warned about', async () => {
  const base = tempDir();
  const file = path.join(base, 'a-file');
  fs.writeFileSync(file, 'x');
  for (const args of [['serve', '--port', '0'], ['init']]) {
    const r = await cli(null, null, [...args, '--data-dir', path.join(file, 'data')]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cannot use the data directory .*a-file\/data: a file is in the way/);
    assert.doesNotMatch(r.stderr, /ENOTDIR|root token/);
  }
  const open = path.join(base, 'open');
  fs.mkdirSync(open, { mode: 0o755 });
  fs.chmodSync(open, 0o755);
  const init = await cli(null, null, ['init', '--data-dir', open, '-o', 'json']);
  assert.equal(init.code, 0, init.stderr);
  assert.match(init.stderr, /warning: the data directory .*open is open to group or others \(mode 755\).*chmod 700/);
  fs.rmSync(base, { recursive: true, force: true });
});
