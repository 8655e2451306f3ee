import type { RelatedPerson, ServiceRequest } from '@medplum/fhirtypes';
import { codeSystem, extensionUrl, externalSystem, hcbsServiceByHcpcs, intervalUcum, profileUrl } from '../canonical.ts';
import { codeIn, concept, containedById, extensionValue, planElementRequest, providerFrom, providerPerformer } from '../mapping/fhir-elements.ts';
import { compact } from '../mapping/optional-fields.ts';
import type { PlanContext, PlannedResource } from '../mapping/plan-context.ts';
import { waiverExtension } from '../mapping/plan-extensions.ts';
import { goalIdsOf, pertainsToGoals } from '../mapping/plan-goals.ts';
import { itemIdOf, requireValue, type StoredResources } from '../mapping/stored-plan.ts';
import type { NaturalSupport, PaidService, PcspDocument, ServiceAmount } from './pcsp-types.ts';

/**
 * The PCSP's paid services and natural (unpaid) supports ↔ ServiceRequests: KS Planned Services
 * for paid ones, and requests performed by a contained RelatedPerson for natural supports.
 */

function serviceQuantity(service: PaidService): Pick<ServiceRequest, 'quantityQuantity' | 'quantityRatio'> {
  const amount = { value: service.amount.quantity, unit: service.amount.unit, system: codeSystem.serviceUnit, code: service.amount.unit };
  // eLTSS: "5 quarter hours weekly" is a Ratio (amount per 1 interval); a one-time amount is a Quantity; never both.
  return service.amount.per === undefined
    ? { quantityQuantity: amount }
    : { quantityRatio: { numerator: amount, denominator: { value: 1, unit: service.amount.per, system: externalSystem.ucum, code: intervalUcum[service.amount.per] } } };
}

/** eLTSS Service Information → KS Planned Service. */
function serviceResource(ctx: PlanContext<PcspDocument>, service: PaidService, pointer: string): PlannedResource {
  const identifier = ctx.item('service', service.id);
  const hcbs = hcbsServiceByHcpcs[service.serviceCode];
  const resource: ServiceRequest = {
    resourceType: 'ServiceRequest',
    meta: { profile: [profileUrl.plannedService] },
    identifier: [identifier],
    extension: [
      { url: extensionUrl.selfDirection, valueBoolean: service.selfDirected },
      // Also the eLTSS form, so eLTSS consumers see self-direction without the Kansas extension.
      ...(service.selfDirected ? [{ url: extensionUrl.eltssDirectedBy, valueCodeableConcept: { text: 'self' } }] : []),
      ...pertainsToGoals(ctx, service.goals),
      ...(ctx.doc.waiver ? [waiverExtension(ctx.doc.waiver)] : []),
    ],
    basedOn: [ctx.plan],
    status: ctx.doc.status,
    intent: 'plan',
    category: [concept(codeSystem.fundingSource, service.fundingSource)],
    code: {
      coding: [{ system: externalSystem.hcpcs, code: service.serviceCode }, ...(hcbs ? [{ system: codeSystem.hcbsService, code: hcbs }] : [])],
      text: service.name,
    },
    ...serviceQuantity(service),
    subject: ctx.patient,
    occurrencePeriod: { ...service.period },
    performer: [providerPerformer(service.provider)],
    ...(service.location ? { locationReference: [{ display: service.location }] } : {}),
    ...(service.comment ? { note: [{ text: service.comment }] } : {}),
  };
  return { resource, identifier, pointer };
}

export function serviceResources(ctx: PlanContext<PcspDocument>): PlannedResource[] {
  return ctx.doc.services.map((service, index) => serviceResource(ctx, service, `/services/${index}`));
}

/** Unpaid/natural supports (441.301(c)(2)); eLTSS Non-Paid Service Provider Relationship → RelatedPerson. */
export function naturalSupportResources(ctx: PlanContext<PcspDocument>): PlannedResource[] {
  return (ctx.doc.naturalSupports ?? []).map((support, index) => {
    const identifier = ctx.item('natural-support', support.id);
    const resource: ServiceRequest = {
      resourceType: 'ServiceRequest',
      identifier: [identifier],
      contained: [
        {
          resourceType: 'RelatedPerson',
          id: 'supporter',
          meta: { profile: [profileUrl.relatedPerson] },
          active: true,
          patient: ctx.patient,
          relationship: [{ text: support.supporter.relationship }],
          name: [{ text: support.supporter.name }],
        },
      ],
      extension: pertainsToGoals(ctx, support.goals),
      ...planElementRequest(ctx, 'natural-support', support.description),
      performer: [{ reference: '#supporter', display: support.supporter.name }],
    };
    return { resource, identifier, pointer: `/naturalSupports/${index}` };
  });
}

function amountFrom(request: ServiceRequest): ServiceAmount {
  const quantity = request.quantityRatio?.numerator ?? request.quantityQuantity;
  const per = request.quantityRatio?.denominator?.unit as ServiceAmount['per'] | undefined;
  return compact({
    quantity: requireValue(quantity?.value, 'a service amount'),
    unit: requireValue(quantity?.code, 'a service unit') as ServiceAmount['unit'],
    per,
  });
}

export function serviceFrom(request: ServiceRequest, stored: StoredResources): PaidService {
  return compact({
    id: itemIdOf(request),
    serviceCode: requireValue(request.code?.coding?.find((c) => c.system === externalSystem.hcpcs)?.code, 'a HCPCS code'),
    name: requireValue(request.code?.text, 'a service name'),
    amount: amountFrom(request),
    period: compact({ start: requireValue(request.occurrencePeriod?.start, 'a service start'), end: request.occurrencePeriod?.end }),
    provider: providerFrom(request.performer?.[0]),
    location: request.locationReference?.[0]?.display,
    selfDirected: requireValue(extensionValue(request.extension, extensionUrl.selfDirection)?.valueBoolean, 'the self-direction flag'),
    fundingSource: requireValue(codeIn(request.category, codeSystem.fundingSource), 'a funding source') as PaidService['fundingSource'],
    goals: goalIdsOf(request.extension, stored),
    comment: request.note?.[0]?.text,
  });
}

export function naturalSupportFrom(request: ServiceRequest, stored: StoredResources): NaturalSupport {
  const supporter = containedById(request, request.performer?.[0]) as RelatedPerson | undefined;
  return {
    id: itemIdOf(request),
    description: requireValue(request.code?.text, 'a natural support description'),
    supporter: {
      name: requireValue(supporter?.name?.[0]?.text, 'a supporter name'),
      relationship: requireValue(supporter?.relationship?.[0]?.text, 'a supporter relationship'),
    },
    goals: goalIdsOf(request.extension, stored),
  };
}
