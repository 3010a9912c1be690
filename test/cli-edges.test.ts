// CLI edges through the real server process and the real CLI: the exec plugin after a revocation and
// on token clusters, serve's start-up failures, --limit, flags that must be refused up front, files that
// cannot be written, account names. Logging in and reaching the server are in cli-target.test.ts.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import YAML from 'yaml';
import { cli, cliJson, leftovers, type CliResult } from './support/cli.ts';
import { cliOnTerminal, hasPython } from './support/pty.ts';
import { freePort } from './support/postgres.ts';
import { BIN, serveExpectingFailure, startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let work: string;

before(async () => {
  srv = await startServerProcess();
  work = tempDir('kubecred-edges-');
  await cliJson(srv, srv.rootToken, ['cluster', 'create', 'prod', '--public-endpoint', 'https://127.0.0.1:6443']);
});

after(async () => {
  await srv?.stop();
});

/** Runs the exec plugin exactly as kubectl would: the command and args the kubeconfig names. */
function runPlugin(kubeconfig: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
  const { command, args } = YAML.parse(fs.readFileSync(kubeconfig, 'utf8')).users[0].user.exec;
  return new Promise((resolve) => {
    execFile(command, args, { env: { ...process.env, KUBECRED_SERVER: undefined, KUBECRED_CA_FILE: undefined, KUBECRED_TOKEN: undefined, KUBECRED_CONFIG: '/nonexistent', ...env } }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

test('credential exec refuses a revoked credential with exit 3, and kubeconfig get --exec again lets it fetch a fresh one', async () => {
  const home = tempDir('kubecred-home-');
  const env = { HOME: home, KUBECRED_TOKEN: srv.rootToken };
  const file = path.join(work, 'exec.kubeconfig');
  const w = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '--exec', '-o', file], { HOME: home });
  assert.equal(w.code, 0, w.stderr);
  const first = await runPlugin(file, env);
  assert.equal(first.code, 0, first.stderr);

  assert.equal((await cli(srv, srv.rootToken, ['revoke', '--cluster', 'prod', '--reason', 'offboarded'])).code, 0);
  // Make the cached certificate due for refresh, as time would.
  const cacheDir = path.join(home, '.cache', 'kubecred', 'exec');
  const [cached] = fs.readdirSync(cacheDir);
  const entry = JSON.parse(fs.readFileSync(path.join(cacheDir, cached), 'utf8'));
  fs.writeFileSync(path.join(cacheDir, cached), JSON.stringify({ ...entry, expiresAt: new Date(Date.now() - 1000).toISOString() }), { mode: 0o600 });
  const refused = await runPlugin(file, env);
  assert.equal(refused.code, 3, 'not allowed, not a usage error');
  assert.match(refused.stderr, /was revoked \(offboarded\).*kubeconfig get --exec --cluster/);

  const again = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '--exec', '-o', file], { HOME: home });
  assert.equal(again.code, 0, again.stderr);
  const fresh = await runPlugin(file, env);
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.notEqual(JSON.parse(fresh.stdout).status.clientCertificateData, JSON.parse(first.stdout).status.clientCertificateData);
});

test('credential exec on a token cluster prints an ExecCredential with status.token, cached like a certificate', async () => {
  await cliJson(srv, srv.rootToken, ['cluster', 'create', 'tokens', '--token-kubeconfigs', '--public-endpoint', 'https://127.0.0.1:6443']);
  const home = tempDir('kubecred-home-');
  const file = path.join(work, 'token-exec.kubeconfig');
  const w = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'tokens', '--exec', '-o', file], { HOME: home });
  assert.equal(w.code, 0, w.stderr);
  const env = { HOME: home, KUBECRED_TOKEN: srv.rootToken };
  const first = await runPlugin(file, env);
  assert.equal(first.code, 0, first.stderr);
  const cred = JSON.parse(first.stdout);
  assert.equal(cred.apiVersion, 'client.authentication.k8s.io/v1');
  assert.equal(cred.kind, 'ExecCredential');
  assert.match(cred.status.token, /^kct1\.crd_/);
  assert.equal(cred.status.clientCertificateData, undefined);
  assert.ok(Date.parse(cred.status.expirationTimestamp) > Date.now());
  const second = await runPlugin(file, env);
  assert.equal(second.code, 0, second.stderr);
  assert.equal(JSON.parse(second.stdout).status.token, cred.status.token, 'the second run came from the cache');
  const minted = await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'tokens', '--kind', 'temporary']);
  assert.equal(minted.length, 1);
});

