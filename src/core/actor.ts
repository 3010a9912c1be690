// Who is asking, as every core service sees it: the authenticated principal and the request's facts.
// Built by an API surface after authentication; core never parses headers itself.

import type { Principal } from './model.ts';

export interface Actor {
  accountId: string;
  principal: Principal;
  requestId: string;
  sourceIp: string | null;
  /** Which surface the request came through (native, aliyun, huaweicloud, cli), for the audit trail. */
  surface: string;
}
