// Debian's Chromium driven through playwright-core, for the web console's end-to-end tests: launch
// (or a clear reason to skip), a context that trusts the test server, sign-in, and the problems seen.

import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT } from './server-process.ts';

/** Debian's package; KUBECRED_TEST_CHROMIUM points elsewhere (another distribution's path). */
export const CHROMIUM = process.env.KUBECRED_TEST_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const DIST_INDEX = path.join(ROOT, 'web', 'dist', 'index.html');

/** Why the browser tests cannot run here, or null when they can. */
export function browserUnavailable(): string | null {
  if (fs.existsSync(CHROMIUM)) return null;
  return `no Chromium at ${CHROMIUM}: the test command installs Debian's chromium with apt-get when it runs as root; otherwise run \`apt-get install chromium\` (or set KUBECRED_TEST_CHROMIUM)`;
}

/** Builds web/dist when it is missing (npm ci builds it; a test run straight after a clean checkout may not have). */
export async function ensureConsoleBuilt(): Promise<void> {
  if (fs.existsSync(DIST_INDEX)) return;
  const lock = path.join(ROOT, 'web', '.build-lock');
  try {
    fs.mkdirSync(lock);
  } catch {
    // Another test file is building it: wait for the result.
    for (let i = 0; i < 240 && !fs.existsSync(DIST_INDEX); i++) await new Promise((r) => setTimeout(r, 250));
    if (!fs.existsSync(DIST_INDEX)) throw new Error(`web/dist was not built within 60 s; remove ${lock} if a build was interrupted`);
    return;
  }
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(process.execPath, [path.join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', 'web', '--logLevel', 'warn'], { cwd: ROOT }, (err, _out, stderr) =>
        (err ? reject(new Error(`building the console failed: ${stderr}`)) : resolve()));
    });
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

/** `backForwardCache`: keep Chromium's back/forward cache, which playwright turns off by default. */
export function launchBrowser(opts: { backForwardCache?: boolean } = {}): Promise<Browser> {
  // playwright gives every launch a fresh temporary profile (user-data-dir) and removes it on close.
  return chromium.launch({
    executablePath: CHROMIUM, args: ARGS, timeout: 30_000,
    ...(opts.backForwardCache ? { ignoreDefaultArgs: ['--disable-back-forward-cache'] } : {}),
  });
}

export interface ConsoleTab {
  context: BrowserContext;
  page: Page;
  /** CSP violations and uncaught page errors seen so far: a test ends by asserting there are none. */
  problems: string[];
}

/** A fresh browser context (its own cookies) on the test server, which serves a self-signed certificate. */
export async function openConsole(browser: Browser, baseURL: string, opts: { phone?: boolean } = {}): Promise<ConsoleTab> {
  const context = await browser.newContext({
    baseURL, ignoreHTTPSErrors: true, acceptDownloads: true,
    viewport: opts.phone ? { width: 375, height: 740 } : { width: 1280, height: 860 },
    ...(opts.phone ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: baseURL });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text())) problems.push(`CSP: ${m.text()}`);
  });
  await page.goto('/console/');
  return { context, page, problems };
}

export async function signIn(page: Page, token: string): Promise<void> {
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}