test('serve with a TLS file that is not there exits 2 at once, naming the flag, before printing first-start secrets', async () => {
  const r = await serveExpectingFailure(['--port', '0', '--tls-cert', '/nonexistent.crt', '--tls-key', '/nonexistent.key']);
  assert.equal(r.signal, null, `serve hung (killed after ${r.ms} ms): ${r.stderr}`);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /cannot read --tls-cert \/nonexistent\.crt/);
  assert.match(r.stderr, /hint: .*--tls-cert/);
  assert.doesNotMatch(r.stderr, /root token/);
});

test('a second serve on a running server\'s data directory exits non-zero at once, saying why, and the first keeps serving', async () => {
  const r = await serveExpectingFailure(['--port', '0', '--data-dir', srv.dataDir]);
  assert.equal(r.signal, null, `serve hung (killed after ${r.ms} ms): ${r.stderr}`);
  assert.equal(r.code, 5, 'exit 5: conflict');
  assert.match(r.stderr, /another kubecred server or migration is using .*kubecred\.db; stop it first/);
  assert.match(r.stderr, /replicas on one PostgreSQL database \(--database postgres:\/\/…, or KUBECRED_DATABASE_URL\)/);
  assert.doesNotMatch(r.stderr, /--database-url/, 'no such flag');
  const whoami = await cliJson(srv, srv.rootToken, ['cluster', 'list']);
  assert.ok(Array.isArray(whoami));
});

test('--limit limits: credential list and audit list print at most that many rows; --limit 0 is a usage error', async () => {
  const issued = await Promise.all([1, 2, 3].map(() => cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '--temporary', '15'])));
  for (const r of issued) assert.equal(r.code, 0, r.stderr);
  assert.equal((await cliJson(srv, srv.rootToken, ['credential', 'list', '--limit', '1'])).length, 1);
  assert.equal((await cliJson(srv, srv.rootToken, ['credential', 'list', '--limit', '2'])).length, 2);
  const table = await cli(srv, srv.rootToken, ['credential', 'list', '--limit', '1']);
  assert.equal(table.stdout.trim().split('\n').length, 2, `a header and one row:\n${table.stdout}`);
  assert.match(table.stderr, /showing the first 1; there are more/, 'a cut list says so');
  const all = await cli(srv, srv.rootToken, ['credential', 'list', '--limit', '10000']);
  assert.doesNotMatch(all.stderr, /there are more/);
  assert.equal((await cliJson(srv, srv.rootToken, ['audit', 'list', '--limit', '1'])).length, 1);
  const zero = await cli(srv, srv.rootToken, ['credential', 'list', '--limit', '0']);
  assert.equal(zero.code, 2, zero.stderr);
  assert.match(zero.stderr, /--limit/);
});

test('kubecred help <command> <subcommand> shows the subcommand\'s help, as <command> <subcommand> --help does', async () => {
  const viaHelp = await cli(null, null, ['help', 'cluster', 'create']);
  assert.equal(viaHelp.code, 0);
  assert.match(viaHelp.stdout, /^Usage: kubecred cluster create \[options\] <name>/);
  assert.equal(viaHelp.stdout, (await cli(null, null, ['cluster', 'create', '--help'])).stdout);
});

