// What `kubecred serve` checks before it starts, and the line it logs once it serves: a busy port said before the
// data directory is touched, key files others can read, and the version, store and TLS expiry in one log line.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { cli } from './support/cli.ts';
import { freePort } from './support/postgres.ts';
import { BIN, logLinesMatching, serveExpectingFailure, serversStoppedAfterAll, startServerProcess, tempDir } from './support/server-process.ts';

const start = serversStoppedAfterAll();

/** The data directory of a server that ran once and stopped. */
async function initializedDataDir(): Promise<string> {
  const srv = await startServerProcess({});
  await srv.stop();
  return srv.dataDir;
}

test('a port already in use is a usage error (exit 2) before the data directory is made', async () => {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  try {
    const dataDir = path.join(tempDir(), 'not-yet');
    const r = await serveExpectingFailure(['--data-dir', dataDir, '--port', String((holder.address() as net.AddressInfo).port)]);
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /port \d+ on 127\.0\.0\.1 is already in use\n {2}hint: .*--port/);
    assert.equal(fs.existsSync(dataDir), false, 'nothing made: no master key, database or secrets printed for a server that never ran');
    assert.doesNotMatch(r.stderr, /root token/);
  } finally {
    holder.close();
  }
});

test('an address of no interface here is a usage error naming --host, with --port 0 too, before the data directory is made', async () => {
  for (const port of ['7443', '0']) {
    const dataDir = path.join(tempDir(), 'not-yet');
    const r = await serveExpectingFailure(['--data-dir', dataDir, '--host', '192.0.2.1', '--port', port]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cannot listen on 192\.0\.2\.1: no network interface has that address\n {2}hint: give --host/);
    assert.equal(fs.existsSync(dataDir), false, `--port ${port}: no first start for a server that cannot listen`);
  }
});

test('the self-signed TLS key or master.key readable by others is refused (exit 2), naming the file and the chmod', async () => {
  const dataDir = await initializedDataDir();
  const keyFile = path.join(dataDir, 'tls', 'server.key');
  const certBefore = fs.readFileSync(path.join(dataDir, 'tls', 'server.crt'), 'utf8');
  fs.chmodSync(keyFile, 0o644);
  const tlsKey = await serveExpectingFailure(['--data-dir', dataDir]);
  assert.equal(tlsKey.code, 2, tlsKey.stderr);
  assert.match(tlsKey.stderr, new RegExp(`${keyFile.replace(/[.]/g, '\\.')} is readable by group or others \\(mode 644\\).*\\n {2}hint: run chmod 600 `));
  assert.equal(fs.readFileSync(path.join(dataDir, 'tls', 'server.crt'), 'utf8'), certBefore, 'the certificate is left as it was');
  fs.chmodSync(keyFile, 0o600);

  const masterKey = path.join(dataDir, 'master.key');
  fs.chmodSync(masterKey, 0o640);
  const mk = await serveExpectingFailure(['--data-dir', dataDir]);
  assert.equal(mk.code, 2, mk.stderr);
  assert.match(mk.stderr, /master\.key is readable by group or others.*\n {2}hint: run chmod 600 .*master-key rotate/);
  fs.chmodSync(masterKey, 0o600);

  const srv = await start({ dataDir });
  assert.match(srv.url, /^https:/);
});

test('a --tls-key readable by others (a mounted Secret, say) is warned about, and the server starts', async () => {
  const dir = tempDir();
  const seed = await initializedDataDir();
  const cert = path.join(dir, 'tls.crt');
  const key = path.join(dir, 'tls.key');
  fs.copyFileSync(path.join(seed, 'tls', 'server.crt'), cert);
  fs.copyFileSync(path.join(seed, 'tls', 'server.key'), key);
  fs.chmodSync(key, 0o644);
  const srv = await start({ args: ['--tls-cert', cert, '--tls-key', key] });
  // A JSON log line at warn, as everything serve logs; stderr here is no terminal, so no plain line beside it.
  const [line] = await logLinesMatching(srv, /--tls-key .* is readable by group or others/);
  assert.match(line?.msg, new RegExp(`^--tls-key ${key.replace(/[.]/g, '\\.')} is readable by group or others \\(mode 644\\).*run: chmod 600`));
  assert.deepEqual({ level: line?.level, keyFile: line?.keyFile, mode: line?.mode }, { level: 40, keyFile: key, mode: '644' });
  assert.doesNotMatch(srv.stderr(), /readable by group/);
  // Where the log does not carry warnings (--log-level error), stderr still does.
  const quiet = await start({ args: ['--tls-cert', cert, '--tls-key', key, '--log-level', 'error'] });
  assert.match(quiet.stderr(), new RegExp(`kubecred: warning: --tls-key ${key.replace(/[.]/g, '\\.')} is readable by group or others \\(mode 644\\).*run: chmod 600`));
  assert.doesNotMatch(quiet.logs(), /readable by group/);
});

