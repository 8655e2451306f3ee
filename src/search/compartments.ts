import type { Conformance } from '../conformance/conformance.ts';
import { badRequest } from '../outcomes.ts';
import type { ConditionContext, SearchTarget } from './condition-target.ts';

/** The compartment of a compartment search (`GET [base]/Patient/123/CarePlan`). */
export interface Compartment {
  readonly resourceType: string;
  readonly id: string;
}

/** `Patient/123/*`: every type that can be in the compartment (https://hl7.org/fhir/R4/compartmentdefinition.html). */
export function typesInCompartment(conformance: Conformance, compartmentType: string): string[] {
  return conformance.resourceTypes
    .list()
    .filter((type) => type === compartmentType || conformance.searchParameters.compartmentParams(compartmentType, type)?.length);
}

/**
 * The condition that a resource `r` of one of the target's types is in the compartment: per type,
 * one of the type's compartment parameters references it (or it is the compartment's resource).
 */
export function compartmentClause(ctx: ConditionContext, target: SearchTarget, compartment: Compartment): string {
  const types = target.resourceTypes;
  const byType = types.map((type) => {
    const params = ctx.conformance.searchParameters.compartmentParams(compartment.resourceType, type);
    if (params === undefined && type !== compartment.resourceType) {
      throw badRequest(`${type} is not in the ${compartment.resourceType} compartment.`);
    }
    const t: SearchTarget = { ...target, resourceTypes: [type] };
    const c = compartmentCondition(ctx, t, type, params ?? [], compartment);
    return types.length === 1 ? c : `(r.resource_type = ${ctx.q.bind(type)} AND ${c})`;
  });
  return byType.length === 1 ? byType[0] : `(${byType.join(' OR ')})`;
}

/** Membership in a compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html). */
function compartmentCondition(
  ctx: ConditionContext,
  target: SearchTarget,
  resourceType: string,
  params: readonly string[],
  compartment: Compartment,
): string {
  const conditions: string[] = [];
  if (params.length) {
    const a = ctx.q.alias('m');
    conditions.push(
      `EXISTS (SELECT 1 FROM sp_reference ${a} WHERE ${a}.resource_type = ${target.typeExpr} AND ${a}.resource_id = ${target.idExpr} AND ${a}.code = ANY(${ctx.q.bind(params)}::text[]) AND ${a}.target_type = ${ctx.q.bind(compartment.resourceType)} AND ${a}.target_id = ${ctx.q.bind(compartment.id)})`,
    );
  }
  if (resourceType === compartment.resourceType) {
    conditions.push(`${target.idExpr} = ${ctx.q.bind(compartment.id)}`);
  }
  return conditions.length ? `(${conditions.join(' OR ')})` : 'false';
}