test('kubeconfig get --exec refuses --exec-minutes outside 15..4320 up front, and carries --config (absolute) and --insecure-skip-tls-verify but no token', async () => {
  const short = path.join(work, 'short.kubeconfig');
  const bad = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '--exec', '--exec-minutes', '5', '-o', short]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--exec-minutes must be a whole number of minutes from 15 to 4320 \(got 5\)/);
  assert.equal(fs.existsSync(short), false, 'no kubeconfig whose plugin would always fail');

  // No CA anywhere: only the carried --insecure-skip-tls-verify lets the plugin reach the self-signed server,
  // and only the carried --config gives it a token.
  const home = tempDir('kubecred-home-');
  fs.writeFileSync(path.join(work, 'client.json'), JSON.stringify({ server: srv.url, token: srv.rootToken }), { mode: 0o600 });
  const file = path.join(work, 'carried.kubeconfig');
  const w = await cli(srv, null, ['kubeconfig', 'get', '--cluster', 'prod', '--exec', '--config', 'client.json', '--insecure-skip-tls-verify', '--token', srv.rootToken, '-o', file], { HOME: home, KUBECRED_CA_FILE: undefined, KUBECRED_TOKEN: undefined, KUBECRED_CONFIG: undefined }, work);
  assert.equal(w.code, 0, w.stderr);
  assert.match(w.stderr, /--token is not written into the kubeconfig/);
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(!text.includes(srv.rootToken), 'the token is not written into the kubeconfig');
  const { args } = YAML.parse(text).users[0].user.exec;
  assert.equal(args[args.indexOf('--config') + 1], path.join(work, 'client.json'));
  assert.ok(args.includes('--insecure-skip-tls-verify'));
  assert.ok(!args.includes('--ca-file'));
  const r = await runPlugin(file, { HOME: home, KUBECRED_CONFIG: undefined });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(JSON.parse(r.stdout).status.clientCertificateData);
});

test('kubeconfig get --csr with no such file and backup into no such directory are usage errors naming what was given', async () => {
  const csr = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '--csr', '/nonexistent.csr']);
  assert.equal(csr.code, 2, csr.stderr);
  assert.match(csr.stderr, /cannot read --csr \/nonexistent\.csr \(ENOENT\)/);
  const backup = await cli(null, null, ['backup', '/nonexistent-dir/b.db', '--data-dir', srv.dataDir]);
  assert.equal(backup.code, 2, backup.stderr);
  assert.match(backup.stderr, /cannot write <file> \/nonexistent-dir\/b\.db: there is no directory \/nonexistent-dir/);
  assert.doesNotMatch(backup.stderr, /partial/);
});

test('kubeconfig get --out or --cert-out into no such directory is a usage error before anything is issued', async () => {
  const count = async () => (await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod'])).length;
  const before = await count();
  for (const args of [['--out', '/nonexistent-dir/sub/k.yaml'], ['--temporary', '15', '--cert-out', '/nonexistent-dir/sub/c.pem']]) {
    const r = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /cannot write --(out|cert-out) \/nonexistent-dir\/sub\/.*: there is no directory \/nonexistent-dir\/sub/);
  }
  assert.equal(fs.existsSync('/nonexistent-dir'), false, 'no tree of directories made');
  assert.equal(await count(), before, 'no credential was minted');
});

test('kubeconfig get -o ~/.kube/prod on a machine where kubectl never ran creates ~/.kube (0700); an --exec kubeconfig names the real kubecred, not the link it ran through', async () => {
  const home = tempDir('kubecred-home-');
  const file = path.join(home, '.kube', 'prod');
  const r = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '--temporary', '15', '-o', file]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /created directory .*\/\.kube \(mode 0700\)/);
  assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);

  // `npx kubecred` runs bin/kubecred.js through a link in npm's cache, which npm may clean.
  const link = path.join(home, 'npx-cache-bin');
  fs.symlinkSync(BIN, link);
  const execOut = path.join(home, '.kube', 'exec');
  const w = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(process.execPath, [link, 'kubeconfig', 'get', '--cluster', 'prod', '--exec', '-o', execOut], {
      env: { ...process.env, HOME: home, KUBECRED_SERVER: srv.url, KUBECRED_CA_FILE: srv.caFile, KUBECRED_TOKEN: srv.rootToken, KUBECRED_CONFIG: '/nonexistent/c.json' },
    }, (error, _out, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }));
  });
  assert.equal(w.code, 0, w.stderr);
  const exec = YAML.parse(fs.readFileSync(execOut, 'utf8')).users[0].user.exec;
  assert.equal(exec.args[0], fs.realpathSync(BIN));
});

