// Which Kubernetes groups kubecred will put in a certificate. kube-apiserver lets `system:masters` past
// every authorizer, so such a certificate could never be revoked: kubecred refuses it everywhere.

import { invalid, KubecredError } from './errors.ts';

export const MAX_GROUPS = 32;
/** A group's shape, and the rule it states; api/native/schemas.ts declares the same expression as the groups' `pattern`. */
export const GROUP_RE = /^[A-Za-z0-9][A-Za-z0-9:._@\-/]{0,63}$/;
export const GROUP_RULE = 'a group name of 1-64 characters: letters, digits and : . _ @ - /, starting with a letter or digit';

/** Checks the shape of a group list when a principal is created or changed. */
export function checkGroups(groups: unknown, field = 'groups'): string[] {
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string')) throw invalid(`${field} must be a list of strings`, { field });
  if (groups.length > MAX_GROUPS) throw invalid(`${field} may hold at most ${MAX_GROUPS} groups`, { field });
  for (const g of groups as string[]) {
    if (!GROUP_RE.test(g)) throw invalid(`${field}: ${JSON.stringify(g)} is not ${GROUP_RULE}`, { field });
    if (g === 'system:masters') throw mastersRefused();
  }
  if (new Set(groups).size !== groups.length) throw invalid(`${field} lists a group twice`, { field });
  return groups as string[];
}

/** Checks, at issuance, the groups against the cluster's setting for `system:` groups. */
export function checkGroupsForCluster(groups: string[], allowSystemGroups: boolean): void {
  for (const g of groups) {
    if (g === 'system:masters') throw mastersRefused();
    if (g.startsWith('system:') && !allowSystemGroups) {
      throw new KubecredError('FORBIDDEN_GROUP', `group ${JSON.stringify(g)} is reserved by Kubernetes; this cluster does not allow system: groups in kubecred certificates (set allowSystemGroups on the cluster if you really need it)`, { details: { group: g } });
    }
  }
}

function mastersRefused(): KubecredError {
  return new KubecredError('FORBIDDEN_GROUP', 'kubecred never issues certificates in group "system:masters": kube-apiserver lets that group past every authorizer, so such a certificate could not be revoked. Bind a ClusterRole to an ordinary group instead', { details: { group: 'system:masters' } });
}
