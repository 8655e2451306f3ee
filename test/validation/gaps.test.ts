import type { CarePlan, OperationOutcomeIssue, Patient, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConformance, type Conformance } from '../../src/conformance/conformance.ts';
import { compileProfile } from '../../src/validation/compiled-profile.ts';
import { checkResourceAgainstProfile } from '../../src/validation/profile-check.ts';
import { compileProfileRegistry } from '../../src/validation/profile-registry.ts';
import { createResourceValidator, hasErrors, type ResourceValidator } from '../../src/validation/validator.ts';

/**
 * The gaps of @medplum/core's validator measured in ../shared/measurements.md §1a and
 * ../shared/snapshots.md step 1b, each closed by our own checks.
 */

const KS = 'https://kanplan.org/fhir';

function minimalCarePlan(extra: Partial<CarePlan> = {}): CarePlan {
  return { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: 'Patient/example' }, ...extra };
}

function texts(issues: { details?: { text?: string } }[]): string[] {
  return issues.map((i) => i.details?.text ?? '');
}

describe('validation gaps of @medplum/core closed by kanplan', () => {
  let conformance: Conformance;
  let validator: ResourceValidator;
  beforeAll(() => {
    conformance = loadConformance();
    validator = createResourceValidator(conformance);
  });

  it('rejects a code outside a required binding on a base resource (CarePlan.status "bogus")', () => {
    const issues = validator.validate(minimalCarePlan({ status: 'bogus' as CarePlan['status'] }));
    expect(issues).toEqual([
      expect.objectContaining({
        severity: 'error',
        code: 'code-invalid',
        expression: ['CarePlan.status'],
        details: { text: "CarePlan.status: 'bogus' is not in the required value set http://hl7.org/fhir/ValueSet/request-status|4.0.1" },
      }),
    ]);
  });

  it('checks required bindings inside datatypes (ContactPoint.system) and backbone elements', () => {
    const patient: Patient = { resourceType: 'Patient', telecom: [{ system: 'pager2' as 'pager', value: '555-0100' }] };
    expect(texts(validator.validate(patient))).toEqual([
      "Patient.telecom[0].system: 'pager2' is not in the required value set http://hl7.org/fhir/ValueSet/contact-point-system|4.0.1",
    ]);
    const plan = minimalCarePlan({ activity: [{ detail: { status: 'almost-done' as 'completed', description: 'x' } }] });
    expect(texts(validator.validate(plan))).toEqual([
      "CarePlan.activity[0].detail.status: 'almost-done' is not in the required value set http://hl7.org/fhir/ValueSet/care-plan-activity-status|4.0.1",
    ]);
  });

  it('accepts valid codes and codes from value sets it cannot decide locally', () => {
    const plan = minimalCarePlan({
      category: [{ coding: [{ system: 'http://snomed.info/sct', code: '734163000' }] }],
      activity: [{ detail: { status: 'scheduled', code: { coding: [{ system: 'http://snomed.info/sct', code: '1234' }] } } }],
    });
    expect(validator.validate(plan)).toEqual([]);
  });

  it('rejects a Kansas extension with the wrong value type on any resource (valueString for CodeableConcept)', () => {
    const plan = minimalCarePlan({ extension: [{ url: `${KS}/StructureDefinition/ks-waiver-program`, valueString: 'IDD' }] });
    const issues = validator.validate(plan);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({
      severity: 'error',
      expression: ['CarePlan.extension[0].valueString'],
      details: { text: 'CarePlan.extension[0].valueString: type String is not allowed here; allowed: CodeableConcept' },
    });
  });

  it('checks the content of a complex extension (missing sub-extension, wrong fixed value)', () => {
    const plan = minimalCarePlan({
      extension: [
        {
          url: `${KS}/StructureDefinition/ks-plan-distribution`,
          extension: [
            { url: 'recipient', valueString: 'Casey Testguardian' },
            { url: 'role', valueCode: 'neighbour' },
            { url: 'date', valueString: '2026-01-01' },
          ],
        },
      ],
    });
    expect(texts(validator.validate(plan))).toEqual([
      "CarePlan.extension[0].extension: slice 'method' expects 1..1 values, found 0",
      "CarePlan.extension[0].extension[1].valueCode: 'neighbour' is not in the required value set https://kanplan.org/fhir/ValueSet/ks-participant-role",
      'CarePlan.extension[0].extension[2].valueString: type String is not allowed here; allowed: date',
    ]);
  });

  it('reports an extensible binding miss as a warning, not an error', () => {
    const sr: Resource = {
      resourceType: 'ServiceRequest',
      meta: { profile: [`${KS}/StructureDefinition/ks-planned-service`] },
      status: 'active',
      intent: 'plan',
      code: { coding: [{ system: 'http://example.org/local', code: 'x' }] },
      subject: { reference: 'Patient/example' },
    };
    const issues = validator.validate(sr);
    expect(issues.map((i) => i.severity)).toEqual(['warning']);
    expect(hasErrors(issues)).toBe(false);
  });

  it('warns about a profile it does not know instead of passing silently', () => {
    const plan = minimalCarePlan({ meta: { profile: ['https://example.org/StructureDefinition/unknown'] } });
    expect(validator.validate(plan)).toEqual([
      expect.objectContaining({ severity: 'warning', code: 'not-supported', expression: ['CarePlan.meta.profile[0]'] }),
    ]);
  });

  it('accepts a versioned canonical in meta.profile', () => {
    const plan = minimalCarePlan({ meta: { profile: [`${KS}/StructureDefinition/ks-pcsp-careplan|0.1.0`] } });
    expect(hasErrors(validator.validate(plan))).toBe(true); // validated: a bare CarePlan is not a PCSP
  });

  it('validates recognisable Kansas plan content against its profile without meta.profile (configurable)', () => {
    const pcspWithoutProfile = minimalCarePlan({
      category: [{ coding: [{ system: `${KS}/CodeSystem/ks-plan-type`, code: 'pcsp' }] }],
    });
    expect(hasErrors(validator.validate(pcspWithoutProfile))).toBe(true);
    const lenient = createResourceValidator(conformance, { validateKansasPlansWithoutMetaProfile: false });
    expect(lenient.validate(pcspWithoutProfile)).toEqual([]);
  });

  it('validates against an explicitly requested profile only ($validate?profile=)', () => {
    const plan = minimalCarePlan();
    expect(hasErrors(validator.validate(plan, { onlyProfiles: ['http://hl7.org/fhir/us/core/StructureDefinition/us-core-careplan'] }))).toBe(
      true,
    );
    expect(validator.validate(plan, { onlyProfiles: ['https://example.org/nope'] })).toEqual([
      expect.objectContaining({ severity: 'error', code: 'not-supported' }),
    ]);
  });

  it('keeps the base structure checks (unknown property, bad date)', () => {
    const plan = { ...minimalCarePlan({ created: '2023-13-45' }), foo: 1 } as Resource;
    expect(hasErrors(validator.validate(plan))).toBe(true);
  });
});