test('-o is --output on every command that prints data (kubeconfig get keeps -o for the file it writes)', async () => {
  for (const cmd of [['cluster', 'list'], ['credential', 'list'], ['credential', 'show', 'x'], ['audit', 'list'], ['revoke'], ['validity', 'show'], ['init'], ['migrate'], ['backup', 'f'], ['account', 'create', 'n'], ['project', 'list'], ['token', 'create']]) {
    const h = await cli(null, null, [...cmd, '--help']);
    assert.equal(h.code, 0, `${cmd.join(' ')} --help`);
    assert.match(h.stdout, /-o, --output <format>/, `${cmd.join(' ')} takes -o, --output`);
  }
  const listed = await cli(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod', '-o', 'json']);
  assert.equal(listed.code, 0, listed.stderr);
  assert.ok(Array.isArray(JSON.parse(listed.stdout)));
  assert.match((await cli(null, null, ['kubeconfig', 'get', '--help'])).stdout, /-o, --out <file>/);
});

test('a wrong --state, --kind or webhook duration is a usage error naming the flag and what it takes', async () => {
  const state = await cli(srv, srv.rootToken, ['credential', 'list', '--state', 'bogus']);
  assert.equal(state.code, 2);
  assert.match(state.stderr, /--state must be active, revoked, superseded or expired \(got bogus\)/);
  const kind = await cli(srv, srv.rootToken, ['credential', 'list', '--kind', 'x']);
  assert.equal(kind.code, 2);
  assert.match(kind.stderr, /--kind must be default, temporary, csr or explicit/);
  // What kube-apiserver's AuthorizationConfiguration would refuse is refused here, before any file is written.
  const refused: Array<[string[], RegExp]> = [
    [['--timeout', '1m'], /--timeout must be at most 30s, kube-apiserver's limit \(got 1m\)/],
    [['--timeout', '45s'], /--timeout must be at most 30s/],
    [['--timeout', '0s'], /--timeout must be a duration above zero like 10s, 500ms or 1m \(got 0s\)/],
    [['--unauthorized-ttl', '0ms'], /--unauthorized-ttl must be a duration above zero/],
    [['--token-cache-ttl', '5h'], /--token-cache-ttl must be a duration above zero/],
    [['--install-dir', 'etc/kubecred'], /--install-dir must be an absolute path/],
    // serve's self-signed certificate covers loopback only: a webhook URL elsewhere could never verify.
    [['--webhook-url', 'https://192.0.2.2:7443'], /valid for .*127\.0\.0\.1.*, not 192\.0\.2\.2.*--tls-cert/],
    [['--webhook-url', 'https://kubecred.example:7443'], /not kubecred\.example/],
  ];
  for (const [flags, message] of refused) {
    const out = tempDir();
    const r = await cli(srv, srv.rootToken, ['cluster', 'kube-config', 'prod', '--out', out, ...flags]);
    assert.equal(r.code, 2, flags.join(' '));
    assert.match(r.stderr, message, flags.join(' '));
    assert.deepEqual(fs.readdirSync(out), [], 'nothing written');
  }
  assert.equal((await cli(srv, srv.rootToken, ['cluster', 'kube-config', 'prod', '--out', tempDir(), '--webhook-url', 'https://localhost:7443', '--timeout', '30s'])).code, 0);
  // An --out that cannot be a directory is refused before a webhook token is minted for it.
  const tokensBefore = (await cliJson(srv, srv.rootToken, ['cluster', 'webhook-tokens', 'prod'])).length;
  const file = path.join(tempDir(), 'a-file');
  fs.writeFileSync(file, 'x');
  for (const out of [file, path.join(file, 'sub')]) {
    const r = await cli(srv, srv.rootToken, ['cluster', 'kube-config', 'prod', '--out', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--out/);
  }
  assert.equal((await cliJson(srv, srv.rootToken, ['cluster', 'webhook-tokens', 'prod'])).length, tokensBefore, 'no token minted');
  assert.match((await cli(null, null, ['login', '--help'])).stdout, /--token-stdin < token-file/);
});


test('kubeconfig get -o or --cert-out naming a directory is a usage error before anything is issued, and leaves no temporary file', async () => {
  const count = async () => (await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod'])).length;
  const before = await count();
  const dir = tempDir('kubecred-outdir-');
  for (const [args, flag] of [[['-o', dir], '--out'], [['--temporary', '15', '--cert-out', dir], '--cert-out'], [['--temporary', '15', '--out', dir], '--out']] as const) {
    const r = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', ...args]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot write ${flag} ${dir}: it is a directory; give a file path such as ${dir}/kubeconfig`));
    assert.doesNotMatch(r.stderr, /EISDIR|\bat .*\.(ts|js|mjs):\d/);
  }
  // A path through a regular file has no directory to write in either (stat says ENOTDIR there).
  const afile = path.join(dir, 'afile');
  fs.writeFileSync(afile, 'not a directory');
  const through = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '-o', path.join(afile, 'sub', 'k.yaml')]);
  assert.equal(through.code, 2, through.stderr);
  assert.match(through.stderr, /cannot write --out .*\/afile\/sub\/k\.yaml: there is no directory .*\/afile\/sub/);
  assert.equal(await count(), before, 'no credential was minted');
  assert.deepEqual(leftovers(dir), []);
  assert.deepEqual(leftovers(path.dirname(dir)), []);
});

test('bad flag values are usage errors naming the flag and what it takes, not schema messages from the server', async () => {
  const refused: Array<[string[], RegExp]> = [
    [['cluster', 'create', 'x', '--public-endpoint', 'https://192.0.2.1:6443', '--kind', 'k8s'], /--kind must be kubernetes or service-mesh \(got k8s\)/],
    [['cluster', 'create', 'x', '--public-endpoint', 'https://192.0.2.1:6443', '--ca-algorithm', 'rsa-4096'], /--ca-algorithm must be ec-p256 or rsa-2048 \(got rsa-4096\)/],
    [['principal', 'create', 'bob', '--kind', 'robot'], /--kind must be user or role \(got robot\)/],
    [['kubeconfig', 'get', '--cluster', 'prod', '--temporary', '5'], /--temporary must be a whole number of minutes from 15 to 4320 \(got 5\)/],
    [['kubeconfig', 'get', '--cluster', 'prod', '--temporary', '90.5'], /--temporary must be a whole number of minutes from 15 to 4320 \(got 90\.5\)/],
    [['validity', 'set', '--cluster', 'prod', '--principal', 'root', '--hours', '0'], /--hours must be a whole number of hours from 1 to 876000 \(got 0\)/],
    [['validity', 'set', '--cluster', 'prod', '--principal', 'root', '--hours', '876001'], /--hours must be a whole number of hours from 1 to 876000/],
    [['token', 'create', '--expires-in-days', 'abc'], /--expires-in-days must be a whole number of days from 1 to 3650 \(got abc\)/],
    [['token', 'create', '--expires-in-days', '3651'], /--expires-in-days must be a whole number of days from 1 to 3650 \(got 3651\)/],
    [['audit', 'list', '--outcome', 'ok'], /--outcome must be success, denied or failure \(got ok\)/],
  ];
  const tokens = (await cliJson(srv, srv.rootToken, ['token', 'list'])).length;
  for (const [args, message] of refused) {
    const r = await cli(srv, srv.rootToken, args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
    assert.doesNotMatch(r.stderr, /body\/|openapi|request req_/, 'refused here, not by the server');
  }
  assert.equal((await cliJson(srv, srv.rootToken, ['cluster', 'list'])).filter((c: any) => c.name === 'x').length, 0);
  assert.equal((await cliJson(srv, srv.rootToken, ['token', 'list'])).length, tokens, 'no token was created with a NaN lifetime');
  // The values the server takes still go through.
  assert.equal((await cli(srv, srv.rootToken, ['audit', 'list', '--outcome', 'failure'])).code, 0);
});

test('kubeconfig get --exec refuses --temporary, --csr and --cert-out, saying what --exec does and that --exec-minutes sets validity', async () => {
  const file = path.join(work, 'exec-refused.kubeconfig');
  for (const extra of [['--temporary', '60'], ['--csr', '/nonexistent.csr'], ['--cert-out', path.join(work, 'c.pem')]]) {
    const r = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '--exec', '-o', file, ...extra]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`--exec cannot be combined with ${extra[0]}: it writes a kubeconfig whose exec plugin fetches a short-lived certificate`));
    assert.match(r.stderr, /--exec-minutes \(15 to 4320\)/);
  }
  // And --exec-minutes without --exec would be dropped silently: a temporary kubeconfig takes --temporary.
  const lone = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '--exec-minutes', '60', '-o', file]);
  assert.equal(lone.code, 2, lone.stderr);
  assert.match(lone.stderr, /--exec-minutes sets the validity of the certificates an --exec kubeconfig fetches; add --exec, or for a temporary kubeconfig use --temporary <minutes>/);
  assert.equal(fs.existsSync(file), false);
});

