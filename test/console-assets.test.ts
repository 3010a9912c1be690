// Serving the built console at /console: a helpful 503 when nothing is built, the app for every page
// path, year-long caching for hashed assets, revalidation for the page, a strict CSP everywhere.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { consoleAssets, CONSOLE_CSP } from '../src/api/console/console-assets.ts';
import { tempDir } from './support/server-process.ts';

let dir: string;
let app: FastifyInstance;

before(async () => {
  dir = tempDir('kubecred-console-assets-');
  app = Fastify({ logger: false });
  await app.register(consoleAssets(dir));
  await app.ready();
});
after(async () => {
  await app?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });

function build(index: string) {
  fs.mkdirSync(path.join(dir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
  fs.writeFileSync(path.join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  fs.writeFileSync(path.join(dir, 'index.html'), index);
}

test('before the console is built, /console says so and how to fix it, with a request ID', async () => {
  const r = await get('/console/');
  assert.equal(r.statusCode, 503);
  assert.match(r.headers['content-type'] as string, /text\/html/);
  assert.match(r.body, /npm run build:console/);
  assert.match(r.body, /Request ID: <code>/);
  assert.equal(r.headers['content-security-policy'], CONSOLE_CSP);
  assert.equal(r.headers['cache-control'], 'no-store');
});

test('once built: the page, its assets and every app path are served with the right caching and a strict CSP', async () => {
  build('<!doctype html><title>v1</title><script type="module" src="/console/assets/index-abc123.js"></script>');
  const redirect = await get('/console');
  assert.equal(redirect.statusCode, 302);
  assert.equal(redirect.headers.location, '/console/');

  const page = await get('/console/');
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<title>v1<\/title>/);
  assert.equal(page.headers['cache-control'], 'no-store', 'the page may hold a secret: never kept, in the back/forward cache either');
  assert.equal(page.headers['content-security-policy'], CONSOLE_CSP);
  assert.match(CONSOLE_CSP, /script-src 'self'(;|$)/);
  assert.match(CONSOLE_CSP, /frame-ancestors 'none'/);
  assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval/);
  assert.equal(page.headers['x-content-type-options'], 'nosniff');
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.equal(page.headers['referrer-policy'], 'no-referrer');

  const deep = await get('/console/clusters/cls_123/states');
  assert.equal(deep.statusCode, 200);
  assert.equal(deep.body, page.body, 'a bookmarked page path gets the app');
  assert.equal(deep.headers['cache-control'], 'no-store');

  const js = await get('/console/assets/index-abc123.js');
  assert.equal(js.statusCode, 200);
  assert.match(js.headers['content-type'] as string, /^text\/javascript/);
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');

  const icon = await get('/console/favicon.svg');
  assert.equal(icon.headers['content-type'], 'image/svg+xml');
  assert.equal(icon.headers['cache-control'], 'no-cache', 'unhashed files are revalidated');

  const again = await get('/console/', { 'if-none-match': page.headers.etag as string });
  assert.equal(again.statusCode, 304);
});

test('missing files are 404, and nothing outside the build can be reached', async () => {
  for (const url of ['/console/assets/nope.js', '/console/%2e%2e/package.json', '/console/..%2f..%2fpackage.json', '/console/assets/../../index.html.bak', '/console/assets/no-extension', '/console/assets/%2Ftmp%2Fx', '/console/assets']) {
    const r = await get(url);
    assert.ok(r.statusCode === 404 || r.statusCode === 400, `${url}: ${r.statusCode}`);
    assert.doesNotMatch(r.body, /"name":/);
    assert.doesNotMatch(r.body, /<title>v1<\/title>/, `${url}: not the app's page under an asset's URL`);
  }
});

test('a rebuild while the server runs is picked up without a restart', async () => {
  build('<!doctype html><title>v2</title>');
  // The file's modification time is what changes; make sure it does on coarse filesystems.
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(path.join(dir, 'index.html'), later, later);
  const r = await get('/console/');
  assert.match(r.body, /<title>v2<\/title>/);
});
