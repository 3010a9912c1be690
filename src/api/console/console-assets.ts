// Serves the built web console (web/dist) at /console: hashed assets cached for a year, the page
// itself never stored (no-store), a strict CSP on everything, and a page that says what to do when nothing is built.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';

/**
 * The package's web/dist. The package root is the first directory above this module whose package.json is
 * kubecred's: three levels up from the sources (src/api/console/), one from the bundle (dist/kubecred.mjs).
 */
function defaultAssetsDir(): string {
  for (let dir = import.meta.dirname; path.dirname(dir) !== dir; dir = path.dirname(dir)) {
    try {
      if ((JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string }).name === 'kubecred') return path.join(dir, 'web', 'dist');
    } catch {
      // no package.json here (or not JSON): keep walking up
    }
  }
  return path.resolve(import.meta.dirname, '..', '..', '..', 'web', 'dist');
}

export const DEFAULT_ASSETS_DIR = defaultAssetsDir();

/** Only this server's own scripts, styles and API; no inline code, no frames, no foreign origins. */
export const CONSOLE_CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "font-src 'self'",
  "connect-src 'self'", "manifest-src 'self'", "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.json': 'application/json',
  '.txt': 'text/plain; charset=utf-8', '.woff2': 'font/woff2', '.webmanifest': 'application/manifest+json',
};

interface Asset { body: Buffer; type: string; etag: string }
interface Build { mtimeMs: number; files: Map<string, Asset> }

function readBuild(dir: string, mtimeMs: number): Build {
  const files = new Map<string, Asset>();
  const walk = (sub: string) => {
    for (const e of fs.readdirSync(path.join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) walk(rel);
      else if (e.isFile()) {
        const body = fs.readFileSync(path.join(dir, rel));
        const etag = `"${crypto.createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
        files.set(rel, { body, type: TYPES[path.extname(rel)] ?? 'application/octet-stream', etag });
      }
    }
  };
  walk('');
  return { mtimeMs, files };
}

function page(title: string, text: string, requestId: string): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`
    + `<title>${esc(title)} · kubecred</title></head><body><main><h1>${esc(title)}</h1><p>${esc(text)}</p>`
    + `<p>Request ID: <code>${esc(requestId)}</code></p></main></body></html>`;
}

function secure(reply: FastifyReply): FastifyReply {
  return reply
    .header('content-security-policy', CONSOLE_CSP)
    .header('x-content-type-options', 'nosniff')
    .header('x-frame-options', 'DENY')
    .header('referrer-policy', 'no-referrer')
    .header('cross-origin-opener-policy', 'same-origin');
}

export const consoleAssets = (dir: string) => async (app: FastifyInstance) => {
  let build: Build | null = null;

  /** The build on disk, re-read when index.html changes (a rebuild while the server runs). */
  async function current(): Promise<Build | null> {
    const stat = await fs.promises.stat(path.join(dir, 'index.html')).catch(() => null);
    if (!stat) return (build = null);
    if (!build || build.mtimeMs !== stat.mtimeMs) build = readBuild(dir, stat.mtimeMs);
    return build;
  }

  app.get('/console', { schema: { hide: true } }, async (_req, reply) => secure(reply).redirect('/console/', 302));

  app.get<{ Params: { '*': string } }>('/console/*', { schema: { hide: true } }, async (req, reply) => {
    secure(reply);
    const b = await current();
    if (!b) {
      return reply.status(503).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page(
        'The web console is not built',
        'The server is running, but the console\'s files (web/dist) are missing. Build them with `npm run build:console` (npm ci does it) and reload this page. The API at /v1 works meanwhile.',
        req.id,
      ));
    }
    const rel = req.params['*'] ?? '';
    let asset = b.files.get(rel);
    const isHashedAsset = asset !== undefined && rel.startsWith('assets/');
    if (!asset) {
      // A path with an extension, or anything under assets/ (only hashed build files live there), names a file
      // that is not there; anything else is a page of the app.
      if (path.extname(rel) || rel === 'assets' || rel.startsWith('assets/')) {
        return reply.status(404).header('cache-control', 'no-store').type('text/html; charset=utf-8').send(page('Not found', `The console has no file ${rel}.`, req.id));
      }
      asset = b.files.get('index.html')!;
    }
    // The page itself is no-store: a page the browser keeps (in its back/forward cache, too) can hold a private key or
    // a once-shown secret, and Back must not bring that back. It is small; the hashed assets stay cached.
    const isPage = asset === b.files.get('index.html');
    reply.header('etag', asset.etag).header('cache-control', isHashedAsset ? 'public, max-age=31536000, immutable' : isPage ? 'no-store' : 'no-cache');
    if (req.headers['if-none-match'] === asset.etag) return reply.status(304).send();
    return reply.type(asset.type).send(asset.body);
  });
};
