import type { CarePlan, Extension } from '@medplum/fhirtypes';
import { codeSystem, extensionUrl } from '../canonical.ts';
import { codeIn, concept, extensionValue } from './fhir-elements.ts';
import { requireValue } from './stored-plan.ts';

/**
 * The Kansas extensions plans and their services carry (profiles/CATALOG.md): the waiver program,
 * the MCO and the review due date, each with its reader.
 */

export function waiverExtension(waiver: string): Extension {
  return { url: extensionUrl.waiverProgram, valueCodeableConcept: concept(codeSystem.waiverProgram, waiver) };
}

export function mcoExtension(mco: string): Extension {
  return { url: extensionUrl.mco, valueCodeableConcept: concept(codeSystem.mco, mco) };
}

export function reviewDueDateExtension(date: string): Extension {
  return { url: extensionUrl.reviewDueDate, valueDate: date };
}

/** The ks-waiver-program code, absent for a PCSP of mental-health TCM. */
export function waiverOf(extensions: readonly Extension[] | undefined): string | undefined {
  return codeIn(extensionValue(extensions, extensionUrl.waiverProgram)?.valueCodeableConcept, codeSystem.waiverProgram);
}

export function mcoOf(extensions: readonly Extension[] | undefined): string | undefined {
  return codeIn(extensionValue(extensions, extensionUrl.mco)?.valueCodeableConcept, codeSystem.mco);
}

export function nextReviewDateOf(plan: CarePlan): string {
  return requireValue(extensionValue(plan.extension, extensionUrl.reviewDueDate)?.valueDate, 'the next review date');
}
