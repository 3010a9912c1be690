// Logging in and reaching the server, through the real server process and the real CLI: where the token
// comes from (never argv by necessity), what a saved login holds, plain http refused to other machines,
// TLS hints, a peer that never answers, and tokens or servers that cannot be used.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { cli, cliJson, leftovers } from './support/cli.ts';
import { cliOnTerminal, hasPython } from './support/pty.ts';
import { freePort } from './support/postgres.ts';
import { startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let work: string;

before(async () => {
  srv = await startServerProcess();
  work = tempDir('kubecred-target-');
  await cliJson(srv, srv.rootToken, ['cluster', 'create', 'prod', '--public-endpoint', 'https://127.0.0.1:6443']);
});

after(async () => {
  await srv?.stop();
});

test('login --ca-file with a relative path saves it absolute, so the saved login works from any directory', async () => {
  fs.mkdirSync(path.join(work, 'ca'), { recursive: true });
  fs.copyFileSync(srv.caFile, path.join(work, 'ca', 'server.crt'));
  const noEnv = { KUBECRED_SERVER: undefined, KUBECRED_TOKEN: undefined, KUBECRED_CA_FILE: undefined, KUBECRED_CONFIG: undefined };
  const l = await cli(null, null, ['login', '--server', srv.url, '--token', srv.rootToken, '--ca-file', 'ca/server.crt', '--config', 'login.json'], noEnv, work);
  assert.equal(l.code, 0, l.stderr);
  const saved = JSON.parse(fs.readFileSync(path.join(work, 'login.json'), 'utf8'));
  assert.equal(saved.caFile, path.join(work, 'ca', 'server.crt'));
  const who = await cli(null, null, ['whoami', '--config', path.join(work, 'login.json'), '--output', 'json'], noEnv);
  assert.equal(who.code, 0, who.stderr);
});

test('a --server that is not an http(s) URL is a usage error (2), not an unreachable server (7)', async () => {
  for (const server of ['foo', 'localhost:7443']) {
    const r = await cli(srv, srv.rootToken, ['whoami', '--server', server]);
    assert.equal(r.code, 2, `${server}: ${r.stderr}`);
    assert.match(r.stderr, /is not an http\(s\) URL.*--server/);
  }
});

test('login --config naming a directory, or a path through a regular file, is a usage error naming --config, with no temporary file left', async () => {
  const noEnv = { KUBECRED_SERVER: undefined, KUBECRED_TOKEN: undefined, KUBECRED_CA_FILE: undefined, KUBECRED_CONFIG: undefined };
  const home = tempDir('kubecred-login-');
  fs.mkdirSync(path.join(home, 'adir'));
  fs.writeFileSync(path.join(home, 'afile'), 'not a directory');
  const refused: Array<[string, RegExp]> = [
    ['adir', /cannot write --config adir: it is a directory; give a file path such as adir\/config\.json/],
    ['./afile/sub/config.json', /cannot write --config \.\/afile\/sub\/config\.json: .*\/afile is a file, not a directory/],
  ];
  for (const [config, message] of refused) {
    const r = await cli(null, null, ['login', '--server', srv.url, '--token', srv.rootToken, '--ca-file', srv.caFile, '--config', config], noEnv, home);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, message);
    assert.doesNotMatch(r.stderr, /EISDIR|ENOTDIR|\bat .*\.(ts|js|mjs):\d/);
  }
  assert.deepEqual(leftovers(home), []);
  assert.deepEqual(fs.readdirSync(path.join(home, 'adir')), []);
});

