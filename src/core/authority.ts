// The composition root of core: wires the services together from their ports.
// API surfaces and the CLI receive an Authority; nothing else constructs services.

import { makeAuditService, makeAuditWriter } from './audit.ts';
import { makeAuthenticator } from './authenticator.ts';
import { makeAuthorizer } from './authorizer.ts';
import { makeClusterService } from './cluster-service.ts';
import { makeCredentialIssuer } from './credential-issuer.ts';
import { makeCredentialService } from './credential-service.ts';
import { makePolicyService } from './policy-service.ts';
import { makePrincipalService } from './principal-service.ts';
import type { Clock, Ids, Sealer } from './ports.ts';
import type { Store } from './store-port.ts';

export interface AuthorityDeps {
  store: Store;
  clock: Clock;
  ids: Ids;
  sealer: Sealer;
}

export function makeAuthority(deps: AuthorityDeps) {
  const audit = makeAuditWriter(deps);
  const authorizer = makeAuthorizer({ store: deps.store, audit });
  const issuer = makeCredentialIssuer({ ...deps, audit });
  return {
    store: deps.store,
    clock: deps.clock,
    authenticator: makeAuthenticator(deps),
    authorizer,
    credentials: makeCredentialService({ ...deps, authorizer, issuer, audit }),
    clusters: makeClusterService({ ...deps, authorizer, audit, issuer }),
    principals: makePrincipalService({ ...deps, authorizer, audit }),
    policies: makePolicyService({ ...deps, authorizer, audit }),
    audit: makeAuditService({ store: deps.store, authorizer }),
    auditWriter: audit,
  };
}

export type Authority = ReturnType<typeof makeAuthority>;