describe('extension context and required slices of absent elements', () => {
  let conformance: Conformance;
  let validator: ResourceValidator;
  beforeAll(() => {
    conformance = loadConformance();
    validator = createResourceValidator(conformance);
  });

  it('rejects a Kansas extension placed where its context does not allow it', () => {
    const patient: Patient = {
      resourceType: 'Patient',
      extension: [{ url: `${KS}/StructureDefinition/ks-review-due-date`, valueDate: '2026-01-01' }],
    };
    expect(texts(validator.validate(patient))).toEqual([
      `Patient.extension[0]: extension ${KS}/StructureDefinition/ks-review-due-date is not allowed on Patient; allowed on: CarePlan`,
    ]);
    const plan = minimalCarePlan({
      activity: [{ extension: [{ url: `${KS}/StructureDefinition/ks-waiver-program`, valueCodeableConcept: { text: 'IDD' } }], reference: { reference: 'Task/1' } }],
    });
    expect(texts(validator.validate(plan))).toContain(
      `CarePlan.activity[0].extension[0]: extension ${KS}/StructureDefinition/ks-waiver-program is not allowed on CarePlan.activity; allowed on: CarePlan, ServiceRequest, Task`,
    );
  });

  it('reports a required slice even when the sliced element is absent (medplum counts only present elements)', () => {
    // A profile whose sliced element stays 0..* while a slice is 1..1 (snapshots.md caveat (b)).
    const sd: StructureDefinition = {
      resourceType: 'StructureDefinition',
      url: 'https://example.org/StructureDefinition/slice-test',
      name: 'SliceTest',
      status: 'draft',
      kind: 'resource',
      abstract: false,
      type: 'CarePlan',
      derivation: 'constraint',
      snapshot: {
        element: [
          { id: 'CarePlan', path: 'CarePlan', min: 0, max: '*' },
          { id: 'CarePlan.category', path: 'CarePlan.category', min: 0, max: '*', type: [{ code: 'CodeableConcept' }], slicing: { discriminator: [{ type: 'pattern', path: '$this' }], rules: 'open' } },
          { id: 'CarePlan.category:ks', path: 'CarePlan.category', sliceName: 'ks', min: 1, max: '1', type: [{ code: 'CodeableConcept' }], patternCodeableConcept: { coding: [{ system: 'urn:test', code: 'x' }] } },
        ],
      },
    };
    const compiled = compileProfile(sd, { typeHasChecks: () => false });
    const registry = compileProfileRegistry(conformance);
    const issues: OperationOutcomeIssue[] = [];
    checkResourceAgainstProfile({ resourceType: 'CarePlan' }, compiled, registry.terminology, registry, issues);
    expect(texts(issues)).toEqual(["CarePlan.category: slice 'ks' expects 1..1 values, found 0"]);
    const present: OperationOutcomeIssue[] = [];
    checkResourceAgainstProfile({ resourceType: 'CarePlan', category: [{ coding: [{ system: 'urn:test', code: 'x' }] }] }, compiled, registry.terminology, registry, present);
    expect(present).toEqual([]);
  });
});
