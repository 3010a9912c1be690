// Row shapes of kubecred's tables as Kysely sees them, shared by every SQL backend.
// Times are integer milliseconds since the epoch; booleans are 0/1; lists are JSON text.

import type { Generated } from 'kysely';

export interface AccountsTable { id: string; name: string; created_at: number }

export interface PrincipalsTable {
  id: string; account_id: string; kind: string; name: string; groups: string;
  is_root: number; created_at: number; deleted_at: number | null;
}

export interface ApiTokensTable {
  id: string; account_id: string; principal_id: string; name: string; secret_hash: string;
  created_at: number; expires_at: number | null; revoked_at: number | null; created_by: string | null;
}

export interface AccessKeysTable {
  id: string; account_id: string; principal_id: string; secret_sealed: string;
  created_at: number; revoked_at: number | null; created_by: string | null;
}

export interface ClustersTable {
  id: string; account_id: string; name: string; kind: string; region: string;
  public_endpoint: string | null; private_endpoint: string | null; server_ca_pem: string | null;
  client_ca_cert_pem: string; client_ca_key_sealed: string; client_ca_algorithm: string; client_ca_source: string;
  allow_system_groups: number; credential_type: string; created_at: number; deleted_at: number | null;
  /** Record schema version; rows are upgraded when read. */
  v: number;
}

export interface CredentialsTable {
  id: string; account_id: string; cluster_id: string; principal_id: string; kind: string; key_source: string; credential_type: string;
  serial_hex: string; fingerprint_sha256: string; cert_pem: string; key_sealed: string | null;
  common_name: string; groups: string; not_before: number; not_after: number; state: string;
  is_current: number; issued_at: number; issued_by: string; request_id: string;
  revoked_at: number | null; revoked_by: string | null; revoke_reason: string | null; superseded_at: number | null;
  v: number;
}

export interface ValidityOverridesTable {
  cluster_id: string; principal_id: string; hours: number; set_by: string; set_at: number;
}

export interface PoliciesTable {
  id: string; account_id: string; name: string; description: string; document: string; created_at: number;
}

export interface PolicyAttachmentsTable { policy_id: string; principal_id: string; attached_at: number }

export interface AuditEventsTable {
  seq: Generated<number>; id: string; account_id: string; at: number; actor_id: string | null; action: string;
  resource_type: string; resource_id: string | null; outcome: string; source_ip: string | null;
  request_id: string | null; detail: string;
}

export interface SignatureNoncesTable { nonce_key: string; expires_at: number }

export interface VendorProjectsTable { vendor: string; project_id: string; account_id: string; region: string; created_at: number }

export interface WebhookTokensTable { id: string; cluster_id: string; secret_hash: string; created_at: number; revoked_at: number | null }

export interface ConsoleSessionsTable {
  id: string; secret_hash: string; account_id: string; principal_id: string; token_id: string; csrf_hash: string;
  created_at: number; expires_at: number; revoked_at: number | null;
  /** Null in rows written before migration 014: created_at stands in. */
  last_used_at: number | null;
}

export interface SettingsTable { name: string; value: string; updated_at: number }

export interface Database {
  settings: SettingsTable;
  console_sessions: ConsoleSessionsTable;
  webhook_tokens: WebhookTokensTable;
  signature_nonces: SignatureNoncesTable;
  vendor_projects: VendorProjectsTable;
  accounts: AccountsTable;
  principals: PrincipalsTable;
  api_tokens: ApiTokensTable;
  access_keys: AccessKeysTable;
  clusters: ClustersTable;
  credentials: CredentialsTable;
  validity_overrides: ValidityOverridesTable;
  policies: PoliciesTable;
  policy_attachments: PolicyAttachmentsTable;
  audit_events: AuditEventsTable;
}
