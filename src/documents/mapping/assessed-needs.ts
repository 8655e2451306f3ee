import type { Condition } from '@medplum/fhirtypes';
import { codeSystem, externalSystem } from '../canonical.ts';
import { codeIn, concept, confirmedCondition } from './fhir-elements.ts';
import type { PlanContext, PlannedResource } from './plan-context.ts';
import { itemIdOf, requireValue } from './stored-plan.ts';

/**
 * Assessed needs (PCSP `assessedNeeds`, ISP `needs`) as Conditions, both ways. The PCSP's need
 * domain and the ISP's need category are both codes of ks-need-domain.
 */

export interface AssessedNeedItem {
  readonly id: string;
  readonly description: string;
  /** The ks-need-domain code. */
  readonly domain: string;
}

export function assessedNeedResource(ctx: PlanContext<{ planId: string }>, need: AssessedNeedItem, pointer: string): PlannedResource {
  const identifier = ctx.item('need', need.id);
  const resource = confirmedCondition({
    identifier,
    // eLTSS Assessed Need: a Condition with category assessed-need (standards.md §1.4).
    category: [
      concept(externalSystem.usCoreConditionCategory, 'health-concern'),
      concept(externalSystem.eltssConditionCategory, 'assessed-need'),
      concept(codeSystem.needDomain, need.domain),
    ],
    code: { text: need.description },
    subject: ctx.patient,
  });
  return { resource, identifier, pointer };
}

export function assessedNeedFrom(condition: Condition): AssessedNeedItem {
  return {
    id: itemIdOf(condition),
    description: requireValue(condition.code?.text, 'a need description'),
    domain: requireValue(codeIn(condition.category, codeSystem.needDomain), 'a need domain'),
  };
}
