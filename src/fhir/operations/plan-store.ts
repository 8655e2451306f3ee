import type { Bundle, CarePlan, Patient, Resource } from '@medplum/fhirtypes';
import { identifierSystem } from '../../documents/canonical.ts';
import { TransactionFailure, planSearchCriteria, type PlanStore } from '../../documents/import-flow.ts';
import { typeAndId } from '../../documents/mapping/stored-plan.ts';
import { reachesInstance, requireAccess, searchAccessOf } from '../access/caller-access.ts';
import type { FhirContext } from '../context.ts';
import { processBundle } from '../interactions/transaction.ts';
import { FhirError, outcomeOf, statusOf } from '../../outcomes.ts';
import { dispatch } from '../router.ts';
import { withStoreOutcome } from '../store-outcomes.ts';

/**
 * The document operations' view of the server (src/documents/import-flow.ts PlanStore):
 * reads, the plan lookup by identifier and transactions all run on the request's repository, so
 * an import that runs inside `ctx.repo.transaction` reads and writes in one SQL transaction.
 */
export function planStoreOf(ctx: FhirContext): PlanStore {
  // $document and $render return the whole plan (Patient, goals, services ...): every resource
  // they read needs read access, not just CarePlan, and a confined caller (patient/ scopes, a
  // guardian) gets only what its grants reach. The import reads the previous version of the plan
  // it is about to overwrite under the same rule.
  const findOne = async (resourceType: string, criteria: string): Promise<Resource | undefined> => {
    await requireAccess(ctx, resourceType, 'r');
    const [id] = await ctx.search.findMatchingIds(ctx.repo, resourceType, criteria, 1, await searchAccessOf(ctx, 'r'));
    return id === undefined ? undefined : ((await ctx.repo.readCurrent(resourceType, id))?.resource as Resource | undefined);
  };
  return {
    async findPlan(planId) {
      return (await findOne('CarePlan', planSearchCriteria(planId))) as CarePlan | undefined;
    },
    async findPatient(medicaidId) {
      return (await findOne('Patient', `identifier=${encodeURIComponent(`${identifierSystem.medicaidId}|${medicaidId}`)}`)) as Patient | undefined;
    },
    async read(reference) {
      const key = typeAndId(reference.reference);
      if (key === undefined) {
        return undefined;
      }
      const [type, id] = key.split('/') as [string, string];
      await requireAccess(ctx, type, 'r');
      if (!(await reachesInstance(ctx, type, id, 'r'))) {
        return undefined;
      }
      const current = await ctx.repo.readCurrent(type, id);
      return current && !current.deleted ? (current.resource as Resource | undefined) : undefined;
    },
    async transaction(bundle) {
      try {
        const response = await processBundle(ctx, { method: 'POST', path: '', query: [], headers: {}, body: bundle, contentType: 'application/fhir+json' }, dispatch);
        return response.resource as Bundle;
      } catch (thrown) {
        const err = withStoreOutcome(thrown);
        if (err instanceof FhirError || statusOf(err) < 500) {
          throw new TransactionFailure(statusOf(err), outcomeOf(err));
        }
        throw err;
      }
    },
  };
}
