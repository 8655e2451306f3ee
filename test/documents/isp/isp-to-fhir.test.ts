import type { Condition, Flag, MedicationStatement, Observation, ServiceRequest, Task } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { codeSystem, extensionUrl, externalSystem, identifierSystem, profileUrl } from '../../../src/documents/canonical.ts';
import { planIspResources } from '../../../src/documents/isp/isp-to-fhir.ts';
import type { IspDocument } from '../../../src/documents/isp/isp-types.ts';
import { readExample } from '../examples.ts';
import { item, plan } from '../planned-resources.ts';

/**
 * Where each content element issue 6 lists ends up in FHIR. The round-trip tests prove nothing is
 * lost; these prove it lands where an EHR or MCO system reading FHIR looks for it (the eLTSS paths
 * of standards.md §1.4 and the Kansas profiles), so a change made to both mappers at once cannot
 * quietly move an element somewhere nobody reads.
 */


describe('ISP → FHIR placement (Avery Example)', () => {
  const doc = readExample('avery-example.isp.json') as IspDocument;
  const planned = planIspResources(doc);
  const carePlan = plan(planned);

  it('integrates the PCSP and BSP; care coordinator is author, TCM contributor; MCO and review date', () => {
    expect(carePlan.basedOn?.map((r) => r.reference)).toEqual([doc.pcspPlanId, doc.bspPlanId].map((id) => `CarePlan?identifier=${encodeURIComponent(`${identifierSystem.planId}|${id}`)}`));
    expect(carePlan.author?.reference).toMatch(/^#/);
    expect(carePlan.contributor?.[0]?.reference).toMatch(/^#/);
    expect(carePlan.extension).toEqual(expect.arrayContaining([{ url: extensionUrl.mco, valueCodeableConcept: { coding: [{ system: codeSystem.mco, code: 'sunflower' }] } }, { url: extensionUrl.reviewDueDate, valueDate: doc.nextReviewDate }]));
  });

  it('health needs and the health-based needs assessment', () => {
    expect(item<Condition>(planned, 'need/HN1').category?.flatMap((c) => c.coding ?? [])).toContainEqual({ system: codeSystem.needDomain, code: 'physical-health' });
    expect(item<Observation>(planned, 'observation/health-needs-assessment')).toMatchObject({ valueString: doc.healthNeedsAssessment.summary });
  });

  it('authorized services: authorization number, units, period, provider, requester = MCO', () => {
    const service = item<ServiceRequest>(planned, 'authorized-service/AS1');
    expect(service.meta?.profile).toEqual([profileUrl.authorizedService]);
    expect(service.identifier).toContainEqual(expect.objectContaining({ system: identifierSystem.authorizationNumber, value: 'AUTH-TEST-0001' }));
    expect(service.quantityQuantity).toMatchObject({ value: 365, code: 'day' });
    expect(service.occurrencePeriod).toEqual({ start: '2026-10-01', end: '2027-09-30' });
    expect(service.performer?.[0]?.identifier?.value).toBe('KMMS-TEST-001');
    expect(service.requester?.type).toBe('Organization');
  });

  it('non-Medicaid resources and the primary care case management items', () => {
    expect(item<ServiceRequest>(planned, 'non-medicaid-resource/NM1').performer?.[0]?.display).toBe(doc.nonMedicaidResources![0]!.source);
    expect(item<Condition>(planned, 'condition/C1').code?.coding).toEqual([{ system: externalSystem.icd10cm, code: 'G40.909' }]);
    const medication = doc.primaryCare.medications![0]!;
    expect(item<MedicationStatement>(planned, `medication/${medication.id}`).medicationCodeableConcept?.text).toBe(medication.name);
    const transition = item<Task>(planned, 'transition/T1');
    expect(transition.code?.coding?.[0]).toEqual({ system: codeSystem.taskType, code: 'transition-follow-up' });
    const flag = doc.primaryCare.highRiskFlags![0]!;
    expect(item<Flag>(planned, `high-risk-flag/${flag}`).status).toBe('active');
  });
});
