import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadKansasPackage } from '../../src/conformance/kansas-package.ts';
import { loadConformance } from '../../src/conformance/conformance.ts';
import { createResourceValidator, type ResourceValidator } from '../../src/validation/validator.ts';

/**
 * Every Kansas profile has valid and invalid examples in bundles/examples/. Valid ones produce no
 * issue at all; invalid ones produce exactly the issues listed here (severity, code, FHIRPath,
 * message), so a change in the profiles or the validator that adds, drops or rewords an issue
 * fails this test.
 */

const examplesDir = join(import.meta.dirname, '..', '..', 'bundles', 'examples');

function readExamples(kind: 'valid' | 'invalid'): Map<string, Resource> {
  const dir = join(examplesDir, kind);
  return new Map(
    readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, f), 'utf8')) as Resource]),
  );
}

type Expected = [severity: string, code: string, expression: string, text: string];

const EXPECTED_ISSUES: Record<string, Expected[]> = {
  'ks-authorized-service-missing-mco-local-code': [
    ['error', 'structure', 'ServiceRequest.extension', "Incorrect number of values provided for slice 'mco': expected 1..1, but found 0"],
    ['warning', 'code-invalid', 'ServiceRequest.code', "ServiceRequest.code: http://example.org/local-services|tcm is not in the extensible value set https://kanplan.org/fhir/ValueSet/ks-hcbs-service-code; use a code from it when one fits"],
  ],
  'ks-authorized-service-no-number-open-period': [
    ['error', 'invariant', 'ServiceRequest', "Constraint ks-auth-1 not met: An authorization period has both a start and an end"],
    ['error', 'required', 'ServiceRequest.identifier[0].value', "ServiceRequest.identifier[0].value: expected 1..1 values, found 0"],
  ],
  // Authorized units are Kansas service units (ks-service-unit), not UCUM.
  'ks-authorized-service-ucum-units': [
    ['error', 'structure', 'ServiceRequest.quantity[x].system', "Value did not match expected pattern"],
    ['error', 'code-invalid', 'ServiceRequest.quantityQuantity.code', "ServiceRequest.quantityQuantity.code: 'h' is not in the required value set https://kanplan.org/fhir/ValueSet/ks-service-unit"],
  ],
  'ks-backup-plan-careplan-activity-detail': [
    ['error', 'structure', 'CarePlan.activity.detail', "Invalid number of values: expected 0..0, but found 1"],
  ],
  'ks-backup-plan-careplan-missing-description': [
    ['error', 'structure', 'CarePlan.description', "Missing required property"],
  ],
  'ks-bsp-careplan-missing-part-of': [
    ['error', 'structure', 'CarePlan.partOf', "Missing required property"],
  ],
  'ks-bsp-careplan-restrictive-intervention-no-consent': [
    ['error', 'required', 'CarePlan.extension[1].extension', "CarePlan.extension[1].extension: slice 'consent' expects 1..1 values, found 0"],
    ['error', 'required', 'CarePlan.extension[1].extension', "CarePlan.extension[1].extension: slice 'committeeApprovalDate' expects 1..1 values, found 0"],
    ['error', 'code-invalid', 'CarePlan.extension[1].extension[1].valueCode', "CarePlan.extension[1].extension[1].valueCode: 'timeout' is not in the required value set https://kanplan.org/fhir/ValueSet/ks-restrictive-intervention-type"],
  ],
  // K.A.R. 30-63-23(b)(1): a restrictive intervention with only its description lacks type, risk review, alternatives, consent, committee approval and review date.
  'ks-bsp-careplan-restrictive-intervention-description-only': [
    ['error', 'required', 'CarePlan.extension[1].extension', "CarePlan.extension[1].extension: slice 'interventionType' expects 1..1 values, found 0"],
    ['error', 'required', 'CarePlan.extension[1].extension', "CarePlan.extension[1].extension: slice 'risksBenefitsReviewed' expects 1..1 values, found 0"],
    ['error', 'required', 'CarePlan.extension[1].extension', "CarePlan.extension[1].extension: slice 'lessRestrictiveAlternativesTried' expects 1..* values, found 0"],
    ['error', 'required', 'CarePlan.extension[1].extension', "CarePlan.extension[1].extension: slice 'consent' expects 1..1 values, found 0"],
    ['error', 'required', 'CarePlan.extension[1].extension', "CarePlan.extension[1].extension: slice 'committeeApprovalDate' expects 1..1 values, found 0"],
    ['error', 'required', 'CarePlan.extension[1].extension', "CarePlan.extension[1].extension: slice 'reviewDate' expects 1..1 values, found 0"],
  ],
  'ks-functional-assessment-no-instrument-boolean-value': [
    ['error', 'structure', 'Observation.value[x]', "Missing required property"],
    ['error', 'structure', 'Observation.method', "Missing required property"],
    ['error', 'structure', 'Observation.valueBoolean', "Invalid additional property \"valueBoolean\""],
  ],
  'ks-goal-bad-status-no-text': [
    ['error', 'structure', 'Goal.description.text', "Missing required property"],
    ['error', 'code-invalid', 'Goal.lifecycleStatus', "Goal.lifecycleStatus: 'done' is not in the required value set http://hl7.org/fhir/ValueSet/goal-status"],
  ],
  'ks-informed-consent-research-scope-no-performer': [
    ['error', 'structure', 'Consent.scope', "Value did not match expected pattern"],
    ['error', 'structure', 'Consent.performer', "Missing required property"],
  ],
  'ks-isp-careplan-activity-detail': [
    ['error', 'structure', 'CarePlan.activity.detail', "Invalid number of values: expected 0..0, but found 1"],
  ],
  'ks-isp-careplan-missing-mco-and-based-on': [
    ['error', 'structure', 'CarePlan.extension', "Invalid number of values: expected 2..*, but found 1"],
    ['error', 'structure', 'CarePlan.extension', "Incorrect number of values provided for slice 'mco': expected 1..1, but found 0"],
    ['error', 'structure', 'CarePlan.basedOn', "Missing required property"],
  ],
  'ks-patient-mco-wrong-value-type': [
    ['error', 'structure', 'Patient.extension[0].valueString', "Patient.extension[0].valueString: type String is not allowed here; allowed: CodeableConcept"],
  ],
  // eLTSS Patient (standards.md §1.2): name.family 1..1, name.given 1..*, and the same for contact names.
  'ks-patient-name-without-given-contact-without-family': [
    ['error', 'structure', 'Patient.name[0].given', "Missing required property"],
    ['error', 'structure', 'Patient.contact[0].name.family', "Missing required property"],
  ],
  'ks-patient-missing-medicaid-id': [
    ['error', 'structure', 'Patient.identifier', "Incorrect number of values provided for slice 'ksMedicaidId': expected 1..1, but found 0"],
  ],
  'ks-pcsp-careplan-also-isp': [
    ['error', 'invariant', 'CarePlan', "Constraint ks-plan-1 not met: A Kansas plan has at most one Kansas plan type (a PCSP is not also an ISP)"],
  ],
  'ks-pcsp-careplan-bogus-status': [
    ['error', 'code-invalid', 'CarePlan.status', "CarePlan.status: 'bogus' is not in the required value set http://hl7.org/fhir/ValueSet/request-status"],
  ],
  'ks-pcsp-careplan-intent-order-and-unknown-profile': [
    ['warning', 'not-supported', 'CarePlan.meta.profile[1]', "Profile https://example.org/fhir/StructureDefinition/not-known is not known to this server; the resource was not validated against it"],
    ['error', 'structure', 'CarePlan.intent', "Value did not match expected pattern"],
  ],
  'ks-pcsp-careplan-missing-plan-type': [
    ['error', 'structure', 'CarePlan.category', "Invalid number of values: expected 2..*, but found 1"],
    ['error', 'structure', 'CarePlan.category', "Incorrect number of values provided for slice 'ksPlanType': expected 1..1, but found 0"],
  ],
  'ks-pcsp-careplan-rights-modification-incomplete': [
    ['error', 'required', 'CarePlan.extension[2].extension', "CarePlan.extension[2].extension: slice 'informedConsent' expects 1..1 values, found 0"],
    ['error', 'value', 'CarePlan.extension[2].extension[7].valueBoolean', "CarePlan.extension[2].extension[7].valueBoolean: value must be exactly true"],
  ],
  // 42 CFR 441.301(c)(4)(vi)(F)(1)-(8): a rights modification naming only the right modified lacks all eight elements.
  'ks-pcsp-careplan-rights-modification-no-elements': [
    ['error', 'required', 'CarePlan.extension[2].extension', "CarePlan.extension[2].extension: slice 'assessedNeed' expects 1..1 values, found 0"],
    ['error', 'required', 'CarePlan.extension[2].extension', "CarePlan.extension[2].extension: slice 'positiveInterventions' expects 1..* values, found 0"],
    ['error', 'required', 'CarePlan.extension[2].extension', "CarePlan.extension[2].extension: slice 'lessIntrusiveMethods' expects 1..* values, found 0"],
    ['error', 'required', 'CarePlan.extension[2].extension', "CarePlan.extension[2].extension: slice 'conditionDescription' expects 1..1 values, found 0"],
    ['error', 'required', 'CarePlan.extension[2].extension', "CarePlan.extension[2].extension: slice 'dataCollection' expects 1..1 values, found 0"],
    ['error', 'required', 'CarePlan.extension[2].extension', "CarePlan.extension[2].extension: slice 'reviewDate' expects 1..1 values, found 0"],
    ['error', 'required', 'CarePlan.extension[2].extension', "CarePlan.extension[2].extension: slice 'informedConsent' expects 1..1 values, found 0"],
    ['error', 'required', 'CarePlan.extension[2].extension', "CarePlan.extension[2].extension: slice 'noHarmAssurance' expects 1..1 values, found 0"],
  ],
  'ks-pcsp-careplan-unknown-waiver': [
    ['error', 'code-invalid', 'CarePlan.extension[0].valueCodeableConcept', "CarePlan.extension[0].valueCodeableConcept: https://kanplan.org/fhir/CodeSystem/ks-waiver-program|XYZ is not in the required value set https://kanplan.org/fhir/ValueSet/ks-waiver-program"],
  ],
  'ks-pcsp-careplan-waiver-value-string': [
    ['error', 'structure', 'CarePlan.extension[0].valueString', "CarePlan.extension[0].valueString: type String is not allowed here; allowed: CodeableConcept"],
  ],
  'ks-plan-signatures-wrong-signer-type-no-topic': [
    ['error', 'structure', 'Contract.topic[x]', "Missing required property"],
    ['error', 'code-invalid', 'Contract.signer[1].type', "Contract.signer[1].type: http://terminology.hl7.org/CodeSystem/contractsignertypecodes|GUARD is not in the required value set https://kanplan.org/fhir/ValueSet/ks-signer-role"],
  ],
  'ks-planned-service-wrong-intent-range-quantity': [
    ['error', 'structure', 'ServiceRequest.intent', "Value did not match expected pattern"],
    ['error', 'structure', 'ServiceRequest.quantityRange', "Invalid additional property \"quantityRange\""],
    ['error', 'structure', 'ServiceRequest.extension[0].valueCode', "ServiceRequest.extension[0].valueCode: type Code is not allowed here; allowed: boolean"],
  ],
  'ks-practitionerrole-missing-organization': [
    ['error', 'structure', 'PractitionerRole.organization', "Missing required property"],
  ],
  'ks-practitionerrole-unknown-role': [
    ['error', 'code-invalid', 'PractitionerRole.code[0]', "PractitionerRole.code[0]: https://kanplan.org/fhir/CodeSystem/ks-practitioner-role|case-manager is not in the required value set https://kanplan.org/fhir/ValueSet/ks-practitioner-role"],
  ],
  'ks-relatedperson-no-relationship-not-active': [
    ['error', 'structure', 'RelatedPerson.active', "Missing required property"],
    ['error', 'structure', 'RelatedPerson.relationship', "Missing required property"],
  ],
  'ks-risk-assessment-no-mitigation': [
    ['error', 'structure', 'RiskAssessment.mitigation', "Missing required property"],
    ['error', 'code-invalid', 'RiskAssessment.status', "RiskAssessment.status: 'finished' is not in the required value set http://hl7.org/fhir/ValueSet/observation-status|4.0.1"],
  ],
  'ks-workflow-task-ane-not-stat': [
    ['error', 'invariant', 'Task', "Constraint ks-task-1 not met: An ANE report Task has priority stat"],
  ],
  'ks-workflow-task-unknown-code-no-for': [
    ['error', 'structure', 'Task.for', "Missing required property"],
    ['error', 'code-invalid', 'Task.code', "Task.code: https://kanplan.org/fhir/CodeSystem/ks-task-type|call-someone is not in the required value set https://kanplan.org/fhir/ValueSet/ks-task-type"],
    ['error', 'code-invalid', 'Task.extension[0].valueCodeableConcept', "Task.extension[0].valueCodeableConcept: https://kanplan.org/fhir/CodeSystem/ks-care-coordination-category|scheduling is not in the required value set https://kanplan.org/fhir/ValueSet/ks-activity-category"],
  ],
};

