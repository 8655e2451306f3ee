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
    const c = compartmentCondition(ctx, t, type, params ?? [], compartment.resourceType, [compartment.id]);
    return types.length === 1 ? c : `(r.resource_type = ${ctx.q.bind(type)} AND ${c})`;
  });
  return byType.length === 1 ? byType[0] : `(${byType.join(' OR ')})`;
}

/**
 * That a resource of `resourceType` (the target's one type) is in the Patient compartment of one
 * of `patients`: what a patient-confined SMART grant reaches (src/auth/access-policy.ts).
 */
export function patientCompartmentCondition(ctx: ConditionContext, target: SearchTarget, resourceType: string, patients: readonly string[]): string {
  if (!patients.length) {
    return 'false';
  }
  const params = ctx.conformance.searchParameters.compartmentParams('Patient', resourceType) ?? [];
  return compartmentCondition(ctx, target, resourceType, params, 'Patient', patients);
}

/** Membership in a compartment of one of `ids` (https://hl7.org/fhir/R4/compartmentdefinition-patient.html). */
function compartmentCondition(
  ctx: ConditionContext,
  target: SearchTarget,
  resourceType: string,
  params: readonly string[],
  compartmentType: string,
  ids: readonly string[],
): string {
  const conditions: string[] = [];
  const idIn = (expr: string): string => (ids.length === 1 ? `${expr} = ${ctx.q.bind(ids[0])}` : `${expr} = ANY(${ctx.q.bind(ids)}::text[])`);
  if (params.length) {
    const a = ctx.q.alias('m');
    conditions.push(
      `EXISTS (SELECT 1 FROM sp_reference ${a} WHERE ${a}.resource_type = ${target.typeExpr} AND ${a}.resource_id = ${target.idExpr} AND ${a}.code = ANY(${ctx.q.bind(params)}::text[]) AND ${a}.target_type = ${ctx.q.bind(compartmentType)} AND ${idIn(`${a}.target_id`)})`,
    );
  }
  if (resourceType === compartmentType) {
    conditions.push(idIn(target.idExpr));
  }
  return conditions.length ? `(${conditions.join(' OR ')})` : 'false';
}
