import { parseFhirPath, type FhirPathAtom } from '@medplum/core';
import type { SearchParameter } from '@medplum/fhirtypes';

/** The search parameter types of R4 (https://hl7.org/fhir/R4/search.html#ptypes). */
export type ParamType = 'number' | 'date' | 'string' | 'token' | 'reference' | 'composite' | 'quantity' | 'uri' | 'special';

export interface CompositeComponent {
  /** The component's own parameter (by canonical URL), resolved on the same resource type. */
  readonly definition: string;
  /** Relative to each value of the composite's expression; unused by a combination index. */
  readonly expression?: FhirPathAtom;
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

/**
 * Marks a composite SearchParameter as a combination index, in the form HAPI FHIR and Smile CDR
 * use for their "combo" parameters (valueBoolean false = non-unique; uniqueness is not enforced
 * here, so `true` is not read as a combination): the values of its component parameters are
 * indexed together, and a search naming all of them as separate parameters reads one index row
 * instead of intersecting one per parameter (search/combination-index.ts).
 */
export const COMBINATION_INDEX_EXTENSION = 'http://hapifhir.io/fhir/StructureDefinition/sp-unique';

/** Parameters answered from the resource table itself rather than the index tables. */
export const RESOURCE_COLUMN_PARAMS: ReadonlySet<string> = new Set(['_id', '_lastUpdated']);

/**
 * Composite component types that form the '$'-joined key of a composite index row
 * (sp_composite.value), on the write side (search/composite-rows.ts) and the query side alike.
 */
export const COMPOSITE_KEY_TYPES: ReadonlySet<string> = new Set(['token', 'string', 'reference', 'uri']);
/** Component types allowed as the last component of a composite, stored in the row's range columns. */
export const COMPOSITE_RANGE_TYPES: ReadonlySet<string> = new Set(['quantity', 'number', 'date']);

function isCombinationIndex(sp: SearchParameter): boolean {
  return sp.type === 'composite' && (sp.extension ?? []).some((e) => e.url === COMBINATION_INDEX_EXTENSION && e.valueBoolean === false);
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

/**
 * The definition of a SearchParameter on one resource type, its FHIRPath parsed; undefined when
 * no part of its expression applies to the type or the expression does not parse.
 */
export function searchParamDefOf(resourceType: string, sp: SearchParameter): SearchParamDef | undefined {
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
      // Indexed with the component parameters' own expressions (search/extract.ts extractIndexRows).
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