test('account create checks the name and refuses one in use (exit 5), and its output names the account it created', async () => {
  const created = await cli(null, null, ['account', 'create', 'team2', '--data-dir', srv.dataDir]);
  assert.equal(created.code, 0, created.stderr);
  assert.match(created.stdout, /^kubecred: created account team2\n {2}account: +acc_/);
  assert.doesNotMatch(created.stdout, /initialized/);
  for (const name of ['team2', 'default']) {
    const again = await cli(null, null, ['account', 'create', name, '--data-dir', srv.dataDir]);
    assert.equal(again.code, 5, again.stderr);
    assert.match(again.stderr, new RegExp(`an account named "${name}" already exists; choose another name`));
    assert.doesNotMatch(again.stdout, /root token/);
  }
  for (const name of ['', 'Bad Name']) {
    const bad = await cli(null, null, ['account', 'create', name, '--data-dir', srv.dataDir]);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, new RegExp(`the account name must be 1-63 lowercase letters.*\\(got ${JSON.stringify(name)}\\)`));
  }
  const json = await cli(null, null, ['account', 'create', 'team3', '--data-dir', srv.dataDir, '--output', 'json']);
  assert.equal(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout).name, 'team3');
  // On a data directory never initialized, the first account is created too: its secrets are shown, not lost.
  const fresh = await cli(null, null, ['account', 'create', 'team4', '--data-dir', tempDir()], { KUBECRED_MASTER_KEY: undefined });
  assert.equal(fresh.code, 0, fresh.stderr);
  assert.match(fresh.stdout, /^kubecred: initialized .* \(its first account, "default"\)\n[\s\S]*root token: +kc1\.[\s\S]*kubecred: created account team4\n/);
  // ...even when the account asked for then cannot be created.
  const taken = await cli(null, null, ['account', 'create', 'default', '--data-dir', tempDir()], { KUBECRED_MASTER_KEY: undefined });
  assert.equal(taken.code, 5, taken.stderr);
  assert.match(taken.stdout, /^kubecred: initialized .* \(its first account, "default"\)\n[\s\S]*root token: +kc1\./);
  assert.match(taken.stderr, /an account named "default" already exists/);
  // In JSON, one document: the new account with the first one inside it.
  const freshJson = await cli(null, null, ['account', 'create', 'team5', '--data-dir', tempDir(), '--output', 'json'], { KUBECRED_MASTER_KEY: undefined });
  assert.equal(freshJson.code, 0, freshJson.stderr);
  const doc = JSON.parse(freshJson.stdout);
  assert.equal(doc.name, 'team5');
  assert.equal(doc.firstAccount.name, 'default');
  assert.match(doc.firstAccount.rootToken, /^kc1\./);
});