test('a server waiting for its database logs why, with the driver\'s code, as a JSON line at warn', async () => {
  // Nothing listens on this port: connection refused.
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as net.AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', tempDir(), '--port', '0', '--database', `postgres://kubecred:secret-pw@127.0.0.1:${port}/kubecred`], {
    env: { ...process.env, KUBECRED_MASTER_KEY: crypto.randomBytes(32).toString('base64') }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  try {
    const lines = await logLinesMatching({ logs: () => out }, /^waiting for the database/);
    assert.ok(lines.length > 0, `${out}\n${err}`);
    assert.equal(lines[0]!.level, 40);
    assert.equal(lines[0]!.msg, `waiting for the database (postgres 127.0.0.1:${port}/kubecred) to answer (ECONNREFUSED), attempt 1`);
    assert.deepEqual({ cause: lines[0]!.cause, attempt: lines[0]!.attempt }, { cause: 'ECONNREFUSED', attempt: 1 });
    assert.doesNotMatch(out + err, /secret-pw/, 'never the password');
    assert.doesNotMatch(err, /waiting for the database/, 'stderr is no terminal here: the log line only');
  } finally {
    child.kill();
  }
});

test('once serving, one JSON log line says the version, the store, the master key\'s ID and the TLS certificate\'s expiry', async () => {
  const srv = await start({});
  let line: Record<string, any> | undefined;
  for (let i = 0; i < 50 && !line; i++) {
    line = srv.logs().split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === 'kubecred serving');
    if (!line) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(line, srv.logs());
  const pkg = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', 'package.json'), 'utf8'));
  assert.equal(line.version, pkg.version);
  assert.equal(line.url, srv.url);
  assert.equal(line.store, `sqlite ${path.join(srv.dataDir, 'kubecred.db')}`);
  assert.match(line.masterKey, /^[0-9a-f]{16}$/);
  const cert = new crypto.X509Certificate(fs.readFileSync(srv.caFile));
  assert.deepEqual(line.tls, { certFile: srv.caFile, notAfter: new Date(cert.validTo).toISOString(), selfSigned: true });
  assert.ok(line.startupMs > 0 && line.startupMs < 60_000, String(line.startupMs));
  assert.doesNotMatch(srv.logs(), /kc1\.|BEGIN .*PRIVATE KEY/, 'no token or key in the logs');
});

test('a first start that cannot write its secrets file shows no secret, and the way it names (account root-token) gives the root a token', async () => {
  const dataDir = tempDir();
  fs.mkdirSync(path.join(dataDir, 'first-start-secrets.txt'), { mode: 0o700 });
  const srv = await start({ dataDir });
  assert.match(srv.stderr(), /could not be written to \S*first-start-secrets\.txt \(\w+\) and are not shown in this log: give the root a token with `kubecred account root-token`/);
  assert.equal(srv.rootToken, '', 'no root token line');
  assert.doesNotMatch(srv.stderr() + srv.logs(), /kc1\.tok_|access key secret:/);
  const r = await cli(null, null, ['account', 'root-token', '--data-dir', dataDir, '--output', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await cli(srv, JSON.parse(r.stdout).rootToken, ['whoami'])).code, 0);
});

/** `serve` on a PostgreSQL URL nobody answers: its stderr up to its first "waiting for the database" line, then it is stopped. */
async function stderrUntilWaiting(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  const child = spawn(process.execPath, [BIN, 'serve', '--data-dir', tempDir(), '--port', String(await freePort()), '--log-level', 'silent', ...args], {
    env: { ...process.env, KUBECRED_MASTER_KEY: crypto.randomBytes(32).toString('base64'), KUBECRED_DATABASE_URL: undefined, ...env }, stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 20_000);
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (/waiting for the database/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill('SIGKILL');
  await exited;
  return stderr;
}

test('a password in --database (argv, readable by every user) is warned about at start, never shown; none in KUBECRED_DATABASE_URL or a URL without one', async () => {
  const port = await freePort();
  const withPassword = `postgres://kubecred:hunter2-secret@127.0.0.1:${port}/kubecred`;
  const flagged = await stderrUntilWaiting(['--database', withPassword], {});
  assert.match(flagged, /waiting for the database/);
  assert.match(flagged, /warning: --database carries a password, .* give the URL in KUBECRED_DATABASE_URL instead/);
  assert.doesNotMatch(flagged, /hunter2/);
  const query = await stderrUntilWaiting(['--database', `postgres://kubecred@127.0.0.1:${port}/kubecred?password=hunter2-secret`], {});
  assert.match(query, /warning: --database carries a password/);
  for (const [args, env] of [[[], { KUBECRED_DATABASE_URL: withPassword }], [['--database', `postgres://kubecred@127.0.0.1:${port}/kubecred`], {}]] as const) {
    const quiet = await stderrUntilWaiting([...args], env);
    assert.match(quiet, /waiting for the database/);
    assert.doesNotMatch(quiet, /carries a password/);
  }
});
