// TypeBox schemas of the native API: they validate input, whitelist output and feed /openapi.json.
// One definition per shape; routes refer to these and never restate a field.

import { Type, type TSchema } from '@sinclair/typebox';
import { invalid } from '../../core/errors.ts';
import { GROUP_RE, GROUP_RULE } from '../../core/group-rules.ts';
import { CREDENTIAL_KINDS, type CredentialKind } from '../../core/model.ts';
import { NAME_RE, NAME_RULE, REGION_RE, REGION_RULE } from '../../core/input-rules.ts';

const Nullable = <T extends TSchema>(t: T, opts: { description?: string } = {}) => Type.Union([t, Type.Null()], opts);
const Time = Type.String({ format: 'date-time' });

export const ErrorBody = Type.Object({
  code: Type.String({ description: 'Stable error code, e.g. VALIDATION_FAILED, ACCESS_DENIED, NOT_FOUND' }),
  message: Type.String({ description: 'What went wrong and what to do next' }),
  requestId: Type.String(),
  details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
}, { $id: 'Error' });

export const errorResponses = {
  400: Type.Ref('Error'), 401: Type.Ref('Error'), 403: Type.Ref('Error'), 404: Type.Ref('Error'),
  409: Type.Ref('Error'), 413: Type.Ref('Error'), 415: Type.Ref('Error'), 422: Type.Ref('Error'), 500: Type.Ref('Error'),
  // UNAVAILABLE: the database cannot be reached, or its disk cannot take the write; retry later.
  503: Type.Ref('Error'),
};

const PEM_LIMIT = 'at most 64 KiB: larger is 413 PAYLOAD_TOO_LARGE';

/**
 * Core's name, region and group rules as patterns, so /openapi.json states them; core checks them again for the
 * surfaces without schemas. A refusal is worded with the rule (native-errors.ts), as core words it.
 */
export const PATTERN_RULES: ReadonlyMap<string, string> = new Map([[NAME_RE.source, NAME_RULE], [REGION_RE.source, REGION_RULE], [GROUP_RE.source, GROUP_RULE]]);
const Name = (description = NAME_RULE) => Type.String({ minLength: 1, maxLength: 63, pattern: NAME_RE.source, description });
/** A cluster's, principal's or policy's: looked up in place of its ID too, so not shaped like one. */
const ResourceName = Name(`${NAME_RULE}; not starting with usr_, rol_, cls_ or pol_ (the prefixes of IDs)`);
export const Region = Type.String({ minLength: 1, maxLength: 63, pattern: REGION_RE.source, description: REGION_RULE });
const Groups = Type.Array(Type.String({ maxLength: 64, pattern: GROUP_RE.source, description: 'Not system:masters; other system: groups only on clusters that allow them' }), { maxItems: 32 });

/** The longest ID or name a path may carry; the router refuses longer path segments before routing (server.ts). */
export const ID_MAX_LENGTH = 128;

export const IdParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: ID_MAX_LENGTH }) });

export const PageQuery = {
  limit: Type.Optional(Type.String({ pattern: '^[0-9]{1,4}$', description: 'Items per page, 1-500 (default 50)' })),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'The `next` value of the previous page' })),
};

/** A listing's query: paging alone, or with `filters`. Unknown parameters are refused (a typo such as clusterId= would
 * otherwise list everything). */
export const pagedQuery = <T extends Record<string, TSchema>>(filters?: T) => Type.Object({ ...PageQuery, ...filters } as typeof PageQuery & T, { additionalProperties: false });

export const pageOf = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), next: Nullable(Type.String()) });

/** What a principal holds, listed: also for a deleted principal (by its ID), and then says when it was deleted. */
export const heldPageOf = <T extends TSchema>(item: T) => Type.Object({
  items: Type.Array(item), next: Nullable(Type.String()),
  principalDeletedAt: Type.Optional(Type.String({ format: 'date-time', description: 'Present when the principal was deleted: these are what it held' })),
});