test('a whole token pasted where its ID belongs revokes it by its ID; the secret reaches no URL, log line or message', async () => {
  const made = await cliJson(srv, srv.rootToken, ['token', 'create', '--name', 'pasted']);
  const secret = made.token.split('.')[2] as string;
  const r = await cli(srv, srv.rootToken, ['token', 'revoke', made.token]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(!(r.stdout + r.stderr).includes(secret));
  const listed = (await cliJson(srv, srv.rootToken, ['token', 'list'])).find((t: { id: string }) => t.id === made.id);
  assert.equal(listed.status, 'revoked');
  // Sent by hand in a URL, the access log still cuts it out.
  await fetch(`${srv.url}/v1/principals/me/tokens/${made.token}`, { method: 'DELETE' }).catch(() => undefined);
  await new Promise((res) => setTimeout(res, 200));
  assert.ok(!srv.logs().includes(secret), 'no log line holds the secret');
});

test('kubeconfig get -o json (a file named json, by mistake) is refused before anything is issued', async () => {
  const count = async () => (await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod'])).length;
  const before = await count();
  const r = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '--temporary', '15', '-o', 'json'], {}, work);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /-o is --out here[\s\S]*--output json/);
  assert.equal(fs.existsSync(path.join(work, 'json')), false);
  assert.equal(await count(), before, 'nothing issued');
});

