// Mapping a vendor's project ID (e.g. a Huawei Cloud project) to this account and a region, so vendor
// surfaces can resolve the project in their paths. Root only; never reads or changes another account's mappings.

import type { Actor } from './actor.ts';
import { Actions, Resources } from './actions.ts';
import type { AuditWriter } from './audit.ts';
import type { Authorizer } from './authorizer.ts';
import { invalid, notFound } from './errors.ts';
import { checkRegion } from './input-rules.ts';
import type { Clock } from './ports.ts';
import type { Store, VendorProject } from './store-port.ts';

export interface ProjectView { vendor: string; projectId: string; region: string; createdAt: string }

const view = (p: VendorProject): ProjectView => ({ vendor: p.vendor, projectId: p.projectId, region: p.region, createdAt: p.createdAt.toISOString() });

const PROJECT_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;
const VENDOR_RE = /^[a-z][a-z0-9-]{0,31}$/;

type Deps = { store: Store; clock: Clock; authorizer: Authorizer; audit: AuditWriter };

export function makeProjectService(deps: Deps) {
  const { store, clock, authorizer, audit } = deps;
  const target = (actor: Actor, id: string | null) => ({ resource: Resources.project(actor.accountId, id ?? '*'), type: 'project', id });

  return {
    /**
     * Registers a project ID for this account; one the account already maps is a CONFLICT. Other accounts' mappings
     * are never consulted: a project ID is chosen by whoever holds the vendor project, so a global one could be
     * squatted by another tenant, and its CONFLICT would tell any tenant which IDs others use.
     */
    async add(actor: Actor, input: { vendor: string; projectId: string; region: string }): Promise<ProjectView> {
      if (typeof input.vendor !== 'string' || !VENDOR_RE.test(input.vendor)) throw invalid('vendor must be a lowercase name such as "huaweicloud"', { field: 'vendor' });
      if (typeof input.projectId !== 'string' || !PROJECT_ID_RE.test(input.projectId)) throw invalid('projectId must be 1-64 letters, digits, "_" or "-"', { field: 'projectId' });
      const region = checkRegion(input.region);
      await authorizer.check(actor, Actions.AddProject, target(actor, input.projectId));
      const p: VendorProject = { vendor: input.vendor, projectId: input.projectId, accountId: actor.accountId, region, createdAt: clock.now() };
      await store.transaction(async (tx) => {
        await tx.vendorProjects.put(p);
        await audit.record(tx, actor, actor.accountId, { action: 'AddProject', resourceType: 'project', resourceId: p.projectId, detail: { vendor: p.vendor, region } });
      });
      return view(p);
    },

    /** Removes the account's mapping of a project: the vendor surface then answers 404 for that project's paths. */
    async remove(actor: Actor, input: { vendor: string; projectId: string }): Promise<{ removed: true }> {
      await authorizer.check(actor, Actions.RemoveProject, target(actor, input.projectId));
      await store.transaction(async (tx) => {
        if (!(await tx.vendorProjects.delete(actor.accountId, input.vendor, input.projectId))) throw notFound('project', input.projectId);
        await audit.record(tx, actor, actor.accountId, { action: 'RemoveProject', resourceType: 'project', resourceId: input.projectId, detail: { vendor: input.vendor } });
      });
      return { removed: true };
    },

    async list(actor: Actor): Promise<ProjectView[]> {
      await authorizer.check(actor, Actions.ListProjects, target(actor, null));
      return (await store.vendorProjects.listForAccount(actor.accountId)).map(view);
    },
  };
}

export type ProjectService = ReturnType<typeof makeProjectService>;
