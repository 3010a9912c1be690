// The catalogue of actions policies can name, with the vendor aliases that mean the same thing,
// and the resource names they apply to. One place for each name; surfaces only pick from here.

import type { ClusterKind } from './model.ts';

export interface ActionDef {
  /** Canonical name, e.g. kubecred:GetKubeconfig. */
  name: `kubecred:${string}`;
  /** Names the vendor surfaces use for the same operation; a policy may use any of them. */
  aliases: string[];
  /** Only the account's root may perform it, whatever the policies say. */
  rootOnly?: boolean;
}

const a = (name: string, aliases: string[] = [], rootOnly = false): ActionDef => ({ name: `kubecred:${name}`, aliases, rootOnly });

export const Actions = {
  CreateCluster: a('CreateCluster', ['cs:CreateCluster']),
  GetCluster: a('GetCluster', ['cs:DescribeClusterDetail']),
  ListClusters: a('ListClusters', ['cs:DescribeClusters']),
  DeleteCluster: a('DeleteCluster', ['cs:DeleteCluster']),
  GetKubeconfig: a('GetKubeconfig', ['cs:DescribeClusterUserKubeconfig', 'cs:DescribeClusterV2UserKubeconfig', 'servicemesh:DescribeServiceMeshKubeconfig', 'cce:cluster:createClusterCert']),
  GetUserKubeconfig: a('GetUserKubeconfig', ['cs:DescribeSubaccountK8sClusterUserConfig']),
  ListCredentials: a('ListCredentials', ['cs:ListClusterKubeconfigStates', 'cs:ListUserKubeConfigStates']),
  /** One's own kubeconfigs on a cluster (ACK's and ASM's revocations only ever revoke the caller's). */
  RevokeKubeconfig: a('RevokeKubeconfig', ['cs:RevokeK8sClusterKubeConfig', 'servicemesh:RevokeKubeconfig', 'cce:cluster:revokeClusterCert']),
  /** Another principal's kubeconfigs on a cluster (CCE's revocation names the user or agency). */
  RevokeUserKubeconfig: a('RevokeUserKubeconfig', ['cce:cluster:revokeClusterCert']),
  SetValidity: a('SetKubeconfigValidity', ['cs:UpdateK8sClusterUserConfigExpire'], true),
  /** A principal's kubeconfigs and custom validities on the clusters named. */
  CleanPrincipalAccess: a('CleanPrincipalAccess', ['cs:CleanClusterUserPermissions']),
  /** All of it on every cluster, and the principal's policies detached: two operations and two actions at ACK too. */
  CleanAllPrincipalAccess: a('CleanAllPrincipalAccess', ['cs:CleanUserPermissions']),
  CreatePrincipal: a('CreatePrincipal', ['ram:CreateUser']),
  GetPrincipal: a('GetPrincipal', ['ram:GetUser']),
  ListPrincipals: a('ListPrincipals', ['ram:ListUsers']),
  UpdatePrincipal: a('UpdatePrincipal', ['ram:UpdateUser']),
  DeletePrincipal: a('DeletePrincipal', ['ram:DeleteUser']),
  CreateToken: a('CreateToken'),
  ListTokens: a('ListTokens'),
  RevokeToken: a('RevokeToken'),
  CreateAccessKey: a('CreateAccessKey', ['ram:CreateAccessKey']),
  ListAccessKeys: a('ListAccessKeys', ['ram:ListAccessKeys']),
  RevokeAccessKey: a('RevokeAccessKey', ['ram:DeleteAccessKey']),
  CreatePolicy: a('CreatePolicy', ['ram:CreatePolicy']),
  ListPolicies: a('ListPolicies', ['ram:ListPolicies']),
  GetPolicy: a('GetPolicy', ['ram:GetPolicy']),
  /** Replacing a policy's document: RAM keeps versions, and makes a new one the default with CreatePolicyVersion. */
  UpdatePolicy: a('UpdatePolicy', ['ram:CreatePolicyVersion']),
  DeletePolicy: a('DeletePolicy', ['ram:DeletePolicy']),
  AttachPolicy: a('AttachPolicy', ['ram:AttachPolicyToUser']),
  DetachPolicy: a('DetachPolicy', ['ram:DetachPolicyFromUser']),
  ConfigureWebhooks: a('ConfigureWebhooks'),
  ListAuditEvents: a('ListAuditEvents', ['actiontrail:LookupEvents']),
  AddProject: a('AddProject', [], true),
  ListProjects: a('ListProjects', [], true),
  RemoveProject: a('RemoveProject', [], true),
} as const;

export type ActionName = keyof typeof Actions;

/**
 * The kind of cluster each vendor's action names apply to: ACK's (cs:) and CCE's (cce:) to Kubernetes clusters,
 * ASM's (servicemesh:) to service meshes. A policy allowing servicemesh:DescribeServiceMeshKubeconfig on "*", as
 * ASM's own documents have it, must not hand out kubeconfigs of Kubernetes clusters, nor cs: revocations meshes'.
 */
const ALIAS_CLUSTER_KIND: Record<string, ClusterKind> = { cs: 'kubernetes', cce: 'kubernetes', servicemesh: 'service-mesh' };

/** The names a policy may allow the action by, on a cluster of this kind (every alias when no cluster is in question). */
export function actionNames(action: ActionDef, clusterKind?: ClusterKind): string[] {
  if (clusterKind === undefined) return [action.name, ...action.aliases];
  return [action.name, ...action.aliases.filter((alias) => {
    const kind = ALIAS_CLUSTER_KIND[alias.slice(0, alias.indexOf(':'))];
    return kind === undefined || kind === clusterKind;
  })];
}

/** Condition keys core fills in, with the vendor names that mean the same. */
export const ConditionKeys = {
  KubeConfigDurationMinutes: 'kubecred:KubeConfigDurationMinutes',
  SourceIp: 'kubecred:SourceIp',
  CurrentTime: 'kubecred:CurrentTime',
} as const;

export const conditionKeyAliases: Record<string, string> = {
  'cs:KubeConfigDurationMinutes': ConditionKeys.KubeConfigDurationMinutes,
  'acs:SourceIp': ConditionKeys.SourceIp,
  'acs:CurrentTime': ConditionKeys.CurrentTime,
};

/** Every condition key name kubecred fills in (lowercase: keys are matched without case). */
export const SUPPLIED_CONDITION_KEYS: ReadonlySet<string> = new Set([...Object.values(ConditionKeys), ...Object.keys(conditionKeyAliases)].map((k) => k.toLowerCase()));

export const Resources = {
  cluster: (accountId: string, region: string, clusterId: string) => `krn:kubecred:${region}:${accountId}:cluster/${clusterId}`,
  /** The same cluster as Alibaba's RAM names it, so policies written for ACK keep working (Kubernetes clusters only). */
  clusterAcs: (accountId: string, region: string, clusterId: string) => `acs:cs:${region}:${accountId}:cluster/${clusterId}`,
  anyCluster: (accountId: string) => `krn:kubecred:*:${accountId}:cluster/*`,
  principal: (accountId: string, principalId: string) => `krn:kubecred::${accountId}:principal/${principalId}`,
  policy: (accountId: string, policyId: string) => `krn:kubecred::${accountId}:policy/${policyId}`,
  audit: (accountId: string) => `krn:kubecred::${accountId}:audit`,
  project: (accountId: string, projectId: string) => `krn:kubecred::${accountId}:project/${projectId}`,
};
