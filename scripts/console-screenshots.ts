// Takes the screenshots of the web console in docs/screenshots/: starts a real server in a temporary
// data directory, fills it through the API, and photographs the main pages in Chromium. Not a test.
// Usage: npm run screenshots:console [-- <output dir>]

import fs from 'node:fs';
import path from 'node:path';
import { ensureConsoleBuilt, launchBrowser, openConsole, signIn } from '../test/support/browser.ts';
import { rawRequest } from '../test/support/http.ts';
import { ROOT, startServerProcess } from '../test/support/server-process.ts';

const out = path.resolve(process.argv[2] ?? path.join(ROOT, 'docs', 'screenshots'));
fs.mkdirSync(out, { recursive: true });

await ensureConsoleBuilt();
const srv = await startServerProcess();
const browser = await launchBrowser();

async function call(method: string, url: string, body?: unknown): Promise<any> {
  const r = await rawRequest(srv, method, url, { token: srv.rootToken, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (r.status >= 300) throw new Error(`${method} ${url}: ${r.status} ${r.body}`);
  return r.json;
}

try {
  const prod = await call('POST', '/v1/clusters', { name: 'prod-eu', region: 'eu-west', publicEndpoint: 'https://203.0.113.10:6443', privateEndpoint: 'https://10.0.0.10:6443' });
  await call('POST', '/v1/clusters', { name: 'staging', region: 'eu-west', publicEndpoint: 'https://203.0.113.20:6443', clientCaAlgorithm: 'rsa-2048' });
  await call('POST', '/v1/clusters', { name: 'edge-mesh', kind: 'service-mesh', region: 'factory-3', privateEndpoint: 'https://10.8.0.5:6443' });
  const people: Record<string, any> = {};
  for (const [name, groups, kind] of [['alice', ['dev', 'oncall'], 'user'], ['bob', ['dev'], 'user'], ['dana', ['sre'], 'user'], ['ci-deployer', ['deployers'], 'role']] as const) {
    people[name] = await call('POST', '/v1/principals', { name, groups, kind });
  }
  await call('POST', '/v1/policies', { name: 'self-service', description: 'Fetch your own kubeconfigs', document: { Version: '1', Statement: [{ Effect: 'Allow', Action: ['kubecred:GetKubeconfig', 'kubecred:ListClusters', 'kubecred:GetCluster'], Resource: '*' }] } });
  for (const n of ['alice', 'bob', 'dana']) await call('POST', `/v1/principals/${people[n].id}/policies`, { policy: 'self-service' });
  const issue = (who: string | null, body: Record<string, unknown> = {}) => call('POST', `/v1/clusters/${prod.id}/kubeconfig`, { ...(who ? { principalId: people[who].id } : {}), ...body });
  await issue(null);
  await issue('alice');
  await call('PUT', `/v1/clusters/${prod.id}/validity/${people.bob.id}`, { hours: 720 });
  await issue('bob');
  await issue('ci-deployer', { temporaryMinutes: 4320 });
  await issue('alice', { temporaryMinutes: 240, endpoint: 'private' });
  await issue('dana', { temporaryMinutes: 60 });
  await call('POST', `/v1/clusters/${prod.id}/revocations`, { principalId: people.dana.id, reason: 'laptop lost' });
  const rootTokens = `/v1/principals/${srv.rootPrincipalId}/tokens`;
  const old = await call('POST', rootTokens, { name: 'ci-old', expiresInDays: 90 });
  await call('DELETE', `${rootTokens}/${old.id}`);
  await call('POST', rootTokens, { name: 'laptop', expiresInDays: 30 });

  const tab = await openConsole(browser, srv.url);
  const p = tab.page;
  const shot = async (name: string, fullPage = false) => {
    await p.waitForLoadState('networkidle');
    await p.screenshot({ path: path.join(out, `${name}.png`), fullPage });
    process.stdout.write(`wrote ${path.join(out, `${name}.png`)}\n`);
  };
  await p.getByRole('heading', { name: 'Sign in to kubecred' }).waitFor();
  await shot('console-sign-in');
  await signIn(p, srv.rootToken);
  await p.getByRole('row', { name: /prod-eu/ }).waitFor();
  await shot('console-clusters');
  await p.goto(`/console/clusters/${prod.id}/states`);
  await p.getByRole('row', { name: /alice/ }).waitFor();
  await p.getByRole('row', { name: /alice/ }).getByText(/kubeconfigs$/).click(); // her list, with "Revoke this one"
  await shot('console-kubeconfig-states');
  await p.getByRole('button', { name: 'Revoke kubeconfigs of alice' }).click();
  await p.getByRole('dialog').waitFor();
  await shot('console-revoke-confirmation');
  await p.keyboard.press('Escape');
  await p.goto(`/console/clusters/${prod.id}/expiry`);
  await p.locator('figure.chart').waitFor();
  await shot('console-expiry-chart', true);
  await p.goto(`/console/kubeconfig?cluster=${prod.id}`);
  await p.getByLabel('Temporary').check();
  await p.getByLabel('Valid for (minutes)').fill('480');
  await p.getByRole('button', { name: 'Get kubeconfig' }).click();
  await p.getByRole('heading', { name: /Your kubeconfig/ }).waitFor();
  await shot('console-my-kubeconfig', true);
  await p.goto('/console/principals');
  await p.getByRole('row', { name: /ci-deployer/ }).waitFor();
  await shot('console-principals');
  await p.goto('/console/credentials');
  await p.getByText('Create a token').click();
  await p.getByLabel('Token name').fill('workstation');
  await p.getByRole('button', { name: 'Create token' }).click();
  await p.getByRole('region', { name: /^New token workstation/ }).waitFor();
  await shot('console-my-credentials', true);
  await p.goto('/console/audit');
  await p.locator('table.audit').waitFor();
  await shot('console-audit');

  const phone = await openConsole(browser, srv.url, { phone: true });
  await signIn(phone.page, srv.rootToken);
  await phone.page.goto(`/console/clusters/${prod.id}/states`);
  await phone.page.getByRole('row', { name: /alice/ }).waitFor();
  await phone.page.waitForLoadState('networkidle');
  await phone.page.screenshot({ path: path.join(out, 'console-phone-states.png') });
  process.stdout.write(`wrote ${path.join(out, 'console-phone-states.png')}\n`);
  if (tab.problems.length || phone.problems.length) throw new Error(`problems in the page: ${[...tab.problems, ...phone.problems].join('; ')}`);
} finally {
  await browser.close();
  await srv.stop();
  fs.rmSync(srv.dataDir, { recursive: true, force: true });
}