export const Cluster = Type.Object({
  id: Type.String(), name: Type.String(), kind: Type.Union([Type.Literal('kubernetes'), Type.Literal('service-mesh')]),
  region: Type.String(), publicEndpoint: Nullable(Type.String()), privateEndpoint: Nullable(Type.String()),
  serverCaPem: Nullable(Type.String()), clientCaPem: Type.String({ description: 'Append to kube-apiserver --client-ca-file' }),
  clientCaAlgorithm: Type.String({ description: 'The client CA key: ec-p256 or rsa-2048 when generated; an imported one as it is (ec-p384, rsa-4096)' }), clientCaSource: Type.String(), allowSystemGroups: Type.Boolean(),
  credentialType: Type.Union([Type.Literal('x509'), Type.Literal('token')], { description: 'What its kubeconfigs carry' }), createdAt: Time,
}, { $id: 'Cluster' });

export const CreateClusterBody = Type.Object({
  name: ResourceName,
  kind: Type.Optional(Type.Union([Type.Literal('kubernetes'), Type.Literal('service-mesh')])),
  region: Type.Optional(Region),
  publicEndpoint: Type.Optional(Type.String({ maxLength: 2048 })),
  privateEndpoint: Type.Optional(Type.String({ maxLength: 2048 })),
  // PEM fields take at most PEM_LIMIT bytes; core refuses more with 413 PAYLOAD_TOO_LARGE (a schema maxLength
  // would answer 400, and count characters rather than bytes).
  serverCaPem: Type.Optional(Type.String({ description: `CA bundle clients trust for the API server (${PEM_LIMIT})` })),
  clientCaAlgorithm: Type.Optional(Type.Union([Type.Literal('ec-p256'), Type.Literal('rsa-2048')], { description: 'Generate a client CA (default ec-p256)' })),
  clientCaCertPem: Type.Optional(Type.String({ description: `Import a client CA: its certificate (${PEM_LIMIT})` })),
  clientCaKeyPem: Type.Optional(Type.String({ description: `Import a client CA: its private key (${PEM_LIMIT})` })),
  allowSystemGroups: Type.Optional(Type.Boolean()),
  credentialType: Type.Optional(Type.Union([Type.Literal('x509'), Type.Literal('token')], { description: 'token: kubeconfigs carry bearer tokens checked by the TokenReview webhook (when the CA key cannot be handed to kubecred)' })),
}, { additionalProperties: false });

export const Principal = Type.Object({
  id: Type.String(), kind: Type.Union([Type.Literal('user'), Type.Literal('role')]), name: Type.String(),
  groups: Type.Array(Type.String()), isRoot: Type.Boolean(), createdAt: Time,
  deletedAt: Nullable(Time, { description: 'When it was deleted: a deleted principal is shown, by its ID only, with what it held' }),
}, { $id: 'Principal' });

/** One principal as `GET /v1/principals/{id}` shows it: with what the caller may do to it, for the console. */
export const PrincipalShown = Type.Object({
  ...Principal.properties,
  mayDelete: Type.Boolean({ description: "Whether the caller's policies allow deleting it now (never the root, nor a deleted principal)" }),
});

export const CreatePrincipalBody = Type.Object({
  name: ResourceName,
  kind: Type.Optional(Type.Union([Type.Literal('user'), Type.Literal('role')])),
  groups: Type.Optional(Groups),
}, { additionalProperties: false });

export const UpdatePrincipalBody = Type.Object({ groups: Groups }, { additionalProperties: false });

export const CreateTokenBody = Type.Object({
  name: Type.Optional(Name()),
  expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
}, { additionalProperties: false });

export const NewToken = Type.Object({
  id: Type.String(), principalId: Type.String(), name: Type.String(),
  token: Type.String({ description: 'Shown once; kubecred keeps only its hash' }), expiresAt: Nullable(Time),
});

export const NewAccessKey = Type.Object({
  accessKeyId: Type.String(), accessKeySecret: Type.String({ description: 'Shown once' }), principalId: Type.String(),
});

/** Who made a token or access key, which may be another principal than its holder. */
const CreatedBy = Nullable(Type.String(), { description: "The principal whose request made it (another's for a role's credentials made by an admin); null when made on the server (first start, account root-token) or before kubecred recorded it (migration 018)" });

