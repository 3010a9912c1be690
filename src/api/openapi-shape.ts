// Finishing touches on the OpenAPI document Fastify generates from the route schemas: what the routes cannot say
// one by one. Every operation gets a stable operationId (SDK generators name methods after it), the security its
// path really takes (with the console's CSRF header where a change is made with its cookie), and a request body
// marked required only when it has required fields.

import { CSRF_HEADER, PLAIN_COOKIE, SECURE_COOKIE } from './console/session-cookie.ts';

type Operation = {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  parameters?: Array<Record<string, unknown>>;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: { required?: string[] } }> };
};

type Document = {
  paths?: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, unknown> };
  security?: Array<Record<string, string[]>>;
};

/** /v1 takes a principal's API token, or the web console's session cookie (native-plugin.ts), either one. */
export const BEARER_SECURITY_SCHEME = { type: 'http', scheme: 'bearer', description: 'A kubecred token: kc1.<id>.<secret>' } as const;

export const CONSOLE_SECURITY_SCHEME = {
  type: 'apiKey', in: 'cookie', name: SECURE_COOKIE,
  description: `The web console's session, from POST /v1/sessions (over plain HTTP the cookie is ${PLAIN_COOKIE}). It counts only when no Authorization header is sent; a change made with it also needs the session's csrfToken in ${CSRF_HEADER}`,
} as const;

/** The webhooks' callers are kube-apiservers holding a cluster's webhook token, not a principal's API token. */
export const WEBHOOK_SECURITY_SCHEME = {
  type: 'http', scheme: 'bearer',
  description: "A cluster's webhook token (kcw1.<id>.<secret>), from `kubecred cluster kube-config`",
} as const;

/** Paths that take no token at all: probes, metrics and the public CRL. */
const OPEN = [/^\/healthz$/, /^\/readyz$/, /^\/metrics$/, /^\/clusters\/\{id\}\/crl$/];

/** What the console's session stands for: opened with a token in the body, then held by the cookie alone. */
const SIGN_IN = '/v1/sessions';
const THE_SESSION = '/v1/sessions/current';

/** Methods that change nothing, for which the session cookie suffices (session-cookie.ts's SAFE_METHODS). */
const SAFE = new Set(['get', 'head', 'options']);

const CSRF_PARAMETER = {
  name: CSRF_HEADER, in: 'header', required: false, schema: { type: 'string' },
  description: "With the console's session cookie (not with a bearer token): the session's csrfToken. A change made with the cookie and without it is 403 ACCESS_DENIED",
};

/** get /v1/clusters/{id}/kubeconfig -> getV1ClustersByIdKubeconfig: unique, and stable while the path is. */
export function operationIdOf(method: string, path: string): string {
  const words = path.split('/').filter(Boolean).map((s) => {
    const param = /^\{(.+)\}$/.exec(s);
    return param ? `By${param[1]![0]!.toUpperCase()}${param[1]!.slice(1)}` : s;
  });
  const camel = words.map((w) => w.split(/[-_.]/).map((p) => (p ? p[0]!.toUpperCase() + p.slice(1) : '')).join(''));
  return method.toLowerCase() + camel.join('');
}

export function shapeOpenApi(doc: Document): Document {
  doc.components = {
    ...doc.components,
    securitySchemes: { ...doc.components?.securitySchemes, bearer: BEARER_SECURITY_SCHEME, consoleSession: CONSOLE_SECURITY_SCHEME, webhookToken: WEBHOOK_SECURITY_SCHEME },
  };
  // The document's default, which /v1 takes: a token, or the console's cookie.
  doc.security = [{ bearer: [] }, { consoleSession: [] }];
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      op.operationId ??= operationIdOf(method, path);
      if (OPEN.some((re) => re.test(path))) op.security = [];
      else if (path.startsWith('/kube/')) op.security = [{ webhookToken: [] }];
      else if (path === THE_SESSION) op.security = [{ consoleSession: [] }];
      const takesCookie = path.startsWith('/v1/') && path !== SIGN_IN;
      if (takesCookie && !SAFE.has(method)) op.parameters = [...(op.parameters ?? []), CSRF_PARAMETER];
      if (op.requestBody) {
        const required = Object.values(op.requestBody.content ?? {}).some((c) => (c.schema?.required?.length ?? 0) > 0);
        op.requestBody.required = required;
      }
    }
  }
  return doc;
}
