// Operations edges through the real server process and CLI: which proxies are believed about the client address,
// a full disk, a store that failed for good, and the server's own TLS certificate.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cli, type CliResult } from './support/cli.ts';
import { BIN, startServerProcess, tempDir, type ServerProcess } from './support/server-process.ts';

const servers: ServerProcess[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function start(opts: Parameters<typeof startServerProcess>[0]): Promise<ServerProcess> {
  const s = await startServerProcess(opts);
  servers.push(s);
  return s;
}

/** `kubecred serve` that must fail at start: killed after 20 s so a hang shows as a signal. */
function serveExpectingFailure(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult & { signal: string | null }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'serve', '--log-level', 'silent', ...args], { env: { ...process.env, KUBECRED_MASTER_KEY: undefined, ...env }, timeout: 20_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, signal: (error as { signal?: string } | null)?.signal ?? null, stdout, stderr });
    });
  });
}

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