test('login checks the token with the server before saving: a bad token exits 3 and an unreachable server 7, writing nothing', async () => {
  const noEnv = { KUBECRED_SERVER: undefined, KUBECRED_TOKEN: undefined, KUBECRED_CA_FILE: undefined, KUBECRED_CONFIG: undefined };
  const home = tempDir('kubecred-login-');
  const file = path.join(home, 'config.json');
  const bad = await cli(null, null, ['login', '--server', srv.url, '--token', 'kc1.tok_00000000000000000000000000.' + 'x'.repeat(43), '--ca-file', srv.caFile, '--config', file], noEnv);
  assert.equal(bad.code, 3, bad.stderr);
  assert.match(bad.stderr, /UNAUTHENTICATED/);
  const gone = await cli(null, null, ['login', '--server', `https://127.0.0.1:${await freePort()}`, '--token', srv.rootToken, '--ca-file', srv.caFile, '--config', file], noEnv);
  assert.equal(gone.code, 7, gone.stderr);
  assert.match(gone.stderr, /cannot reach https:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
  assert.deepEqual(fs.readdirSync(home), [], 'nothing saved');
  const ok = await cli(null, null, ['login', '--server', srv.url, '--token', srv.rootToken, '--ca-file', srv.caFile, '--config', file], noEnv);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, new RegExp(`saved to ${file} \\(signed in as root, ${srv.rootPrincipalId}, in account ${srv.accountId}\\)`));
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
});

test('login takes the token from KUBECRED_TOKEN or from standard input with --token-stdin, keeping it out of argv', async () => {
  const noEnv = { KUBECRED_SERVER: undefined, KUBECRED_TOKEN: undefined, KUBECRED_CA_FILE: undefined, KUBECRED_CONFIG: undefined };
  const home = tempDir('kubecred-login-');
  const saved = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

  const fromEnv = path.join(home, 'env.json');
  const e = await cli(null, null, ['login', '--config', fromEnv], { ...noEnv, KUBECRED_SERVER: srv.url, KUBECRED_CA_FILE: srv.caFile, KUBECRED_TOKEN: srv.rootToken });
  assert.equal(e.code, 0, e.stderr);
  assert.match(e.stdout, /signed in as root/);
  assert.deepEqual(saved(fromEnv), { server: srv.url, token: srv.rootToken, caFile: srv.caFile });

  const fromStdin = path.join(home, 'stdin.json');
  const s = await cli(null, null, ['login', '--server', srv.url, '--ca-file', srv.caFile, '--token-stdin', '--config', fromStdin], noEnv, undefined, `${srv.rootToken}\n`);
  assert.equal(s.code, 0, s.stderr);
  assert.equal(saved(fromStdin).token, srv.rootToken);
  assert.equal(fs.statSync(fromStdin).mode & 0o777, 0o600);
  const who = await cli(null, null, ['whoami', '--config', fromStdin, '--output', 'json'], noEnv);
  assert.equal(who.code, 0, who.stderr);

  // A bad token from stdin is checked like any other; an empty stdin, or none given at all (not a terminal: no
  // prompt), is a usage error saying where a token can come from. Nothing is saved, and no token is echoed.
  const refused = path.join(home, 'refused.json');
  const bad = await cli(null, null, ['login', '--server', srv.url, '--ca-file', srv.caFile, '--token-stdin', '--config', refused], noEnv, undefined, 'kc1.tok_00000000000000000000000000.' + 'x'.repeat(43));
  assert.equal(bad.code, 3, bad.stderr);
  const empty = await cli(null, null, ['login', '--server', srv.url, '--token-stdin', '--config', refused], noEnv, undefined, '');
  assert.equal(empty.code, 2, empty.stderr);
  assert.match(empty.stderr, /--token-stdin: standard input was empty/);
  const none = await cli(null, null, ['login', '--server', srv.url, '--config', refused], noEnv, undefined, '');
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /no token given: pipe it to --token-stdin, set KUBECRED_TOKEN/);
  const both = await cli(null, null, ['login', '--server', srv.url, '--token', srv.rootToken, '--token-stdin', '--config', refused], noEnv, undefined, srv.rootToken);
  assert.equal(both.code, 2, both.stderr);
  assert.ok(!fs.existsSync(refused));
  for (const r of [e, s, bad, empty, none, both]) assert.ok(!r.stdout.includes(srv.rootToken) && !r.stderr.includes(srv.rootToken), 'the token is never printed');
});

