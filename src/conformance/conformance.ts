import type { SearchParameter } from '@medplum/fhirtypes';
import { baseSearchParameters, basePatientCompartment, isKnownResourceType, listResourceTypes, loadBaseDefinitions } from './base-definitions.ts';
import { loadKansasPackage, type KansasPackage } from './kansas-package.ts';
import { SearchParameterRegistry } from './search-parameters.ts';
import { loadTerminology } from './terminology-content.ts';
import type { TerminologyService } from './terminology-service.ts';

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
  /** The R4 base and Kansas SearchParameters per resource type, FHIRPath parsed. */
  readonly searchParameters: SearchParameterRegistry;
  /** The CodeSystems and ValueSets of R4, US Core 6.1.0 and the Kansas package ($expand, bindings). */
  readonly terminology: TerminologyService;
}

export interface ConformanceOptions {
  /** SearchParameters beyond the R4 base and the Kansas ones (a test's own); they win on a shared code. */
  readonly searchParameters?: readonly SearchParameter[];
}

/** Loads the base definitions and the Kansas package and builds what is derived from them. */
export function loadConformance(options: ConformanceOptions = {}): Conformance {
  loadBaseDefinitions();
  const kansas = loadKansasPackage();
  return {
    kansas,
    resourceTypes: { isKnown: isKnownResourceType, list: listResourceTypes },
    searchParameters: new SearchParameterRegistry({
      // Kansas SearchParameters (profiles/input/) after the base ones, then any given here; later ones win.
      searchParameters: [...baseSearchParameters(), ...kansas.searchParameters, ...(options.searchParameters ?? [])],
      resourceTypes: listResourceTypes(),
      compartments: [basePatientCompartment()],
    }),
    terminology: loadTerminology(kansas),
  };
}
