import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeSystemConcept, StructureDefinition } from '@medplum/fhirtypes';
import { describe, expect, it } from 'vitest';
import { KANSAS_CANONICAL_BASE, loadKansasPackage } from '../../src/conformance/kansas-package.ts';

const catalog = readFileSync(join(import.meta.dirname, '..', '..', 'profiles', 'CATALOG.md'), 'utf8');

function codes(concepts: readonly CodeSystemConcept[] | undefined): string[] {
  return (concepts ?? []).flatMap((c) => [c.code as string, ...codes(c.concept)]);
}

describe('Kansas FHIR package (profiles/)', () => {
  const pkg = loadKansasPackage();

  it('puts every artifact under the one canonical base, at <base>/<Type>/<id>', () => {
    for (const r of pkg.resources) {
      expect(r.url, `${r.resourceType}/${r.id}`).toBe(`${KANSAS_CANONICAL_BASE}/${r.resourceType}/${r.id}`);
    }
  });

  it('has a snapshot for every StructureDefinition (medplum validates only snapshots)', () => {
    for (const sd of [...pkg.structureDefinitions, ...pkg.usCoreProfiles]) {
      expect(sd.snapshot?.element?.length ?? 0, sd.url).toBeGreaterThan(0);
    }
  });

  it('derives each CarePlan, Goal, ServiceRequest, Patient and PractitionerRole profile from US Core 6.1.0', () => {
    const byUrl = new Map<string, StructureDefinition>(pkg.structureDefinitions.map((sd) => [sd.url, sd]));
    for (const sd of pkg.profiles) {
      if (['CarePlan', 'Goal', 'ServiceRequest', 'Patient', 'PractitionerRole'].includes(sd.type)) {
        expect(sd.baseDefinition, sd.url).toMatch(/^http:\/\/hl7\.org\/fhir\/us\/core\/StructureDefinition\/us-core-/);
      }
      expect(byUrl.get(sd.url)).toBe(sd);
    }
  });

  it('lists every artifact in the ImplementationGuide resource', () => {
    const listed = (pkg.implementationGuide.definition?.resource ?? []).map((r) => r.reference?.reference).sort();
    const expected = pkg.resources.filter((r) => r.resourceType !== 'ImplementationGuide').map((r) => `${r.resourceType}/${r.id}`).sort();
    expect(listed).toEqual(expected);
    expect(pkg.implementationGuide.packageId).toBe(pkg.manifest.name);
  });

  it('documents every artifact and every code in profiles/CATALOG.md (the contract with the document mappers)', () => {
    for (const r of pkg.resources) {
      if (r.resourceType === 'ImplementationGuide') {
        continue;
      }
      expect(catalog, `${r.resourceType}/${r.id}`).toContain(`\`${r.id}\``);
    }
    for (const cs of pkg.codeSystems) {
      for (const code of codes(cs.concept)) {
        expect(catalog, `${cs.id}#${code}`).toContain(`\`${code}\``);
      }
    }
  });

  it('requires in KS Rights Modification the right modified and each of the eight elements of 42 CFR 441.301(c)(4)(vi)(F)', () => {
    const sd = pkg.structureDefinitions.find((s) => s.id === 'ks-rights-modification');
    const elements = sd?.snapshot?.element ?? [];
    const required = elements
      .filter((e) => e.path === 'Extension.extension' && e.sliceName && (e.min ?? 0) >= 1)
      .map((e) => e.sliceName);
    expect(required).toEqual([
      'rightModified',
      'assessedNeed', // (F)(1) specific, individualized assessed need
      'positiveInterventions', // (F)(2) positive interventions and supports used first
      'lessIntrusiveMethods', // (F)(3) less intrusive methods tried
      'conditionDescription', // (F)(4) condition proportionate to the need
      'dataCollection', // (F)(5) regular data collection and review
      'reviewDate', // (F)(6) time limits for periodic review
      'informedConsent', // (F)(7) informed consent
      'noHarmAssurance', // (F)(8) assurance of no harm
    ]);
    // (F)(8) is an assurance, so only `true` conforms.
    expect(elements.find((e) => e.id === 'Extension.extension:noHarmAssurance.value[x]')?.fixedBoolean).toBe(true);
  });

  it("has the OperationDefinitions of kanplan's own operations: $import-document on the CarePlan type, $document and $render on instances, Patient $everything, Bulk Data $export at system, Patient and Group level", () => {
    expect(pkg.operationDefinitions.map((od) => [od.code, od.resource, od.system, od.type, od.instance, od.affectsState])).toEqual([
      ['document', ['CarePlan'], false, false, true, false],
      ['import-document', ['CarePlan'], false, true, false, true],
      ['render', ['CarePlan'], false, false, true, false],
      ['export', ['Group'], false, false, true, false],
      ['everything', ['Patient'], false, true, true, false],
      ['export', ['Patient'], false, true, false, false],
      ['export', undefined, true, false, false, false],
    ]);
  });

  it('has SearchParameters for waiver program, plan type, authorization number, review due date, MCO, the Task owner-status and Observation patient-category-date, patient-category-status and patient-code combinations and the Task restriction period', () => {
    expect(pkg.searchParameters.map((sp) => sp.code).sort()).toEqual(
      ['activity-category', 'authorization-number', 'mco', 'owner-status', 'patient-category-date', 'patient-category-status', 'patient-code', 'plan-type', 'restriction-period', 'review-due-date', 'waiver-program'].sort(),
    );
    for (const sp of pkg.searchParameters) {
      expect(sp.expression, sp.id).toBeTruthy();
      expect(sp.base?.length, sp.id).toBeGreaterThan(0);
    }
  });
});
