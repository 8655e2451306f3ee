import type { CarePlan, Patient, Task } from '@medplum/fhirtypes';
import { extension, system } from '../../../workflow/kansas-workflow.ts';
import type { FhirContext } from '../../context.ts';

async function readLive<T>(ctx: FhirContext, resourceType: string, id: string): Promise<T | undefined> {
  const current = await ctx.repo.readCurrent(resourceType, id);
  return current && !current.deleted ? (current.resource as T) : undefined;
}

export async function readReference<T>(ctx: FhirContext, reference: string | undefined): Promise<T | undefined> {
  const match = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/\d+)?$/.exec(reference ?? '');
  return match ? readLive<T>(ctx, match[1] as string, match[2] as string) : undefined;
}

/**
 * The person's MCO care coordinator, who receives what the TCM sends (issue 16): the author of
 * the person's current ISP when it is a PractitionerRole; else the MCO Organization of the
 * person's KS MCO extension (by its ks-mco identifier); else that MCO named by identifier only.
 */
export async function careCoordinatorOf(ctx: FhirContext, patient: string): Promise<Task['owner']> {
  const isps = await ctx.search.findMatchingIds(ctx.repo, 'CarePlan', `subject=${patient}&plan-type=${encodeURIComponent(`${system.planType}|isp`)}&_sort=-_lastUpdated`, 1);
  const isp = isps[0] ? await readLive<CarePlan>(ctx, 'CarePlan', isps[0]) : undefined;
  if (isp?.author?.reference?.startsWith('PractitionerRole/')) return { reference: isp.author.reference, display: isp.author.display };
  const person = await readReference<Patient>(ctx, patient);
  const mco = person?.extension?.find((e) => e.url === extension.mco)?.valueCodeableConcept?.coding?.[0];
  if (!mco?.code) return undefined;
  const mcoSystem = mco.system ?? '';
  const [organization] = await ctx.search.findMatchingIds(ctx.repo, 'Organization', `identifier=${encodeURIComponent(`${mcoSystem}|${mco.code}`)}`, 1);
  return organization
    ? { reference: `Organization/${organization}`, display: mco.display }
    : { type: 'Organization', identifier: { system: mcoSystem, value: mco.code }, display: mco.display ?? mco.code };
}