export const Token = Type.Object({
  id: Type.String(), principalId: Type.String(), name: Type.String(),
  status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
  createdAt: Time, createdBy: CreatedBy, expiresAt: Nullable(Time), revokedAt: Nullable(Time),
}, { $id: 'Token', description: 'A bearer token, without its secret' });

export const AccessKey = Type.Object({
  accessKeyId: Type.String(), principalId: Type.String(), status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
  createdAt: Time, createdBy: CreatedBy, revokedAt: Nullable(Time),
}, { $id: 'AccessKey', description: 'An access key, without its secret' });

export const WebhookToken = Type.Object({
  id: Type.String(), clusterId: Type.String(), status: Type.Union([Type.Literal('active'), Type.Literal('revoked')]),
  createdAt: Time, revokedAt: Nullable(Time),
}, { description: "A cluster's webhook token, without its secret" });

export const Revoked = Type.Object({ revoked: Type.Boolean({ description: 'False when it had already been revoked' }) });

export const CredentialKindName = Type.Union(CREDENTIAL_KINDS.map((k) => Type.Literal(k)), {
  description: 'default: one per cluster and principal, handed out again until renewed; temporary: 15 to 4320 minutes; csr: signed from your CSR; explicit: the end its caller asked for, up to 1827 days (CCE)',
});

export const Credential = Type.Object({
  id: Type.String(), type: Type.Union([Type.Literal('x509'), Type.Literal('token')]), clusterId: Type.String(), principalId: Type.String(),
  kind: CredentialKindName,
  keySource: Type.Union([Type.Literal('generated'), Type.Literal('client')]),
  serial: Type.String(), fingerprintSha256: Type.String({ description: 'Kubernetes 1.32+ credential ID: X509SHA256=<this>' }),
  commonName: Type.String(), groups: Type.Array(Type.String()), notBefore: Time, notAfter: Time,
  status: Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('superseded'), Type.Literal('expired')]),
  current: Type.Boolean({ description: 'The default kubeconfig handed out for this cluster and principal now' }),
  issuedAt: Time, issuedBy: Type.String(), revokedAt: Nullable(Time), revokedBy: Nullable(Type.String()),
  revokeReason: Nullable(Type.String()), supersededAt: Nullable(Time),
}, { $id: 'Credential' });

const Count = Type.Integer({ minimum: 0 });

/** GET /v1/clusters/:id/kubeconfig-summary: counted by the database, so nothing is left out however many were issued. */
export const KubeconfigSummary = Type.Object({
  clusterId: Type.String(),
  at: Type.String({ format: 'date-time', description: 'The time the counts are for' }),
  holders: Type.Array(Type.Object({
    principalId: Type.String(),
    principalName: Type.String({ description: "The holder's name: who may list a cluster's kubeconfigs sees who holds them" }),
    principalDeleted: Type.Boolean({ description: 'The holder was deleted (its kubeconfigs were revoked then)' }),
    state: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')], { description: 'active: at least one usable; expired: none usable, some past their end; revoked: all revoked or superseded' }),
    usable: Type.Integer({ minimum: 0, description: 'Active and not expired: they still work' }),
    expired: Count,
    superseded: Type.Integer({ minimum: 0, description: 'Replaced when a custom validity was set; refused like revoked ones' }),
    revoked: Count, total: Count,
    kinds: Type.Array(CredentialKindName, { description: 'The kinds of the usable ones (when none is usable, of the expired ones; when none is either, of all)' }),
    nextExpiry: Nullable(Time), lastExpiry: Type.String({ format: 'date-time', description: "When the last usable one ends; when none is usable, when the last expired one ended; when all are revoked or superseded, the latest certificate end (access ended at the revocation). ACK's holder lists give the same date, but the default kubeconfig's while one is usable" }),
  }), { description: 'One per principal ever issued a kubeconfig on the cluster: usable first' }),
  expiry: Type.Object({
    total: Type.Integer({ minimum: 0, description: 'Active kubeconfigs not expired' }),
    bands: Type.Array(Type.Object({
      untilDays: Nullable(Type.Integer({ description: 'The band holds those ending before this many days from `at` and not in an earlier band; null: the rest' })),
      ...Object.fromEntries(CREDENTIAL_KINDS.map((k) => [k, Count])) as Record<CredentialKind, typeof Count>, total: Count,
    })),
    nextToExpire: Type.Array(Type.Ref('Credential')),
  }),
});

