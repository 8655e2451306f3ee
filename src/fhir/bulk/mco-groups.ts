import type { Group } from '@medplum/fhirtypes';
import { KANSAS_CANONICAL_BASE, type KansasPackage } from '../../conformance/kansas-package.ts';
import type { FhirContext } from '../context.ts';

/** The Kansas MCO code system (profiles/input/CodeSystem-ks-mco.json): the value of the KS MCO extension. */
const KS_MCO_SYSTEM = `${KANSAS_CANONICAL_BASE}/CodeSystem/ks-mco`;

/**
 * One Group per KanCare MCO, `Group/ks-mco-<code>`, for an MCO's Bulk Data export
 * (`GET [base]/Group/ks-mco-sunflower/$export`). Membership is not a list kept in the Group: a
 * person is a member when their Patient carries the KS MCO extension with that MCO's code, as the
 * `mco` search parameter indexes it in the same transaction as every Patient write — so the Group
 * follows enrolment changes with no process of its own and no special case in the write path.
 * The Groups themselves are installed at start like the conformance resources, from the code system.
 */
export function mcoGroups(kansas: KansasPackage): Group[] {
  const system = kansas.codeSystems.find((cs) => cs.url === KS_MCO_SYSTEM);
  return (system?.concept ?? []).map((concept) => {
    const mco = { coding: [{ system: KS_MCO_SYSTEM, code: concept.code, display: concept.display }] };
    return {
      resourceType: 'Group',
      id: `ks-mco-${concept.code}`,
      identifier: [{ system: KS_MCO_SYSTEM, value: concept.code }],
      active: true,
      type: 'person',
      actual: true,
      code: mco,
      name: `KanCare members of ${concept.display ?? concept.code}`,
      characteristic: [
        {
          code: { text: `KS MCO extension (${KANSAS_CANONICAL_BASE}/StructureDefinition/ks-mco) on the Patient` },
          valueCodeableConcept: mco,
          exclude: false,
        },
      ],
    };
  });
}

/** The MCO code of a server-kept MCO Group; undefined for any other Group (a client's member list). */
export function mcoOf(group: Group): string | undefined {
  return group.id?.startsWith('ks-mco-') ? group.code?.coding?.find((c) => c.system === KS_MCO_SYSTEM)?.code : undefined;
}

/** The members of an MCO Group: Patients whose KS MCO extension names the MCO (the `mco` search parameter). */
export function mcoMembers(ctx: FhirContext, code: string): Promise<string[]> {
  return ctx.search.findMatchingIds(ctx.repo, 'Patient', `mco=${encodeURIComponent(`${KS_MCO_SYSTEM}|${code}`)}`, Number.MAX_SAFE_INTEGER);
}
