import { isKnownResourceType, listResourceTypes, loadBaseDefinitions } from './base-definitions.ts';
import { loadKansasPackage, type KansasPackage } from './kansas-package.ts';

/** The concrete R4 resource types this server accepts. */
export interface ResourceTypes {
  isKnown(resourceType: string): boolean;
  list(): readonly string[];
}

/**
 * Everything kanplan knows about FHIR and the Kansas guide, built once at start and passed on
 * FhirContext (and to the CLI commands that need it): the R4 base definitions, the Kansas package
 * from `profiles/`, the search parameters and the terminology. No module keeps its own copy; a
 * test builds its own with `loadConformance()`.
 */
export interface Conformance {
  readonly kansas: KansasPackage;
  readonly resourceTypes: ResourceTypes;
}

/** Loads the base definitions and the Kansas package and builds what is derived from them. */
export function loadConformance(): Conformance {
  loadBaseDefinitions();
  return {
    kansas: loadKansasPackage(),
    resourceTypes: { isKnown: isKnownResourceType, list: listResourceTypes },
  };
}
