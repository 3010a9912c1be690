// ASM (servicemesh 2020-01-11, RPC at "/") DescribeServiceMeshKubeconfig and RevokeKubeconfig on clusters of
// kind service-mesh. Parameters may come in the query or a form body; never serve an action not listed here.

import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf } from '../request-context.ts';
import { AliyunError, noteVendorAction } from './aliyun-errors.ts';
import type { AliyunDeps } from './aliyun-plugin.ts';
import { rpcParams } from './request-auth.ts';
import { asmTime, optionalBool, requiredString } from './wire-params.ts';

const VERSION = '2020-01-11';
const KIND = 'service-mesh' as const;

/**
 * A parameter given in the query or form (RPC style) or in its x-acs- header (ACS3 style). Both at once with different
 * values is refused: the query winning let a request whose header said Describe revoke (the reverse would be no better).
 */
function paramOrHeader(req: FastifyRequest, params: Map<string, string>, name: string, header: string): string | undefined {
  const h = req.headers[header];
  const fromHeader = typeof h === 'string' ? h : undefined;
  const fromParams = params.get(name);
  if (fromParams !== undefined && fromHeader !== undefined && fromParams !== fromHeader) {
    throw new AliyunError('InvalidParameter', 400, `The parameter "${name}" and the ${header} header differ; send one of them, or the same value in both.`);
  }
  return fromParams ?? fromHeader;
}

function actionOf(req: FastifyRequest, params: Map<string, string>): string {
  const action = paramOrHeader(req, params, 'Action', 'x-acs-action');
  const version = paramOrHeader(req, params, 'Version', 'x-acs-version');
  if (!action) throw new AliyunError('MissingParameter', 400, 'The input parameter "Action" that is mandatory for processing this request is not supplied.');
  if (version !== VERSION) throw new AliyunError('InvalidVersion', 400, `Specified parameter Version "${String(version).slice(0, 32)}" is not valid; this endpoint serves servicemesh ${VERSION}.`);
  return action;
}

export function asmRoutes(deps: AliyunDeps) {
  const { authority, metrics } = deps;

  async function handle(req: FastifyRequest) {
    const params = rpcParams(req);
    const action = actionOf(req, params);
    const endpoint = optionalBool(params, 'PrivateIpAddress') ? 'private' as const : 'public' as const;
    switch (action) {
      case 'DescribeServiceMeshKubeconfig': {
        noteVendorAction(req, 'servicemesh:DescribeServiceMeshKubeconfig');
        const k = await authority.credentials.getKubeconfig(actorOf(req), { clusterId: requiredString(params, 'ServiceMeshId'), clusterKind: KIND, endpoint });
        if (k.reused) metrics.reused.inc();
        else metrics.issued.inc({ kind: k.credential.kind });
        return { RequestId: req.id, Kubeconfig: k.kubeconfig, ExpireTime: asmTime(k.credential.notAfter) };
      }
      case 'RevokeKubeconfig': {
        noteVendorAction(req, 'servicemesh:RevokeKubeconfig');
        const k = await authority.credentials.revokeAndReissue(actorOf(req), { clusterId: requiredString(params, 'ServiceMeshId'), clusterKind: KIND, endpoint, reason: 'RevokeKubeconfig' });
        metrics.revoked.inc(k.revoked.length);
        metrics.issued.inc({ kind: k.credential.kind });
        return { RequestId: req.id, Kubeconfig: k.kubeconfig };
      }
      default:
        throw new AliyunError('InvalidAction.NotFound', 404, `Specified api "${action.slice(0, 64)}" is not found; this endpoint serves DescribeServiceMeshKubeconfig and RevokeKubeconfig.`);
    }
  }

  return async (app: FastifyInstance) => {
    app.post('/', handle);
    app.get('/', handle);
  };
}