export const CredentialWithCert = Type.Intersect([Type.Ref('Credential'), Type.Object({ certificatePem: Type.String() })]);

export const KubeconfigBody = Type.Object({
  endpoint: Type.Optional(Type.Union([Type.Literal('public'), Type.Literal('private')], { description: 'Which API server address goes in `server` (default public)' })),
  temporaryMinutes: Type.Optional(Type.Integer({ minimum: 15, maximum: 4320, description: 'A temporary kubeconfig valid this many minutes' })),
  csr: Type.Optional(Type.String({ description: `PEM CSR: sign this key instead of generating one (${PEM_LIMIT})` })),
  principalId: Type.Optional(Type.String({ maxLength: 128, description: 'Fetch for another principal (needs GetUserKubeconfig)' })),
}, { additionalProperties: false });

export const KubeconfigResponse = Type.Object({
  kubeconfig: Type.String({ description: 'YAML; no client-key-data when a CSR was sent' }),
  certificatePem: Type.String(),
  expiration: Time,
  reused: Type.Boolean({ description: 'True when the current default kubeconfig was handed out again' }),
  credential: Type.Ref('Credential'),
});

export const RevokeBody = Type.Object({
  principalId: Type.Optional(Type.String({ maxLength: 128, description: 'Whose kubeconfigs (default: the caller)' })),
  reason: Type.Optional(Type.String({ maxLength: 500 })),
}, { additionalProperties: false });

export const ValidityBody = Type.Object({ hours: Type.Integer({ minimum: 1, maximum: 876000 }) }, { additionalProperties: false });

export const Validity = Type.Object({ hours: Nullable(Type.Integer()), setBy: Nullable(Type.String()), setAt: Nullable(Time) });

export const Policy = Type.Object({
  id: Type.String(), name: Type.String(), description: Type.String(),
  document: Type.Unknown({ description: 'RAM-style policy document {Version:"1", Statement:[...]}' }), createdAt: Time,
}, { $id: 'Policy' });

export const CreatePolicyBody = Type.Object({
  name: ResourceName,
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  document: Type.Unknown(),
}, { additionalProperties: false });

export const UpdatePolicyBody = Type.Object({
  description: Type.Optional(Type.String({ maxLength: 1024, description: 'Kept as it was when absent' })),
  document: Type.Unknown({ description: 'The whole new document; it replaces the old one' }),
}, { additionalProperties: false });

export const PolicyParam = Type.Object({ policy: Type.String({ minLength: 1, maxLength: 128, description: 'Policy ID or name' }) });

export const AttachBody = Type.Object({ policy: Type.String({ minLength: 1, maxLength: 128, description: 'Policy ID or name' }) }, { additionalProperties: false });

export const AuditEvent = Type.Object({
  id: Type.String(), at: Time, actorId: Nullable(Type.String()), action: Type.String(),
  resourceType: Type.String(), resourceId: Nullable(Type.String()),
  outcome: Type.Union([Type.Literal('success'), Type.Literal('denied'), Type.Literal('failure')]),
  sourceIp: Nullable(Type.String()), requestId: Nullable(Type.String()), detail: Type.Record(Type.String(), Type.Unknown()),
}, { $id: 'AuditEvent' });

export const sharedSchemas = [ErrorBody, Cluster, Principal, Token, AccessKey, Credential, Policy, AuditEvent];

export function pageRequest(q: { limit?: string; cursor?: string }): { limit: number; cursor: string | null } {
  const limit = q.limit === undefined ? 50 : Number(q.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
    throw invalid('limit must be a whole number from 1 to 500', { field: 'limit' });
  }
  return { limit, cursor: q.cursor ?? null };
}