test('login at a terminal with no token given asks for it without echoing it', { skip: !hasPython && 'python3 (for a pseudo-terminal) is missing' }, async () => {
  const noEnv = { KUBECRED_SERVER: undefined, KUBECRED_TOKEN: undefined, KUBECRED_CA_FILE: undefined, KUBECRED_CONFIG: undefined };
  const file = path.join(tempDir('kubecred-login-'), 'config.json');
  const r = await cliOnTerminal(['login', '--server', srv.url, '--ca-file', srv.caFile, '--config', file], noEnv, 'token for ', srv.rootToken);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, new RegExp(`token for ${srv.url}: `));
  assert.match(r.output, /saved to .* \(signed in as root/);
  assert.ok(!r.output.includes(srv.rootToken.slice(-20)), 'the token typed is not echoed');
  assert.equal(JSON.parse(fs.readFileSync(file, 'utf8')).token, srv.rootToken);
});

test('plain http to another machine is refused for --server and --webhook-url unless asked for by name; loopback stays allowed', async () => {
  const tokensBefore = (await cliJson(srv, srv.rootToken, ['cluster', 'webhook-tokens', 'prod'])).length;
  const remote = 'http://kubecred.example.com:8080';
  const out = tempDir();
  const refused = await cli(srv, srv.rootToken, ['cluster', 'kube-config', 'prod', '--out', out, '--webhook-url', remote]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /--webhook-url http:\/\/kubecred\.example\.com:8080 is plain http to another machine: .*in clear\. Use https:\/\/ .*TLS proxy.*--allow-insecure-http \(or set KUBECRED_ALLOW_INSECURE_HTTP=1\)/);
  assert.deepEqual(fs.readdirSync(out), [], 'nothing written');
  assert.equal((await cliJson(srv, srv.rootToken, ['cluster', 'webhook-tokens', 'prod'])).length, tokensBefore, 'no webhook token minted');

  // Asked for: written, and the message says the token goes in clear (not that system roots will check it).
  for (const optIn of [['--allow-insecure-http'], []]) {
    const dir = tempDir();
    const ok = await cli(srv, srv.rootToken, ['cluster', 'kube-config', 'prod', '--out', dir, '--webhook-url', remote, ...optIn], optIn.length ? {} : { KUBECRED_ALLOW_INSECURE_HTTP: '1' });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /is plain http \(--allow-insecure-http\): kube-apiserver sends the webhook token to it in clear/);
    assert.doesNotMatch(ok.stderr, /system roots/);
    assert.ok(fs.readdirSync(dir).some((f) => fs.readFileSync(path.join(dir, f), 'utf8').includes(`server: ${remote}`)));
  }

  // --server (or KUBECRED_SERVER): refused before anything is sent, as a usage error (2), not as unreachable (7).
  const port = await freePort();
  for (const [args, env] of [[['--server', `http://0.0.0.0:${port}`], {}], [[], { KUBECRED_SERVER: `http://0.0.0.0:${port}` }]] as const) {
    const r = await cli(null, srv.rootToken, [...args, 'whoami'], env);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--server \(or KUBECRED_SERVER\) http:\/\/0\.0\.0\.0:\d+\/? is plain http to another machine/);
  }
  const optedIn = await cli(null, srv.rootToken, ['--server', `http://0.0.0.0:${port}`, 'whoami'], { KUBECRED_ALLOW_INSECURE_HTTP: '1' });
  assert.equal(optedIn.code, 7, optedIn.stderr);
  for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '[::1]']) {
    const r = await cli(null, srv.rootToken, ['--server', `http://${host}:${port}`, 'whoami']);
    assert.equal(r.code, 7, `${host}: ${r.stderr}`);
  }
});

