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

function actionOf(req: FastifyRequest, params: Map<string, string>): string {
  const h = req.headers['x-acs-action'];
  const action = params.get('Action') ?? (typeof h === 'string' ? h : undefined);
  const hv = req.headers['x-acs-version'];
  const version = params.get('Version') ?? (typeof hv === 'string' ? hv : undefined);
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
