import type { CarePlan, CareTeam, Patient, PractitionerRole, Task } from '@medplum/fhirtypes';
import { codeIn, extension, kansasRoleOf, system, type KansasRole } from '../../../workflow/kansas-workflow.ts';
import type { FhirContext } from '../../context.ts';

async function readLive<T>(ctx: FhirContext, resourceType: string, id: string): Promise<T | undefined> {
  const current = await ctx.repo.readCurrent(resourceType, id);
  return current && !current.deleted ? (current.resource as T) : undefined;
}

export async function readReference<T>(ctx: FhirContext, reference: string | undefined): Promise<T | undefined> {
  const match = /^([A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/\d+)?$/.exec(reference ?? '');
  return match ? readLive<T>(ctx, match[1] as string, match[2] as string) : undefined;
}

/** The person's most recently written plan of a type (pcsp, isp). */
export async function currentPlanOf(ctx: FhirContext, patient: string, planType: 'pcsp' | 'isp'): Promise<CarePlan | undefined> {
  const query = `subject=${patient}&plan-type=${encodeURIComponent(`${system.planType}|${planType}`)}&_sort=-_lastUpdated`;
  const [id] = await ctx.search.findMatchingIds(ctx.repo, 'CarePlan', query, 1);
  return id ? readLive<CarePlan>(ctx, 'CarePlan', id) : undefined;
}

/** The plan's author when it is a stored PractitionerRole (an imported plan's author is contained: `#planner`). */
function storedAuthor(plan: CarePlan | undefined): Task['owner'] {
  const author = plan?.author?.reference;
  return author?.startsWith('PractitionerRole/') ? { reference: author, display: plan?.author?.display } : undefined;
}

/**
 * A member of the person's active CareTeams with a Kansas role: a participant whose role carries
 * the ks-practitioner-role code, or whose member is a PractitionerRole with that code.
 */
export async function careTeamMemberOf(ctx: FhirContext, patient: string, role: KansasRole): Promise<Task['owner']> {
  for (const id of await ctx.search.findMatchingIds(ctx.repo, 'CareTeam', `subject=${patient}&status=active&_sort=-_lastUpdated`, 10)) {
    const team = await readLive<CareTeam>(ctx, 'CareTeam', id);
    for (const participant of team?.participant ?? []) {
      const member = participant.member?.reference;
      if (!member?.startsWith('PractitionerRole/')) continue;
      const named = codeIn(participant.role, system.practitionerRole);
      if (named === role || (named === undefined && kansasRoleOf((await readReference<PractitionerRole>(ctx, member)) ?? {}) === role)) {
        return { reference: member, display: participant.member?.display };
      }
    }
  }
  return undefined;
}

/**
 * The person's targeted case manager, who is told what the MCO decides (issue 16): the author of
 * the person's current PCSP when it is a stored PractitionerRole; else the targeted case manager
 * on the person's CareTeam; else nobody (the Task stays findable by patient and code).
 */
export async function caseManagerOf(ctx: FhirContext, patient: string, pcsp?: CarePlan): Promise<Task['owner']> {
  return storedAuthor(pcsp) ?? storedAuthor(await currentPlanOf(ctx, patient, 'pcsp')) ?? careTeamMemberOf(ctx, patient, 'targeted-case-manager');
}

/**
 * The person's MCO care coordinator, who receives what the TCM sends (issue 16): the author of
 * the person's current ISP when it is a PractitionerRole; else the care coordinator on the
 * person's CareTeam; else the MCO Organization of the person's KS MCO extension (by its ks-mco
 * identifier); else that MCO named by identifier only.
 */
export async function careCoordinatorOf(ctx: FhirContext, patient: string, isp?: CarePlan): Promise<Task['owner']> {
  const named = storedAuthor(isp) ?? storedAuthor(await currentPlanOf(ctx, patient, 'isp')) ?? (await careTeamMemberOf(ctx, patient, 'mco-care-coordinator'));
  if (named) return named;
  const person = await readReference<Patient>(ctx, patient);
  const mco = person?.extension?.find((e) => e.url === extension.mco)?.valueCodeableConcept?.coding?.[0];
  if (!mco?.code) return undefined;
  const mcoSystem = mco.system ?? '';
  const [organization] = await ctx.search.findMatchingIds(ctx.repo, 'Organization', `identifier=${encodeURIComponent(`${mcoSystem}|${mco.code}`)}`, 1);
  return organization
    ? { reference: `Organization/${organization}`, display: mco.display }
    : { type: 'Organization', identifier: { system: mcoSystem, value: mco.code }, display: mco.display ?? mco.code };
}