test('a peer that accepts the connection and never answers: one progress line after 5 s, then one deadline saying it is not answering as kubecred', async () => {
  const held = new Set<net.Socket>();
  const silent = net.createServer((s) => void held.add(s));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const url = `https://127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const started = Date.now();
    const r = await cli({ url, caFile: srv.caFile }, srv.rootToken, ['whoami'], { KUBECRED_TIMEOUT_MS: '7000' });
    const ms = Date.now() - started;
    assert.equal(r.code, 7, r.stderr);
    assert.equal(r.stderr.match(/^kubecred: no answer yet from https:\/\/127\.0\.0\.1:\d+; waiting up to 7 s$/gm)?.length, 1, r.stderr);
    assert.match(r.stderr, /accepted the connection but did not answer as a kubecred server within 7 s: check the port in --server/);
    assert.doesNotMatch(r.stderr, /is `kubecred serve` running there/, 'something did answer the connection');
    assert.ok(ms < 15_000, `one deadline, not a handshake timeout and then a request timeout (${ms} ms)`);
    const bad = await cli({ url, caFile: srv.caFile }, srv.rootToken, ['whoami'], { KUBECRED_TIMEOUT_MS: 'soon' });
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /KUBECRED_TIMEOUT_MS must be a whole number of milliseconds/);
    assert.match((await cli(null, null, ['--help'])).stdout, /KUBECRED_TIMEOUT_MS/);
  } finally {
    for (const s of held) s.destroy();
    silent.close();
  }
});

test('TLS hints: a certificate that does not cover the host says which names it covers; a wrong --ca-file says so; a --ca-file with no PEM is a usage error; http:// to it says it speaks https', async () => {
  // 127.0.0.2 reaches the server through a relay; the self-signed certificate covers 127.0.0.1, localhost and ::1 only.
  const port = Number(new URL(srv.url).port);
  const relay = net.createServer((c) => {
    const u = net.connect(port, '127.0.0.1');
    c.pipe(u).pipe(c);
    u.on('error', () => c.destroy());
    c.on('error', () => u.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.2', resolve));
  try {
    const r = await cli(srv, srv.rootToken, ['whoami', '--server', `https://127.0.0.2:${(relay.address() as net.AddressInfo).port}`]);
    assert.equal(r.code, 7, r.stderr);
    assert.match(r.stderr, /ERR_TLS_CERT_ALTNAME_INVALID \(TLS: the server's certificate does not cover 127\.0\.0\.2; it covers .*127\.0\.0\.1.*: use one of those in --server/);
    assert.doesNotMatch(r.stderr, /pass --ca-file/);
  } finally {
    relay.close();
  }
  const other = path.join(work, 'other-ca.pem');
  fs.writeFileSync(other, (await cli(srv, srv.rootToken, ['cluster', 'ca', 'prod'])).stdout);
  const wrong = await cli(srv, srv.rootToken, ['whoami', '--ca-file', other]);
  assert.equal(wrong.code, 7, wrong.stderr);
  assert.match(wrong.stderr, /the --ca-file given is not the server's certificate or the CA that signed it/);
  const notPem = path.join(work, 'not-a-cert.pem');
  fs.writeFileSync(notPem, 'hello\n');
  const usage = await cli(srv, srv.rootToken, ['whoami', '--ca-file', notPem]);
  assert.equal(usage.code, 2, usage.stderr);
  assert.match(usage.stderr, new RegExp(`--ca-file ${notPem} holds no PEM certificate`));
  // http:// to the TLS server: the connection is dropped; the hint says it speaks https.
  const plain = await cli(srv, srv.rootToken, ['whoami', '--server', srv.url.replace('https://', 'http://')]);
  assert.equal(plain.code, 7, plain.stderr);
  assert.match(plain.stderr, new RegExp(`it speaks https:// unless started with --insecure-http: try https://127\\.0\\.0\\.1:${new URL(srv.url).port}`));
});

test('a token that cannot go in a header (a line break from a file) fails at once, saying so, and leaves no timer running', async () => {
  const started = Date.now();
  const r = await cli(srv, `${srv.rootToken}\r`, ['whoami']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /could not be sent \(ERR_INVALID_CHAR\).*KUBECRED_TOKEN/);
  assert.doesNotMatch(r.stderr, /no answer yet|ReferenceError/);
  assert.ok(Date.now() - started < 4000, 'the process ended without waiting for the deadline');
});

test('an empty KUBECRED_TOKEN or KUBECRED_SERVER is unset: the saved login is used', async () => {
  const config = path.join(work, 'login.json');
  assert.equal((await cli(null, null, ['login', '--server', srv.url, '--token', srv.rootToken, '--ca-file', srv.caFile, '--config', config])).code, 0);
  // cli(null, null) runs with KUBECRED_SERVER=, KUBECRED_TOKEN= and KUBECRED_CA_FILE= (empty) in the environment.
  const r = await cli(null, null, ['whoami', '--config', config, '--output', 'json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout).isRoot, true);
});
