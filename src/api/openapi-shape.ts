// Finishing touches on the OpenAPI document Fastify generates from the route schemas: what the routes cannot say
// one by one. Every operation gets a stable operationId (SDK generators name methods after it), the security its
// path really takes, and a request body marked required only when it has required fields.

type Operation = {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  requestBody?: { required?: boolean; content?: Record<string, { schema?: { required?: string[] } }> };
};

type Document = { paths?: Record<string, Record<string, Operation>>; components?: { securitySchemes?: Record<string, unknown> } };

/** The webhooks' callers are kube-apiservers holding a cluster's webhook token, not a principal's API token. */
export const WEBHOOK_SECURITY_SCHEME = {
  type: 'http', scheme: 'bearer',
  description: "A cluster's webhook token (kcw1.<id>.<secret>), from `kubecred cluster kube-config`",
} as const;

/** Paths that take no token at all: probes, metrics and the public CRL. */
const OPEN = [/^\/healthz$/, /^\/readyz$/, /^\/metrics$/, /^\/clusters\/\{id\}\/crl$/];

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
  doc.components = { ...doc.components, securitySchemes: { ...doc.components?.securitySchemes, webhookToken: WEBHOOK_SECURITY_SCHEME } };
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(ops)) {
      op.operationId ??= operationIdOf(method, path);
      if (OPEN.some((re) => re.test(path))) op.security = [];
      else if (path.startsWith('/kube/')) op.security = [{ webhookToken: [] }];
      if (op.requestBody) {
        const required = Object.values(op.requestBody.content ?? {}).some((c) => (c.schema?.required?.length ?? 0) > 0);
        op.requestBody.required = required;
      }
    }
  }
  return doc;
}
