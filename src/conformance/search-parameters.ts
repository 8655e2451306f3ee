import { createHash } from 'node:crypto';
import type { CompartmentDefinition, SearchParameter } from '@medplum/fhirtypes';
import { COMPOSITE_KEY_TYPES, COMPOSITE_RANGE_TYPES, searchParamDefOf, type SearchParamDef } from './search-parameter-definition.ts';

/** A search parameter as the CapabilityStatement lists it (CapabilityStatement.rest.resource.searchParam). */
export interface SearchParameterSummary {
  readonly name: string;
  readonly type: string;
  readonly definition?: string;
  readonly documentation?: string;
}

/** What a registry is built from. */
export interface SearchParameterSources {
  /** Every SearchParameter, in order of precedence: a later one with the same code on a type wins. */
  readonly searchParameters: readonly SearchParameter[];
  /** The concrete resource types served; a parameter based on Resource/DomainResource applies to each. */
  readonly resourceTypes: readonly string[];
  /** The CompartmentDefinitions compartment search knows (R4: Patient). */
  readonly compartments: readonly CompartmentDefinition[];
}

const NO_PARAMS: ReadonlyMap<string, SearchParamDef> = new Map();

/**
 * The search parameters of every resource type, built once from the SearchParameters given (the
 * R4 base ones, the Kansas package's, any a test adds) with each expression split per type and
 * its FHIRPath parsed. Search reads it on every query and the index writer on every write, so
 * every lookup is one map access. To change the parameters, build another registry: rows indexed
 * with another parameter set are found by `kanplan reindex` through the changed fingerprint.
 */
export class SearchParameterRegistry {
  /**
   * Hash of every active parameter definition (type, code, expression) of every resource type:
   * stored as `resource.index_hash` so `kanplan reindex` knows which rows were indexed differently.
   */
  readonly fingerprint: string;
  private readonly byType = new Map<string, Map<string, SearchParamDef>>();
  private readonly byTypeAndUrl = new Map<string, Map<string, SearchParamDef>>();
  /** Compartment type -> resource type -> the parameters that link a resource to the compartment. */
  private readonly compartments = new Map<string, Map<string, readonly string[]>>();

  constructor(sources: SearchParameterSources) {
    for (const resourceType of sources.resourceTypes) {
      const defs = new Map<string, SearchParamDef>();
      for (const sp of sources.searchParameters) {
        const bases = (sp.base ?? []) as string[];
        if (bases.includes(resourceType) || bases.includes('Resource') || bases.includes('DomainResource')) {
          const def = searchParamDefOf(resourceType, sp);
          if (def) {
            defs.set(def.code, def);
          }
        }
      }
      this.byType.set(resourceType, defs);
      const byUrl = new Map<string, SearchParamDef>();
      for (const def of defs.values()) {
        // Two parameters of a type with one URL: the first in the type's order answers it.
        if (def.url !== undefined && !byUrl.has(def.url)) {
          byUrl.set(def.url, def);
        }
      }
      this.byTypeAndUrl.set(resourceType, byUrl);
    }
    for (const compartment of sources.compartments) {
      this.compartments.set(compartment.code as string, new Map((compartment.resource ?? []).map((r) => [r.code as string, r.param ?? []])));
    }
    this.fingerprint = this.computeFingerprint();
  }

  /** Every search parameter of a resource type, by code. */
  paramsOf(resourceType: string): ReadonlyMap<string, SearchParamDef> {
    return this.byType.get(resourceType) ?? NO_PARAMS;
  }

  param(resourceType: string, code: string): SearchParamDef | undefined {
    return this.byType.get(resourceType)?.get(code);
  }

  /** The parameter that a composite component's canonical URL names. */
  paramByUrl(resourceType: string, url: string): SearchParamDef | undefined {
    return this.byTypeAndUrl.get(resourceType)?.get(url);
  }

  /**
   * The parameters of `resourceType` that place a resource in a compartment of `compartmentType`
   * (https://hl7.org/fhir/R4/compartmentdefinition-patient.html); undefined when the type is not
   * in such a compartment or the compartment is unknown.
   */
  compartmentParams(compartmentType: string, resourceType: string): readonly string[] | undefined {
    return this.compartments.get(compartmentType)?.get(resourceType);
  }

  /** The compartments whose definitions are loaded (R4's Patient compartment). */
  compartmentTypes(): readonly string[] {
    return [...this.compartments.keys()];
  }

  /** The search parameters of a type as the CapabilityStatement lists them: only those that work. */
  describe(resourceType: string): SearchParameterSummary[] {
    return [...this.paramsOf(resourceType).values()]
      .filter((def) => def.type !== 'special' && (def.type !== 'composite' || this.isSearchableComposite(resourceType, def)))
      .sort((a, b) => a.code.localeCompare(b.code))
      .map((def) => ({
        name: def.code,
        type: def.type,
        ...(def.url ? { definition: def.url } : {}),
        ...(def.description ? { documentation: def.description } : {}),
      }));
  }

  /**
   * Whether search can answer a composite: token/string/reference/uri components, with at
   * most a final quantity, number or date (MolecularSequence coordinates have two ranges: no).
   */
  private isSearchableComposite(resourceType: string, def: SearchParamDef): boolean {
    return def.components.every((component, i) => {
      const type = this.paramByUrl(resourceType, component.definition)?.type ?? 'unknown';
      return COMPOSITE_KEY_TYPES.has(type) || (i === def.components.length - 1 && COMPOSITE_RANGE_TYPES.has(type));
    });
  }

  private computeFingerprint(): string {
    const hash = createHash('sha256');
    // Bump when value extraction changes meaning, so `kanplan reindex` rebuilds every row.
    // v3: contained resources are indexed too (_contained, migration 006).
    // v4: a versioned canonical reference has a row of its own (`url|version` search).
    hash.update('kanplan-search-index-v4\n');
    for (const [resourceType, defs] of [...this.byType.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      for (const def of [...defs.values()].sort((a, b) => a.code.localeCompare(b.code))) {
        const combination = def.combination ? `\tcombination ${def.components.map((c) => c.definition).join(' ')}` : '';
        hash.update(`${resourceType}\t${def.code}\t${def.type}\t${def.expressionText ?? ''}\t${def.targets.join(',')}${combination}\n`);
      }
    }
    return hash.digest('hex').slice(0, 32);
  }
}
