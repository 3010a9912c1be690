// The official Huawei Cloud SDK pointed at a kubecred server: a temporary HOME (the SDK core writes
// ~/.huaweicloud), trust for the server's self-signed certificate, and its stdout error logger silenced.

import fs from 'node:fs';
import https from 'node:https';
import { tempDir } from './server-process.ts';
import { rejectionOf } from './rejection.ts';

// Must run before the SDK is imported: it reads HOME when it first loads.
process.env.HOME = tempDir('kubecred-hwsdk-home-');

const core = await import('@huaweicloud/huaweicloud-sdk-core');
const cce = await import('@huaweicloud/huaweicloud-sdk-cce');

export const { BasicCredentials } = core as any;
export const { CceClient, CreateKubernetesClusterCertRequest, CertDuration, ShowClusterRequest, ListClustersRequest } = cce as any;

const quiet = { debug() {}, info() {}, warn() {}, error() {}, setLevel() {}, getLevel() {}, setName() {} };

export function cceClient(server: { url: string; caFile: string }, ak: string, sk: string, projectId: string): any {
  const credentials = new BasicCredentials().withAk(ak).withSk(sk).withProjectId(projectId);
  const client = CceClient.newBuilder()
    .withCredential(credentials)
    .withEndpoint(server.url)
    .withOptions({ axiosRequestConfig: { httpsAgent: new https.Agent({ ca: fs.readFileSync(server.caFile, 'utf8') }) } })
    .build();
  client.hcClient.logger = quiet;
  client.hcClient.httpClient._logger = quiet;
  return client;
}

export function createCert(client: any, clusterId: string, duration: number): Promise<any> {
  return client.createKubernetesClusterCert(new CreateKubernetesClusterCertRequest().withClusterId(clusterId).withBody(new CertDuration(duration)));
}

/** The published SDK has no revoke method: the client's own signed generic request, as VENDOR-WIRE.md §6 shows. */
export function revokeCert(client: any, clusterId: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<any> {
  return client.hcClient.sendRequest({
    method: 'POST', url: '/api/v3/projects/{project_id}/clusters/{cluster_id}/clustercertrevoke', contentType: 'application/json',
    pathParams: { cluster_id: clusterId }, headers: { 'Content-Type': 'application/json', ...headers }, queryParams: {}, data: body,
  });
}

/** The SDK's thrown error, or a failure when the call succeeded. */
export const sdkError = (p: Promise<unknown>) => rejectionOf<{ httpStatusCode: number; errorCode: string; errorMsg: string; requestId: string }>(p);

export const PROJECT_ID = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';

/**
 * Through the real CLI as root: a cluster in cn-north-4, the project mapped to the account, and users
 * alice (allowed by CCE-named actions) and bob (whose policy explicitly denies fetching certificates).
 */
export async function setupCce(srv: import('./server-process.ts').ServerProcess, cluster: { publicEndpoint: string; serverCaFile?: string }) {
  const { cliJson } = await import('./cli.ts');
  const path = await import('node:path');
  const work = tempDir('kubecred-hw-');
  const c = await cliJson(srv, srv.rootToken, ['cluster', 'create', 'prod', '--public-endpoint', cluster.publicEndpoint, '--private-endpoint', 'https://10.0.0.10:6443',
    ...(cluster.serverCaFile ? ['--server-ca', cluster.serverCaFile] : []), '--region', 'cn-north-4']);
  await cliJson(srv, srv.rootToken, ['project', 'add', PROJECT_ID, '--region', 'cn-north-4']);
  const policy = async (name: string, statements: unknown[]) => {
    const file = path.join(work, `${name}.json`);
    fs.writeFileSync(file, JSON.stringify({ Version: '1', Statement: statements }));
    await cliJson(srv, srv.rootToken, ['policy', 'create', name, '--file', file]);
  };
  await policy('cce-self', [{ Effect: 'Allow', Action: ['cce:cluster:createClusterCert', 'cce:cluster:revokeClusterCert'], Resource: '*' }]);
  await policy('cce-no-certs', [{ Effect: 'Allow', Action: ['cce:cluster:*'], Resource: '*' }, { Effect: 'Deny', Action: ['cce:cluster:createClusterCert'], Resource: '*' }]);
  const user = async (name: string, pol: string) => {
    const p = await cliJson(srv, srv.rootToken, ['principal', 'create', name, '--group', 'dev']);
    await cliJson(srv, srv.rootToken, ['policy', 'attach', pol, '--principal', name]);
    const ak = await cliJson(srv, srv.rootToken, ['accesskey', 'create', '--principal', name]);
    const tok = await cliJson(srv, srv.rootToken, ['token', 'create', '--principal', name]);
    return { id: p.id as string, ak: ak.accessKeyId as string, sk: ak.accessKeySecret as string, token: tok.token as string };
  };
  return { cluster: c as { id: string; clientCaPem: string }, alice: await user('alice', 'cce-self'), bob: await user('bob', 'cce-no-certs'), work };
}
