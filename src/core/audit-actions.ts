// The names of the events core writes to the audit trail, in one list: audit.ts accepts no other, and the web
// console suggests these in its filter. Pure data (no Node), so the console's build imports it as it is.

import { Actions } from './actions.ts';

/** What was done (or tried and refused by kubecred's own rules: outcome failure). */
export const AUDITED_ACTIONS = [
  'InitializeAccount', 'ResealSecrets', 'AddProject', 'RemoveProject',
  'ConsoleSignIn', 'ConsoleSignOut',
  'CreateCluster', 'DeleteCluster', 'CreateWebhookToken', 'RevokeWebhookToken',
  'IssueKubeconfig', 'GetKubeconfig', 'RevokeKubeconfig', 'SetKubeconfigValidity', 'CleanPrincipalAccess',
  'CreatePrincipal', 'UpdatePrincipal', 'DeletePrincipal',
  'CreateToken', 'RevokeToken', 'CreateAccessKey', 'RevokeAccessKey',
  'CreatePolicy', 'UpdatePolicy', 'DeletePolicy', 'AttachPolicy', 'DetachPolicy',
  // What the server does on its own: a count of one principal's denials past a burst, and the retention's deletions.
  'SuppressDenials', 'PruneAuditEvents', 'PruneCredentials',
  // `kubecred restore`, on the server: the credentials issued after the backup, carried into it revoked; and the
  // revocations and deletions made after it of what it holds, re-applied.
  'CarryCredentials', 'ReapplyRevocations',
] as const;

export type AuditedAction = (typeof AUDITED_ACTIONS)[number];

/**
 * The changes that take access away (revocations, deletions, detached or rewritten policies, a shortened validity): what
 * putting back an older backup undoes, so `kubecred restore` lists those the replaced database recorded after it that it
 * could not re-apply (restore-undone.ts).
 */
export const ACCESS_REMOVING_ACTIONS: readonly AuditedAction[] = [
  'DeleteCluster', 'RevokeWebhookToken', 'RevokeKubeconfig', 'SetKubeconfigValidity', 'CleanPrincipalAccess',
  'UpdatePrincipal', 'DeletePrincipal', 'RevokeToken', 'RevokeAccessKey', 'UpdatePolicy', 'DeletePolicy', 'DetachPolicy',
  'RemoveProject',
];

/** A request the authorizer refused is recorded under the permission it lacked (outcome denied). */
export type PermissionName = `kubecred:${string}`;

/** The permissions, as refusals name them. */
export const PERMISSION_NAMES: readonly PermissionName[] = Object.values(Actions).map((a) => a.name);