test('kubeconfig get --output without --out is refused before anything is issued (the kubeconfig itself is what prints)', async () => {
  const count = async () => (await cliJson(srv, srv.rootToken, ['credential', 'list', '--cluster', 'prod'])).length;
  const before = await count();
  const r = await cli(srv, srv.rootToken, ['kubeconfig', 'get', '--cluster', 'prod', '--temporary', '15', '--output', 'json']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--output json formats the summary .*add --out <file>/);
  assert.equal(r.stdout, '');
  assert.equal(await count(), before, 'nothing issued');
});

test('--file - reads the document from standard input', async () => {
  const doc = JSON.stringify({ Version: '1', Statement: [{ Effect: 'Allow', Action: 'kubecred:ListClusters', Resource: '*' }] });
  const r = await new Promise<CliResult>((resolve) => {
    const child = execFile(process.execPath, [BIN, 'policy', 'create', 'from-stdin', '--file', '-', '--output', 'json'], {
      env: { ...process.env, KUBECRED_SERVER: srv.url, KUBECRED_CA_FILE: srv.caFile, KUBECRED_TOKEN: srv.rootToken, KUBECRED_CONFIG: '/nonexistent' },
    }, (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }));
    child.stdin!.end(doc);
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).document.Statement[0].Action, ['kubecred:ListClusters']);
});

test('cluster kube-config with a directory in the way of one of its files fails before minting a webhook token', async () => {
  const out = path.join(work, 'kc-blocked');
  fs.mkdirSync(path.join(out, 'authz-webhook.kubeconfig'), { recursive: true });
  const tokens = async () => (await cliJson(srv, srv.rootToken, ['cluster', 'webhook-tokens', 'prod'])).length;
  const before = await tokens();
  const r = await cli(srv, srv.rootToken, ['cluster', 'kube-config', 'prod', '--out', out]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /a directory is in the way/);
  assert.equal(await tokens(), before, 'no webhook token minted');
  assert.deepEqual(fs.readdirSync(out), ['authz-webhook.kubeconfig'], 'no file written');
});
