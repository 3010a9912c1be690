// SDK-HMAC-SHA256 has no nonce: identical requests signed in one second carry one signature. A write (clustercert,
// clustercertrevoke) is accepted once per signature, also after a restart; a read is answered each time, as Huawei
// Cloud answers it. Through the official Huawei SDK, and the bytes it sent sent again.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rawRequest } from './support/http.ts';
import { cceClient, createCert, ListClustersRequest, PROJECT_ID, sdkError, setupCce, ShowClusterRequest } from './support/huaweicloud-sdk.ts';
import { startServerProcess, type ServerProcess } from './support/server-process.ts';

let srv: ServerProcess;
let env: Awaited<ReturnType<typeof setupCce>>;

before(async () => {
  srv = await startServerProcess();
  env = await setupCce(srv, { publicEndpoint: 'https://203.0.113.10:6443' });
});
after(() => srv?.stop());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const issuedCount = async () => (await rawRequest(srv, 'GET', `/v1/credentials?cluster=${env.cluster.id}`, { token: srv.rootToken })).json.items.length as number;

interface Sent { method: string; url: string; headers: Record<string, string>; data: string | undefined }

/** Alice's SDK client, keeping what it signed and sent (method, path, headers, body), to send those bytes again. */
function recordingClient(): { client: any; sent: Sent[] } {
  const client = cceClient(srv, env.alice.ak, env.alice.sk, PROJECT_ID);
  const sent: Sent[] = [];
  client.hcClient.httpClient._axiosInstance.interceptors.request.use((r: any) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(r.headers ?? {})) if (typeof v === 'string') headers[k.toLowerCase()] = v;
    const u = new URL(r.url, srv.url);
    sent.push({ method: String(r.method).toUpperCase(), url: u.pathname + u.search, headers, data: r.data === undefined ? undefined : typeof r.data === 'string' ? r.data : JSON.stringify(r.data) });
    return r;
  });
  return { client, sent };
}

/** The same bytes again (a GET's body too: the SDK sends "{}" and signs it, so the length must be framed). */
const resend = (s: Sent, url = s.url) => rawRequest(srv, s.method, url, {
  body: s.data, headers: { ...s.headers, ...(s.data === undefined ? {} : { 'content-length': String(Buffer.byteLength(s.data)) }) },
});

/** Waits for the start of a wall-clock second, so that what is signed next shares its X-Sdk-Date. */
async function startOfSecond(): Promise<void> {
  await sleep(1000 - (Date.now() % 1000) + 20);
}

test('two identical reads signed in one second are both answered (ShowCluster, ListClusters): neither is taken for a replay', async () => {
  const { client, sent } = recordingClient();
  await startOfSecond();
  const show = () => client.showCluster(new ShowClusterRequest().withClusterId(env.cluster.id));
  const [a, b] = await Promise.all([sdkError(show()), sdkError(show())]);
  assert.equal(sent.length, 2);
  assert.equal(sent[0]!.headers.authorization, sent[1]!.headers.authorization, 'one signature for both');
  // kubecred serves no CCE reads (docs/huaweicloud.md): each is authenticated and answered as such, not refused 401.
  for (const e of [a, b]) {
    assert.equal(e.httpStatusCode, 404, e.errorMsg);
    assert.equal(e.errorCode, 'CCE.01404001');
    assert.match(e.errorMsg, /no CCE operation GET/);
  }
  assert.notEqual(a.requestId, b.requestId);
  // The same bytes once more, and a list twice in a row in one second: the same answer each time.
  const again = await resend(sent[0]!);
  assert.equal(again.status, 404, again.body);
  assert.equal(again.json.error_code, 'CCE.01404001');
  await startOfSecond();
  const list = () => sdkError(client.listClusters(new ListClustersRequest()));
  const first = await list();
  const second = await list();
  assert.equal(sent[2]!.headers.authorization, sent[3]!.headers.authorization, 'one signature for both');
  assert.deepEqual([first.httpStatusCode, second.httpStatusCode], [404, 404], second.errorMsg);
  assert.equal(second.errorCode, 'CCE.01404001');
  // A read still needs a valid signature: the captured one over another path is refused.
  const moved = await resend(sent[0]!, sent[0]!.url.replace(env.cluster.id, 'cls_other'));
  assert.equal(moved.status, 401, moved.body);
  assert.equal(moved.json.error_code, 'APIGW.0301');
});

test('a write sent again is refused (401 APIGW.0301), also after a restart, and issues nothing; reads are still answered then', async () => {
  const { client, sent } = recordingClient();
  assert.equal((await createCert(client, env.cluster.id, 3)).httpStatusCode, 200);
  const post = sent.find((s) => s.method === 'POST')!;
  await sdkError(client.showCluster(new ShowClusterRequest().withClusterId(env.cluster.id)));
  const read = sent.find((s) => s.method === 'GET')!;
  const issued = await issuedCount();
  const refusedAsReplay = async () => {
    const r = await resend(post);
    assert.equal(r.status, 401, r.body);
    assert.equal(r.json.error_code, 'APIGW.0301');
    assert.match(r.json.error_msg, /already received/);
  };
  await refusedAsReplay();
  // The signatures accepted are in the database, not the process: a restart does not reopen the window.
  await srv.stop();
  srv = await startServerProcess({ dataDir: srv.dataDir, previous: srv });
  await refusedAsReplay();
  assert.equal(await issuedCount(), issued, 'the replays issued nothing');
  const r = await resend(read);
  assert.equal(r.status, 404, r.body);
  assert.equal(r.json.error_code, 'CCE.01404001');
  // Signed anew, a write works.
  assert.equal((await createCert(cceClient(srv, env.alice.ak, env.alice.sk, PROJECT_ID), env.cluster.id, 4)).httpStatusCode, 200);
});