function summarise(issues: OperationOutcomeIssue[]): Expected[] {
  return issues.map((i) => [i.severity, i.code, i.expression?.[0] ?? '', i.details?.text ?? '']);
}

describe('Kansas profile examples (bundles/examples)', () => {
  let validator: ResourceValidator;
  const valid = readExamples('valid');
  const invalid = readExamples('invalid');

  beforeAll(() => {
    validator = createResourceValidator(loadConformance());
  });

  it('has a valid and an invalid example of every Kansas profile', () => {
    const profileIds = loadKansasPackage().profiles.map((p) => p.id as string);
    for (const id of profileIds) {
      expect([...valid.keys()].some((name) => name === id || name.startsWith(`${id}-`)), `valid example of ${id}`).toBe(true);
      expect([...invalid.keys()].some((name) => name.startsWith(`${id}-`)), `invalid example of ${id}`).toBe(true);
    }
  });

  it('lists the expected issues of every invalid example, and only those', () => {
    expect(Object.keys(EXPECTED_ISSUES).sort()).toEqual([...invalid.keys()].sort());
  });

  for (const [name, resource] of valid) {
    it(`valid/${name} has no issues`, () => {
      expect(summarise(validator.validate(resource))).toEqual([]);
    });
  }

  for (const [name, resource] of invalid) {
    it(`invalid/${name} has exactly the expected issues`, () => {
      const issues = validator.validate(resource);
      expect(summarise(issues)).toEqual(EXPECTED_ISSUES[name]);
      // Every issue names the profile (or the rule) it comes from (issue 5, "Errors").
      for (const issue of issues) {
        expect(issue.expression?.length).toBe(1);
        if (issue.code !== 'not-supported') {
          expect(issue.diagnostics).toMatch(/^profile https:\/\/kanplan\.org\/fhir\/StructureDefinition\/[a-z-]+, element \S+, rule [a-z]/);
        }
      }
    });
  }

  it('keeps every valid Kansas example valid against the US Core 6.1.0 profile its profile derives from', () => {
    const byUrl = new Map(loadKansasPackage().profiles.map((p) => [p.url, p]));
    let checked = 0;
    for (const [name, resource] of valid) {
      const base = byUrl.get(resource.meta?.profile?.[0] ?? '')?.baseDefinition;
      if (base?.startsWith('http://hl7.org/fhir/us/core/')) {
        const errors = validator.validate(resource, { onlyProfiles: [base] }).filter((i) => i.severity === 'error');
        expect(errors, `${name} against ${base}`).toEqual([]);
        checked++;
      }
    }
    expect(checked).toBe(11); // Patient, RelatedPerson, PractitionerRole, 4 CarePlans, Goal, 3 ServiceRequests
  });

  it('validates every valid example against the profile in its meta.profile', () => {
    for (const resource of valid.values()) {
      expect(resource.meta?.profile?.[0]).toMatch(/^https:\/\/kanplan\.org\/fhir\/StructureDefinition\/ks-/);
    }
  });
});
