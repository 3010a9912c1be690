// ACK's kubeconfig state lists (ListClusterKubeconfigStates, ListUserKubeConfigStates) in the vendor's
// enums and paging. Must never leak kubecred's richer states here: those belong to the native inventory.

import type { FastifyInstance } from 'fastify';
import type { HoldingStatus } from '../../core/principal-access.ts';
import { actorOf } from '../request-context.ts';
import { noteVendorAction } from './aliyun-errors.ts';
import type { AliyunDeps } from './aliyun-plugin.ts';
import { splitUrl } from './request-auth.ts';
import { optionalBool, pageOf, paging, rfc3339 } from './wire-params.ts';

/** The cluster list knows no "never issued" or "revoked": those holders are simply not listed. */
const clusterCertState: Record<HoldingStatus, string | null> = { active: 'Unexpired', expired: 'Expired', none: null, revoked: null };
const userCertState: Record<HoldingStatus, string> = { active: 'Unexpired', expired: 'Expired', none: 'Unissued', revoked: 'Removed' };

export function ackStatesRoutes(deps: AliyunDeps) {
  const { authority } = deps;
  return async (app: FastifyInstance) => {
    app.get<{ Params: { ClusterId: string } }>('/clusters/:ClusterId/kubeconfig/states', async (req) => {
      noteVendorAction(req, 'cs:ListClusterKubeconfigStates');
      const q = splitUrl(req).query;
      const p = paging(q, { number: 'pageNumber', size: 'pageSize' }, 50, 10);
      // kubecred issues no kubeconfigs to cloud services, so asking only for those lists nothing.
      const cloudServiceOnly = optionalBool(q, 'cloudServiceKubeConfig') === true;
      const holders = await authority.access.holdersOf(actorOf(req), req.params.ClusterId, 'kubernetes');
      const rows = cloudServiceOnly ? [] : holders.flatMap(({ principal, holding }) => {
        const state = clusterCertState[holding.status];
        if (!state) return [];
        return [{
          account_id: principal.id, account_name: principal.name, account_display_name: principal.name,
          account_state: principal.deletedAt ? 'Deleted' : 'Active',
          account_type: principal.isRoot ? 'RootAccount' : principal.kind === 'role' ? 'RamRole' : 'RamUser',
          cert_expire_time: holding.notAfter ? rfc3339(holding.notAfter) : '',
          cert_state: state, cloud_service_name: '', cloud_service_roles: [],
          revokable: !principal.isRoot,
        }];
      });
      const page = pageOf(rows, p);
      return { page: page.page, states: page.items };
    });

    app.get<{ Params: { Uid: string } }>('/users/:Uid/kubeconfig/states', async (req) => {
      noteVendorAction(req, 'cs:ListUserKubeConfigStates');
      const p = paging(splitUrl(req).query, { number: 'page_number', size: 'page_size' }, 100, 50);
      const holdings = await authority.access.holdingsOf(actorOf(req), req.params.Uid);
      const rows = holdings.filter(({ cluster }) => cluster.kind === 'kubernetes').map(({ cluster, holding }) => ({
        cluster_id: cluster.id, cluster_name: cluster.name, cluster_state: 'running',
        cert_state: userCertState[holding.status], cert_expire_time: holding.notAfter ? rfc3339(holding.notAfter) : '',
      }));
      const page = pageOf(rows, p);
      return { page: page.page, states: page.items };
    });
  };
}
