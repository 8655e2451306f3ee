import type { Bundle, CarePlan, Patient, Resource } from '@medplum/fhirtypes';
import { identifierSystem } from '../../documents/canonical.ts';
import { TransactionFailure, planSearchCriteria, type PlanStore } from '../../documents/import-flow.ts';
import { typeAndId } from '../../documents/mapping/stored-plan.ts';
import { assertAllowed } from '../../auth/access.ts';
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
  // type they read needs read access, not just CarePlan. The import reads the previous version
  // of the plan it is about to overwrite under the same rule.
  const readable = (resourceType: string): void => assertAllowed(ctx.access, resourceType, 'r');
  return {
    async findPlan(planId) {
      readable('CarePlan');
      const [id] = await ctx.search.findMatchingIds(ctx.repo, 'CarePlan', planSearchCriteria(planId), 1);
      return id === undefined ? undefined : ((await ctx.repo.readCurrent('CarePlan', id))?.resource as CarePlan | undefined);
    },
    async findPatient(medicaidId) {
      const criteria = `identifier=${encodeURIComponent(`${identifierSystem.medicaidId}|${medicaidId}`)}`;
      readable('Patient');
      const [id] = await ctx.search.findMatchingIds(ctx.repo, 'Patient', criteria, 1);
      return id === undefined ? undefined : ((await ctx.repo.readCurrent('Patient', id))?.resource as Patient | undefined);
    },
    async read(reference) {
      const key = typeAndId(reference.reference);
      if (key === undefined) {
        return undefined;
      }
      const [type, id] = key.split('/') as [string, string];
      readable(type);
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
